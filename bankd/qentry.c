/*
 * qentry.c - the report queue's entries (see queue.h): made, found,
 * scheduled in their job's order, made durable, forgotten; and the
 * records that journal what becomes of them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "queue.h"

#define SEEN_MAX		(1 << 20)
/*
 * A delivered start is remembered this long through compactions (its
 * seen record), as a run's charge is (qrun.c): a relay's resend older
 * than that is sent again, and the portal's "already exists" answers it.
 */
#define SEEN_KEEP_S		(30 * 86400)
#define SEEN_FLAGS		((uintptr_t)0xf)
#define SEEN_T_SHIFT		4
_Static_assert(sizeof(uintptr_t) >= 8, "a seen value holds a time");

/* Most reports never fail: their error costs nothing until one does. */
void
qentry_set_error(struct entry *e, const char *why)
{
	size_t n = why != NULL ? strlen(why) : 0;
	char *s;

	if (n > 255)
		n = 255;
	if ((s = malloc(n + 1)) == NULL)
		return;
	memcpy(s, why != NULL ? why : "", n);
	s[n] = '\0';
	free(e->last_error);
	e->last_error = s;
}

const char *
qentry_error(const struct entry *e)
{
	return e->last_error ? e->last_error : "";
}

const char *
qentry_kind(const struct entry *e)
{
	return e->kind == REPORT_START ? "start" : "end";
}

void
qentry_unschedule(struct deliver *dq, struct entry *e)
{
	qsched_remove(&dq->sched, &e->sn);
}

void
qentry_schedule(struct deliver *dq, struct entry *e)
{
	/* Nothing goes out before it is durable: see qentry_settle(). */
	if (e != TAILQ_FIRST(&e->slot->q) || e->state != E_QUEUED ||
	    !e->durable || qsched_queued(&e->sn))
		return;
	qsched_add(&dq->sched, &e->sn, qsched_now());
}

static struct jobslot *
slot_get(struct deliver *dq, uint32_t job_id)
{
	struct jobslot *s = idmap_get(&dq->jobs, job_id);

	if (s != NULL)
		return s;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->job_id = job_id;
	TAILQ_INIT(&s->q);
	if (idmap_put(&dq->jobs, job_id, s) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

struct entry *
qentry_new(struct deliver *dq, uint64_t seq, const struct report *r,
    int durable)
{
	struct entry *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->account = names_get(&dq->names, r->account)) == NULL ||
	    (e->slot = slot_get(dq, r->job_id)) == NULL ||
	    idmap_put(&dq->seqs, seq, e) != 0) {
		free(e);
		return NULL;
	}
	e->seq = seq;
	e->kind = r->kind;
	e->job_id = r->job_id;
	e->uid = r->uid;
	e->hold = r->hold;
	e->cents = r->cents;
	e->run = r->run;
	e->run_known = r->kind == REPORT_END;
	e->sent_tick = QENTRY_UNSENT;
	e->state = E_QUEUED;
	e->durable = durable != 0;
	e->nodes_apart = r->nodes_expr != NULL;
	if (!e->durable) {
		TAILQ_INSERT_TAIL(&dq->unsynced, e, sync_link);
		dq->nunsynced++;
	}
	TAILQ_INSERT_TAIL(&dq->all, e, all_link);
	TAILQ_INSERT_TAIL(&e->slot->q, e, job_link);
	dq->len++;
	if (seq >= dq->next_seq)
		dq->next_seq = seq + 1;
	return e;
}

void
qentry_remove(struct deliver *dq, struct entry *e)
{
	struct jobslot *s = e->slot;
	struct entry *next;

	qentry_unschedule(dq, e);
	if (!e->durable) {
		TAILQ_REMOVE(&dq->unsynced, e, sync_link);
		dq->nunsynced--;
	}
	TAILQ_REMOVE(&dq->all, e, all_link);
	TAILQ_REMOVE(&s->q, e, job_link);
	idmap_del(&dq->seqs, e->seq);
	if (e->state == E_DEAD)
		dq->dead--;
	dq->len--;
	dq->live_bytes -= e->rec_bytes;
	if ((next = TAILQ_FIRST(&s->q)) != NULL)
		qentry_schedule(dq, next);
	else {
		idmap_del(&dq->jobs, s->job_id);
		free(s);
	}
	free(e->last_error);
	free(e);
}

void
qentry_seen_set(struct deliver *dq, uint32_t job_id, uintptr_t flag)
{
	qentry_seen_mark(dq, job_id, flag, (int64_t)time(NULL));
}

void
qentry_seen_mark(struct deliver *dq, uint32_t job_id, uintptr_t flag,
    int64_t t)
{
	uintptr_t v;

	/*
	 * Past SEEN_MAX, forget everything: a repeated start then costs one
	 * POST answered "already exists", which is harmless.
	 */
	if (dq->seen.len >= SEEN_MAX) {
		idmap_free(&dq->seen);
		idmap_init(&dq->seen);
		idmap_free(&dq->seen_hold);
		idmap_init(&dq->seen_hold);
	}
	v = (uintptr_t)idmap_get(&dq->seen, job_id);
	/* When it was last taken: how long a seen record is kept. */
	if (t > 0 && (v == 0 || (flag & SEEN_END)))
		v = ((uintptr_t)t << SEEN_T_SHIFT) | (v & SEEN_FLAGS);
	idmap_put(&dq->seen, job_id, (void *)(v | flag));
}

uintptr_t
qentry_seen(const struct deliver *dq, uint32_t job_id)
{
	return (uintptr_t)idmap_get(&dq->seen, job_id) & SEEN_FLAGS;
}

int64_t
qentry_seen_time(const struct deliver *dq, uint32_t job_id)
{
	return (int64_t)((uintptr_t)idmap_get(&dq->seen, job_id) >>
	    SEEN_T_SHIFT);
}

void
qentry_seen_hold_set(struct deliver *dq, uint32_t job_id, uint64_t token)
{
	/* Out of memory: not known, and holds_settle keeps to the clock. */
	if (token != 0)
		(void)idmap_put(&dq->seen_hold, job_id, (void *)(uintptr_t)token);
}

uint64_t
qentry_seen_hold(const struct deliver *dq, uint32_t job_id)
{
	return (uint64_t)(uintptr_t)idmap_get(&dq->seen_hold, job_id);
}

void
qentry_seen_replay(struct deliver *dq, const struct qrec_seen *r,
    uint32_t size)
{
	uintptr_t v = (uintptr_t)idmap_get(&dq->seen, r->job_id);

	if ((int64_t)(v >> SEEN_T_SHIFT) < r->t)
		v = ((uintptr_t)r->t << SEEN_T_SHIFT) | (v & SEEN_FLAGS);
	idmap_put(&dq->seen, r->job_id, (void *)(v | (r->end ? SEEN_END :
	    SEEN_START | SEEN_POSTED)));
	qentry_seen_hold_set(dq, r->job_id, r->hold);
	dq->seen_bytes += size;
}

/*
 * The jobs whose start was delivered or whose completion was taken within
 * SEEN_KEEP_S, and that have nothing queued, whose add records compaction
 * drops: without this record a relay's resend after a restart would be
 * queued and sent again.  A completion's run record (qrun.c) is not
 * enough alone: written before its report, it may outlive a torn write
 * that the report did not, and that report, never acknowledged, must be
 * taken when it comes again.
 */
int
qentry_seen_emit(struct journal *jr, struct deliver *dq)
{
	int64_t old = (int64_t)time(NULL) - SEEN_KEEP_S;
	struct qrec_seen r;
	uintptr_t v;
	size_t i;
	long n;

	dq->seen_bytes = 0;
	for (i = 0; i < dq->seen.cap; i++) {
		if ((v = (uintptr_t)dq->seen.slots[i].val) == 0 ||
		    (v & (SEEN_POSTED | SEEN_END)) == 0)
			continue;
		r.job_id = (uint32_t)dq->seen.slots[i].id;
		r.end = (v & SEEN_END) != 0;
		r.t = (int64_t)(v >> SEEN_T_SHIFT);
		r.hold = qentry_seen_hold(dq, r.job_id);
		if (r.t < old || idmap_get(&dq->jobs, r.job_id) != NULL)
			continue;
		if ((n = qrec_append_seen(jr, &r)) < 0)
			return -1;
		dq->seen_bytes += n;
	}
	return 0;
}

/*
 * Every commit that went to disk makes the reports whose add record it
 * covers durable; they may be sent.  Only now does a start count as
 * seen: a repeat of one that was answered "later" (and spooled) must not
 * be taken for a duplicate of something that may yet be lost.
 */
void
qentry_settle(struct deliver *dq)
{
	uint64_t durable = journal_durable(dq->jr);
	struct entry *e;

	while ((e = TAILQ_FIRST(&dq->unsynced)) != NULL &&
	    e->pos + e->rec_bytes <= durable) {
		TAILQ_REMOVE(&dq->unsynced, e, sync_link);
		dq->nunsynced--;
		e->durable = 1;
		if (e->kind == REPORT_START) {
			qentry_seen_set(dq, e->job_id, SEEN_START);
			qentry_seen_hold_set(dq, e->job_id, e->hold);
		}
		qentry_schedule(dq, e);
	}
}

void
qentry_journal(struct deliver *dq, enum qrec_op op, const struct entry *e,
    const char *error)
{
	if (qrec_append_op(dq->jr, op, e->seq, error) != 0)
		log_err("journal: cannot record '%s' of report %" PRIu64,
		    qrec_op_name(op), e->seq);
	/* An operator's change is synced; "done" need not be (commit.c). */
	commit_soon(dq->commit, op != QREC_DONE);
}

void
qentry_dead(struct deliver *dq, struct entry *e, enum dead_cause cause,
    const char *why)
{
	e->state = E_DEAD;
	e->cause = (uint8_t)cause;
	dq->dead++;
	qentry_set_error(e, why);
	if (qrec_append_dead(dq->jr, e->seq, cause, why) != 0)
		log_err("journal: cannot record 'dead' of report %" PRIu64,
		    e->seq);
	commit_soon(dq->commit, 1);
}

struct qrec_at
qentry_at(const struct entry *e)
{
	struct qrec_at at;

	at.pos = e->pos;
	at.size = e->rec_bytes;
	at.seq = e->seq;
	at.nodes_apart = e->nodes_apart;
	return at;
}

int
qentry_body(struct deliver *dq, const struct entry *e, int expand,
    char **body, char *err, size_t errlen)
{
	struct qrec_at at = qentry_at(e);

	return qrec_body(dq->jr, &at, expand, body, err, errlen);
}
