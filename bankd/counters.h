/*
 * counters.h - the daemon's named numbers, kept where they change and read
 * by whoever reports them: `bankctl status` now, a metrics endpoint
 * later, which lists them by name (counters_each) without knowing each
 * module.  A gauge is a level (connections open), a counter only grows
 * (requests taken).  The queue's own figures stay the queue's
 * (deliver_stats); these are the edge's.
 */
#ifndef COUNTERS_H
#define COUNTERS_H

#include <stdint.h>

enum counter {
	CNT_CLIENTS,		/* gauge: connections open */
	CNT_SPOOL_FILES,	/* gauge: spool files at the last scan */
	CNT_REQUESTS,		/* requests handed to a handler */
	CNT_REFUSED,		/* requests refused at the edge (a field) */
	CNT_SPOOL_TAKEN,	/* spool files journaled and removed */
	CNT_SPOOL_ASIDE,	/* spool files set aside as .bad */
	CNT_MAX
};

enum counter_kind {
	COUNTER_GAUGE,
	COUNTER_TOTAL,
};

struct counters {
	uint64_t	 v[CNT_MAX];
};

void		 counters_add(struct counters *, enum counter, uint64_t n);
/* A gauge down by n, never below 0. */
void		 counters_sub(struct counters *, enum counter, uint64_t n);
void		 counters_set(struct counters *, enum counter, uint64_t v);
uint64_t	 counters_get(const struct counters *, enum counter);
/* "clients", "spool_files", ...: the name a reader shows. */
const char	*counters_name(enum counter);
enum counter_kind counters_kind(enum counter);

/* Every counter, in enum order. */
typedef void	 (*counters_fn)(enum counter, const char *name,
		    enum counter_kind, uint64_t v, void *arg);
void		 counters_each(const struct counters *, counters_fn, void *arg);

#endif /* COUNTERS_H */
