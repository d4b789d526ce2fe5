/*
 * dst_world.c - bankd's parts as main.c makes them (the queue, the
 * holds, the ledger and the cache on one event loop), their restart as
 * after a crash, and the simulated passing of time.
 *
 * Determinism: the loop is only ever run until nothing is active and no
 * journal's commit is on its sync thread (dst_settle), so that what the
 * thread does is over before the next step; the queue's timer is made
 * active by the simulation when the queue's own schedule says it is due
 * (the timeout libevent was given is in real time, and would fire at a
 * moment of the machine's choosing; if it does, the kick it makes finds
 * nothing due that the simulation has not sent already).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bankd.h"
#include "cache.h"
#include "deliver.h"
#include "dst.h"
#include "holds.h"
#include "journal.h"
#include "ledger.h"
#include "queue.h"

static int64_t
job_settled(void *arg, uint32_t job_id, uint64_t *token)
{
	return deliver_settled(arg, job_id, token);
}

static int
open_parts(struct dst_world *w)
{
	struct deliver_settings set = { w->dir, w->fsync, w->max_inflight,
	    w->retry_max_ms, w->last_run, w->node_fail_free };
	struct deliver_hooks hooks = { dst_portal_send, w, dst_on_delivered,
	    NULL, w, dst_send_tick };
	struct bankd *bd = w->bd;
	char err[512];
	size_t n;

	if ((w->holds = holds_open(w->base, w->dir, w->fsync, err,
	    sizeof(err))) == NULL) {
		dst_fail(w, "holds_open: %s", err);
		return -1;
	}
	if ((w->dq = deliver_open(w->base, &set, &hooks, err,
	    sizeof(err))) == NULL) {
		dst_fail(w, "deliver_open: %s", err);
		return -1;
	}
	/* As main.c's settle_holds, once both are read. */
	n = holds_settle(w->holds, job_settled, w->dq);
	dst_trace(w, "open gen %u: %zu holds settled, %zu held", w->gen, n,
	    holds_count(w->holds));
	if ((w->cache = cache_new()) == NULL ||
	    (w->ledger = ledger_new()) == NULL) {
		dst_fail(w, "out of memory");
		return -1;
	}
	bd->dq = w->dq;
	bd->holds = w->holds;
	bd->cache = w->cache;
	bd->ledger = w->ledger;
	dst_settle(w);
	return 0;
}

static void
close_parts(struct dst_world *w)
{
	struct bankd *bd = w->bd;

	dst_portal_abandon(w);
	deliver_close(w->dq);
	holds_close(w->holds);
	cache_free(w->cache);
	ledger_free(w->ledger);
	w->dq = NULL;
	w->holds = NULL;
	w->cache = NULL;
	w->ledger = NULL;
	if (bd != NULL)
		memset(bd, 0, sizeof(*bd));
}

static void
unlink_state(const char *dir)
{
	static const char *const names[] = { "journal", "journal.new",
	    "journal.tmp", "holds", "holds.new", "holds.tmp" };
	char path[512];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
}

int
dst_world_open(struct dst_world *w)
{
	unlink_state(w->dir);
	if ((w->base = event_base_new()) == NULL ||
	    (w->bd = calloc(1, sizeof(struct bankd))) == NULL) {
		dst_fail(w, "out of memory");
		return -1;
	}
	return open_parts(w);
}

void
dst_world_close(struct dst_world *w)
{
	close_parts(w);
	free(w->bd);
	w->bd = NULL;
	if (w->base != NULL)
		event_base_free(w->base);
	w->base = NULL;
	dst_portal_free(w);
	unlink_state(w->dir);
}

/* A power cut takes what was written after lo, from a random byte on. */
static void
tear(struct dst_world *w, const char *name, uint64_t lo, uint64_t end)
{
	char path[512];
	uint64_t at;

	if (end <= lo)
		return;
	snprintf(path, sizeof(path), "%s/%s", w->dir, name);
	at = lo + dst_rng_below(&w->rng, end - lo + 1);
	dst_trace(w, "tear %s at %" PRIu64 " of %" PRIu64 " (synced %" PRIu64
	    ")", name, at, end, lo);
	if (truncate(path, (off_t)at) != 0)
		dst_fail(w, "truncate %s: failed", path);
	w->tears++;
	w->torn_gen = 1;
}

/* Drop the zeros written ahead of a closed journal's records. */
static void
cut(struct dst_world *w, const char *name, int holds)
{
	char path[512];
	uint64_t lo, end;

	dst_closed(holds, &lo, &end);
	snprintf(path, sizeof(path), "%s/%s", w->dir, name);
	if (truncate(path, (off_t)end) != 0)
		dst_fail(w, "truncate %s: failed", path);
}

/*
 * A report queued again after a torn restart lost its done record: it
 * may be sent again.  The others may not (dst_portal.c's check_again).
 */
static void
undone(const struct deliver_view *v, void *arg)
{
	struct dst_world *w = arg;
	int i;

	for (i = 0; i < w->njobs; i++)
		if (w->jobs[i].id == v->job_id) {
			if (w->jobs[i].done_mask != 0)
				w->jobs[i].put_back = 1;
			w->jobs[i].done_mask &= strcmp(v->kind, "start") == 0 ?
			    ~1u : 1u;
		}
}

void
dst_world_restart(struct dst_world *w, int torn)
{
	uint64_t holds_lo = w->holds_size_at_step, lo, end;
	/* A compaction in the step moved every record: no tear then. */
	int after_time = w->step_was_time &&
	    w->holds_rewrites_at_step == dst_rewrites(1);

	dst_trace(w, "restart%s", torn ? " torn" : "");
	close_parts(w);
	w->restarts++;
	w->gen++;
	w->torn_gen = 0;
	w->jumped = 0;
	/*
	 * Only what was never synced may go: the queue's records past its
	 * last sync (its done records, written unsynced); the holds' written
	 * in the last step, when it was time passing (their releases).
	 */
	/*
	 * Most restarts find the files cut at their data (journal.c takes
	 * the zeros it writes ahead as no data; reading 2 MiB of them at
	 * each open is most of a seed's time); some find the zeros.
	 */
	if (!torn && dst_rng_pct(&w->rng, 80)) {
		cut(w, "journal", 0);
		cut(w, "holds", 1);
	}
	if (torn && w->fsync) {
		dst_closed(0, &lo, &end);
		tear(w, "journal", lo, end);
		/*
		 * The holds sync each record, but after the queue's: a kill
		 * between the two loses releases the queue's done records
		 * already imply (holds_settle's case).
		 */
		dst_closed(1, &lo, &end);
		if (after_time && holds_lo > 0)
			tear(w, "holds", holds_lo, end);
	}
	memset(w->exact, 0, sizeof(w->exact));
	if (!w->torn_gen) {
		int i;

		for (i = 0; i < DST_ACCOUNTS; i++)
			w->exact[i] = 1;
	}
	w->opening = 1;
	w->nagain = 0;
	if (open_parts(w) == 0 && w->torn_gen)
		deliver_list(w->dq, 0, SIZE_MAX, 0, undone, w);
	w->opening = 0;
	dst_portal_judge_deferred(w);
}

void
dst_settle(struct dst_world *w)
{
	struct journal *q, *h;
	int guard = 0;

	for (;;) {
		while (event_base_get_num_events(w->base,
		    EVENT_BASE_COUNT_ACTIVE) > 0 && guard++ < 100000)
			event_base_loop(w->base, EVLOOP_NONBLOCK);
		q = dst_journal_queue();
		h = dst_journal_holds();
		if ((q != NULL && journal_busy(q)) ||
		    (h != NULL && journal_busy(h))) {
			event_base_loop(w->base, EVLOOP_ONCE);
			continue;
		}
		break;
	}
	if (guard >= 100000)
		dst_fail(w, "the event loop never settles");
}

int64_t
dst_queue_due(const struct dst_world *w)
{
	int64_t due;

	if (w->dq == NULL || !qsched_wait(&w->dq->sched, 0, &due))
		return INT64_MAX;
	return due;
}

int64_t
dst_next_event(const struct dst_world *w)
{
	int64_t a = dst_portal_next_due(w), b = dst_queue_due(w);

	return a < b ? a : b;
}

void
dst_advance_to(struct dst_world *w, int64_t t)
{
	int64_t n;
	int guard = 0;

	while ((n = dst_next_event(w)) <= t && w->fail[0] == '\0') {
		if (++guard > 100000) {
			dst_fail(w, "time cannot pass: an event stays due");
			return;
		}
		dst_clock_set_ms(n);
		dst_portal_answer_due(w);
		if (dst_queue_due(w) <= dst_now_ms()) {
			dst_trace(w, "timer at %" PRId64, dst_now_ms());
			event_active(w->dq->timer, EV_TIMEOUT, 1);
			dst_settle(w);
		}
	}
	dst_clock_set_ms(t);
}
