/*
 * qsched.c - the queue's ready list and retry heap (see qsched.h).
 */
#include <stdlib.h>
#include <time.h>

#include "monotime.h"
#include "qsched.h"

#define BACKOFF_MIN_MS		500

int64_t
qsched_now(void)
{
	return monotime_ms();
}

void
qsched_init(struct qsched *s)
{
	TAILQ_INIT(&s->ready);
	s->heap = NULL;
	s->len = 0;
	s->cap = 0;
}

void
qsched_free(struct qsched *s)
{
	free(s->heap);
	qsched_init(s);
}

int
qsched_queued(const struct qsched_node *n)
{
	return n->in_ready || n->heap_idx != 0;
}

static void
heap_swap(struct qsched *s, size_t a, size_t b)
{
	struct qsched_node *t = s->heap[a];

	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->heap[a]->heap_idx = a;
	s->heap[b]->heap_idx = b;
}

static void
heap_fix(struct qsched *s, size_t i)
{
	size_t c;

	while (i > 1 && s->heap[i]->due_ms < s->heap[i / 2]->due_ms) {
		heap_swap(s, i, i / 2);
		i /= 2;
	}
	for (;;) {
		c = i * 2;
		if (c > s->len)
			break;
		if (c + 1 <= s->len &&
		    s->heap[c + 1]->due_ms < s->heap[c]->due_ms)
			c++;
		if (s->heap[i]->due_ms <= s->heap[c]->due_ms)
			break;
		heap_swap(s, i, c);
		i = c;
	}
}

static int
heap_push(struct qsched *s, struct qsched_node *n)
{
	struct qsched_node **h;
	size_t cap;

	if (s->len + 1 >= s->cap) {
		cap = s->cap ? s->cap * 2 : 256;
		if ((h = realloc(s->heap, cap * sizeof(*h))) == NULL)
			return -1;
		s->heap = h;
		s->cap = cap;
	}
	s->heap[++s->len] = n;
	n->heap_idx = s->len;
	heap_fix(s, s->len);
	return 0;
}

static void
heap_remove(struct qsched *s, struct qsched_node *n)
{
	size_t i = n->heap_idx;

	if (i == 0)
		return;
	heap_swap(s, i, s->len);
	s->len--;
	n->heap_idx = 0;
	if (i <= s->len)
		heap_fix(s, i);
}

static void
ready_add(struct qsched *s, struct qsched_node *n)
{
	TAILQ_INSERT_TAIL(&s->ready, n, ready_link);
	n->in_ready = 1;
}

void
qsched_add(struct qsched *s, struct qsched_node *n, int64_t now)
{
	if (n->due_ms <= now || heap_push(s, n) != 0)
		ready_add(s, n);
}

void
qsched_remove(struct qsched *s, struct qsched_node *n)
{
	if (n->in_ready) {
		TAILQ_REMOVE(&s->ready, n, ready_link);
		n->in_ready = 0;
	}
	heap_remove(s, n);
}

void
qsched_due(struct qsched *s, int64_t now)
{
	struct qsched_node *n;

	while (s->len > 0 && s->heap[1]->due_ms <= now) {
		n = s->heap[1];
		heap_remove(s, n);
		ready_add(s, n);
	}
}

size_t
qsched_flush(struct qsched *s)
{
	struct qsched_node *n;
	size_t count = 0;

	while (s->len > 0) {
		n = s->heap[1];
		heap_remove(s, n);
		n->due_ms = 0;
		ready_add(s, n);
		count++;
	}
	return count;
}

struct qsched_node *
qsched_next(struct qsched *s)
{
	struct qsched_node *n;

	if ((n = TAILQ_FIRST(&s->ready)) == NULL)
		return NULL;
	TAILQ_REMOVE(&s->ready, n, ready_link);
	n->in_ready = 0;
	return n;
}

int
qsched_wait(const struct qsched *s, int64_t now, int64_t *ms)
{
	if (s->len == 0)
		return 0;
	*ms = s->heap[1]->due_ms - now;
	return 1;
}

int64_t
qsched_backoff(unsigned attempts, int64_t cap_ms)
{
	int64_t delay = BACKOFF_MIN_MS;
	unsigned i;

	for (i = 1; i < attempts && delay < cap_ms; i++)
		delay *= 2;
	if (delay > cap_ms)
		delay = cap_ms;
	return delay / 2 + random() % (delay / 2 + 1);
}
