/*
 * bankplug.h - what the three plugins share: finding and reading bank.yaml
 * and logging through the host daemon's log.
 */
#ifndef BANKPLUG_H
#define BANKPLUG_H

#include <pthread.h>

#include "bankproto.h"
#include "conf.h"

/*
 * Load bank.yaml: `path` if given, else the file beside slurm.conf (as
 * Slurm finds its other configuration files).  0, or -1 with err.
 */
int	 bankplug_conf_load(const char *path, struct bank_conf *, char *err,
	    size_t errlen);

/*
 * A connection to bankd kept open by a plugin living in slurmctld, so
 * that a call costs no connect and no set-up in bankd
 * (docs/performance.md).  The mutex makes one caller at a time our own
 * guarantee (slurmctld serialises each plugin type already); a caller that
 * finds it taken makes a one-off connection rather than wait.
 */
struct bankplug_conn {
	struct bp_conn		 c;
	pthread_mutex_t		 mu;
};
#define BANKPLUG_CONN_INIT	{ { NULL, -1 }, PTHREAD_MUTEX_INITIALIZER }

/* Aim at `socket` (closing any connection to the previous one). */
void	 bankplug_conn_set(struct bankplug_conn *, const char *socket);
void	 bankplug_conn_close(struct bankplug_conn *);
/*
 * bp_call() to cf->socket over the kept connection (k may be NULL); when
 * nothing listens there, to cf->failover's controllers over TCP with a
 * MUNGE credential (a standby controller's plugins reach the active
 * bankd).  The same results, all within deadline_ms.
 */
int	 bankplug_call(const struct bank_conf *cf, struct bankplug_conn *k,
	    int deadline_ms, const struct bp_msg *req, struct bp_msg *rep);

/*
 * Where a report may go when nothing listens on this host's socket:
 * slurmctld's plugins fail over to the other controller; a compute
 * node's reports keep to its relay, else its spool (the relay is the
 * node's one way to the controllers, and the spool holds what cannot go
 * yet; a relay that is down is not a reason to go around it).
 */
enum bankplug_route {
	BANKPLUG_LOCAL,		/* the host's socket, else the spool */
	BANKPLUG_FAILOVER	/* then plugins.failover, else the spool */
};

/*
 * Hand a start or completion report to bankd within report_ms (over `kept`
 * if not NULL, else a connection of its own); when bankd cannot take it
 * (unreachable, or answers "later"), leave it in the spool for bankd to
 * take in.  Logs the outcome once, as "<who>: job <id> ...".
 * 0 when bankd or the spool holds the report, -1 when it is lost (logged
 * as an error) or bankd refused it as wrong.
 */
int	 bankplug_report(const struct bank_conf *, struct bankplug_conn *,
	    enum bankplug_route, const struct bp_msg *req, const char *who,
	    uint32_t job_id);

/* Add key=v when v is a usable value (set, non-empty, one line); copied. */
void	 bankplug_add_str(struct bp_msg *, const char *key, const char *v);

/* Add hold=<token> from an AdminComment holding "bank_hold=<token>". */
void	 bankplug_add_hold(struct bp_msg *, const char *admin_comment);

#endif /* BANKPLUG_H */
