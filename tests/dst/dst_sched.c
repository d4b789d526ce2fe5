/*
 * dst_sched.c - the schedule: each step, drawn from the seed's PRNG, is
 * one thing that happens to bankd.  A job is placed a hold (its check),
 * then reports its runs in order (start, end; a requeued job runs again
 * under its id); reports are resent (a plugin's spool, a relay whose
 * acknowledgement was lost); time passes; the API changes its mood;
 * bankd restarts, maybe with a torn journal; the wall clock jumps; an
 * operator retries the dead letters; a check asks the cache.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "deliver.h"
#include "dst.h"
#include "holds.h"
#include "journal.h"
#include "money.h"
#include "report.h"

static const char *const take_names[] = { "queued", "joined", "dup",
    "superseded", "folded", "later", "too_big" };

void
dst_sched_init(struct dst_world *w)
{
	static const int inflight[] = { 1, 2, 4, 64 };
	int i;

	w->fsync = dst_rng_pct(&w->rng, 50);
	w->max_inflight = inflight[dst_rng_below(&w->rng, 4)];
	w->retry_max_ms = dst_rng_pct(&w->rng, 50) ? 2000 : 300000;
	w->last_run = dst_rng_pct(&w->rng, 25);
	w->node_fail_free = dst_rng_pct(&w->rng, 50);
	w->mode = API_HEALTHY;
	for (i = 0; i < DST_ACCOUNTS; i++) {
		w->alloc[i] = 10000 + (int64_t)dst_rng_below(&w->rng, 200000);
		w->exact[i] = 1;
	}
	dst_trace(w, "settings fsync %d inflight %d retry_max %d last_run %d "
	    "node_fail_free %d", w->fsync, w->max_inflight, w->retry_max_ms,
	    w->last_run, w->node_fail_free);
}

struct ack {
	struct dst_world *w;
	int		 job;
};

static void
on_ack(void *arg, int ok)
{
	struct ack *a = arg;

	dst_trace(a->w, "ack job %u %d", a->w->jobs[a->job].id, ok);
	if (ok)
		a->w->jobs[a->job].acked++;
	free(a);
}

static void
account_name(int a, char *buf, size_t len)
{
	snprintf(buf, len, "acct%d", a);
}

/* The report at script position p, as report_build would make it. */
static int
make(struct dst_world *w, const struct dst_job *j, const struct dst_rep *p,
    struct report *r)
{
	char amount[MONEY_FMT_LEN], date[32];

	memset(r, 0, sizeof(*r));
	r->kind = p->kind;
	r->job_id = j->id;
	r->uid = j->uid;
	r->hold = j->token;
	account_name(j->account, r->account, sizeof(r->account));
	r->run = p->run;
	r->submit = j->submit;
	if (p->kind == REPORT_START)
		r->cents = j->est;
	else {
		r->cents = j->cost[p->run];
		r->node_fail = j->node_fail[p->run];
	}
	money_format(r->cents, amount);
	if (report_date(j->submit, date) != 0)
		return -1;
	(void)w;
	return asprintf(&r->body, "{\"amount\":\"%s\",\"jobslurmid\":\"%u\","
	    "\"account\":\"%s\",\"submitdate\":\"%s\",\"jobstatus\":\"%s\","
	    "\"simrun\":%u}", amount, j->id, r->account, date,
	    p->kind == REPORT_START ? "RUNNING" : r->node_fail ? "NODE_FAIL" :
	    "COMPLETED", p->run) < 0 ? -1 : 0;
}

void
dst_take(struct dst_world *w, int job, const struct dst_rep *p)
{
	struct dst_job *j = &w->jobs[job];
	enum deliver_take t;
	struct report r;
	struct ack *a;

	if (make(w, j, p, &r) != 0 || (a = calloc(1, sizeof(*a))) == NULL) {
		dst_fail(w, "out of memory");
		report_clear(&r);
		return;
	}
	a->w = w;
	a->job = job;
	t = deliver_take(w->dq, &r, on_ack, a);
	w->takes++;
	dst_trace(w, "take job %u %s run %u -> %s", j->id, p->kind ==
	    REPORT_START ? "start" : "end", p->run, take_names[t]);
	/* As accept.c: only a report the queue holds binds its hold. */
	if (j->token != 0 && (t == TAKE_QUEUED || t == TAKE_JOINED ||
	    t == TAKE_FOLDED))
		hold_bind(w->holds, j->token, j->id);
	if (t != TAKE_QUEUED && t != TAKE_JOINED)
		free(a);
	if (t == TAKE_LATER || t == TAKE_TOO_BIG)
		dst_fail(w, "job %u: the queue cannot take a report (%s)",
		    j->id, take_names[t]);
	report_clear(&r);
	dst_settle(w);
}

static void
rep_at(uint32_t pos, struct dst_rep *p)
{
	p->kind = pos % 2 == 0 ? REPORT_START : REPORT_END;
	p->run = pos / 2;
}

static void
new_job(struct dst_world *w)
{
	struct dst_job *j = &w->jobs[w->njobs];
	char account[32];
	uint32_t i;

	memset(j, 0, sizeof(*j));
	j->id = 1000 + (uint32_t)w->njobs * 7;
	j->account = (int)dst_rng_below(&w->rng, DST_ACCOUNTS);
	j->uid = 1000 + (uint32_t)dst_rng_below(&w->rng, 3);
	j->submit = dst_wall() - (int64_t)dst_rng_below(&w->rng, 3600);
	j->est = 1 + (int64_t)dst_rng_below(&w->rng, 10000);
	j->nruns = 1;
	if (dst_rng_pct(&w->rng, 25))
		j->nruns += 1 + (uint32_t)dst_rng_below(&w->rng,
		    DST_MAX_RUNS - 1);
	for (i = 0; i < j->nruns; i++) {
		j->cost[i] = (int64_t)dst_rng_below(&w->rng, 20000);
		j->node_fail[i] = (uint8_t)dst_rng_pct(&w->rng, 15);
	}
	j->start_gen = (unsigned)-1;
	account_name(j->account, account, sizeof(account));
	/* The check: the cache's verdict, then the hold. */
	dst_check_cache(w, j->account, j->est);
	j->token = hold_place(w->holds, j->uid, account, j->est, 1, 0);
	if (j->token == 0)
		dst_fail(w, "job %u: no hold could be placed", j->id);
	w->njobs++;
	dst_trace(w, "job %u account %d est %" PRId64 " runs %u token %" PRIu64,
	    j->id, j->account, j->est, j->nruns, j->token);
	dst_settle(w);
}

/* A job with reports left; -1 if none. */
static int
pick_job(struct dst_world *w, int need_left)
{
	int i, n = 0, k;

	for (i = 0; i < w->njobs; i++)
		if (need_left ? w->jobs[i].next < 2 * w->jobs[i].nruns :
		    w->jobs[i].next > 0)
			n++;
	if (n == 0)
		return -1;
	k = (int)dst_rng_below(&w->rng, (uint64_t)n);
	for (i = 0; i < w->njobs; i++)
		if ((need_left ? w->jobs[i].next < 2 * w->jobs[i].nruns :
		    w->jobs[i].next > 0) && k-- == 0)
			return i;
	return -1;
}

static void
report_next(struct dst_world *w)
{
	struct dst_rep p;
	int i = pick_job(w, 1);

	if (i < 0)
		return;
	rep_at(w->jobs[i].next++, &p);
	dst_take(w, i, &p);
}

/* A report taken before comes again. */
static void
resend(struct dst_world *w)
{
	struct dst_rep p;
	int i = pick_job(w, 0);

	if (i < 0)
		return;
	rep_at((uint32_t)dst_rng_below(&w->rng, w->jobs[i].next), &p);
	dst_trace(w, "resend");
	dst_take(w, i, &p);
}

static void
advance(struct dst_world *w)
{
	int64_t now = dst_now_ms(), next = dst_next_event(w), t;
	unsigned x = (unsigned)dst_rng_below(&w->rng, 100);

	if (x < 60 && next != INT64_MAX)
		t = next > now ? next : now;
	else if (x < 90)
		t = now + (int64_t)dst_rng_below(&w->rng, 5000);
	else
		t = now + (int64_t)dst_rng_below(&w->rng, 600000);
	dst_trace(w, "advance to %" PRId64, t);
	dst_advance_to(w, t);
}

static void
jump(struct dst_world *w)
{
	int64_t s = (int64_t)dst_rng_below(&w->rng, 4 * 86400) - 2 * 86400;

	dst_trace(w, "wall clock jumps %" PRId64 " s", s);
	dst_clock_jump_wall(s);
	w->jumps++;
	w->jumped = 1;
}

static void
mood(struct dst_world *w)
{
	w->mode = dst_rng_pct(&w->rng, 40) ? API_HEALTHY :
	    (enum dst_api_mode)dst_rng_below(&w->rng, API_NMODES);
	dst_trace(w, "api mode %d", w->mode);
}

/* Where the holds' records of this step begin. */
static uint64_t
holds_size(void)
{
	struct journal *j = dst_journal_holds();

	return j != NULL ? journal_size(j) : 0;
}

void
dst_sched_step(struct dst_world *w)
{
	unsigned x = (unsigned)dst_rng_below(&w->rng, 100);
	int was_time = 0;

	if (x < 12) {
		if (w->njobs < DST_MAX_JOBS)
			new_job(w);
	} else if (x < 42)
		report_next(w);
	else if (x < 50)
		resend(w);
	else if (x < 82) {
		w->holds_size_at_step = holds_size();
		w->holds_rewrites_at_step = dst_rewrites(1);
		advance(w);
		was_time = 1;
	} else if (x < 86)
		dst_world_restart(w, dst_rng_pct(&w->rng, 50));
	else if (x < 89)
		jump(w);
	else if (x < 95)
		mood(w);
	else if (x < 97) {
		dst_trace(w, "operator retries %ld", deliver_retry(w->dq, 0));
		dst_settle(w);
	} else
		dst_check_cache(w, (int)dst_rng_below(&w->rng, DST_ACCOUNTS),
		    (int64_t)dst_rng_below(&w->rng, 50000));
	w->step_was_time = was_time;
}

void
dst_sched_finish(struct dst_world *w)
{
	int i;

	for (i = 0; i < w->njobs && w->fail[0] == '\0'; i++)
		while (w->jobs[i].next < 2 * w->jobs[i].nruns) {
			struct dst_rep p;

			rep_at(w->jobs[i].next++, &p);
			dst_take(w, i, &p);
			dst_advance_to(w, dst_now_ms() +
			    (int64_t)dst_rng_below(&w->rng, 2000));
		}
}
