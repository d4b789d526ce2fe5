/*
 * qsched.h - when the queue's sendable reports go: a ready list (due
 * now, first come first sent) and a min-heap on the time of each next
 * retry, so that every step stays O(1) or O(log n) with 100,000s queued.
 * It knows nothing of reports: a report embeds a qsched_node.
 */
#ifndef QSCHED_H
#define QSCHED_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

struct qsched_node {
	TAILQ_ENTRY(qsched_node) ready_link;
	int64_t			 due_ms;	/* qsched_now() of its next try */
	uint32_t		 heap_idx;	/* 0: not in the heap */
	uint8_t			 in_ready;
};

TAILQ_HEAD(qsched_readyq, qsched_node);

struct qsched {
	struct qsched_readyq	 ready;
	struct qsched_node	**heap;		/* 1-based */
	size_t			 len;		/* in the heap */
	size_t			 cap;
};

/* Milliseconds on the monotonic clock. */
int64_t		 qsched_now(void);

void		 qsched_init(struct qsched *);
void		 qsched_free(struct qsched *);

/* 1 when n waits in the ready list or the heap. */
int		 qsched_queued(const struct qsched_node *);
/* Ready if due by now, else in the heap (ready when the heap cannot
   grow: a try early beats a report forgotten). */
void		 qsched_add(struct qsched *, struct qsched_node *, int64_t now);
void		 qsched_remove(struct qsched *, struct qsched_node *);
/* Those whose time has come join the ready list. */
void		 qsched_due(struct qsched *, int64_t now);
/* Every one waiting out its backoff is due now; how many were. */
size_t		 qsched_flush(struct qsched *);
/* The next ready one, out of the list; NULL if none. */
struct qsched_node *qsched_next(struct qsched *);
/* 1 with the milliseconds until the heap's first is due; 0 if empty. */
int		 qsched_wait(const struct qsched *, int64_t now, int64_t *ms);

/*
 * The wait before try number attempts + 1: 500 ms doubled per failed
 * attempt up to cap_ms, then drawn in [delay/2, delay] so that a
 * backlog's retries spread out after an outage.
 */
int64_t		 qsched_backoff(unsigned attempts, int64_t cap_ms);

#endif /* QSCHED_H */
