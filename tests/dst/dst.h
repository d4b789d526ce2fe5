/*
 * dst.h - the deterministic simulation of bankd's report queue, holds
 * and cache (see README.md): one process, one seeded PRNG, simulated
 * time, and a model of the portal that checks every charge.
 *
 *	dst_wrap.c	the clock, random() and the journals' open/close, as
 *			the linker's --wrap hands them to bankd's objects
 *	dst_rng.c	the PRNG (xoshiro256**, seeded by splitmix64)
 *	dst_portal.c	the portal: the send hook, answers, the model
 *	dst_world.c	bankd's parts: open, close, restart, settle, time
 *	dst_sched.c	the schedule: jobs, reports, faults, one step each
 *	dst_check.c	what must hold, during the run and at its end
 *	dst_main.c	seeds, replay, trace
 */
#ifndef DST_H
#define DST_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

struct event_base;
struct deliver;
struct holds;
struct cache;
struct ledger;
struct journal;
struct portal_report;

/* ---- dst_rng.c ---- */
struct dst_rng {
	uint64_t	 s[4];
};
void		 dst_rng_seed(struct dst_rng *, uint64_t seed);
uint64_t	 dst_rng_next(struct dst_rng *);
/* Uniform in [0, n); n > 0. */
uint64_t	 dst_rng_below(struct dst_rng *, uint64_t n);
/* 1 with probability pct/100. */
int		 dst_rng_pct(struct dst_rng *, unsigned pct);

/* ---- dst_wrap.c ---- */
/* Simulated time: monotonic ms since the run began, wall offset in s. */
void		 dst_clock_reset(uint64_t seed);
int64_t		 dst_now_ms(void);
void		 dst_clock_set_ms(int64_t mono_ms);
void		 dst_clock_jump_wall(int64_t seconds);
int64_t		 dst_wall(void);
/* The journals bankd's objects opened last: the queue's, the holds'. */
struct journal	*dst_journal_queue(void);
struct journal	*dst_journal_holds(void);
/* How many times a journal was rewritten (compacted): positions move. */
uint64_t	 dst_rewrites(int holds);
/* What a journal had synced, and written, when it was closed last. */
void		 dst_closed(int holds, uint64_t *sync_end, uint64_t *end);

/* ---- the world ---- */
#define DST_ACCOUNTS	3
#define DST_MAX_RUNS	3
#define DST_MAX_JOBS	64

enum dst_api_mode {
	API_HEALTHY,		/* ok, a few slow */
	API_FLAKY,		/* every kind of answer */
	API_DOWN,		/* 5xx and lost only */
	API_REFUSING,		/* some 4xx: dead letters */
	API_AUTH,		/* some 401 */
	API_NMODES
};

enum dst_answer {
	ANS_OK, ANS_SLOW, ANS_LOST, ANS_5XX, ANS_4XX, ANS_GARBAGE,
	ANS_NOCONFIRM, ANS_AUTH, ANS_N
};

/* A report the schedule made (job's script), kept for resends. */
struct dst_rep {
	enum report_kind kind;
	uint32_t	 run;
};

struct dst_job {
	uint32_t	 id;
	int		 account;
	uint32_t	 uid;
	uint64_t	 token;		/* its hold */
	int64_t		 submit;
	int64_t		 est;		/* the start's amount */
	uint32_t	 nruns;
	int64_t		 cost[DST_MAX_RUNS];
	uint8_t		 node_fail[DST_MAX_RUNS];
	uint32_t	 next;		/* script position: 2 run + end? */
	uint32_t	 acked;		/* reports acked by the queue */
	/* The portal's row. */
	int		 exists;
	int64_t		 amount;
	/* What the delivered hook told (the cache's view). */
	int64_t		 confirmed;
	int		 confirmed_exists;
	unsigned	 start_gen;	/* restart generation of its start */
	/* Reports answered delivered (bit 0 the start, 1 + k the
	   completion of run k), since the last torn restart. */
	uint32_t	 done_mask;
	/* A torn restart put a delivered report of it back in the queue. */
	int		 put_back;
};

/* A request on its way: what the portal will answer, and when. */
struct dst_req {
	struct portal_report *r;
	uint64_t	 id;
	uint64_t	 seq;		/* the queue's entry */
	int64_t		 due_ms;
	enum dst_answer	 ans;
	int		 job;		/* index in jobs */
	int64_t		 amount;	/* the body's */
	uint32_t	 run;		/* the body's simrun */
	int		 verify;
};

struct dst_world {
	uint64_t	 seed;
	int		 steps;
	struct dst_rng	 rng;
	char		 dir[256];
	struct event_base *base;
	struct deliver	*dq;
	struct holds	*holds;
	struct cache	*cache;
	struct ledger	*ledger;
	void		*bd;		/* a struct bankd for ledger.c */
	/* Settings, drawn per seed. */
	int		 fsync;
	int		 max_inflight;
	int		 retry_max_ms;
	int		 last_run;
	int		 node_fail_free;
	/* The schedule. */
	struct dst_job	 jobs[DST_MAX_JOBS];
	int		 njobs;
	enum dst_api_mode mode;
	int		 step;
	unsigned	 gen;		/* restarts so far */
	int		 torn_gen;	/* a torn restart in this generation */
	/*
	 * Sent again while a torn restart's queue was opening (its first
	 * sends go from deliver_open, before undone() can look): judged
	 * once it has (dst_portal_judge_deferred).
	 */
	int		 opening;
	struct { uint32_t job, bit, run; int start; } again[64];
	int		 nagain;
	int		 jumped;	/* a clock jump since the cache began */
	uint64_t	 holds_size_at_step;
	uint64_t	 holds_rewrites_at_step;
	int		 step_was_time;
	/* The portal. */
	struct dst_req	*reqs;
	size_t		 nreqs, capreqs;
	uint64_t	 next_req;
	int64_t		 usage[DST_ACCOUNTS];
	int64_t		 alloc[DST_ACCOUNTS];
	uint64_t	*refused;	/* seqs the portal answered 4xx */
	size_t		 nrefused, caprefused;
	int		 exact[DST_ACCOUNTS]; /* the cache may be judged exactly */
	/* Counters for the report. */
	uint64_t	 posts, puts, answers, takes, restarts, tears, jumps;
	/* Tracing. */
	int		 trace;
	uint64_t	 hash;
	char		 fail[512];
};

/* dst_main.c */
void		 dst_trace(struct dst_world *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* Record the first failure (later ones are consequences). */
void		 dst_fail(struct dst_world *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* dst_portal.c */
int		 dst_portal_send(void *ctx, struct portal_report *, char *body);
/* Answer every request due by now, in (due, id) order; 1 if any. */
int		 dst_portal_answer_due(struct dst_world *);
int64_t		 dst_portal_next_due(const struct dst_world *);
/* Judge the resends check_again deferred while a torn restart opened. */
void		 dst_portal_judge_deferred(struct dst_world *);
/* A restart: requests in flight reached the portal, or did not. */
void		 dst_portal_abandon(struct dst_world *);
void		 dst_portal_free(struct dst_world *);
/* What a job's completion of run k must charge in total. */
int64_t		 dst_expected(const struct dst_world *, const struct dst_job *,
		    uint32_t run);

/* dst_world.c */
int		 dst_world_open(struct dst_world *);
void		 dst_world_close(struct dst_world *);
void		 dst_world_restart(struct dst_world *, int tear);
/* Run the loop until nothing is active and no commit is in flight. */
void		 dst_settle(struct dst_world *);
/* The queue's timer: when it is due (INT64_MAX: not set). */
int64_t		 dst_queue_due(const struct dst_world *);
/* Move time to t, firing what falls due on the way, in order. */
void		 dst_advance_to(struct dst_world *, int64_t t);
/* The next moment something is due; INT64_MAX: nothing. */
int64_t		 dst_next_event(const struct dst_world *);

/* dst_sched.c */
void		 dst_sched_init(struct dst_world *);
void		 dst_sched_step(struct dst_world *);
/* Every job's remaining reports, in order, time moving. */
void		 dst_sched_finish(struct dst_world *);
void		 dst_take(struct dst_world *, int job, const struct dst_rep *);

/* dst_check.c */
void		 dst_check_step(struct dst_world *);
void		 dst_check_cache(struct dst_world *, int account, int64_t cost);
/* The end: drain with a healthy API, then every charge. */
void		 dst_check_final(struct dst_world *);
/* The delivered hook (ledger.c's, and the model's view of it). */
void		 dst_on_delivered(void *arg, const struct report *);
uint64_t	 dst_send_tick(void *arg);

#endif /* DST_H */
