/*
 * jwatch.c - watch a journal's sync thread from the event loop (see
 * jwatch.h).  Kept apart from journal.c, which has no event loop.
 */
#include <stddef.h>

#include "jwatch.h"
#include "log.h"

struct event *
journal_watch(struct event_base *base, struct journal *jr,
    event_callback_fn fn, void *arg, const char *what)
{
	struct event *ev;
	int fd;

	if ((fd = journal_commit_fd(jr)) < 0)
		return NULL;		/* logged by journal.c */
	ev = event_new(base, fd, EV_READ | EV_PERSIST, fn, arg);
	if (ev == NULL || event_add(ev, NULL) != 0) {
		log_err("%s: cannot watch the journal's sync thread: "
		    "committing on the main loop", what);
		if (ev != NULL)
			event_free(ev);
		return NULL;
	}
	return ev;
}
