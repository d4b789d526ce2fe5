/*
 * dst_portal.c - the portal, as the queue's send hook meets it: each
 * request is given an answer when it is sent (drawn from the API's mode
 * of the moment) and answered at its due time.  The model applies what
 * reaches the portal (a POST makes the job's row with the estimate, a
 * PUT sets its amount), checks each amount against what the schedule
 * says the job must be charged, and keeps the account's usage.
 *
 * What reaches the portal: an answered request (ok, slow, 2xx without
 * confirmation); half of the lost ones and of the garbage answers; none
 * of the 5xx, 4xx and 401.  A request abandoned by a restart reached it
 * or not, half each.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dst.h"
#include "money.h"
#include "portal_report.h"
#include "queue.h"

/* api.timeout: a lost request is answered "no answer" this much later. */
#define LOST_MS		30000

/* Per mode, the weight of each answer (enum dst_answer's order). */
static const unsigned mix[API_NMODES][ANS_N] = {
	[API_HEALTHY] =  { 90, 10,  0,  0,  0,  0,  0,  0 },
	[API_FLAKY] =    { 30, 10, 10, 15,  3, 10, 15,  7 },
	[API_DOWN] =     {  0,  0, 40, 60,  0,  0,  0,  0 },
	[API_REFUSING] = { 60,  0,  0,  0, 40,  0,  0,  0 },
	[API_AUTH] =     { 40,  0,  0,  0,  0,  0,  0, 60 },
};

static const char *const ans_names[ANS_N] = { "ok", "slow", "lost", "5xx",
    "4xx", "garbage", "noconfirm", "401" };

static enum dst_answer
draw(struct dst_world *w)
{
	unsigned total = 0, i, x;

	for (i = 0; i < ANS_N; i++)
		total += mix[w->mode][i];
	x = (unsigned)dst_rng_below(&w->rng, total);
	for (i = 0; i < ANS_N; i++) {
		if (x < mix[w->mode][i])
			return (enum dst_answer)i;
		x -= mix[w->mode][i];
	}
	return ANS_OK;
}

static int64_t
latency(struct dst_world *w, enum dst_answer a)
{
	switch (a) {
	case ANS_SLOW:
		return 2000 + (int64_t)dst_rng_below(&w->rng, 88000);
	case ANS_LOST:
		return LOST_MS;
	case ANS_OK:
		return 1 + (int64_t)dst_rng_below(&w->rng, 300);
	default:
		return 1 + (int64_t)dst_rng_below(&w->rng, 100);
	}
}

int64_t
dst_expected(const struct dst_world *w, const struct dst_job *j, uint32_t run)
{
	int64_t sum = 0, own;
	uint32_t i;

	for (i = 0; i <= run && i < j->nruns; i++) {
		own = j->node_fail[i] && w->node_fail_free ? 0 : j->cost[i];
		sum = w->last_run ? own : sum + own;
	}
	return sum;
}

static int
job_index(const struct dst_world *w, uint32_t id)
{
	int i;

	for (i = 0; i < w->njobs; i++)
		if (w->jobs[i].id == id)
			return i;
	return -1;
}

/* The body's amount and run, as the portal would read them. */
static int
parse_body(const char *body, int64_t *cents, uint32_t *run)
{
	const char *s, *why;
	json_error_t e;
	json_t *j;
	int rc = -1;

	if ((j = json_loads(body, 0, &e)) == NULL)
		return -1;
	s = json_string_value(json_object_get(j, "amount"));
	if (s != NULL && money_parse(s, 2, cents, &why) == 0 &&
	    json_is_integer(json_object_get(j, "simrun"))) {
		*run = (uint32_t)json_integer_value(json_object_get(j,
		    "simrun"));
		rc = 0;
	}
	json_decref(j);
	return rc;
}

/*
 * A report the delivered hook confirmed, sent again: bankd forgot it had
 * delivered it.  Only a torn journal may make it (its done record lost).
 */
static void
check_again(struct dst_world *w, const struct dst_req *q)
{
	const struct dst_job *j = &w->jobs[q->job];
	uint32_t bit = q->r->kind == REPORT_START ? 1u : 1u << (q->run + 1);

	if ((j->done_mask & bit) && w->opening && w->torn_gen &&
	    w->nagain < (int)(sizeof(w->again) / sizeof(w->again[0]))) {
		w->again[w->nagain].job = (uint32_t)q->job;
		w->again[w->nagain].bit = bit;
		w->again[w->nagain].run = q->run;
		w->again[w->nagain].start = q->r->kind == REPORT_START;
		w->nagain++;
		return;
	}
	if (j->done_mask & bit)
		dst_fail(w, "job %u: %s of run %u sent again, after it was "
		    "delivered", j->id, q->r->kind == REPORT_START ? "POST" :
		    "PUT", q->run);
}

/* The resends made while a torn restart opened, now that undone() ran. */
void
dst_portal_judge_deferred(struct dst_world *w)
{
	int i;

	for (i = 0; i < w->nagain; i++)
		if (w->jobs[w->again[i].job].done_mask & w->again[i].bit)
			dst_fail(w, "job %u: %s of run %u sent again, after it "
			    "was delivered", w->jobs[w->again[i].job].id,
			    w->again[i].start ? "POST" : "PUT", w->again[i].run);
	w->nagain = 0;
}

/* The request reached the portal; 1 if a POST met its job there. */
static int
apply(struct dst_world *w, const struct dst_req *q)
{
	struct dst_job *j = &w->jobs[q->job];
	int64_t want;

	if (q->verify)
		return 0;
	check_again(w, q);
	if (q->r->kind == REPORT_START) {
		if (j->exists)
			return 1;
		w->posts++;
		if (q->amount != j->est)
			dst_fail(w, "job %u: POST of %" PRId64 " cents, its "
			    "estimate is %" PRId64, j->id, q->amount, j->est);
		j->exists = 1;
		j->amount = q->amount;
		w->usage[j->account] += q->amount;
		dst_trace(w, "portal POST job %u %" PRId64, j->id, q->amount);
		return 0;
	}
	w->puts++;
	want = dst_expected(w, j, q->run);
	if (q->run >= j->nruns || q->amount != want)
		dst_fail(w, "job %u: PUT of %" PRId64 " cents for run %u, "
		    "which must charge %" PRId64, j->id, q->amount, q->run,
		    want);
	w->usage[j->account] += q->amount - (j->exists ? j->amount : 0);
	j->exists = 1;
	j->amount = q->amount;
	dst_trace(w, "portal PUT job %u run %u %" PRId64, j->id, q->run,
	    q->amount);
	return 0;
}

int
dst_portal_send(void *ctx, struct portal_report *r, char *body)
{
	struct dst_world *w = ctx;
	struct sending *s = r->arg;
	struct dst_req *q, *nq;
	size_t cap;

	if (w->nreqs == w->capreqs) {
		cap = w->capreqs ? w->capreqs * 2 : 16;
		if ((nq = realloc(w->reqs, cap * sizeof(*nq))) == NULL) {
			free(body);
			return -1;
		}
		w->reqs = nq;
		w->capreqs = cap;
	}
	q = &w->reqs[w->nreqs];
	memset(q, 0, sizeof(*q));
	q->r = r;
	q->id = w->next_req++;
	q->seq = s->e->seq;
	q->verify = r->verify;
	if ((q->job = job_index(w, r->job_id)) < 0) {
		dst_fail(w, "a report of job %u, which the schedule never "
		    "made", r->job_id);
		free(body);
		return -1;
	}
	if (!q->verify && parse_body(body, &q->amount, &q->run) != 0) {
		dst_fail(w, "job %u: a body the portal cannot read: %s",
		    r->job_id, body);
		free(body);
		return -1;
	}
	free(body);
	q->ans = draw(w);
	q->due_ms = dst_now_ms() + latency(w, q->ans);
	w->nreqs++;
	dst_trace(w, "send #%" PRIu64 " seq %" PRIu64 " job %u %s%s %" PRId64
	    " -> %s at %" PRId64, q->id, q->seq, r->job_id,
	    r->kind == REPORT_START ? "POST" : "PUT", q->verify ? "(verify)" :
	    "", q->amount, ans_names[q->ans], q->due_ms);
	if (q->ans == ANS_LOST && dst_rng_pct(&w->rng, 50))
		apply(w, q);
	return 0;
}

static void
refused_add(struct dst_world *w, uint64_t seq)
{
	uint64_t *n;
	size_t cap;

	if (w->nrefused == w->caprefused) {
		cap = w->caprefused ? w->caprefused * 2 : 16;
		if ((n = realloc(w->refused, cap * sizeof(*n))) == NULL) {
			dst_fail(w, "out of memory");
			return;
		}
		w->refused = n;
		w->caprefused = cap;
	}
	w->refused[w->nrefused++] = seq;
}

/* Answer q: what its portal_report_answer is, and what reached the portal. */
static void
answer(struct dst_world *w, struct dst_req q)
{
	struct portal_report_answer a;
	int dup;

	memset(&a, 0, sizeof(a));
	a.reason = "";
	a.advice = "";
	a.api_ok = 1;
	switch (q.ans) {
	case ANS_OK:
	case ANS_SLOW:
		dup = apply(w, &q);
		a.result = q.verify ? PR_VERIFIED : dup ? PR_DUPLICATE :
		    PR_DELIVERED;
		a.http_status = dup ? 200 : 201;
		break;
	case ANS_GARBAGE:
		if (dst_rng_pct(&w->rng, 50))
			apply(w, &q);
		/* FALLTHROUGH */
	case ANS_NOCONFIRM:
		if (q.ans == ANS_NOCONFIRM)
			apply(w, &q);
		a.result = PR_RETRY;
		a.reason = "HTTP 200 that confirms nothing";
		a.api_ok = 0;
		a.api_error = a.reason;
		a.http_status = 200;
		break;
	case ANS_LOST:
	case ANS_5XX:
		a.result = PR_RETRY;
		a.reason = q.ans == ANS_LOST ? "no answer" : "HTTP 503";
		a.api_ok = 0;
		a.api_error = a.reason;
		a.http_status = q.ans == ANS_LOST ? 0 : 503;
		break;
	case ANS_4XX:
		a.result = q.verify ? PR_RETRY : PR_REFUSED;
		a.reason = "HTTP 422: amount: not valid";
		a.http_status = 422;
		if (!q.verify)
			refused_add(w, q.seq);
		break;
	case ANS_AUTH:
		a.result = PR_AUTH;
		a.reason = "HTTP 401";
		a.advice = "check api.token";
		a.api_ok = 0;
		a.api_error = a.reason;
		a.http_status = 401;
		break;
	case ANS_N:
		break;
	}
	w->answers++;
	dst_trace(w, "answer #%" PRIu64 " result %d http %ld", q.id, a.result,
	    a.http_status);
	/* Delivered, as bankd knows now: never to be sent again. */
	if (!q.verify && (a.result == PR_DELIVERED || a.result == PR_DUPLICATE))
		w->jobs[q.job].done_mask |= q.r->kind == REPORT_START ? 1u :
		    1u << (q.run + 1);
	q.r->cb(&a, q.r->arg);	/* r is freed */
}

/* The request answered next: the least (due, id). */
static int
next_index(const struct dst_world *w)
{
	size_t i;
	int best = -1;

	for (i = 0; i < w->nreqs; i++)
		if (best < 0 || w->reqs[i].due_ms < w->reqs[best].due_ms ||
		    (w->reqs[i].due_ms == w->reqs[best].due_ms &&
		    w->reqs[i].id < w->reqs[best].id))
			best = (int)i;
	return best;
}

int64_t
dst_portal_next_due(const struct dst_world *w)
{
	int i = next_index(w);

	return i < 0 ? INT64_MAX : w->reqs[i].due_ms;
}

int
dst_portal_answer_due(struct dst_world *w)
{
	struct dst_req q;
	int i, any = 0;

	while ((i = next_index(w)) >= 0 && w->reqs[i].due_ms <= dst_now_ms()) {
		q = w->reqs[i];
		w->reqs[i] = w->reqs[--w->nreqs];
		answer(w, q);
		dst_settle(w);
		any = 1;
	}
	return any;
}

void
dst_portal_abandon(struct dst_world *w)
{
	size_t i;

	for (i = 0; i < w->nreqs; i++) {
		if (dst_rng_pct(&w->rng, 50)) {
			dst_trace(w, "abandoned #%" PRIu64 " reached the portal",
			    w->reqs[i].id);
			apply(w, &w->reqs[i]);
		}
	}
	w->nreqs = 0;
}

void
dst_portal_free(struct dst_world *w)
{
	free(w->reqs);
	free(w->refused);
	w->reqs = NULL;
	w->refused = NULL;
	w->nreqs = w->capreqs = w->nrefused = w->caprefused = 0;
}
