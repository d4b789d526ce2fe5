/*
 * deliver.c - the report queue: journal, order per job, sending, retries
 * and dead letters (the rules are in deliver.h).
 *
 * Every live report is an entry on `all` (acceptance order) and on its
 * job's slot (that job's reports, in order).  Only the first entry of a
 * slot may be sent.  A sendable entry waits either on `ready` (due now) or
 * in `heap` (a min-heap on its next retry time).
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
#include "idmap.h"
#include "journal.h"
#include "log.h"
#include "money.h"

#define BACKOFF_MIN_MS		500
#define COMPACT_MIN_BYTES	(1024 * 1024)
#define SEEN_MAX		(1 << 20)

enum estate { E_QUEUED, E_SENDING, E_DEAD };

struct jobslot;

struct entry {
	TAILQ_ENTRY(entry)	 all_link;
	TAILQ_ENTRY(entry)	 job_link;
	TAILQ_ENTRY(entry)	 ready_link;
	struct jobslot		*slot;
	struct deliver		*dq;
	uint64_t		 seq;
	struct report		 r;
	enum estate		 state;
	int			 in_ready;
	size_t			 heap_idx;	/* 0: not in the heap */
	unsigned		 attempts;
	int64_t			 next_ms;
	time_t			 accepted;
	long			 rec_bytes;
	char			*last_error;	/* NULL until a try fails */
};

TAILQ_HEAD(entryq, entry);

struct jobslot {
	uint32_t		 job_id;
	struct entryq		 q;
};

struct ack {
	STAILQ_ENTRY(ack)	 link;
	deliver_ack_fn		 fn;
	void			*arg;
};

struct deliver {
	struct bankd		*bd;
	struct journal		*jr;
	struct entryq		 all;
	struct entryq		 ready;
	struct entry		**heap;		/* 1-based */
	size_t			 heap_len;
	size_t			 heap_cap;
	struct idmap		 seqs;
	struct idmap		 jobs;
	struct idmap		 seen;
	struct event		*timer;
	struct event		*commit_ev;
	STAILQ_HEAD(, ack)	 acks;
	uint64_t		 next_seq;
	size_t			 len;
	size_t			 inflight;
	size_t			 dead;
	long			 live_bytes;
	uint64_t		 delivered;
	uint64_t		 retries;
	int			 paused;
	int			 auth_blocked;
};

static void	 kick(struct deliver *);

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Most reports never fail: their error costs nothing until one does. */
static void
set_error(struct entry *e, const char *why)
{
	char *s = strndup(why ? why : "", 255);

	if (s == NULL)
		return;
	free(e->last_error);
	e->last_error = s;
}

static const char *
error_of(const struct entry *e)
{
	return e->last_error ? e->last_error : "";
}

static const char *
kind_name(const struct report *r)
{
	return r->kind == REPORT_START ? "start" : "end";
}

/* ---- the retry heap ---------------------------------------------- */

static void
heap_swap(struct deliver *dq, size_t a, size_t b)
{
	struct entry *t = dq->heap[a];

	dq->heap[a] = dq->heap[b];
	dq->heap[b] = t;
	dq->heap[a]->heap_idx = a;
	dq->heap[b]->heap_idx = b;
}

static void
heap_fix(struct deliver *dq, size_t i)
{
	size_t c;

	while (i > 1 && dq->heap[i]->next_ms < dq->heap[i / 2]->next_ms) {
		heap_swap(dq, i, i / 2);
		i /= 2;
	}
	for (;;) {
		c = i * 2;
		if (c > dq->heap_len)
			break;
		if (c + 1 <= dq->heap_len &&
		    dq->heap[c + 1]->next_ms < dq->heap[c]->next_ms)
			c++;
		if (dq->heap[i]->next_ms <= dq->heap[c]->next_ms)
			break;
		heap_swap(dq, i, c);
		i = c;
	}
}

static int
heap_push(struct deliver *dq, struct entry *e)
{
	struct entry **h;

	if (dq->heap_len + 1 >= dq->heap_cap) {
		size_t cap = dq->heap_cap ? dq->heap_cap * 2 : 256;

		if ((h = realloc(dq->heap, cap * sizeof(*h))) == NULL)
			return -1;
		dq->heap = h;
		dq->heap_cap = cap;
	}
	dq->heap[++dq->heap_len] = e;
	e->heap_idx = dq->heap_len;
	heap_fix(dq, dq->heap_len);
	return 0;
}

static void
heap_remove(struct deliver *dq, struct entry *e)
{
	size_t i = e->heap_idx;

	if (i == 0)
		return;
	heap_swap(dq, i, dq->heap_len);
	dq->heap_len--;
	e->heap_idx = 0;
	if (i <= dq->heap_len)
		heap_fix(dq, i);
}

/* ---- scheduling ---------------------------------------------------- */

static void
unschedule(struct deliver *dq, struct entry *e)
{
	if (e->in_ready) {
		TAILQ_REMOVE(&dq->ready, e, ready_link);
		e->in_ready = 0;
	}
	heap_remove(dq, e);
}

/* Put the first entry of a job where it will be sent from. */
static void
schedule(struct deliver *dq, struct entry *e)
{
	if (e != TAILQ_FIRST(&e->slot->q) || e->state != E_QUEUED ||
	    e->in_ready || e->heap_idx != 0)
		return;
	if (e->next_ms <= now_ms()) {
		TAILQ_INSERT_TAIL(&dq->ready, e, ready_link);
		e->in_ready = 1;
	} else if (heap_push(dq, e) != 0) {
		TAILQ_INSERT_TAIL(&dq->ready, e, ready_link);
		e->in_ready = 1;
	}
}

static struct jobslot *
slot_get(struct deliver *dq, uint32_t job_id)
{
	struct jobslot *s = idmap_get(&dq->jobs, job_id);

	if (s != NULL)
		return s;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->job_id = job_id;
	TAILQ_INIT(&s->q);
	if (idmap_put(&dq->jobs, job_id, s) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

static struct entry *
entry_new(struct deliver *dq, uint64_t seq, struct report *r)
{
	struct entry *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->slot = slot_get(dq, r->job_id)) == NULL ||
	    idmap_put(&dq->seqs, seq, e) != 0) {
		free(e);
		return NULL;
	}
	e->dq = dq;
	e->seq = seq;
	e->r = *r;
	memset(r, 0, sizeof(*r));
	e->state = E_QUEUED;
	TAILQ_INSERT_TAIL(&dq->all, e, all_link);
	TAILQ_INSERT_TAIL(&e->slot->q, e, job_link);
	dq->len++;
	if (seq >= dq->next_seq)
		dq->next_seq = seq + 1;
	return e;
}

/* Forget an entry (delivered, replaced or dropped); wake its successor. */
static void
entry_remove(struct deliver *dq, struct entry *e)
{
	struct jobslot *s = e->slot;
	struct entry *next;

	unschedule(dq, e);
	TAILQ_REMOVE(&dq->all, e, all_link);
	TAILQ_REMOVE(&s->q, e, job_link);
	idmap_del(&dq->seqs, e->seq);
	if (e->state == E_DEAD)
		dq->dead--;
	dq->len--;
	dq->live_bytes -= e->rec_bytes;
	if ((next = TAILQ_FIRST(&s->q)) != NULL)
		schedule(dq, next);
	else {
		idmap_del(&dq->jobs, s->job_id);
		free(s);
	}
	report_clear(&e->r);
	free(e->last_error);
	free(e);
}

/* ---- the journal ---------------------------------------------------- */

static json_t *
add_record(const struct entry *e)
{
	return json_pack("{s:s, s:I, s:I, s:s, s:I, s:s, s:s, s:I, s:I, s:I}",
	    "op", "add", "seq", (json_int_t)e->seq, "job",
	    (json_int_t)e->r.job_id, "kind", kind_name(&e->r), "cents",
	    (json_int_t)e->r.cents, "account", e->r.account, "body",
	    e->r.body, "t", (json_int_t)e->accepted, "uid",
	    (json_int_t)e->r.uid, "hold", (json_int_t)e->r.hold);
}

static void
journal_op(struct deliver *dq, const char *op, const struct entry *e,
    const char *error)
{
	json_t *rec = json_pack("{s:s, s:I}", "op", op, "seq",
	    (json_int_t)e->seq);

	if (rec != NULL && error != NULL)
		json_object_set_new(rec, "error", json_string(error));
	if (rec == NULL || journal_append(dq->jr, rec) < 0)
		log_err("journal: cannot record '%s' of report %" PRIu64, op,
		    e->seq);
	json_decref(rec);
	event_active(dq->commit_ev, EV_TIMEOUT, 0);
}

static int
emit_live(struct journal *jr, void *arg)
{
	struct deliver *dq = arg;
	struct entry *e;
	json_t *rec;
	long n;

	dq->live_bytes = 0;
	TAILQ_FOREACH(e, &dq->all, all_link) {
		if ((rec = add_record(e)) == NULL ||
		    (n = journal_append(jr, rec)) < 0) {
			json_decref(rec);
			return -1;
		}
		json_decref(rec);
		e->rec_bytes = n;
		dq->live_bytes += n;
		if (e->state != E_DEAD)
			continue;
		rec = json_pack("{s:s, s:I, s:s}", "op", "dead", "seq",
		    (json_int_t)e->seq, "error", error_of(e));
		if (rec == NULL || journal_append(jr, rec) < 0) {
			json_decref(rec);
			return -1;
		}
		json_decref(rec);
	}
	return 0;
}

static void
maybe_compact(struct deliver *dq)
{
	size_t size = journal_size(dq->jr), before = size;

	if (size < COMPACT_MIN_BYTES || size < 4 * (size_t)dq->live_bytes)
		return;
	if (journal_rewrite(dq->jr, emit_live, dq) == 0)
		log_info("journal compacted: %zu -> %zu bytes, %zu reports",
		    before, journal_size(dq->jr), dq->len);
}

/* Group commit: one write and one sync for everything this turn. */
static void
on_commit(evutil_socket_t fd, short what, void *arg)
{
	struct deliver *dq = arg;
	struct ack *a;
	int ok;

	(void)fd;
	(void)what;
	ok = journal_commit(dq->jr) == 0;
	while ((a = STAILQ_FIRST(&dq->acks)) != NULL) {
		STAILQ_REMOVE_HEAD(&dq->acks, link);
		a->fn(a->arg, ok);
		free(a);
	}
	if (ok)
		maybe_compact(dq);
	kick(dq);
}

/* ---- replay ---------------------------------------------------------- */

static void
replay_add(struct deliver *dq, json_t *rec)
{
	struct report r;
	json_int_t seq, job, cents, t = 0, uid = 0, hold = 0;
	const char *kind, *acct, *body;
	struct entry *e;

	memset(&r, 0, sizeof(r));
	if (json_unpack(rec, "{s:I, s:I, s:s, s:I, s:s, s:s, s?I, s?I, s?I}",
	    "seq", &seq, "job", &job, "kind", &kind, "cents", &cents, "account",
	    &acct, "body", &body, "t", &t, "uid", &uid, "hold", &hold) != 0) {
		log_err("journal: an 'add' record lacks fields; skipped");
		return;
	}
	if (idmap_get(&dq->seqs, (uint64_t)seq) != NULL) {
		log_warn("journal: report %lld recorded twice; the repeat is "
		    "ignored", (long long)seq);
		return;
	}
	r.kind = strcmp(kind, "start") == 0 ? REPORT_START : REPORT_END;
	r.job_id = (uint32_t)job;
	r.uid = (uint32_t)uid;
	r.hold = (uint64_t)hold;
	r.cents = cents;
	snprintf(r.account, sizeof(r.account), "%s", acct);
	if ((r.body = strdup(body)) == NULL ||
	    (e = entry_new(dq, (uint64_t)seq, &r)) == NULL) {
		log_err("journal: out of memory replaying report %lld",
		    (long long)seq);
		free(r.body);
		return;
	}
	e->accepted = (time_t)t;
	if (r.kind == REPORT_START)
		deliver_seen_start(dq, r.job_id);
}

static void
on_replay(json_t *rec, void *arg)
{
	struct deliver *dq = arg;
	const char *op = json_string_value(json_object_get(rec, "op"));
	json_int_t seq = json_integer_value(json_object_get(rec, "seq"));
	struct entry *e;

	if (op == NULL) {
		log_err("journal: a record without 'op'; skipped");
		return;
	}
	if (strcmp(op, "add") == 0) {
		replay_add(dq, rec);
		return;
	}
	if ((e = idmap_get(&dq->seqs, (uint64_t)seq)) == NULL)
		return;		/* about a report already compacted away */
	if (strcmp(op, "done") == 0 || strcmp(op, "drop") == 0) {
		entry_remove(dq, e);
	} else if (strcmp(op, "dead") == 0 && e->state != E_DEAD) {
		e->state = E_DEAD;
		dq->dead++;
		set_error(e,
		    json_string_value(json_object_get(rec, "error")) ?
		    json_string_value(json_object_get(rec, "error")) : "");
	} else if (strcmp(op, "retry") == 0 && e->state == E_DEAD) {
		e->state = E_QUEUED;
		dq->dead--;
	}
}

/* ---- open and close ------------------------------------------------- */

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	kick(arg);
}

struct deliver *
deliver_open(struct bankd *bd, char *err, size_t errlen)
{
	struct deliver *dq;
	struct entry *e;
	struct jobslot *s;
	size_t i;

	if ((dq = calloc(1, sizeof(*dq))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	dq->bd = bd;
	dq->next_seq = 1;
	TAILQ_INIT(&dq->all);
	TAILQ_INIT(&dq->ready);
	STAILQ_INIT(&dq->acks);
	if (idmap_init(&dq->seqs) != 0 || idmap_init(&dq->jobs) != 0 ||
	    idmap_init(&dq->seen) != 0 ||
	    (dq->timer = evtimer_new(bd->base, on_timer, dq)) == NULL ||
	    (dq->commit_ev = event_new(bd->base, -1, 0, on_commit, dq)) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		deliver_close(dq);
		return NULL;
	}
	dq->jr = journal_open(bd->conf.state_dir, bd->conf.fsync, on_replay,
	    dq, err, errlen);
	if (dq->jr == NULL) {
		deliver_close(dq);
		return NULL;
	}
	/* Sizes are not in the journal: recount them, then compact if torn. */
	TAILQ_FOREACH(e, &dq->all, all_link) {
		json_t *rec = add_record(e);
		char *str = rec ? json_dumps(rec, JSON_COMPACT) : NULL;

		e->rec_bytes = str ? (long)strlen(str) + 12 : 0;
		dq->live_bytes += e->rec_bytes;
		free(str);
		json_decref(rec);
	}
	for (i = 0; i < dq->jobs.cap; i++)
		if ((s = dq->jobs.slots[i].val) != NULL)
			schedule(dq, TAILQ_FIRST(&s->q));
	if (journal_corrupt(dq->jr) &&
	    journal_rewrite(dq->jr, emit_live, dq) == 0)
		log_info("journal rewritten without its damaged records");
	log_info("journal %s/journal: %zu reports to deliver (%zu dead "
	    "letters)", bd->conf.state_dir, dq->len, dq->dead);
	kick(dq);
	return dq;
}

void
deliver_close(struct deliver *dq)
{
	struct entry *e;
	struct ack *a;

	if (dq == NULL)
		return;
	while ((a = STAILQ_FIRST(&dq->acks)) != NULL) {
		STAILQ_REMOVE_HEAD(&dq->acks, link);
		a->fn(a->arg, dq->jr && journal_commit(dq->jr) == 0);
		free(a);
	}
	journal_close(dq->jr);
	while ((e = TAILQ_FIRST(&dq->all)) != NULL) {
		e->state = E_QUEUED;
		entry_remove(dq, e);
	}
	if (dq->timer)
		event_free(dq->timer);
	if (dq->commit_ev)
		event_free(dq->commit_ev);
	free(dq->heap);
	idmap_free(&dq->seqs);
	idmap_free(&dq->jobs);
	idmap_free(&dq->seen);
	free(dq);
}

void
deliver_set_fsync(struct deliver *dq, int on)
{
	journal_set_fsync(dq->jr, on);
}

/* ---- accepting reports --------------------------------------------- */

int
deliver_seen_start(struct deliver *dq, uint32_t job_id)
{
	/*
	 * Past SEEN_MAX, forget everything: a repeated start then costs one
	 * POST answered "already exists", which is harmless.
	 */
	if (dq->seen.len >= SEEN_MAX) {
		idmap_free(&dq->seen);
		idmap_init(&dq->seen);
	}
	if (idmap_get(&dq->seen, job_id) != NULL)
		return 1;
	idmap_put(&dq->seen, job_id, (void *)1);
	return 0;
}

/* A completion makes an unsent start of the same job pointless. */
static void
replace_unsent_start(struct deliver *dq, uint32_t job_id)
{
	struct jobslot *s = idmap_get(&dq->jobs, job_id);
	struct entry *e, *next;

	if (s == NULL)
		return;
	for (e = TAILQ_FIRST(&s->q); e != NULL; e = next) {
		next = TAILQ_NEXT(e, job_link);
		if (e->r.kind != REPORT_START || e->state == E_SENDING)
			continue;
		log_info("job %" PRIu32 ": completion replaces its unsent "
		    "start report", job_id);
		journal_op(dq, "done", e, NULL);
		entry_remove(dq, e);
		return;		/* entry_remove may have freed the slot */
	}
}

int
deliver_enqueue(struct deliver *dq, struct report *r, deliver_ack_fn fn,
    void *arg)
{
	struct entry *e;
	struct ack *a;
	json_t *rec;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	if (r->kind == REPORT_END)
		replace_unsent_start(dq, r->job_id);
	if ((e = entry_new(dq, dq->next_seq, r)) == NULL) {
		free(a);
		return -1;
	}
	e->accepted = time(NULL);
	if ((rec = add_record(e)) == NULL ||
	    (e->rec_bytes = journal_append(dq->jr, rec)) < 0) {
		json_decref(rec);
		log_err("job %" PRIu32 ": cannot journal the %s report",
		    e->r.job_id, kind_name(&e->r));
		e->rec_bytes = 0;
		entry_remove(dq, e);
		free(a);
		return -1;
	}
	json_decref(rec);
	dq->live_bytes += e->rec_bytes;
	a->fn = fn;
	a->arg = arg;
	STAILQ_INSERT_TAIL(&dq->acks, a, link);
	schedule(dq, e);
	event_active(dq->commit_ev, EV_TIMEOUT, 0);
	return 0;
}

/* ---- sending ---------------------------------------------------------- */

static void
retry_later(struct deliver *dq, struct entry *e, const char *why)
{
	int64_t delay = BACKOFF_MIN_MS, cap = dq->bd->conf.api_retry_max_ms;
	unsigned i;

	for (i = 1; i < e->attempts && delay < cap; i++)
		delay *= 2;
	if (delay > cap)
		delay = cap;
	/* Jitter spreads a backlog's retries over time after an outage. */
	delay = delay / 2 + random() % (delay / 2 + 1);
	e->next_ms = now_ms() + delay;
	e->state = E_QUEUED;
	dq->retries++;
	set_error(e, why);
	log_warn("job %" PRIu32 ": %s report not delivered (attempt %u): %s; "
	    "next try in %" PRId64 " ms", e->r.job_id, kind_name(&e->r),
	    e->attempts, why, delay);
	schedule(dq, e);
}

/* A POST retried after it reached the server: already recorded. */
static int
already_exists(const struct api_reply *rep)
{
	return rep->status == 400 && strstr(rep->body, "already exists");
}

static void
delivered(struct deliver *dq, struct entry *e)
{
	char amount[MONEY_FMT_LEN];

	log_info("job %" PRIu32 ": %s report delivered (%s SU, account %s)",
	    e->r.job_id, kind_name(&e->r), money_format(e->r.cents, amount),
	    e->r.account);
	if (dq->auth_blocked) {
		log_info("the API accepts our token again: delivery resumed");
		dq->auth_blocked = 0;
	}
	api_note(dq->bd, 1, NULL);
	dq->delivered++;
	ledger_delivered(dq->bd, &e->r);
	journal_op(dq, "done", e, NULL);
	entry_remove(dq, e);
}

static void
dead_letter(struct deliver *dq, struct entry *e, const char *why)
{
	e->state = E_DEAD;
	dq->dead++;
	set_error(e, why);
	journal_op(dq, "dead", e, why);
	log_err("job %" PRIu32 ": %s report refused by the API, kept as dead "
	    "letter %" PRIu64 ": %s (bankctl retry %" PRIu64 " once fixed)",
	    e->r.job_id, kind_name(&e->r), e->seq, why, e->seq);
}

static void
on_reply(const struct api_reply *rep, void *arg)
{
	struct entry *e = arg;
	struct deliver *dq = e->dq;
	char why[512];

	dq->inflight--;
	e->state = E_QUEUED;
	api_describe(rep, why, sizeof(why));
	if ((rep->status >= 200 && rep->status < 300) ||
	    (e->r.kind == REPORT_START && already_exists(rep)))
		delivered(dq, e);
	else if (rep->status == 401 || rep->status == 403) {
		if (!dq->auth_blocked)
			log_err("the API refuses bankd's token (%s): delivery "
			    "narrowed to one report at a time until it is "
			    "accepted; check api.token_file", why);
		dq->auth_blocked = 1;
		api_note(dq->bd, 1, why);
		retry_later(dq, e, why);
	} else if (rep->status == 0 || rep->status >= 500 ||
	    rep->status == 429 || rep->status == 408) {
		api_note(dq->bd, 0, why);
		retry_later(dq, e, why);
	} else {
		api_note(dq->bd, 1, NULL);
		dead_letter(dq, e, why);
	}
	kick(dq);
}

static void
send_entry(struct deliver *dq, struct entry *e)
{
	char path[64];

	if (e->r.kind == REPORT_START)
		snprintf(path, sizeof(path), "/jobs/");
	else
		snprintf(path, sizeof(path), "/jobs/%" PRIu32 "/", e->r.job_id);
	e->attempts++;
	if (api_request(dq->bd->api, e->r.kind == REPORT_START ? "POST" :
	    "PUT", path, e->r.body, on_reply, e) != 0) {
		retry_later(dq, e, "cannot start an HTTP request");
		return;
	}
	e->state = E_SENDING;
	dq->inflight++;
}

/* Send what may go now; sleep until the next retry is due. */
static void
kick(struct deliver *dq)
{
	size_t limit = (size_t)dq->bd->conf.api_max_inflight;
	int64_t now = now_ms(), wait;
	struct timeval tv;
	struct entry *e;

	while (dq->heap_len > 0 && dq->heap[1]->next_ms <= now) {
		e = dq->heap[1];
		heap_remove(dq, e);
		TAILQ_INSERT_TAIL(&dq->ready, e, ready_link);
		e->in_ready = 1;
	}
	if (dq->auth_blocked)
		limit = 1;
	while (!dq->paused && dq->inflight < limit &&
	    (e = TAILQ_FIRST(&dq->ready)) != NULL) {
		TAILQ_REMOVE(&dq->ready, e, ready_link);
		e->in_ready = 0;
		send_entry(dq, e);
	}
	if (dq->heap_len > 0) {
		wait = dq->heap[1]->next_ms - now;
		tv.tv_sec = wait / 1000;
		tv.tv_usec = wait % 1000 * 1000;
		evtimer_add(dq->timer, &tv);
	}
}

/* ---- the operator's view ------------------------------------------- */

static void
view_of(const struct entry *e, struct deliver_view *v)
{
	int64_t now = now_ms();

	memset(v, 0, sizeof(*v));
	v->seq = e->seq;
	v->job_id = e->r.job_id;
	v->kind = kind_name(&e->r);
	v->cents = e->r.cents;
	v->account = e->r.account;
	v->attempts = e->attempts;
	v->accepted = e->accepted;
	v->last_error = error_of(e);
	v->body = e->r.body;
	v->next_in_ms = e->next_ms > now ? e->next_ms - now : 0;
	if (e->state == E_DEAD)
		v->state = "dead";
	else if (e->state == E_SENDING)
		v->state = "sending";
	else if (e != TAILQ_FIRST(&e->slot->q))
		v->state = "behind";	/* an earlier report of its job */
	else
		v->state = v->next_in_ms > 0 ? "waiting" : "queued";
}

void
deliver_stats(const struct deliver *dq, struct deliver_stats *st)
{
	st->queued = dq->len;
	st->inflight = dq->inflight;
	st->dead = dq->dead;
	st->delivered = dq->delivered;
	st->retries = dq->retries;
	st->paused = dq->paused;
	st->auth_blocked = dq->auth_blocked;
	st->journal_bytes = journal_size(dq->jr);
}

size_t
deliver_list(struct deliver *dq, size_t offset, size_t limit, int dead_only,
    deliver_view_fn fn, void *arg)
{
	struct deliver_view v;
	struct entry *e;
	size_t i = 0, n = 0;

	TAILQ_FOREACH(e, &dq->all, all_link) {
		if (dead_only && e->state != E_DEAD)
			continue;
		if (i++ < offset)
			continue;
		if (n == limit)
			break;
		view_of(e, &v);
		fn(&v, arg);
		n++;
	}
	return n;
}

int
deliver_show(struct deliver *dq, uint64_t seq, deliver_view_fn fn, void *arg)
{
	struct entry *e = idmap_get(&dq->seqs, seq);
	struct deliver_view v;

	if (e == NULL)
		return -1;
	view_of(e, &v);
	fn(&v, arg);
	return 0;
}

static int
retry_one(struct deliver *dq, struct entry *e)
{
	if (e->state == E_SENDING)
		return 0;
	if (e->state == E_DEAD) {
		e->state = E_QUEUED;
		dq->dead--;
		journal_op(dq, "retry", e, NULL);
	}
	unschedule(dq, e);
	e->next_ms = 0;
	schedule(dq, e);
	return 1;
}

long
deliver_retry(struct deliver *dq, uint64_t seq)
{
	struct entry *e;
	long n = 0;

	if (seq != 0) {
		if ((e = idmap_get(&dq->seqs, seq)) == NULL)
			return -1;
		n = retry_one(dq, e);
	} else {
		TAILQ_FOREACH(e, &dq->all, all_link)
			n += retry_one(dq, e);
	}
	log_info("operator: %ld report(s) retried now", n);
	kick(dq);
	return n;
}

long
deliver_drop(struct deliver *dq, uint64_t seq, char *err, size_t errlen)
{
	struct entry *e = idmap_get(&dq->seqs, seq);

	if (e == NULL) {
		snprintf(err, errlen, "no report %" PRIu64 " in the queue", seq);
		return -1;
	}
	if (e->state != E_DEAD) {
		snprintf(err, errlen, "report %" PRIu64 " is not a dead letter "
		    "(only dead letters can be dropped)", seq);
		return -1;
	}
	log_warn("operator: dropped dead letter %" PRIu64 " (job %" PRIu32
	    " %s, %s): it will never be charged", seq, e->r.job_id,
	    kind_name(&e->r), error_of(e));
	journal_op(dq, "drop", e, NULL);
	entry_remove(dq, e);
	return 1;
}

void
deliver_pause(struct deliver *dq, int on)
{
	if (dq->paused != on)
		log_warn("operator: delivery %s", on ? "paused" : "resumed");
	dq->paused = on;
	kick(dq);
}
