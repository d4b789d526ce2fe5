/*
 * deliver.c - send queued reports to the API, in order per job, with
 * retries.  The queue is in memory; what is in it is what `bankctl status`
 * counts.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api.h"
#include "bankd.h"
#include "deliver.h"
#include "log.h"
#include "money.h"

#define BACKOFF_MIN_MS	500
#define BACKOFF_MAX_MS	(5 * 60 * 1000)
#define SEEN_MAX	(1 << 20)

struct entry {
	TAILQ_ENTRY(entry)	 link;
	struct report		 r;
	int			 inflight;
	int			 dead;
	unsigned		 attempts;
	int64_t			 next_ms;	/* monotonic, earliest retry */
	char			 last_error[256];
	struct deliver		*dq;
};

TAILQ_HEAD(entryq, entry);

struct deliver {
	struct bankd		*bd;
	struct entryq		 queue;
	struct event		*timer;
	size_t			 len;
	size_t			 inflight;
	size_t			 dead;
	uint64_t		 delivered;
	uint64_t		 retries;
	uint32_t		*seen;		/* open addressing, 0 = empty */
	size_t			 seen_cap;
	size_t			 seen_len;
};

static void	 kick(struct deliver *);

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	kick(arg);
}

struct deliver *
deliver_new(struct bankd *bd)
{
	struct deliver *dq;

	if ((dq = calloc(1, sizeof(*dq))) == NULL)
		return NULL;
	dq->bd = bd;
	TAILQ_INIT(&dq->queue);
	dq->seen_cap = 1024;
	dq->seen = calloc(dq->seen_cap, sizeof(*dq->seen));
	dq->timer = evtimer_new(bd->base, on_timer, dq);
	if (dq->seen == NULL || dq->timer == NULL) {
		deliver_free(dq);
		return NULL;
	}
	return dq;
}

void
deliver_free(struct deliver *dq)
{
	struct entry *e;

	if (dq == NULL)
		return;
	while ((e = TAILQ_FIRST(&dq->queue)) != NULL) {
		TAILQ_REMOVE(&dq->queue, e, link);
		report_clear(&e->r);
		free(e);
	}
	if (dq->timer)
		event_free(dq->timer);
	free(dq->seen);
	free(dq);
}

static int
seen_insert(struct deliver *dq, uint32_t id)
{
	size_t i, mask = dq->seen_cap - 1;

	for (i = id * 2654435761u & mask; dq->seen[i] != 0; i = (i + 1) & mask)
		if (dq->seen[i] == id)
			return 1;
	dq->seen[i] = id;
	dq->seen_len++;
	return 0;
}

static void
seen_grow(struct deliver *dq)
{
	uint32_t *old = dq->seen;
	size_t i, cap = dq->seen_cap;

	/*
	 * Past SEEN_MAX, forget everything: a duplicate start then costs one
	 * POST answered "already exists", which is harmless.
	 */
	if (cap * 2 > SEEN_MAX) {
		memset(dq->seen, 0, cap * sizeof(*dq->seen));
		dq->seen_len = 0;
		return;
	}
	if ((dq->seen = calloc(cap * 2, sizeof(*dq->seen))) == NULL) {
		dq->seen = old;
		return;
	}
	dq->seen_cap = cap * 2;
	dq->seen_len = 0;
	for (i = 0; i < cap; i++)
		if (old[i] != 0)
			seen_insert(dq, old[i]);
	free(old);
}

int
deliver_seen_start(struct deliver *dq, uint32_t job_id)
{
	if (dq->seen_len * 2 >= dq->seen_cap)
		seen_grow(dq);
	return seen_insert(dq, job_id);
}

void
deliver_stats(const struct deliver *dq, struct deliver_stats *st)
{
	st->queued = dq->len;
	st->inflight = dq->inflight;
	st->dead = dq->dead;
	st->delivered = dq->delivered;
	st->retries = dq->retries;
}

static const char *
kind_name(const struct report *r)
{
	return r->kind == REPORT_START ? "start" : "completion";
}

static void
entry_done(struct deliver *dq, struct entry *e)
{
	TAILQ_REMOVE(&dq->queue, e, link);
	dq->len--;
	report_clear(&e->r);
	free(e);
}

int
deliver_enqueue(struct deliver *dq, struct report *r)
{
	struct entry *e, *old;

	/* A completion makes an unsent start of the same job pointless. */
	if (r->kind == REPORT_END) {
		TAILQ_FOREACH(old, &dq->queue, link) {
			if (old->r.job_id == r->job_id && !old->inflight &&
			    old->r.kind == REPORT_START) {
				log_info("job %" PRIu32 ": completion replaces "
				    "its unsent start report", r->job_id);
				if (old->dead)
					dq->dead--;
				entry_done(dq, old);
				break;
			}
		}
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	e->r = *r;
	memset(r, 0, sizeof(*r));
	e->dq = dq;
	TAILQ_INSERT_TAIL(&dq->queue, e, link);
	dq->len++;
	kick(dq);
	return 0;
}

/* Is an earlier report of the same job still queued or in flight? */
static int
blocked(struct deliver *dq, struct entry *e)
{
	struct entry *p;

	TAILQ_FOREACH(p, &dq->queue, link) {
		if (p == e)
			return 0;
		if (p->r.job_id == e->r.job_id)
			return 1;
	}
	return 0;
}

static void
retry_later(struct deliver *dq, struct entry *e, const char *why)
{
	int64_t delay = BACKOFF_MIN_MS;
	unsigned i;

	for (i = 1; i < e->attempts && delay < BACKOFF_MAX_MS; i++)
		delay *= 2;
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	/* Jitter spreads retries of a backlog over time after an outage. */
	delay = delay / 2 + random() % (delay / 2 + 1);
	e->next_ms = now_ms() + delay;
	dq->retries++;
	snprintf(e->last_error, sizeof(e->last_error), "%s", why);
	log_warn("job %" PRIu32 ": %s report not delivered (attempt %u): %s; "
	    "retrying in %" PRId64 " ms", e->r.job_id, kind_name(&e->r),
	    e->attempts, why, delay);
}

/* A POST retried after it reached the server: already recorded. */
static int
already_exists(const struct api_reply *rep)
{
	return rep->status == 400 && strstr(rep->body, "already exists");
}

static void
on_reply(const struct api_reply *rep, void *arg)
{
	struct entry *e = arg;
	struct deliver *dq = e->dq;
	char why[512], amount[MONEY_FMT_LEN];

	e->inflight = 0;
	dq->inflight--;
	api_describe(rep, why, sizeof(why));
	if ((rep->status >= 200 && rep->status < 300) ||
	    (e->r.kind == REPORT_START && already_exists(rep))) {
		log_info("job %" PRIu32 ": %s report delivered (%s SU, account "
		    "%s)", e->r.job_id, kind_name(&e->r),
		    money_format(e->r.cents, amount), e->r.account);
		api_note(dq->bd, 1, NULL);
		dq->delivered++;
		entry_done(dq, e);
	} else if (rep->status == 0 || rep->status >= 500 ||
	    rep->status == 401 || rep->status == 403 || rep->status == 429) {
		api_note(dq->bd, rep->status == 0 || rep->status >= 500 ? 0 : 1,
		    why);
		retry_later(dq, e, why);
	} else {
		api_note(dq->bd, 1, NULL);
		e->dead = 1;
		dq->dead++;
		snprintf(e->last_error, sizeof(e->last_error), "%s", why);
		log_err("job %" PRIu32 ": %s report refused by the API, kept as "
		    "a dead letter: %s", e->r.job_id, kind_name(&e->r), why);
	}
	kick(dq);
}

static void
send_entry(struct deliver *dq, struct entry *e)
{
	char path[64];
	const char *method;

	if (e->r.kind == REPORT_START) {
		method = "POST";
		snprintf(path, sizeof(path), "/jobs/");
	} else {
		method = "PUT";
		snprintf(path, sizeof(path), "/jobs/%" PRIu32 "/", e->r.job_id);
	}
	e->attempts++;
	if (api_request(dq->bd->api, method, path, e->r.body, on_reply,
	    e) != 0) {
		retry_later(dq, e, "cannot start an HTTP request");
		return;
	}
	e->inflight = 1;
	dq->inflight++;
}

/* Send what may go now; sleep until the earliest retry otherwise. */
static void
kick(struct deliver *dq)
{
	struct entry *e, *next;
	int64_t now = now_ms(), wake = INT64_MAX;
	struct timeval tv;

	for (e = TAILQ_FIRST(&dq->queue); e != NULL; e = next) {
		next = TAILQ_NEXT(e, link);
		if (dq->inflight >= (size_t)dq->bd->conf.api_max_inflight)
			break;
		if (e->inflight || e->dead || blocked(dq, e))
			continue;
		if (e->next_ms > now) {
			if (e->next_ms < wake)
				wake = e->next_ms;
			continue;
		}
		send_entry(dq, e);
	}
	if (wake != INT64_MAX) {
		tv.tv_sec = (wake - now) / 1000;
		tv.tv_usec = (wake - now) % 1000 * 1000;
		evtimer_add(dq->timer, &tv);
	}
}
