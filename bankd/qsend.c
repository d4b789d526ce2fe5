/*
 * qsend.c - the report queue's sending (see queue.h and deliver.h for
 * the rules): what may go now goes, through the send hook; what the
 * portal's answer (portal_report.h) does to the report: delivered, tried
 * again after a backoff, narrowed to one at a time while the token is
 * refused, or kept as a dead letter.  An outage is said once, when it
 * begins and when it ends.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "logkv.h"
#include "queue.h"

static void
note_api(struct deliver *dq, int ok, const char *error)
{
	if (dq->hooks.api != NULL)
		dq->hooks.api(dq->hooks.arg, ok, error);
}

enum outcome {
	OUT_DELIVERED,
	OUT_DUP,		/* the portal had it: a retried POST's first try */
	OUT_RETRY,
	OUT_DEAD,
	OUT_SUPERSEDED,		/* a start its completion replaces */
};

/*
 * A delivery's line, job first: the report, what came of this try, the
 * HTTP status that said so (none: no answer), and what comes next.
 * next_ms < 0: no next try.
 */
static void
delivery_line(const struct deliver *dq, const struct entry *e,
    enum log_level level, enum outcome out, long http, int64_t next_ms,
    const char *why)
{
	static const char *const outs[] = { "delivered", "dup", "retry",
	    "dead", "superseded" };
	const struct qrec_run *st;
	struct logkv kv;

	if (!log_enabled(level))
		return;
	logkv_init(&kv);
	logkv_u64(&kv, "job", e->job_id);
	logkv_str(&kv, "event", "delivery");
	logkv_str(&kv, "kind", e->kind == REPORT_START ? "start" : "end");
	/* A completion's run is its run record's; a start is the first's. */
	if (e->kind == REPORT_END && (st = qrun_get(dq, e->job_id)) != NULL)
		logkv_u64(&kv, "run", st->run);
	logkv_money(&kv, "amount", e->cents);
	logkv_str(&kv, "account", e->account);
	logkv_u64(&kv, "uid", e->uid);
	logkv_str(&kv, "outcome", outs[out]);
	if (http > 0)
		logkv_i64(&kv, "http", http);
	logkv_u64(&kv, "attempt", e->attempts);
	if (next_ms >= 0)
		logkv_i64(&kv, "next_retry_s", (next_ms + 999) / 1000);
	if (out == OUT_DEAD)
		logkv_u64(&kv, "dead_letter", e->seq);
	if (why != NULL && *why != '\0')
		logkv_str(&kv, "reason", why);
	log_kv(level, &kv);
}

static void
retry_later(struct deliver *dq, struct entry *e, long http, const char *why)
{
	int64_t delay = qsched_backoff(e->attempts, dq->retry_max_ms);

	e->sn.due_ms = qsched_now() + delay;
	e->state = E_QUEUED;
	dq->retries++;
	qentry_set_error(e, why);
	/* The outage is logged once (went_down); each try at debug. */
	delivery_line(dq, e, LOG_LEVEL_DEBUG, OUT_RETRY, http, delay, why);
	qentry_schedule(dq, e);
}

/* The API failed a delivery: the first failure of a run is news. */
static void
went_down(struct deliver *dq, const char *why)
{
	dq->down_fails++;
	if (dq->down_since != 0)
		return;
	dq->down_since = time(NULL);
	snprintf(dq->down_why, sizeof(dq->down_why), "%s", why);
	log_warn("the API does not take reports now (%s): they wait in the "
	    "journal and are tried again, every one at once when it answers",
	    why);
}

/*
 * The API answers again (a delivery, or the health probe): every report
 * waiting out its backoff is due now, as Postfix flushes a destination
 * that answers again, so a backlog drains in seconds, not at the end of
 * a long backoff.
 */
void
qsend_came_back(struct deliver *dq)
{
	size_t n;

	if (dq->down_since == 0)
		return;
	n = qsched_flush(&dq->sched);
	log_info("the API answers again after %lld s (%" PRIu64 " failed "
	    "tries: %s); %zu report(s) sent now", (long long)(time(NULL) -
	    dq->down_since), dq->down_fails, dq->down_why, n);
	dq->down_since = 0;
	dq->down_fails = 0;
	qsend_kick(dq);
}

/*
 * A start whose try failed, with the job's completion behind it: the
 * completion carries everything (deliver.h), so it goes now, and a hung
 * POST cannot hold the job's final charge for a backoff.  If the POST
 * did reach the portal, the PUT applies the difference from it.
 */
static int
start_overtaken(struct deliver *dq, struct entry *e)
{
	struct entry *next = TAILQ_NEXT(e, job_link);

	if (e->kind != REPORT_START || next == NULL ||
	    next->kind != REPORT_END)
		return 0;
	delivery_line(dq, e, LOG_LEVEL_INFO, OUT_SUPERSEDED, 0, -1, "its start "
	    "report could not be sent; its completion goes instead");
	/* Maybe never POSTed: "drop", not "done" (qstore_replay). */
	qentry_journal(dq, QREC_DROP, e, NULL);
	qentry_remove(dq, e);
	return 1;
}

static void
delivered(struct deliver *dq, struct entry *e,
    const struct portal_report_answer *a)
{
	struct report r;

	/* What the ledger needs of the report; it takes no body. */
	memset(&r, 0, sizeof(r));
	r.kind = e->kind;
	r.job_id = e->job_id;
	r.uid = e->uid;
	r.hold = e->hold;
	r.cents = e->cents;
	/* A duplicate reached the portal at some time before: unknown. */
	r.sent_tick = a->result == PR_DUPLICATE ? 0 : e->sent_tick;
	snprintf(r.account, sizeof(r.account), "%s", e->account);
	/* The PUT replaced what the job's earlier completions charged. */
	if (e->kind == REPORT_END)
		r.held = qrun_delivered(dq, e);

	delivery_line(dq, e, LOG_LEVEL_INFO, a->result == PR_DUPLICATE ?
	    OUT_DUP : OUT_DELIVERED, a->http_status, -1, NULL);
	if (dq->auth_blocked) {
		log_info("the API accepts our token again: delivery resumed");
		dq->auth_blocked = 0;
	}
	qsend_came_back(dq);
	note_api(dq, 1, NULL);
	dq->delivered++;
	if (e->kind == REPORT_START)
		qentry_seen_set(dq, e->job_id, SEEN_POSTED);
	if (dq->hooks.delivered != NULL)
		dq->hooks.delivered(dq->hooks.arg, &r);
	qentry_journal(dq, QREC_DONE, e, NULL);
	qentry_remove(dq, e);
}

static void
dead_letter(struct deliver *dq, struct entry *e,
    const struct portal_report_answer *a)
{
	const char *why = a->reason;
	long http = a->http_status;
	char what[700];

	qentry_dead(dq, e, a->cause, why);
	/* A reused id's words say what to do: it is never retried. */
	if (a->cause == DEAD_REFUSED)
		snprintf(what, sizeof(what), "refused by the API: %s (bankctl "
		    "retry %" PRIu64 " once fixed)", why, e->seq);
	else
		snprintf(what, sizeof(what), "refused by the API (%s): %s",
		    dead_cause_name(a->cause), why);
	delivery_line(dq, e, LOG_LEVEL_ERR, OUT_DEAD, http, -1, what);
}

/*
 * The journal holds the only copy of a body.  An I/O error may pass: the
 * report is retried with the usual backoff.  Damage will not: the report
 * becomes a dead letter, so that it shows in `bankctl queue --dead` with
 * its job, account and amount, to be charged by hand and dropped.
 */
static void
unreadable(struct deliver *dq, struct entry *e, int rc, const char *err)
{
	char why[384], what[600];

	snprintf(why, sizeof(why), "cannot read report %" PRIu64 " back from "
	    "the journal: %s", e->seq, err);
	if (rc == -1) {
		log_err("job %" PRIu32 ": %s; will retry", e->job_id, why);
		retry_later(dq, e, 0, why);
		return;
	}
	qentry_dead(dq, e, DEAD_UNREADABLE, why);
	snprintf(what, sizeof(what), "lost its body: %s: charge the job by "
	    "hand, then bankctl drop %" PRIu64, why, e->seq);
	delivery_line(dq, e, LOG_LEVEL_ERR, OUT_DEAD, 0, -1, what);
}

/* A failure that a later try may mend: backoff, and an outage noted. */
static void
try_again(struct deliver *dq, struct entry *e, long http, const char *why)
{
	went_down(dq, why);
	if (!start_overtaken(dq, e))
		retry_later(dq, e, http, why);
}

/* 401/403: one report at a time until the token is accepted again. */
static void
token_refused(struct deliver *dq, struct entry *e,
    const struct portal_report_answer *a)
{
	if (!dq->auth_blocked)
		log_err("the API refuses bankd's token (%s): %s; delivery "
		    "narrowed to one report at a time until it is accepted",
		    a->reason, a->advice);
	dq->auth_blocked = 1;
	note_api(dq, a->api_ok, a->api_error);
	retry_later(dq, e, a->http_status, a->reason);
}

static void
on_answer(const struct portal_report_answer *a, void *arg)
{
	struct sending *s = arg;
	struct deliver *dq = s->dq;
	struct entry *e = s->e;

	TAILQ_REMOVE(&dq->sendings, s, link);
	free(s);
	dq->inflight--;
	e->state = E_QUEUED;
	switch (a->result) {
	case PR_DELIVERED:
	case PR_DUPLICATE:
		delivered(dq, e, a);
		break;
	case PR_RETRY:
		if (a->alarm != NULL && dq->down_since == 0)
			log_err("%s", a->alarm);
		note_api(dq, a->api_ok, a->api_error);
		try_again(dq, e, a->http_status, a->reason);
		break;
	case PR_AUTH:
		token_refused(dq, e, a);
		break;
	case PR_REFUSED:
		note_api(dq, a->api_ok, a->api_error);
		dead_letter(dq, e, a);
		break;
	case PR_VERIFIED:
		/* The id is free or this job's: the PUT goes now. */
		e->verified = 1;
		e->attempts--;
		qentry_schedule(dq, e);
		break;
	}
	qsend_kick(dq);
}

static void
send_entry(struct deliver *dq, struct entry *e)
{
	const struct qrec_run *st;
	struct sending *s;
	char err[256], *body;
	int rc;

	e->attempts++;
	if (e->sent_tick == QENTRY_UNSENT)
		e->sent_tick = dq->hooks.tick != NULL ?
		    dq->hooks.tick(dq->hooks.arg) : 0;
	if ((rc = qentry_body(dq, e, 1, &body, err, sizeof(err))) != 0) {
		unreadable(dq, e, rc, err);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		free(body);
		retry_later(dq, e, 0, "cannot start an HTTP request");
		return;
	}
	s->dq = dq;
	s->e = e;
	s->r.kind = e->kind;
	s->r.job_id = e->job_id;
	s->r.cents = e->cents;
	if ((st = qrun_get(dq, e->job_id)) != NULL) {
		s->r.submit_before[0] = st->submit;
		s->r.submit_before[1] = st->prev;
	}
	/* A PUT for an id bankd did not see its own start take: look. */
	s->r.verify = e->kind == REPORT_END && !e->verified &&
	    !(qentry_seen(dq, e->job_id) & SEEN_POSTED);
	s->r.cb = on_answer;
	s->r.arg = s;
	if (dq->hooks.send(dq->hooks.send_ctx, &s->r, body) != 0) {
		free(s);
		retry_later(dq, e, 0, "cannot start an HTTP request");
		return;
	}
	TAILQ_INSERT_TAIL(&dq->sendings, s, link);
	e->state = E_SENDING;
	dq->inflight++;
}

void
qsend_kick(struct deliver *dq)
{
	size_t limit = dq->max_inflight;
	int64_t now = qsched_now(), wait;
	struct qsched_node *n;
	struct timeval tv;

	qsched_due(&dq->sched, now);
	if (dq->auth_blocked)
		limit = 1;
	while (!dq->paused && dq->inflight < limit &&
	    (n = qsched_next(&dq->sched)) != NULL)
		send_entry(dq, ENTRY_OF(n));
	if (qsched_wait(&dq->sched, now, &wait)) {
		tv.tv_sec = wait / 1000;
		tv.tv_usec = wait % 1000 * 1000;
		evtimer_add(dq->timer, &tv);
	}
}

void
qsend_abandon(struct deliver *dq)
{
	struct sending *s;

	while ((s = TAILQ_FIRST(&dq->sendings)) != NULL) {
		TAILQ_REMOVE(&dq->sendings, s, link);
		free(s);
	}
}
