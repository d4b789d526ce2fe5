/*
 * deliver.c - the report queue's face (the rules are in deliver.h):
 * reports taken, repeats and replacements recognised, the operator's view
 * and actions, open and close.  Its other parts are listed in queue.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lim.h"
#include "log.h"
#include "logkv.h"
#include "money.h"
#include "queue.h"

/* ---- accepting reports --------------------------------------------- */

/* A completion makes an unsent start of the same job pointless. */
/* A report that goes no further than this: job first. */
static void
ended_line(enum log_level level, const struct entry *e, const char *event,
    const char *outcome, const char *why)
{
	struct logkv kv;

	logkv_init(&kv);
	logkv_u64(&kv, "job", e->job_id);
	logkv_str(&kv, "event", event);
	logkv_str(&kv, "kind", qentry_kind(e));
	logkv_money(&kv, "amount", e->cents);
	logkv_str(&kv, "account", e->account);
	logkv_str(&kv, "outcome", outcome);
	if (strcmp(outcome, "dead") == 0)
		logkv_u64(&kv, "dead_letter", e->seq);
	logkv_str(&kv, "reason", why);
	log_kv(level, &kv);
}

static void
replace_unsent_start(struct deliver *dq, uint32_t job_id)
{
	struct jobslot *s = idmap_get(&dq->jobs, job_id);
	struct entry *e, *next;

	if (s == NULL)
		return;
	for (e = TAILQ_FIRST(&s->q); e != NULL; e = next) {
		next = TAILQ_NEXT(e, job_link);
		if (e->kind != REPORT_START || e->state == E_SENDING)
			continue;
		ended_line(LOG_LEVEL_INFO, e, "delivery", "superseded",
		    "its completion replaces the unsent start report");
		/* Not sent: "drop", so that replay takes no "done" for a POST. */
		qentry_journal(dq, QREC_DROP, e, NULL);
		qentry_remove(dq, e);
		return;		/* qentry_remove may have freed the slot */
	}
}

static long
append_add(struct deliver *dq, struct entry *e, const struct report *r)
{
	struct qrec_add a;
	uint64_t pos;
	long size;

	a.seq = e->seq;
	a.job_id = e->job_id;
	a.uid = e->uid;
	a.hold = e->hold;
	a.cents = e->cents;
	a.accepted = e->accepted;
	a.kind = e->kind;
	a.account = e->account;
	a.body = r->body;
	a.nodes = r->nodes_expr;
	a.run = r->run;
	a.has_run = r->kind == REPORT_END;
	if ((size = qrec_append_add(dq->jr, &dq->w, &a, &pos)) < 0)
		return size;
	e->pos = pos;
	e->rec_bytes = (uint32_t)size;
	return size;
}

/* What a report of a reused job id is told (a dead letter). */
static void
reused_why(const struct deliver *dq, const struct report *r, char *why,
    size_t len)
{
	const struct qrec_run *st = qrun_get(dq, r->job_id);
	char date[32];

	if (st == NULL || report_date(st->submit, date) != 0)
		snprintf(date, sizeof(date), "another time");
	snprintf(why, len, "job id %" PRIu32 " is held by the portal for "
	    "another job submitted at %s; an id reused after a slurmctld cold "
	    "start: charge this job by hand, then bankctl drop", r->job_id,
	    date);
}

/*
 * A new entry for r; its waiter is answered when its record is durable.
 * before >= 0: a completion whose run record goes first (qrun.c).
 */
static enum deliver_take
enqueue(struct deliver *dq, struct report *r, struct commit_waiter *w,
    int64_t before, const char *dead)
{
	struct entry *e;
	long rc;

	if (r->kind == REPORT_END && dead == NULL)
		replace_unsent_start(dq, r->job_id);
	if ((e = qentry_new(dq, dq->next_seq, r, 0)) == NULL)
		return TAKE_LATER;
	e->accepted = time(NULL);
	if (before >= 0 && qrun_record(dq, r, before) != 0) {
		log_err("job %" PRIu32 ": cannot journal its charge so far",
		    e->job_id);
		qentry_remove(dq, e);
		return TAKE_LATER;
	}
	if ((rc = append_add(dq, e, r)) < 0) {
		log_err("job %" PRIu32 ": cannot journal the %s report%s",
		    e->job_id, qentry_kind(e), rc == -2 ? ": its record would "
		    "be larger than a journal record may be" : "");
		e->rec_bytes = 0;
		qentry_remove(dq, e);
		return rc == -2 ? TAKE_TOO_BIG : TAKE_LATER;
	}
	/* From now on the journal holds the body. */
	report_clear(r);
	dq->live_bytes += e->rec_bytes;
	if (e->kind == REPORT_END && dead == NULL) {
		qentry_seen_set(dq, e->job_id, SEEN_END);
		qentry_seen_hold_set(dq, e->job_id, e->hold);
	}
	if (dead != NULL) {
		qentry_dead(dq, e, DEAD_REUSED_ID, dead);
		ended_line(LOG_LEVEL_ERR, e, "accept", "dead", dead);
	} else if (e->cents > LIM_AMOUNT_CENTS) {
		qentry_dead(dq, e, DEAD_RANGE, "the amount is more than the "
		    "API accepts (100000000.00): charge the job by hand");
		ended_line(LOG_LEVEL_ERR, e, "accept", "dead", "more than the "
		    "API accepts (100000000.00): charge the job by hand");
	}
	commit_wait(dq->commit, w, e->pos + e->rec_bytes);
	return TAKE_QUEUED;
}

/* 1 when e holds the same body as r (read back from the journal). */
static int
same_body(struct deliver *dq, const struct entry *e, const struct report *r)
{
	char err[256], *body;
	int same;

	if (e->nodes_apart != (r->nodes_expr != NULL) ||
	    qentry_body(dq, e, 0, &body, err, sizeof(err)) != 0)
		return 0;
	same = strcmp(body, r->body) == 0;
	free(body);
	return same;
}

/*
 * The job's queued report that r repeats: a start repeats any start (a
 * job starts once), a completion one with the very same body.  NULL if
 * none is queued.
 */
static struct entry *
repeated(struct deliver *dq, const struct report *r)
{
	struct jobslot *s = idmap_get(&dq->jobs, r->job_id);
	struct entry *e;

	if (s == NULL)
		return NULL;
	TAILQ_FOREACH(e, &s->q, job_link)
		if (e->kind == r->kind && (r->kind == REPORT_START ||
		    same_body(dq, e, r)))
			return e;
	return NULL;
}

enum deliver_take
deliver_take(struct deliver *dq, struct report *r, deliver_ack_fn fn,
    void *arg)
{
	uintptr_t seen = qentry_seen(dq, r->job_id);
	const struct qrec_run *st = qrun_get(dq, r->job_id);
	int64_t total = 0, before = -1;
	int completed = 0;
	char why[256], *dead = NULL;
	struct commit_waiter *w;
	enum deliver_take t;
	struct entry *e;

	switch (qrun_price(dq, r, &total, &before)) {
	case QRUN_REUSED:
		/* Not this job's figures: it gets none, and no charge. */
		reused_why(dq, r, why, sizeof(why));
		dead = why;
		before = -1;
		break;
	case QRUN_OLDER:
		if (r->kind == REPORT_END)
			return TAKE_SUPERSEDED;
		before = -1;
		break;
	case QRUN_OK:
		if (r->kind == REPORT_START) {
			before = -1;
			break;
		}
		/*
		 * This run's completion, for the same charge, was taken
		 * before: a resend (a relay's, its acknowledgement lost),
		 * unless it is still queued (then repeated() below).
		 */
		completed = st != NULL && st->run == r->run &&
		    total == st->before + st->cents;
		/* The body says the cumulative charge: repeats compare it. */
		if (total != r->cents && report_set_amount(r, total) != 0)
			return TAKE_LATER;
		break;
	}
	/*
	 * A later run's start: the portal holds the job, charged for the
	 * runs so far; a POST would meet "already exists", a PUT without
	 * an end date would move its amount off its usage.  Its completion
	 * charges the run.
	 */
	if (dead == NULL && r->kind == REPORT_START && r->run > 0)
		return TAKE_FOLDED;
	/* A start after the job's completion would undo the charge. */
	if (dead != NULL)
		seen = 0;
	if (r->kind == REPORT_START && (seen & SEEN_END))
		return TAKE_SUPERSEDED;
	/* The same, after a compaction: the run's completion was taken. */
	if (dead == NULL && r->kind == REPORT_START && st != NULL &&
	    r->run <= st->run)
		return TAKE_SUPERSEDED;
	if (r->kind == REPORT_START && (seen & SEEN_START))
		return TAKE_DUP;
	e = dead == NULL ? repeated(dq, r) : NULL;
	if (e != NULL && e->durable)
		return TAKE_DUP;
	/* A completion taken (SEEN_END: its report was durable) and done. */
	if (e == NULL && completed && (seen & SEEN_END) && !r->repair)
		return TAKE_DUP;
	if ((w = commit_waiter_new(fn, arg)) == NULL)
		return TAKE_LATER;
	if (e != NULL) {
		/* Not on disk yet (or its commit failed): share its fate. */
		commit_wait(dq->commit, w, e->pos + e->rec_bytes);
		return TAKE_JOINED;
	}
	if ((t = enqueue(dq, r, w, before, dead)) != TAKE_QUEUED)
		commit_waiter_free(w);
	return t;
}

int
deliver_expect(const struct deliver *dq, const struct report *r,
    int64_t *cents)
{
	int64_t total = 0, before = 0;

	if (r->kind != REPORT_END || qrun_price(dq, r, &total, &before) !=
	    QRUN_OK)
		return -1;
	*cents = total;
	return 0;
}

/* ---- the operator's view ------------------------------------------- */

static void
view_of(const struct entry *e, struct deliver_view *v)
{
	int64_t now = qsched_now();

	memset(v, 0, sizeof(*v));
	v->seq = e->seq;
	v->job_id = e->job_id;
	v->kind = qentry_kind(e);
	v->cents = e->cents;
	v->account = e->account;
	v->attempts = e->attempts;
	v->accepted = e->accepted;
	v->last_error = qentry_error(e);
	v->cause = e->state == E_DEAD ? dead_cause_name(e->cause) : "";
	v->body = "";		/* deliver_show reads it */
	v->next_in_ms = e->sn.due_ms > now ? e->sn.due_ms - now : 0;
	if (e->state == E_DEAD)
		v->state = "dead";
	else if (e->state == E_SENDING)
		v->state = "sending";
	else if (e != TAILQ_FIRST(&e->slot->q))
		v->state = "behind";	/* an earlier report of its job */
	else
		v->state = v->next_in_ms > 0 ? "waiting" : "queued";
}

int64_t
deliver_settled(const struct deliver *dq, uint32_t job_id, uint64_t *hold)
{
	*hold = 0;
	if (idmap_get(&dq->jobs, job_id) != NULL ||
	    qentry_seen(dq, job_id) == 0)
		return 0;
	*hold = qentry_seen_hold(dq, job_id);
	return qentry_seen_time(dq, job_id);
}

void
deliver_stats(const struct deliver *dq, struct deliver_stats *st)
{
	st->queued = dq->len;
	st->unsynced = dq->nunsynced;
	st->inflight = dq->inflight;
	st->dead = dq->dead;
	st->delivered = dq->delivered;
	st->retries = dq->retries;
	st->paused = dq->paused;
	st->auth_blocked = dq->auth_blocked;
	st->journal_bytes = journal_size(dq->jr);
	st->oldest = TAILQ_EMPTY(&dq->all) ? 0 : TAILQ_FIRST(&dq->all)->accepted;
}

size_t
deliver_list(struct deliver *dq, size_t offset, size_t limit, int dead_only,
    deliver_view_fn fn, void *arg)
{
	struct deliver_view v;
	struct entry *e;
	size_t i = 0, n = 0;

	TAILQ_FOREACH(e, &dq->all, all_link) {
		if (dead_only && e->state != E_DEAD)
			continue;
		if (i++ < offset)
			continue;
		if (n == limit)
			break;
		view_of(e, &v);
		fn(&v, arg);
		n++;
	}
	return n;
}

int
deliver_show(struct deliver *dq, uint64_t seq, deliver_view_fn fn, void *arg)
{
	struct entry *e = idmap_get(&dq->seqs, seq);
	struct deliver_view v;
	char err[256], shown[384], *body;

	if (e == NULL)
		return -1;
	view_of(e, &v);
	if (qentry_body(dq, e, 0, &body, err, sizeof(err)) != 0) {
		log_err("bankctl show %" PRIu64 ": cannot read the report back "
		    "from the journal: %s", seq, err);
		snprintf(shown, sizeof(shown), "(cannot read it back from the "
		    "journal: %s)", err);
		v.body = shown;
	} else
		v.body = body;
	fn(&v, arg);
	free(body);
	return 0;
}

/* ---- the operator's actions ----------------------------------------- */

static int
retry_one(struct deliver *dq, struct entry *e)
{
	if (e->state == E_SENDING)
		return 0;
	if (e->state == E_DEAD) {
		e->state = E_QUEUED;
		dq->dead--;
		qentry_journal(dq, QREC_RETRY, e, NULL);
	}
	qentry_unschedule(dq, e);
	e->sn.due_ms = 0;
	qentry_schedule(dq, e);
	return 1;
}

/*
 * What an operator did (bankctl retry, drop, pause, resume).  A dropped
 * dead letter (e) is never charged: its job leads the line.  n < 0: no
 * count.
 */
static void
operator_line(enum log_level level, const char *action,
    const struct entry *e, long n)
{
	struct logkv kv;

	logkv_init(&kv);
	if (e != NULL)
		logkv_u64(&kv, "job", e->job_id);
	logkv_str(&kv, "event", "operator");
	logkv_str(&kv, "action", action);
	if (e != NULL) {
		logkv_u64(&kv, "dead_letter", e->seq);
		logkv_str(&kv, "kind", qentry_kind(e));
		logkv_money(&kv, "amount", e->cents);
		logkv_str(&kv, "account", e->account);
		logkv_str(&kv, "reason", qentry_error(e));
		logkv_str(&kv, "msg", "it will never be charged");
	} else if (n >= 0)
		logkv_i64(&kv, "reports", n);
	log_kv(level, &kv);
}

long
deliver_retry(struct deliver *dq, uint64_t seq)
{
	struct entry *e;
	long n = 0;

	if (seq != 0) {
		if ((e = idmap_get(&dq->seqs, seq)) == NULL)
			return -1;
		n = retry_one(dq, e);
	} else {
		TAILQ_FOREACH(e, &dq->all, all_link)
			n += retry_one(dq, e);
	}
	operator_line(LOG_LEVEL_INFO, "retry", NULL, n);
	qsend_kick(dq);
	return n;
}

long
deliver_drop(struct deliver *dq, uint64_t seq, char *err, size_t errlen)
{
	struct entry *e = idmap_get(&dq->seqs, seq);

	if (e == NULL) {
		snprintf(err, errlen, "no report %" PRIu64 " in the queue", seq);
		return -1;
	}
	if (e->state != E_DEAD) {
		snprintf(err, errlen, "report %" PRIu64 " is not a dead letter "
		    "(only dead letters can be dropped)", seq);
		return -1;
	}
	operator_line(LOG_LEVEL_WARN, "drop", e, 1);
	qentry_journal(dq, QREC_DROP, e, NULL);
	qentry_remove(dq, e);
	return 1;
}

void
deliver_pause(struct deliver *dq, int on)
{
	if (dq->paused != on)
		operator_line(LOG_LEVEL_WARN, on ? "pause" : "resume", NULL,
		    -1);
	dq->paused = on;
	qsend_kick(dq);
}

/* Shutting down: nothing new is sent; no operator did it. */
void
deliver_quiesce(struct deliver *dq)
{
	dq->paused = 1;
}

void
deliver_api_answers(struct deliver *dq)
{
	qsend_came_back(dq);
}

void
deliver_set_fsync(struct deliver *dq, int on)
{
	journal_set_fsync(dq->jr, on);
}

void
deliver_set_retry_max(struct deliver *dq, int ms)
{
	dq->retry_max_ms = ms;
}

void
deliver_set_charging(struct deliver *dq, int last_run, int node_fail_free)
{
	dq->last_run = last_run;
	dq->node_fail_free = node_fail_free;
}

/* ---- open and close ------------------------------------------------- */

static void
on_durable(void *arg)
{
	qentry_settle(arg);
}

static void
on_written(void *arg)
{
	qstore_maybe_compact(arg);
}

static void
on_commit_done(void *arg)
{
	qsend_kick(arg);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	qsend_kick(arg);
}

static struct deliver *
deliver_new(struct event_base *base, const struct deliver_settings *set,
    const struct deliver_hooks *hooks)
{
	struct deliver *dq;

	if ((dq = calloc(1, sizeof(*dq))) == NULL)
		return NULL;
	dq->hooks = *hooks;
	dq->max_inflight = set->max_inflight > 0 ? (size_t)set->max_inflight :
	    0;
	dq->retry_max_ms = set->retry_max_ms;
	dq->last_run = set->last_run;
	dq->node_fail_free = set->node_fail_free;
	dq->next_seq = 1;
	TAILQ_INIT(&dq->all);
	TAILQ_INIT(&dq->unsynced);
	TAILQ_INIT(&dq->sendings);
	qsched_init(&dq->sched);
	jsonw_init(&dq->w);
	if (idmap_init(&dq->seqs) != 0 || idmap_init(&dq->jobs) != 0 ||
	    idmap_init(&dq->seen) != 0 || idmap_init(&dq->seen_hold) != 0 ||
	    idmap_init(&dq->runs) != 0 ||
	    names_init(&dq->names) != 0 ||
	    (dq->timer = evtimer_new(base, on_timer, dq)) == NULL) {
		deliver_close(dq);
		return NULL;
	}
	return dq;
}

struct deliver *
deliver_open(struct event_base *base, const struct deliver_settings *set,
    const struct deliver_hooks *hooks, char *err, size_t errlen)
{
	struct commit_hooks ch = { on_durable, on_written, on_commit_done,
	    NULL };
	struct deliver *dq;
	struct jobslot *s;
	size_t i;

	if ((dq = deliver_new(base, set, hooks)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	dq->jr = journal_open_at(set->state_dir, set->fsync, qstore_replay,
	    dq, err, errlen);
	if (dq->jr == NULL) {
		deliver_close(dq);
		return NULL;
	}
	for (i = 0; i < dq->jobs.cap; i++)
		if ((s = dq->jobs.slots[i].val) != NULL)
			qentry_schedule(dq, TAILQ_FIRST(&s->q));
	if (journal_corrupt(dq->jr) && qstore_compact(dq) == 0)
		log_info("journal rewritten without its damaged records");
	/* Without the sync thread, commits simply happen on the loop. */
	ch.arg = dq;
	if ((dq->commit = commit_new(base, dq->jr, "reports", &ch)) == NULL) {
		snprintf(err, errlen, "out of memory");
		deliver_close(dq);
		return NULL;
	}
	log_info("journal %s/journal: %zu reports to deliver (%zu dead "
	    "letters)", set->state_dir, dq->len, dq->dead);
	qsend_kick(dq);
	return dq;
}

void
deliver_close(struct deliver *dq)
{
	struct entry *e;

	if (dq == NULL)
		return;
	commit_finish(dq->commit);
	/* Only what is on disk stays; the rest was answered "later". */
	if (dq->len > 0)
		log_info("%zu report(s) stay journaled for the next start",
		    dq->len - dq->nunsynced);
	if (dq->nunsynced > 0)
		log_warn("%zu report(s) could not be made durable (see above); "
		    "their plugins were told to keep them and bankd takes them "
		    "in from the spool", dq->nunsynced);
	commit_free(dq->commit);
	journal_close(dq->jr);
	qsend_abandon(dq);
	while ((e = TAILQ_FIRST(&dq->all)) != NULL) {
		e->state = E_QUEUED;
		qentry_remove(dq, e);
	}
	if (dq->timer)
		event_free(dq->timer);
	qsched_free(&dq->sched);
	jsonw_free(&dq->w);
	idmap_free(&dq->seqs);
	idmap_free(&dq->jobs);
	idmap_free(&dq->seen);
	idmap_free(&dq->seen_hold);
	qrun_free(dq);
	names_free(&dq->names);
	free(dq);
}
