/*
 * qstore.c - the report queue's journal as a whole (see queue.h): the
 * queue taken back from it at open, record by record, and the file
 * rewritten with the live reports only once it is mostly reports long
 * delivered.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lim.h"
#include "log.h"
#include "queue.h"

#define COMPACT_MIN_BYTES	(1024 * 1024)
#define COMPACT_RETRY_MS	60000

/* ---- replay ---------------------------------------------------------- */

static void
replay_add(struct deliver *dq, const struct qrec_add *a, uint64_t pos,
    uint32_t size)
{
	struct report r;
	struct entry *e;

	if (idmap_get(&dq->seqs, a->seq) != NULL) {
		log_warn("journal: report %lld recorded twice; the repeat is "
		    "ignored", (long long)a->seq);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.kind = a->kind;
	r.job_id = a->job_id;
	r.uid = a->uid;
	r.hold = a->hold;
	r.cents = a->cents;
	r.run = a->run;
	if (a->nodes != NULL)
		r.nodes_expr = (char *)"";	/* qentry_new only notes it */
	snprintf(r.account, sizeof(r.account), "%s", a->account);
	if ((e = qentry_new(dq, a->seq, &r, 1)) == NULL) {
		log_err("journal: out of memory replaying report %lld",
		    (long long)a->seq);
		return;
	}
	e->accepted = (time_t)a->accepted;
	e->run_known = (uint8_t)a->has_run;
	e->sent_tick = 0;
	e->pos = pos;
	e->rec_bytes = size;
	dq->live_bytes += size;
	qentry_seen_mark(dq, r.job_id, r.kind == REPORT_START ? SEEN_START :
	    SEEN_END, a->accepted);
	qentry_seen_hold_set(dq, r.job_id, a->hold);
	/*
	 * Kept, never sent: an amount no API takes is a person's job.  Not
	 * journaled (the journal is being read): each replay finds it again.
	 */
	if (a->cents < 0 || a->cents > LIM_AMOUNT_CENTS) {
		e->state = E_DEAD;
		e->cause = DEAD_RANGE;
		dq->dead++;
		qentry_set_error(e, "its amount is out of the API's range in "
		    "the journal: charge the job by hand");
	}
}

void
qstore_replay(json_t *rec, uint64_t pos, uint32_t size, void *arg)
{
	struct deliver *dq = arg;
	struct entry *e;
	struct qrec q;

	if (qrec_decode(rec, pos, &q) != 0)
		return;
	if (q.op == QREC_ADD) {
		replay_add(dq, &q.add, pos, size);
		return;
	}
	if (q.op == QREC_RUN) {
		qrun_replay(dq, &q.run, size);
		return;
	}
	if (q.op == QREC_SEEN) {
		qentry_seen_replay(dq, &q.seen, size);
		return;
	}
	if ((e = idmap_get(&dq->seqs, q.seq)) == NULL)
		return;		/* about a report already compacted away */
	if (q.op == QREC_DONE || q.op == QREC_DROP) {
		/*
		 * A start done was delivered (one superseded by its
		 * completion is journaled "drop"): its id is ours, as qsend
		 * marks it, so that compaction keeps a seen record and a
		 * resend after the next restart is a dup, not a second POST
		 * (tests/dst found it, seed 216).
		 */
		if (q.op == QREC_DONE && e->kind == REPORT_START)
			qentry_seen_mark(dq, e->job_id, SEEN_POSTED,
			    (int64_t)e->accepted);
		qentry_remove(dq, e);
	} else if (q.op == QREC_DEAD && e->state != E_DEAD) {
		/* A report ahead of it was done: it must not go out now. */
		qentry_unschedule(dq, e);
		e->state = E_DEAD;
		e->cause = (uint8_t)q.cause;
		dq->dead++;
		qentry_set_error(e, q.error);
	} else if (q.op == QREC_RETRY && e->state == E_DEAD) {
		e->state = E_QUEUED;
		dq->dead--;
	}
}

/* ---- compaction ------------------------------------------------------- */

struct compaction {
	struct deliver	*dq;
	uint64_t	*pos;		/* new positions, in `all` order */
};

static int
emit_live(struct journal *jr, void *arg)
{
	struct compaction *c = arg;
	struct qrec_at at;
	struct entry *e;
	size_t i = 0;

	/* Before the reports, as when they were taken (qrun.c). */
	if (qrun_emit(jr, c->dq) != 0 || qentry_seen_emit(jr, c->dq) != 0)
		return -1;
	TAILQ_FOREACH(e, &c->dq->all, all_link) {
		at = qentry_at(e);
		if (qrec_copy(jr, &at, e->job_id, &c->pos[i++]) != 0)
			return -1;
		if (e->state == E_DEAD &&
		    qrec_append_dead(jr, e->seq, (enum dead_cause)e->cause,
		    qentry_error(e)) != 0)
			return -1;
	}
	return 0;
}

/*
 * Rewrite the journal with the live reports only.  Entries learn their
 * new positions once the new file is in place; until then (and if it
 * never is) the old ones stay right.
 */
int
qstore_compact(struct deliver *dq)
{
	struct compaction c = { dq, NULL };
	struct entry *e;
	size_t i = 0;

	if ((c.pos = calloc(dq->len + 1, sizeof(*c.pos))) == NULL ||
	    journal_rewrite(dq->jr, emit_live, &c) != 0) {
		free(c.pos);
		dq->compact_after = qsched_now() + COMPACT_RETRY_MS;
		return -1;
	}
	TAILQ_FOREACH(e, &dq->all, all_link)
		e->pos = c.pos[i++];
	free(c.pos);
	qrun_expire(dq);
	dq->compact_after = 0;
	/* The new file was synced whole: everything in it is durable. */
	qentry_settle(dq);
	return 0;
}

/* When the file is mostly reports delivered long ago. */
void
qstore_maybe_compact(struct deliver *dq)
{
	size_t size = journal_size(dq->jr), before = size;

	if (size < COMPACT_MIN_BYTES ||
	    size < 4 * (size_t)(dq->live_bytes + dq->seen_bytes) ||
	    qsched_now() < dq->compact_after)
		return;
	if (qstore_compact(dq) == 0)
		log_info("journal compacted: %zu -> %zu bytes, %zu reports",
		    before, journal_size(dq->jr), dq->len);
	else
		log_err("journal: compaction failed (see above); next attempt "
		    "in %d s", COMPACT_RETRY_MS / 1000);
}
