/*
 * jwatch.h - the event loop's side of a journal's sync thread.
 */
#ifndef JWATCH_H
#define JWATCH_H

#include <event2/event.h>

#include "journal.h"

/*
 * Start the journal's sync thread and an event that runs fn when one of
 * its commits is over (fn then calls journal_commit_end()).  NULL, logged
 * once, if either cannot be had: the caller then commits on the loop, and
 * must not call journal_commit_begin().
 */
struct event	*journal_watch(struct event_base *, struct journal *,
		    event_callback_fn fn, void *arg, const char *what);

#endif /* JWATCH_H */
