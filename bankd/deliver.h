/*
 * deliver.h - the store-and-forward queue between the plugins and the API.
 *
 * A report is acknowledged to its plugin only once it is in the journal
 * (journal.c; group commit).  Delivery rules:
 *  - reports of one job go out one at a time, in the order accepted; a
 *    completion replaces that job's start if the start has not been sent,
 *    or its try failed (the PUT carries everything; a late start would
 *    overwrite the actual charge with the estimate);
 *  - different jobs go concurrently, up to api.max_inflight;
 *  - no answer, timeouts, 5xx and 429 are retried forever with exponential
 *    backoff and jitter, capped;
 *  - a POST answered "already exists" was delivered by an earlier try;
 *  - 401/403 means our token is refused: delivery narrows to one request at
 *    a time until the API accepts it again, and says so loudly;
 *  - any other 4xx will never succeed: the report becomes a dead letter,
 *    kept with the API's message until an operator retries or drops it;
 *  - a requeued job runs again under its id (report.h's run): each
 *    completion is sent with the job's cumulative charge (qrun.c), a
 *    completion of a run older than one already taken is superseded, and
 *    the start of a later run is folded: nothing is sent, the portal
 *    keeps the charge so far until the run's completion;
 *  - a report for the same run as a completion taken before but with
 *    another submit date, or a POST the portal answers "already exists"
 *    for a job submitted at another time, is another job under a reused
 *    id (slurmctld cold start): a dead letter that says so.
 * What an answer means is portal_report.h's; what it does to the report,
 * the queue's.
 */
#ifndef DELIVER_H
#define DELIVER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "portal_report.h"
#include "report.h"

struct deliver;
struct event_base;

/* What the queue is told at open: plain settings, no daemon. */
struct deliver_settings {
	const char	*state_dir;	/* where its journal is */
	int		 fsync;
	int		 max_inflight;	/* reports sent at once */
	int		 retry_max_ms;	/* the backoff's cap */
	int		 last_run;	/* requeue_charge: last_run */
	int		 node_fail_free;	/* node_fail: free */
};

/*
 * What the queue calls out to.  send is portal_report_sender with the
 * struct api as send_ctx (a unit test passes a fake); the others may be
 * NULL, and get arg.
 */
struct deliver_hooks {
	portal_report_send_fn	 send;
	void			*send_ctx;
	/* A report reached the API: what it charged (no body). */
	void			(*delivered)(void *arg, const struct report *);
	/* What a delivery showed of the API's health (bankctl status). */
	void			(*api)(void *arg, int ok, const char *error);
	void			*arg;
	/* What a report keeps at its first send (ledger_tick); NULL: 0. */
	uint64_t		(*tick)(void *arg);
};

struct deliver_stats {
	size_t		 queued;	/* live: waiting, in flight or dead */
	size_t		 unsynced;	/* of them, not on disk yet */
	size_t		 inflight;
	size_t		 dead;
	uint64_t	 delivered;
	uint64_t	 retries;
	int		 paused;	/* by an operator */
	int		 auth_blocked;	/* the API refuses our token */
	size_t		 journal_bytes;
	time_t		 oldest;	/* the oldest live report's; 0: none */
};

/* One queue entry as bankctl sees it. */
struct deliver_view {
	uint64_t	 seq;
	uint32_t	 job_id;
	const char	*kind;		/* "start" or "end" */
	int64_t		 cents;
	const char	*account;
	const char	*state;		/* "queued", "waiting", "sending", "dead" */
	unsigned	 attempts;
	int64_t		 next_in_ms;	/* until the next try, 0 if due */
	time_t		 accepted;
	const char	*last_error;
	const char	*cause;		/* dead letters: dead_cause_name(); "" */
	const char	*body;		/* deliver_show only; "" in lists;
					   valid during the callback only */
};

typedef void	 (*deliver_ack_fn)(void *arg, int ok);
typedef void	 (*deliver_view_fn)(const struct deliver_view *, void *arg);

/* Open the journal in state_dir and take back what it holds. */
struct deliver	*deliver_open(struct event_base *,
		    const struct deliver_settings *,
		    const struct deliver_hooks *, char *err, size_t errlen);
void		 deliver_close(struct deliver *);

/*
 * What became of a report handed to deliver_take().  For TAKE_QUEUED and
 * TAKE_JOINED, ack(arg, ok) runs once the report is durable (ok = 1) or
 * its commit failed (ok = 0: the sender keeps it, "later"); for the
 * others it never runs.
 */
enum deliver_take {
	TAKE_QUEUED,		/* a new report: in the journal once acked */
	TAKE_JOINED,		/* the same report, not yet durable, is queued */
	TAKE_DUP,		/* the same report is durable already */
	TAKE_SUPERSEDED,	/* a start after the job's completion, or a
				   completion of a run before the last */
	TAKE_FOLDED,		/* the start of a later run: nothing to send */
	TAKE_LATER,		/* cannot take it now (memory): keep it */
	TAKE_TOO_BIG,		/* can never be journaled */
};

/*
 * Take a report.  A repeat counts as a duplicate only of a report that
 * is durable; a repeat of one that is not (answered "later", say, and
 * spooled by its plugin) shares that report's commit.  When queued, the
 * body goes to the journal and r's is freed; otherwise r is the caller's.
 */
enum deliver_take deliver_take(struct deliver *, struct report *,
		    deliver_ack_fn, void *arg);

/*
 * What deliver_take() would send for completion r, in *cents (the job's
 * charge so far: its earlier runs, requeue_charge and node_fail
 * applied): 0, or -1 when it would send none (r is not this job's: a
 * reused id, or a run older than one taken).
 */
int		 deliver_expect(const struct deliver *, const struct report *,
		    int64_t *cents);
/*
 * When job_id's reports were all delivered (or dropped): the time its
 * first report, or its last completion, was taken, and in *hold the hold
 * token its last taken report carried (0: none known).  0 while one is
 * queued, dead or sending, or when none of it is known.
 */
int64_t		 deliver_settled(const struct deliver *, uint32_t job_id,
		    uint64_t *hold);
void		 deliver_stats(const struct deliver *, struct deliver_stats *);
size_t		 deliver_list(struct deliver *, size_t offset, size_t limit,
		    int dead_only, deliver_view_fn, void *arg);
int		 deliver_show(struct deliver *, uint64_t seq, deliver_view_fn,
		    void *arg);

/* Operator actions; each is journaled.  Return counts, or -1 + err. */
long		 deliver_retry(struct deliver *, uint64_t seq);	/* 0: all */
long		 deliver_drop(struct deliver *, uint64_t seq, char *err,
		    size_t errlen);
void		 deliver_pause(struct deliver *, int on);
/* Stop starting sends, for shutdown (not journaled, not logged). */
void		 deliver_quiesce(struct deliver *);
void		 deliver_set_fsync(struct deliver *, int on);
/* api.retry_max_ms, reloaded. */
void		 deliver_set_retry_max(struct deliver *, int ms);
/* prices.requeue_charge and prices.node_fail, reloaded. */
void		 deliver_set_charging(struct deliver *, int last_run,
		    int node_fail_free);
/* The API answered (the health probe): an outage, if any, is over. */
void		 deliver_api_answers(struct deliver *);

#endif /* DELIVER_H */
