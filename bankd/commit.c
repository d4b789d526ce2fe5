/*
 * commit.c - the group-commit driver shared by the report queue and the
 * holds (see commit.h).
 *
 * Two batches of waiters at most: `forming`, whose records are buffered
 * and go with the next commit, and `flushing`, whose records the sync
 * thread is writing now.  A commit that fails leaves its records
 * buffered (journal.c) and is tried again a second later, not in a loop.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>

#include "commit.h"
#include "jwatch.h"
#include "log.h"

struct commit_waiter {
	STAILQ_ENTRY(commit_waiter) link;
	commit_ack_fn		 fn;
	void			*arg;
};

STAILQ_HEAD(waiterq, commit_waiter);

struct commit {
	struct journal		*jr;
	struct commit_hooks	 hooks;
	struct event		*commit_ev;	/* end of this loop turn */
	struct event		*synced_ev;	/* the sync thread is done */
	struct waiterq		 forming;
	struct waiterq		 flushing;
	int			 must_sync;	/* a buffered record needs it */
	char			 what[32];
};

static void	 commit_next(struct commit *);

static void
hook(struct commit *c, void (*fn)(void *))
{
	if (fn != NULL)
		fn(c->hooks.arg);
}

static void
ack_all(struct waiterq *q, int ok)
{
	struct commit_waiter *w;

	while ((w = STAILQ_FIRST(q)) != NULL) {
		STAILQ_REMOVE_HEAD(q, link);
		w->fn(w->arg, ok);
		free(w);
	}
}

/* A commit failed: its records wait, buffered, for one more try. */
static void
commit_later(struct commit *c)
{
	struct timeval tv = { 1, 0 };

	if (event_add(c->commit_ev, &tv) != 0)
		log_err("%s: cannot schedule another commit", c->what);
}

/* A batch is on disk: its waiters are answered, then the owner's turn. */
static void
committed(struct commit *c, struct waiterq *q)
{
	ack_all(q, 1);
	hook(c, c->hooks.durable);
	hook(c, c->hooks.written);
}

/*
 * Everything buffered goes in one write and one sync.  With fsync on,
 * the sync thread does it, and the loop goes on forming the next batch
 * meanwhile; its waiters wait for on_synced.
 */
static void
commit_next(struct commit *c)
{
	int ok;

	if (journal_busy(c->jr))
		return;		/* on_synced will come back here */
	if (!journal_pending(c->jr)) {
		/* Their records went out with a compaction's commit. */
		ack_all(&c->forming, 1);
		hook(c, c->hooks.durable);
		return;
	}
	/*
	 * Only records nobody waits on and none needs a sync: written, not
	 * synced on their own (the queue's "done": a power cut that loses
	 * one makes bankd send that report again, which the API takes as a
	 * repeat; a drain would otherwise pay a sync per turn of the loop).
	 */
	if (!c->must_sync && STAILQ_EMPTY(&c->forming)) {
		if (journal_write(c->jr) == 0)
			hook(c, c->hooks.written);
		else
			commit_later(c);
		return;
	}
	c->must_sync = 0;
	if (journal_fsync(c->jr) && c->synced_ev != NULL &&
	    journal_commit_begin(c->jr) == 0) {
		STAILQ_CONCAT(&c->flushing, &c->forming);
		return;
	}
	ok = journal_commit(c->jr) == 0;
	if (ok)
		committed(c, &c->forming);
	else {
		c->must_sync = 1;	/* its records are still buffered */
		commit_later(c);
		ack_all(&c->forming, 0);
	}
	hook(c, c->hooks.done);
}

static void
on_commit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	commit_next(arg);
}

static void
on_synced(evutil_socket_t fd, short what, void *arg)
{
	struct commit *c = arg;
	int rc;

	(void)fd;
	(void)what;
	if ((rc = journal_commit_end(c->jr)) == 1)
		return;
	if (rc == 0)
		committed(c, &c->flushing);
	else {
		c->must_sync = 1;	/* its records are buffered again */
		ack_all(&c->flushing, 0);
	}
	commit_next(c);		/* what was recorded meanwhile */
	hook(c, c->hooks.done);
}

struct commit *
commit_new(struct event_base *base, struct journal *jr, const char *what,
    const struct commit_hooks *hooks)
{
	struct commit *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->jr = jr;
	c->hooks = *hooks;
	STAILQ_INIT(&c->forming);
	STAILQ_INIT(&c->flushing);
	snprintf(c->what, sizeof(c->what), "%s", what);
	if ((c->commit_ev = event_new(base, -1, 0, on_commit, c)) == NULL) {
		free(c);
		return NULL;
	}
	c->synced_ev = journal_watch(base, jr, on_synced, c, what);
	return c;
}

void
commit_free(struct commit *c)
{
	if (c == NULL)
		return;
	if (c->synced_ev != NULL)
		event_free(c->synced_ev);
	event_free(c->commit_ev);
	/* commit_finish answered them, if it ran; nobody waits now. */
	ack_all(&c->flushing, 0);
	ack_all(&c->forming, 0);
	free(c);
}

void
commit_soon(struct commit *c, int sync)
{
	if (sync)
		c->must_sync = 1;
	event_active(c->commit_ev, EV_TIMEOUT, 0);
}

struct commit_waiter *
commit_waiter_new(commit_ack_fn fn, void *arg)
{
	struct commit_waiter *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->fn = fn;
	w->arg = arg;
	return w;
}

void
commit_waiter_free(struct commit_waiter *w)
{
	free(w);
}

/* With the batch its record is in: the one syncing, or the next. */
void
commit_wait(struct commit *c, struct commit_waiter *w, uint64_t end)
{
	if (end <= journal_inflight_end(c->jr) && journal_busy(c->jr)) {
		STAILQ_INSERT_TAIL(&c->flushing, w, link);
		return;
	}
	STAILQ_INSERT_TAIL(&c->forming, w, link);
	commit_soon(c, 1);
}

void
commit_finish(struct commit *c)
{
	if (c == NULL)
		return;
	if (journal_busy(c->jr))
		ack_all(&c->flushing, journal_commit_end(c->jr) == 0);
	if (!STAILQ_EMPTY(&c->forming))
		ack_all(&c->forming, journal_commit(c->jr) == 0);
	hook(c, c->hooks.durable);
}
