/*
 * dst_check.c - what must hold.  After every step: the tally's sums are
 * those of the holds listed, no job whose reports were all delivered
 * keeps a hold, the portal's usage is the sum of its rows.  At every
 * check: a cache verdict the portal's state contradicts is a bug when
 * bankd has been told of every charge the portal applied (and exactly
 * so when nothing since the cache began could shift it: see
 * dst_check_cache).  At the end, after a drain with a healthy API: the
 * dead letters are those the portal refused; once retried, every job is
 * charged exactly what the schedule says, nothing is queued, nothing
 * held.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bankd.h"
#include "cache.h"
#include "deliver.h"
#include "dst.h"
#include "holds.h"
#include "ledger.h"

static int
job_of(const struct dst_world *w, uint32_t id)
{
	int i;

	for (i = 0; i < w->njobs; i++)
		if (w->jobs[i].id == id)
			return i;
	return -1;
}

void
dst_on_delivered(void *arg, const struct report *r)
{
	struct dst_world *w = arg;
	struct dst_job *j;
	int i;

	ledger_delivered(w->bd, r);
	dst_trace(w, "delivered job %u %s %" PRId64 " held %" PRId64,
	    r->job_id, r->kind == REPORT_START ? "start" : "end", r->cents,
	    r->held);
	if ((i = job_of(w, r->job_id)) < 0) {
		dst_fail(w, "delivered a job the schedule never made: %u",
		    r->job_id);
		return;
	}
	j = &w->jobs[i];
	/*
	 * The ledger keeps a start's amount in memory only: a completion
	 * delivered after a restart shifts the cache by all of it
	 * (conservative, and bounded by the TTL): no longer exact.
	 */
	if (r->kind == REPORT_END && j->start_gen != (unsigned)-1 &&
	    j->start_gen != w->gen)
		w->exact[j->account] = 0;
	/*
	 * Delivered again after a torn restart put it back, maybe in a
	 * later generation: the portal had it, the fresh ledger counts it
	 * again (conservative until the cache's TTL): no longer exact.
	 */
	if (j->put_back) {
		w->exact[j->account] = 0;
		j->put_back = 0;
	}
	if (r->kind == REPORT_START)
		j->start_gen = w->gen;
	j->confirmed = r->cents;
	j->confirmed_exists = 1;
}

uint64_t
dst_send_tick(void *arg)
{
	return ledger_tick(((struct dst_world *)arg)->bd);
}

/* bankd was told of every charge the portal applied to the account. */
static int
clean(const struct dst_world *w, int a)
{
	int i;

	for (i = 0; i < w->njobs; i++) {
		const struct dst_job *j = &w->jobs[i];

		if (j->account == a && (j->exists != j->confirmed_exists ||
		    (j->exists && j->amount != j->confirmed)))
			return 0;
	}
	return 1;
}

void
dst_check_cache(struct dst_world *w, int a, int64_t cost)
{
	enum cache_verdict v;
	const char *msg = NULL;
	char account[32];
	int truth, ok;

	snprintf(account, sizeof(account), "acct%d", a);
	truth = w->usage[a] + cost <= w->alloc[a];
	ok = clean(w, a);
	v = cache_judge(w->cache, account, CACHE_ACCOUNT, cost, dst_wall(),
	    300, &msg);
	dst_trace(w, "check acct%d cost %" PRId64 ": cache %d truth %d clean "
	    "%d exact %d", a, cost, v, truth, ok, w->exact[a]);
	if (v == CACHE_UNKNOWN) {
		if (!ok)
			w->exact[a] = 0;
		cache_learn(w->cache, account, CACHE_ACCOUNT, cost, truth,
		    truth ? NULL : "over the allocation", dst_wall());
		return;
	}
	if (!ok || w->jumped)
		return;
	/* Never a pass the portal would refuse; exact when nothing drifted. */
	if (v == CACHE_PASS && !truth)
		dst_fail(w, "cache: acct%d passes %" PRId64 " cents, the portal "
		    "has %" PRId64 " of %" PRId64 " used", a, cost, w->usage[a],
		    w->alloc[a]);
	if (v == CACHE_FAIL && truth && w->exact[a])
		dst_fail(w, "cache: acct%d refuses %" PRId64 " cents, the "
		    "portal has %" PRId64 " of %" PRId64 " used", a, cost,
		    w->usage[a], w->alloc[a]);
}

struct sum {
	int64_t		 cents;
	size_t		 n;
};

static void
add_hold(const struct hold_view *v, void *arg)
{
	struct sum *s = arg;

	s->cents += v->cents;
	s->n++;
}

void
dst_check_step(struct dst_world *w)
{
	struct hold_view hv;
	struct sum s;
	int64_t acct, user, usage[DST_ACCOUNTS] = { 0 }, t;
	uint64_t held;
	size_t jobs;
	char account[32];
	int a, i;

	for (a = 0; a < DST_ACCOUNTS; a++) {
		snprintf(account, sizeof(account), "acct%d", a);
		memset(&s, 0, sizeof(s));
		holds_list(w->holds, account, -1, add_hold, &s);
		holds_sum(w->holds, account, 0, &acct, &user, &jobs);
		if (acct != s.cents || jobs != s.n)
			dst_fail(w, "tally: acct%d sums %" PRId64 " cents in %zu "
			    "holds, the holds listed %" PRId64 " in %zu", a,
			    acct, jobs, s.cents, s.n);
	}
	for (i = 0; i < w->njobs; i++) {
		const struct dst_job *j = &w->jobs[i];

		if (j->exists)
			usage[j->account] += j->amount;
		if (j->next > 0 && (t = deliver_settled(w->dq, j->id, &held)) > 0 &&
		    hold_find(w->holds, j->token, j->id, &hv) == 0)
			dst_fail(w, "job %u: delivered, still held (%" PRId64
			    " cents, token %" PRIu64 "; the hold made at %lld, "
			    "the job's first report taken at %" PRId64 ")",
			    j->id, hv.cents, j->token, (long long)hv.created,
			    t);
	}
	for (a = 0; a < DST_ACCOUNTS; a++)
		if (usage[a] != w->usage[a])
			dst_fail(w, "portal: acct%d usage %" PRId64 ", its jobs "
			    "sum %" PRId64, a, w->usage[a], usage[a]);
}

/* Time passes, the API healthy, until nothing is due any more. */
static void
drain(struct dst_world *w)
{
	int64_t n;
	int guard = 0;

	w->mode = API_HEALTHY;
	while ((n = dst_next_event(w)) != INT64_MAX && w->fail[0] == '\0') {
		if (++guard > 100000) {
			dst_fail(w, "the queue never drains");
			return;
		}
		dst_advance_to(w, n);
	}
}

static void
check_dead(const struct deliver_view *v, void *arg)
{
	struct dst_world *w = arg;
	size_t i;

	for (i = 0; i < w->nrefused; i++)
		if (w->refused[i] == v->seq)
			return;
	dst_fail(w, "dead letter %" PRIu64 " (job %u %s) that the portal never "
	    "refused: %s", v->seq, v->job_id, v->kind, v->last_error ?
	    v->last_error : "");
}

/* A report left after the drain: behind a dead letter, or a bug. */
static void
check_behind(const struct deliver_view *v, void *arg)
{
	struct dst_world *w = arg;

	if (strcmp(v->state, "dead") == 0)
		return;
	if (strcmp(v->state, "behind") != 0)
		dst_fail(w, "drained, report %" PRIu64 " (job %u %s) is still "
		    "%s", v->seq, v->job_id, v->kind, v->state);
}

void
dst_check_final(struct dst_world *w)
{
	struct deliver_stats st;
	int64_t want, acct, user;
	size_t jobs;
	char account[32];
	int a, i;

	dst_trace(w, "finish");
	dst_sched_finish(w);
	drain(w);
	deliver_stats(w->dq, &st);
	deliver_list(w->dq, 0, SIZE_MAX, 1, check_dead, w);
	/* Only what waits behind a dead letter of its job may be left. */
	deliver_list(w->dq, 0, SIZE_MAX, 0, check_behind, w);
	if (st.dead > 0) {
		dst_trace(w, "operator retries %ld", deliver_retry(w->dq, 0));
		dst_settle(w);
		drain(w);
	}
	dst_check_step(w);
	/* What is left must survive a restart, and be nothing. */
	dst_world_restart(w, 0);
	deliver_stats(w->dq, &st);
	if (st.queued != 0)
		dst_fail(w, "after the drain and a restart, %zu reports queued "
		    "(%zu dead)", st.queued, st.dead);
	for (i = 0; i < w->njobs; i++) {
		const struct dst_job *j = &w->jobs[i];

		want = dst_expected(w, j, j->nruns - 1);
		if (!j->exists || j->amount != want)
			dst_fail(w, "job %u: charged %" PRId64 " cents (%s), must "
			    "be %" PRId64, j->id, j->amount, j->exists ?
			    "its row" : "no row", want);
	}
	if (holds_count(w->holds) != 0)
		dst_fail(w, "%zu holds left after every job was delivered",
		    holds_count(w->holds));
	for (a = 0; a < DST_ACCOUNTS; a++) {
		snprintf(account, sizeof(account), "acct%d", a);
		holds_sum(w->holds, account, 0, &acct, &user, &jobs);
		if (acct != 0 || jobs != 0)
			dst_fail(w, "tally: acct%d still sums %" PRId64 " cents "
			    "in %zu holds", a, acct, jobs);
	}
	dst_check_step(w);
}
