/*
 * counters.h - the daemon's named numbers, kept where they change and read
 * by whoever reports them: `bankctl status` now, a metrics endpoint
 * later, which lists them by name (counters_each) without knowing each
 * module.  A gauge is a level (connections open), a counter only grows
 * (requests taken).  The queue's own figures stay the queue's
 * (deliver_stats); these are the edge's, and the labelled families the
 * metrics endpoint shows (metrics.c): decisions by source and outcome
 * with their latency, API requests by route and status, reports by kind.
 * Every family is a fixed array: a label's values are ours, never the
 * input's, so no request can grow them.
 */
#ifndef COUNTERS_H
#define COUNTERS_H

#include <stdint.h>

enum counter {
	CNT_CLIENTS,		/* gauge: connections open */
	CNT_SPOOL_FILES,	/* gauge: spool files at the last scan */
	CNT_REQUESTS,		/* requests handed to a handler */
	CNT_REFUSED,		/* requests refused at the edge (a field) */
	CNT_SPOOL_TAKEN,	/* spool files journaled and removed */
	CNT_SPOOL_ASIDE,	/* spool files set aside as .bad */
	CNT_MAX
};

enum counter_kind {
	COUNTER_GAUGE,
	COUNTER_TOTAL,
};

/* Where a decision came from: checkverdict_finish's source, by word. */
enum counter_source {
	CSRC_CONFIG,		/* bank.yaml decided (checks off, no account) */
	CSRC_MODIFY,		/* a job_modify that costs no more */
	CSRC_PRICE,		/* the price decided (free, too large) */
	CSRC_CACHE,		/* what the API said before */
	CSRC_API,		/* the API's answer to this check */
	CSRC_POLICY,		/* no answer: on_api_unavailable */
	CSRC_NONE,		/* no decision: the check failed (error) */
	CSRC_MAX
};

enum counter_outcome {
	COUT_ALLOW,
	COUT_DENY,
	COUT_ERROR,		/* "error": the check could not be made */
	COUT_MAX
};

/* The portal's routes, as portal.c and portal_report.c ask them. */
enum counter_route {
	CRT_CAN_SUBMIT,		/* GET /can_submit_job/... */
	CRT_JOBS_POST,		/* POST /jobs/ */
	CRT_JOBS_PUT,		/* PUT /jobs/ID/ */
	CRT_JOBS_GET,		/* GET /jobs/ID/ */
	CRT_PROBE,		/* GET /jobs/?jobstatus=bankd-probe */
	CRT_PARTITIONS,		/* GET /partitions/ (and its pages) */
	CRT_OTHER,
	CRT_MAX
};

/* An HTTP status 100-599 is its own slot; then these two. */
#define CSTATUS_LO		100
#define CSTATUS_HI		599
#define CSTATUS_ERROR		(CSTATUS_HI - CSTATUS_LO + 1)	/* no answer */
#define CSTATUS_TIMEOUT		(CSTATUS_ERROR + 1)	/* api.timeout_ms */
#define CSTATUS_MAX		(CSTATUS_TIMEOUT + 1)

/* Decision latency buckets, upper bounds in microseconds (0.1 ms-10 s). */
#define CHIST_BUCKETS		16
extern const uint64_t counters_hist_le_us[CHIST_BUCKETS];

struct counters_hist {
	uint64_t	 n[CHIST_BUCKETS + 1];	/* per bucket; last: +Inf */
	uint64_t	 count;
	uint64_t	 sum_us;
};

struct counters {
	uint64_t	 v[CNT_MAX];
	uint64_t	 decisions[CSRC_MAX][COUT_MAX];
	struct counters_hist decision;
	uint64_t	 api[CRT_MAX][CSTATUS_MAX];
	uint64_t	 accepted[2];	/* by enum report_kind */
	uint64_t	 delivered[2];
};

void		 counters_add(struct counters *, enum counter, uint64_t n);
/* A gauge down by n, never below 0. */
void		 counters_sub(struct counters *, enum counter, uint64_t n);
void		 counters_set(struct counters *, enum counter, uint64_t v);
uint64_t	 counters_get(const struct counters *, enum counter);
/* "clients", "spool_files", ...: the name a reader shows. */
const char	*counters_name(enum counter);
enum counter_kind counters_kind(enum counter);
/* One line on what it counts, for the metrics endpoint's HELP. */
const char	*counters_help(enum counter);

/* Every counter, in enum order. */
typedef void	 (*counters_fn)(enum counter, const char *name,
		    enum counter_kind, uint64_t v, void *arg);
void		 counters_each(const struct counters *, counters_fn, void *arg);

/* A monotonic clock in microseconds: when a check was born. */
int64_t		 counters_now_us(void);
/* "cache (submit budget)" is CSRC_CACHE: the first word decides. */
enum counter_source counters_source(const char *);
const char	*counters_source_name(enum counter_source);
const char	*counters_outcome_name(enum counter_outcome);
/* A decision made, by source word and outcome, born_us its check's. */
void		 counters_decision(struct counters *, const char *source,
		    enum counter_outcome, int64_t born_us);
void		 counters_hist_add(struct counters_hist *, uint64_t us);
/* What route a request is, from its method and path (no ids kept). */
enum counter_route counters_route(const char *method, const char *path);
const char	*counters_route_name(enum counter_route);
/* An API request ended: status 0 is no answer (timed_out: the deadline). */
void		 counters_api(struct counters *, enum counter_route,
		    long status, int timed_out);
/* kind: enum report_kind (0 start, 1 end); anything else is not counted. */
void		 counters_accepted(struct counters *, int kind);
void		 counters_delivered(struct counters *, int kind);

#endif /* COUNTERS_H */
