/*
 * bankd.h - the daemon's shared state.  Each part has its own header;
 * what the parts are, from the edge inwards:
 *
 *	listen.c	the Unix socket: accept, the peer (SO_PEERCRED)
 *	listen_tcp.c	listen_tcp: the peer from each request's MUNGE
 *			credential (tcpauth.c)
 *	peer.c		who the peer is and what it may do
 *	conn.c		a connection, whichever listener made it: frames in,
 *			replies out, what one user may take
 *	dispatch.c	request type -> handler, after fields.c's check
 *	(common/req.c	a request decoded once into typed values)
 *	check.c		CHECK: the submit decision; checkask.c (the asks to
 *			the API), checklearn.c (what answers teach),
 *			checkbudget.c (slurmctld's wait), checkpolicy.c,
 *			checkverdict.c (where a check ends), checkhold.c
 *	estimate.c	ESTIMATE and PRICES
 *	accept.c	START and END taken in (socket and spool)
 *	status.c	STATUS
 *	admin.c		bankctl's queue and holds requests
 *	intake.c	the spool: reports plugins wrote to files while
 *			bankd was unreachable
 *	balance.c	BALANCE: what a user has left, and whence
 *	deliver.c	the delivery queue (q*.c, queue.h): order per job,
 *			retries, a job's runs (qrun.c); journal.c, the
 *			durable log behind it
 *	ledger.c	what a delivered report changes: holds, the cache
 *	health.c	how the API is doing: the last exchange, the probe
 *	counters.c	named counters (status, metrics)
 *	metrics.c	GET /metrics (evhttp); metrics_fmt.c its text
 *	report.c	turns start/end reports into the API's Job bodies
 *	portal.c	the portal's routes and what their answers mean;
 *			portal_report.c a report's; api.c the HTTP client
 *	apiprices.c	the prices in force (pricetab.c); pricing and
 *			bank.yaml are common/'s
 *	relay.c		role relay: a node's bankd, which journals reports
 *			(relayq.c) and forwards them (relay_fwd.c) and its
 *			queries (relay_ask.c) to the controllers
 */
#ifndef BANKD_H
#define BANKD_H

#include <sys/types.h>
#include <time.h>

#include <event2/event.h>

#include "accept.h"
#include "bankproto.h"
#include "conf.h"
#include "counters.h"
#include "price.h"

struct api;
struct apiprices;
struct balance_memo;
struct cache;
struct checks;
struct conns;
struct deliver;
struct health;
struct holds;
struct intake;
struct ledger;
struct listen;
struct listen_tcp;
struct metrics;
struct portal;
struct relay;

struct bankd {
	struct event_base	*base;
	struct bank_conf	 conf;
	struct api		*api;
	struct portal		*portal;	/* the routes, over api */
	struct apiprices	*prices;	/* the prices in force */
	struct deliver		*dq;
	struct holds		*holds;
	struct cache		*cache;
	struct balance_memo	*balances;	/* balance.c's */
	struct checks		*checks;	/* check.c's */
	struct conns		*conns;		/* conn.c's */
	struct listen		*listen;	/* listen.c's */
	struct listen_tcp	*listen_tcp;	/* listen_tcp.c's; NULL: none */
	struct health		*health;	/* health.c's */
	struct ledger		*ledger;	/* ledger.c's */
	struct intake		*intake;	/* intake.c's */
	struct relay		*relay;		/* relay.c's; NULL: a controller */
	struct metrics		*metrics;	/* metrics.c's; NULL: off */
	accept_sink_fn		 report_sink;	/* a relay's; NULL: priced */
	struct counters		 counters;
	struct event		*reconcile;
	int			 reconcile_busy;
	time_t			 started;
	uid_t			 slurm_uid;	/* may send reports, with root */
	struct event		*drain;		/* shutdown: wait for sends */
	int			 drain_ticks;
	int			 stopping;
};

/* reconcile.c */
int	 reconcile_start(struct bankd *);
void	 reconcile_stop(struct bankd *);

/* listjobs.c: `bankd --list-jobs`, the reconciler's child; never returns. */
int	 listjobs_main(void) __attribute__((noreturn));
int	 listjobs_slurm_conf_present(void);

#endif /* BANKD_H */
