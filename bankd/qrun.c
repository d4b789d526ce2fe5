/*
 * qrun.c - what a job's completions have charged, run by run (see
 * queue.h).  Slurm runs a requeued or preempted job again under the same
 * id, and jobcomp reports each run; the portal keeps one row per id and
 * a PUT replaces its amount.  So each completion is sent with the job's
 * cumulative charge: the runs before it plus its own (requeue_charge:
 * every_run), or its own alone (last_run); a run that ended NODE_FAIL
 * costs nothing under node_fail: free.  The figures are journaled
 * before the report's add record, so a durable report implies its run
 * record, and survive a restart and compaction; a job's record is
 * forgotten QRUN_KEEP_S after its last completion.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "money.h"
#include "queue.h"

/* A requeued job may wait this long for its next run. */
#define QRUN_KEEP_S	(30 * 86400)
#define QRUN_MAX	(1 << 21)

struct qrun {
	struct qrec_run	 r;
	uint32_t	 rec_bytes;	/* its record's, in live_bytes */
	int64_t		 put;		/* the last completion delivered */
	uint8_t		 has_put;	/* by this process (not journaled) */
};

const struct qrec_run *
qrun_get(const struct deliver *dq, uint32_t job_id)
{
	const struct qrun *q = idmap_get(&dq->runs, job_id);

	return q != NULL ? &q->r : NULL;
}

/* Keep r as the job's figures (replay, or a completion taken). */
static void
keep(struct deliver *dq, const struct qrec_run *r, uint32_t bytes)
{
	struct qrun *q = idmap_get(&dq->runs, r->job_id);

	if (q == NULL) {
		if (dq->runs.len >= QRUN_MAX || (q = calloc(1,
		    sizeof(*q))) == NULL) {
			log_err("job %" PRIu32 ": cannot keep its charge so far "
			    "(%s): a later run of it would erase it",
			    r->job_id, q == NULL ? "out of memory" : "too many "
			    "jobs");
			return;
		}
		if (idmap_put(&dq->runs, r->job_id, q) != 0) {
			free(q);
			return;
		}
	} else
		dq->live_bytes -= q->rec_bytes;
	q->r = *r;
	q->rec_bytes = bytes;
	dq->live_bytes += bytes;
}

void
qrun_replay(struct deliver *dq, const struct qrec_run *r, uint32_t size)
{
	keep(dq, r, size);
}

enum qrun_verdict
qrun_price(const struct deliver *dq, const struct report *r, int64_t *total,
    int64_t *before)
{
	const struct qrec_run *st = qrun_get(dq, r->job_id);
	int64_t own = r->node_fail && dq->node_fail_free ? 0 : r->cents;

	*before = 0;
	if (st != NULL && r->run == st->run && r->submit != 0 &&
	    st->submit != 0 && r->submit != st->submit)
		return QRUN_REUSED;
	if (st != NULL && r->run < st->run)
		return QRUN_OLDER;
	if (st != NULL && !dq->last_run)
		*before = r->run == st->run ? st->before : st->before +
		    st->cents;
	*total = *before + own;
	return QRUN_OK;
}

int
qrun_record(struct deliver *dq, const struct report *r, int64_t before)
{
	const struct qrec_run *st = qrun_get(dq, r->job_id);
	struct qrec_run rr;
	long size;

	memset(&rr, 0, sizeof(rr));
	rr.job_id = r->job_id;
	rr.run = r->run;
	rr.before = before;
	rr.cents = r->cents - before;
	rr.submit = r->submit;
	if (st != NULL && st->run < r->run) {
		rr.prev = st->submit;
		rr.held = st->before + st->cents;
	} else if (st != NULL) {
		rr.prev = st->prev;
		rr.held = st->held;
	}
	rr.t = (int64_t)time(NULL);
	if ((size = qrec_append_run(dq->jr, &rr)) < 0)
		return -1;
	keep(dq, &rr, (uint32_t)size);
	return 0;
}

/*
 * What the portal held for the job before the completion e, delivered
 * now: a job's PUTs go in order and each replaces the amount, so it is
 * the completion delivered before it.  Without one seen by this process
 * (a restart), the run record's figure, which is right for the latest
 * run's completion only: an earlier run's, delivered after the latest
 * run was taken, gets 0, and the cache counts its amount again until it
 * refreshes (safe).  Which run a completion is comes from its add record
 * (tests/dst seeds 59578, 82590, 98204: a held of 0 in this process;
 * 51720: a run's completion taken for the latest one because a free
 * later run left the same amount).  A journal of an older bankd has no
 * run: the amount decides, as it did there.  Remembers this one.
 */
int64_t
qrun_delivered(struct deliver *dq, const struct entry *e)
{
	struct qrun *q = idmap_get(&dq->runs, e->job_id);
	int64_t held = 0;
	int latest;

	if (q == NULL)
		return 0;
	latest = e->run_known ? e->run == q->r.run :
	    e->cents == q->r.before + q->r.cents;
	if (q->has_put)
		held = q->put;
	else if (latest)
		held = q->r.held;
	q->put = e->cents;
	q->has_put = 1;
	return held;
}

/* Compaction: the figures of jobs that may still run again. */
int
qrun_emit(struct journal *jr, struct deliver *dq)
{
	int64_t old = (int64_t)time(NULL) - QRUN_KEEP_S;
	struct qrun *q;
	size_t i;

	for (i = 0; i < dq->runs.cap; i++) {
		if ((q = dq->runs.slots[i].val) == NULL || q->r.t < old)
			continue;
		if (qrec_append_run(jr, &q->r) < 0)
			return -1;
	}
	return 0;
}

/* After a compaction: what it left out is forgotten. */
void
qrun_expire(struct deliver *dq)
{
	int64_t old = (int64_t)time(NULL) - QRUN_KEEP_S;
	uint32_t *gone;
	struct qrun *q;
	size_t i, n = 0;

	/* Deleting may move the map's slots: the ids first, then out. */
	if (dq->runs.len == 0 || (gone = calloc(dq->runs.len,
	    sizeof(*gone))) == NULL)
		return;
	for (i = 0; i < dq->runs.cap && n < dq->runs.len; i++)
		if ((q = dq->runs.slots[i].val) != NULL && q->r.t < old)
			gone[n++] = q->r.job_id;
	for (i = 0; i < n; i++)
		if ((q = idmap_del(&dq->runs, gone[i])) != NULL) {
			dq->live_bytes -= q->rec_bytes;
			free(q);
		}
	free(gone);
}

void
qrun_free(struct deliver *dq)
{
	size_t i;

	for (i = 0; i < dq->runs.cap; i++)
		free(dq->runs.slots[i].val);
	idmap_free(&dq->runs);
}
