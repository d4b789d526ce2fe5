/*
 * bankd.h - the daemon's shared state and the interfaces between its parts:
 *
 *	listen.c	accepts plugin connections, frames in, frames out
 *	handle.c	one handler per request type: check, estimate,
 *			start, end, status
 *	admin.c		bankctl's queue requests: queue, show, retry, drop,
 *			pause, resume
 *	intake.c	takes in the spool: reports plugins wrote to files
 *			while bankd was unreachable
 *	journal.c	the durable log behind the queue
 *	report.c	turns start/end reports into the API's Job bodies
 *	deliver.c	the delivery queue: order per job, retries
 *	api.c		the myBRC client (libcurl multi on libevent)
 *	price.c		what a job costs; conf.c, bank.yaml
 */
#ifndef BANKD_H
#define BANKD_H

#include <sys/types.h>
#include <time.h>

#include <event2/event.h>

#include "bankproto.h"
#include "conf.h"
#include "price.h"

struct api;
struct apiprices;
struct cache;
struct checks;
struct deliver;
struct holds;
struct conn;
struct portal;
struct report;

struct bankd {
	struct event_base	*base;
	struct bank_conf	 conf;
	struct api		*api;
	struct portal		*portal;	/* the routes, over api */
	struct apiprices	*prices;	/* the prices in force */
	struct deliver		*dq;
	struct holds		*holds;
	struct cache		*cache;
	struct checks		*checks;	/* check.c's */
	struct idmap		*charged;	/* job -> cents delivered at start */
	struct event		*reconcile;
	int			 reconcile_busy;
	struct evconnlistener	*listener;
	size_t			 clients;	/* open connections */
	time_t			 started;
	uid_t			 slurm_uid;	/* may send reports, with root */
	/* What the last API exchange told us, for `bankctl status`. */
	int			 api_ok;
	time_t			 api_when;
	char			 api_error[256];
	struct event		*probe;
	struct event		*intake;
	size_t			 intake_inflight;
	size_t			 intake_later;	/* this pass: stay for the next */
	char			 intake_why[128];
	size_t			 spool_files;	/* at the last scan */
	struct event		*drain;		/* shutdown: wait for sends */
	int			 drain_ticks;
	int			 stopping;
};

/* listen.c */
int	 listen_start(struct bankd *);
void	 listen_stop(struct bankd *);
void	 listen_close_clients(struct bankd *);
void	 listen_limits(struct bankd *);	/* after a reload */
void	 conn_reply(struct conn *, struct bp_msg *);
uid_t	 conn_uid(const struct conn *);
/* root or slurm_user, by the caller's credentials (SO_PEERCRED) */
int	 conn_privileged(const struct conn *);
void	 conn_hold(struct conn *);
void	 conn_release(struct conn *);
int	 conn_alive(const struct conn *);
/* An answer is due on c: a user's connection is not idle meanwhile. */
void	 conn_wait_begin(struct conn *);
void	 conn_wait_end(struct conn *);
/*
 * A user's checks that ask the API: one of the user_checks_per_s (0 when
 * none is left this second), and the user_checks that may wait at once
 * (begin, then listen_check_end by uid, since the connection may be gone
 * by the time the API answers).  Root and slurm_user are not counted.
 */
int	 conn_take_api_check(struct conn *);
void	 conn_check_begin(struct conn *);
void	 listen_check_end(struct bankd *, uid_t);

/* handle.c */
typedef void (*accept_fn)(void *arg, const char *status, const char *message,
	    const char *amount);
void	 handle_request(struct bankd *, struct conn *, struct bp_msg *);
void	 estimate_of(struct bankd *, const struct bp_msg *, struct estimate *);
void	 describe_estimate(const struct estimate *, char *buf, size_t len);

/* check.c */
int	 check_init(struct bankd *);
void	 check_fini(struct bankd *);
void	 handle_check(struct bankd *, struct conn *, const struct bp_msg *);
void	 reply_simple(struct conn *, const struct bp_msg *, const char *status,
	    const char *message);
int	 conn_may_write(struct bankd *, struct conn *);
int	 report_accept(struct bankd *, int kind, const struct bp_msg *,
	    accept_fn, void *arg);

void	 ledger_delivered(struct bankd *, const struct report *);

/* reconcile.c */
int	 reconcile_start(struct bankd *);
void	 reconcile_stop(struct bankd *);

/* admin.c */
int	 admin_request(struct bankd *, struct conn *, const struct bp_msg *);

/* intake.c */
int	 intake_start(struct bankd *);
void	 intake_stop(struct bankd *);
size_t	 intake_pending(struct bankd *);
int	 intake_decode(const uint8_t *buf, size_t n, struct bp_msg *,
	    char *why, size_t len);
void	 api_note(struct bankd *, int ok, const char *error);
void	 probe_start(struct bankd *);

#endif /* BANKD_H */
