/*
 * commit.h - group commit over a journal (journal.c), for the report
 * queue and the holds.  What is recorded in one turn of the event loop
 * goes to disk with one write and one sync at the end of the turn; with
 * fsync on, the sync runs on the journal's thread (jwatch.c) and the loop
 * forms the next batch meanwhile.  Whoever waits for a record (a plugin's
 * report, acknowledged only once durable) is answered when its batch is
 * on disk, or failed.
 */
#ifndef COMMIT_H
#define COMMIT_H

#include <stdint.h>

#include <event2/event.h>

#include "journal.h"

struct commit;
struct commit_waiter;

typedef void	 (*commit_ack_fn)(void *arg, int ok);

/* What the journal's owner does as commits end; each may be NULL. */
struct commit_hooks {
	/* Records below journal_durable() are on disk. */
	void	(*durable)(void *arg);
	/* A batch went out (synced or not): a moment to compact. */
	void	(*written)(void *arg);
	/* A commit is over, whatever its fate: go on (send what may go). */
	void	(*done)(void *arg);
	void	*arg;
};

/*
 * Commit jr's records on base; `what` names the journal in the log.
 * Without the sync thread (logged), commits happen on the loop.  NULL
 * when out of memory.
 */
struct commit	*commit_new(struct event_base *, struct journal *,
		    const char *what, const struct commit_hooks *);
void		 commit_free(struct commit *);

/*
 * Records were buffered: commit them at the end of this turn.  sync: one
 * of them needs a sync of its own; without, they are written and the
 * next sync covers them (a power cut may lose them).
 */
void		 commit_soon(struct commit *, int sync);

/*
 * A waiter is made before what it waits for is recorded (so that running
 * out of memory is found before anything is), then handed to
 * commit_wait() or freed.  It is answered ack(arg, 1) once the record
 * ending at `end` is durable, ack(arg, 0) if its commit failed.
 */
struct commit_waiter *commit_waiter_new(commit_ack_fn, void *arg);
void		 commit_waiter_free(struct commit_waiter *);
void		 commit_wait(struct commit *, struct commit_waiter *,
		    uint64_t end);

/* Closing: the commit in flight ends, what waits is committed, and every
   waiter is answered. */
void		 commit_finish(struct commit *);

#endif /* COMMIT_H */
