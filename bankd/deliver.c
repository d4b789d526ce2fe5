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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "answer.h"
#include "api.h"
#include "bankd.h"
#include "deliver.h"
#include "idmap.h"
#include "journal.h"
#include "lim.h"
#include "jwatch.h"
#include "log.h"
#include "money.h"
#include "names.h"

#define BACKOFF_MIN_MS		500
#define COMPACT_MIN_BYTES	(1024 * 1024)
#define SEEN_MAX		(1 << 20)
#define COMPACT_RETRY_MS	60000

enum estate { E_QUEUED, E_SENDING, E_DEAD };

struct jobslot;

/*
 * What scheduling needs, and no more: the body stays in the journal, at
 * `pos`, and is read back when it is sent, shown or compacted.
 */
struct entry {
	TAILQ_ENTRY(entry)	 all_link;
	TAILQ_ENTRY(entry)	 job_link;
	TAILQ_ENTRY(entry)	 ready_link;
	TAILQ_ENTRY(entry)	 sync_link;	/* on unsynced, until durable */
	struct jobslot		*slot;
	struct deliver		*dq;
	const char		*account;	/* interned in dq->names */
	char			*last_error;	/* NULL until a try fails */
	uint64_t		 seq;
	uint64_t		 hold;		/* the job's hold token */
	int64_t			 cents;
	int64_t			 next_ms;
	int64_t			 accepted;
	uint64_t		 pos;		/* of its add record */
	uint32_t		 rec_bytes;	/* the add record's size */
	uint32_t		 job_id;
	uint32_t		 uid;
	uint32_t		 heap_idx;	/* 0: not in the heap */
	uint32_t		 attempts;
	uint8_t			 kind;		/* enum report_kind */
	uint8_t			 state;		/* enum estate */
	uint8_t			 in_ready;
	uint8_t			 durable;	/* its add record is on disk */
	uint8_t			 nodes_apart;	/* the record keeps a hostlist */
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

/* What the seen map tells of a job (its values; never 0). */
#define SEEN_START	1	/* a start of the job is durable */
#define SEEN_END	2	/* a completion of the job was taken */

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
	struct idmap		 seen;		/* job -> SEEN_* */
	struct entryq		 unsynced;	/* not durable yet, by position */
	size_t			 nunsynced;
	struct event		*timer;
	struct event		*commit_ev;	/* end of this loop turn */
	struct event		*synced_ev;	/* the sync thread is done */
	STAILQ_HEAD(, ack)	 acks;		/* the batch forming */
	STAILQ_HEAD(, ack)	 flushing;	/* the batch being synced */
	struct names		 names;		/* account names */
	char			*scratch;	/* an add record being made */
	size_t			 scratch_cap;
	int64_t			 compact_after;	/* ms; 0: any time */
	int			 must_sync;	/* a buffered record needs it */
	uint64_t		 next_seq;
	size_t			 len;
	size_t			 inflight;
	size_t			 dead;
	long			 live_bytes;
	uint64_t		 delivered;
	uint64_t		 retries;
	int			 paused;
	int			 auth_blocked;
	/* An outage: since when, how many tries failed, why (the first). */
	time_t			 down_since;
	uint64_t		 down_fails;
	char			 down_why[256];
};

static void	 kick(struct deliver *);
static void	 settle(struct deliver *);
static void	 mark_dead(struct deliver *, struct entry *, const char *);

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
	size_t n = why != NULL ? strlen(why) : 0;
	char *s;

	if (n > 255)
		n = 255;
	if ((s = malloc(n + 1)) == NULL)
		return;
	memcpy(s, why != NULL ? why : "", n);
	s[n] = '\0';
	free(e->last_error);
	e->last_error = s;
}

static const char *
error_of(const struct entry *e)
{
	return e->last_error ? e->last_error : "";
}

static const char *
kind_name(const struct entry *e)
{
	return e->kind == REPORT_START ? "start" : "end";
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
	/* Nothing goes out before it is durable: see settle(). */
	if (e != TAILQ_FIRST(&e->slot->q) || e->state != E_QUEUED ||
	    !e->durable || e->in_ready || e->heap_idx != 0)
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
entry_new(struct deliver *dq, uint64_t seq, const struct report *r,
    int durable)
{
	struct entry *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->account = names_get(&dq->names, r->account)) == NULL ||
	    (e->slot = slot_get(dq, r->job_id)) == NULL ||
	    idmap_put(&dq->seqs, seq, e) != 0) {
		free(e);
		return NULL;
	}
	e->dq = dq;
	e->seq = seq;
	e->kind = r->kind;
	e->job_id = r->job_id;
	e->uid = r->uid;
	e->hold = r->hold;
	e->cents = r->cents;
	e->state = E_QUEUED;
	e->durable = durable != 0;
	e->nodes_apart = r->nodes_expr != NULL;
	if (!e->durable) {
		TAILQ_INSERT_TAIL(&dq->unsynced, e, sync_link);
		dq->nunsynced++;
	}
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
	if (!e->durable) {
		TAILQ_REMOVE(&dq->unsynced, e, sync_link);
		dq->nunsynced--;
	}
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
	free(e->last_error);
	free(e);
}

/* ---- the journal ---------------------------------------------------- */

/* Room for n more bytes of scratch after the first `used`. */
static char *
scratch(struct deliver *dq, size_t used, size_t n)
{
	size_t cap;
	char *p;

	if (used + n <= dq->scratch_cap)
		return dq->scratch;
	cap = (used + n) * 2;
	if ((p = realloc(dq->scratch, cap)) == NULL)
		return NULL;
	dq->scratch = p;
	dq->scratch_cap = cap;
	return p;
}

/*
 * Append s as a JSON string at dq->scratch + *used, escaped as jansson
 * does.  s is valid UTF-8: the account passed json_pack in report_build,
 * and the body is jansson's own output.
 */
static int
put_json_string(struct deliver *dq, size_t *used, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(s), i, need = n + 2;
	unsigned char c;
	char *p;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		need += c == '"' || c == '\\' ? 1 : c < 0x20 ? 5 : 0;
	}
	if ((p = scratch(dq, *used, need)) == NULL)
		return -1;
	p += *used;
	*p++ = '"';
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20) {
			*p++ = '\\';
			*p++ = 'u';
			*p++ = '0';
			*p++ = '0';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 0xf];
		} else
			*p++ = (char)c;
	}
	*p++ = '"';
	*used = p - dq->scratch;
	return 0;
}

static int
put_fmt(struct deliver *dq, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
put_fmt(struct deliver *dq, size_t *used, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	if ((p = scratch(dq, *used, 128)) == NULL)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(p + *used, 128, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= 128)
		return -1;
	*used += n;
	return 0;
}

/*
 * An entry's add record, made by hand rather than with json_pack and
 * json_dumps: it is the largest part of a report's CPU cost, and the
 * body needs only escaping.  Replay reads it as any JSON object.
 */
static long
append_add(struct deliver *dq, struct entry *e, const struct report *r)
{
	size_t n = 0;
	uint64_t pos;
	long size;

	if (put_fmt(dq, &n, "{\"op\":\"add\",\"seq\":%" PRIu64 ",\"job\":%"
	    PRIu32 ",\"kind\":\"%s\",\"cents\":%" PRId64 ",\"account\":",
	    e->seq, e->job_id, kind_name(e), e->cents) != 0 ||
	    put_json_string(dq, &n, e->account) != 0 ||
	    put_fmt(dq, &n, ",\"body\":") != 0 ||
	    put_json_string(dq, &n, r->body) != 0 ||
	    (r->nodes_expr != NULL && (put_fmt(dq, &n, ",\"nodes\":") != 0 ||
	    put_json_string(dq, &n, r->nodes_expr) != 0)) ||
	    put_fmt(dq, &n, ",\"t\":%" PRId64 ",\"uid\":%" PRIu32 ",\"hold\":%"
	    PRId64 "}", e->accepted, e->uid, (int64_t)e->hold) != 0)
		return -1;
	/* A record that can never be journaled is an error, not "later". */
	if (n > JOURNAL_MAX_RECORD)
		return -2;
	if ((size = journal_append_raw(dq->jr, dq->scratch, n, &pos)) < 0)
		return -1;
	e->pos = pos;
	e->rec_bytes = (uint32_t)size;
	return size;
}

static void
journal_op(struct deliver *dq, const char *op, const struct entry *e,
    const char *error)
{
	json_t *rec;
	char s[64];
	int n;
	long rc;

	if (error == NULL) {
		n = snprintf(s, sizeof(s), "{\"op\":\"%s\",\"seq\":%" PRIu64
		    "}", op, e->seq);
		rc = journal_append_raw(dq->jr, s, (size_t)n, NULL);
	} else {
		rec = json_pack("{s:s, s:I, s:s}", "op", op, "seq",
		    (json_int_t)e->seq, "error", error);
		rc = rec != NULL ? journal_append(dq->jr, rec) : -1;
		json_decref(rec);
	}
	if (rc < 0)
		log_err("journal: cannot record '%s' of report %" PRIu64, op,
		    e->seq);
	/* An operator's change is synced; see commit_next for "done". */
	if (strcmp(op, "done") != 0)
		dq->must_sync = 1;
	event_active(dq->commit_ev, EV_TIMEOUT, 0);
}

/*
 * The add record of e, read back and checked: 0, -1 (an I/O error, which
 * may pass) or -2 (the bytes there are not this report: damage).
 */
static int
read_add(struct deliver *dq, const struct entry *e, json_t **rec, char *err,
    size_t errlen)
{
	json_int_t seq;
	char *payload;
	int rc;

	*rec = NULL;
	if ((rc = journal_read(dq->jr, e->pos, e->rec_bytes, &payload, err,
	    errlen)) != 0)
		return rc;
	*rec = json_loads(payload, 0, NULL);
	free(payload);
	if (*rec != NULL && json_unpack(*rec, "{s:I, s:s}", "seq", &seq,
	    "body", &payload) == 0 && (uint64_t)seq == e->seq)
		return 0;
	json_decref(*rec);
	*rec = NULL;
	snprintf(err, errlen, "journal offset %" PRIu64 " does not hold "
	    "report %" PRIu64, e->pos, e->seq);
	return -2;
}

/* A JSON string's escape at p (after the backslash); -1 if not simple. */
static int
unescape_one(const char *p, char *out, size_t *used)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *c;
	unsigned v;

	*used = 1;
	if (*p != '\0' && *p != 'u' && (c = strchr(from, *p)) != NULL) {
		*out = to[c - from];
		return 0;
	}
	/* bankd escapes only control characters as \u00XX. */
	if (*p != 'u' || sscanf(p + 1, "%4x", &v) != 1 || v == 0 || v > 0x7f)
		return -1;
	*out = (char)v;
	*used = 5;
	return 0;
}

/*
 * The body of an add record as bankd writes it ({"op":"add","seq":N,...
 * ,"body":"..."...), unescaped in place at the start of rec; NULL when
 * the record is not like that, and jansson decides.  Inside a JSON
 * string every '"' follows a backslash, so the first `,"body":"` is the
 * key.  This spares a JSON parse per delivery.
 */
static char *
body_in_place(char *rec, uint64_t seq)
{
	char want[64], *p, *q;
	size_t used;
	int n;

	n = snprintf(want, sizeof(want), "{\"op\":\"add\",\"seq\":%" PRIu64
	    ",", seq);
	if (strncmp(rec, want, (size_t)n) != 0 ||
	    (p = strstr(rec, ",\"body\":\"")) == NULL)
		return NULL;
	for (p += 9, q = rec; *p != '"'; q++) {
		if (*p == '\0')
			return NULL;
		if (*p != '\\') {
			*q = *p++;
			continue;
		}
		if (unescape_one(p + 1, q, &used) != 0)
			return NULL;
		p += 1 + used;
	}
	if (p[1] != ',' && p[1] != '}')
		return NULL;
	*q = '\0';
	return rec;
}

/*
 * The API body of e, from the journal (to free); see read_add.  A body
 * whose node list was kept apart (report.c: too many nodes to keep
 * expanded) gets it back when `expand`, as it is sent.
 */
static int
read_body(struct deliver *dq, const struct entry *e, int expand, char **body,
    char *err, size_t errlen)
{
	json_t *rec;
	const char *nodes;
	char *payload;
	int rc;

	*body = NULL;
	if (!e->nodes_apart) {
		if ((rc = journal_read(dq->jr, e->pos, e->rec_bytes, &payload,
		    err, errlen)) != 0)
			return rc;
		if ((*body = body_in_place(payload, e->seq)) != NULL)
			return 0;
		free(payload);
	}
	if ((rc = read_add(dq, e, &rec, err, errlen)) != 0)
		return rc;
	nodes = json_string_value(json_object_get(rec, "nodes"));
	if (expand && nodes != NULL)
		rc = report_nodes_expand(json_string_value(json_object_get(rec,
		    "body")), nodes, body, err, errlen);
	else if ((*body = strdup(json_string_value(json_object_get(rec,
	    "body")))) == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	json_decref(rec);
	return rc;
}

struct compaction {
	struct deliver	*dq;
	uint64_t	*pos;		/* new positions, in `all` order */
};

/* Copy the add record of e from the old file, as it is. */
static int
copy_add(struct journal *jr, struct entry *e, uint64_t *pos)
{
	char err[256], *payload;

	if (journal_read(jr, e->pos, e->rec_bytes, &payload, err,
	    sizeof(err)) != 0) {
		log_err("journal: cannot compact: report %" PRIu64 " (job %"
		    PRIu32 ") cannot be read back: %s", e->seq, e->job_id,
		    err);
		return -1;
	}
	if (journal_append_raw(jr, payload, e->rec_bytes - 12, pos) < 0) {
		free(payload);
		return -1;
	}
	free(payload);
	return 0;
}

static int
emit_live(struct journal *jr, void *arg)
{
	struct compaction *c = arg;
	struct entry *e;
	json_t *rec;
	size_t i = 0;

	TAILQ_FOREACH(e, &c->dq->all, all_link) {
		if (copy_add(jr, e, &c->pos[i++]) != 0)
			return -1;
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

/*
 * Rewrite the journal with the live reports only.  Entries learn their
 * new positions once the new file is in place; until then (and if it
 * never is) the old ones stay right.
 */
static int
compact(struct deliver *dq)
{
	struct compaction c = { dq, NULL };
	struct entry *e;
	size_t i = 0;

	if ((c.pos = calloc(dq->len + 1, sizeof(*c.pos))) == NULL ||
	    journal_rewrite(dq->jr, emit_live, &c) != 0) {
		free(c.pos);
		dq->compact_after = now_ms() + COMPACT_RETRY_MS;
		return -1;
	}
	TAILQ_FOREACH(e, &dq->all, all_link)
		e->pos = c.pos[i++];
	free(c.pos);
	dq->compact_after = 0;
	/* The new file was synced whole: everything in it is durable. */
	settle(dq);
	return 0;
}

static void
maybe_compact(struct deliver *dq)
{
	size_t size = journal_size(dq->jr), before = size;

	if (size < COMPACT_MIN_BYTES || size < 4 * (size_t)dq->live_bytes ||
	    now_ms() < dq->compact_after)
		return;
	if (compact(dq) == 0)
		log_info("journal compacted: %zu -> %zu bytes, %zu reports",
		    before, journal_size(dq->jr), dq->len);
	else
		log_err("journal: compaction failed (see above); next attempt "
		    "in %d s", COMPACT_RETRY_MS / 1000);
}

static void
ack_all(struct deliver *dq, int ok, int flushing)
{
	struct ack *a;

	for (;;) {
		a = flushing ? STAILQ_FIRST(&dq->flushing) :
		    STAILQ_FIRST(&dq->acks);
		if (a == NULL)
			break;
		if (flushing)
			STAILQ_REMOVE_HEAD(&dq->flushing, link);
		else
			STAILQ_REMOVE_HEAD(&dq->acks, link);
		a->fn(a->arg, ok);
		free(a);
	}
}

static void
seen_set(struct deliver *dq, uint32_t job_id, uintptr_t flag)
{
	uintptr_t v;

	/*
	 * Past SEEN_MAX, forget everything: a repeated start then costs one
	 * POST answered "already exists", which is harmless.
	 */
	if (dq->seen.len >= SEEN_MAX) {
		idmap_free(&dq->seen);
		idmap_init(&dq->seen);
	}
	v = (uintptr_t)idmap_get(&dq->seen, job_id);
	idmap_put(&dq->seen, job_id, (void *)(v | flag));
}

static uintptr_t
seen_of(const struct deliver *dq, uint32_t job_id)
{
	return (uintptr_t)idmap_get(&dq->seen, job_id);
}

/*
 * A commit went to disk: every report whose add record it covers is
 * durable now, and may be sent.  Only now does a start count as seen: a
 * repeat of one that was answered "later" (and spooled) must not be
 * taken for a duplicate of something that may yet be lost.
 */
static void
settle(struct deliver *dq)
{
	uint64_t durable = journal_durable(dq->jr);
	struct entry *e;

	while ((e = TAILQ_FIRST(&dq->unsynced)) != NULL &&
	    e->pos + e->rec_bytes <= durable) {
		TAILQ_REMOVE(&dq->unsynced, e, sync_link);
		dq->nunsynced--;
		e->durable = 1;
		if (e->kind == REPORT_START)
			seen_set(dq, e->job_id, SEEN_START);
		schedule(dq, e);
	}
}

/* A commit failed: its records wait, buffered, for one more try. */
static void
commit_later(struct deliver *dq)
{
	struct timeval tv = { 1, 0 };

	if (event_add(dq->commit_ev, &tv) != 0)
		log_err("journal: cannot schedule another commit");
}

/*
 * Group commit: everything buffered goes in one write and one sync.  With
 * fsync on, the sync thread does it, and the loop goes on accepting the
 * next batch meanwhile; the acks wait for on_synced.
 */
static void
commit_next(struct deliver *dq)
{
	int ok;

	if (journal_busy(dq->jr))
		return;		/* on_synced will come back here */
	if (!journal_pending(dq->jr)) {
		/* Their records went out with a compaction's commit. */
		ack_all(dq, 1, 0);
		settle(dq);
		return;
	}
	/*
	 * Only "done" records: written, not synced on their own.  A power
	 * cut that loses one makes bankd send that report again, which the
	 * API takes as a repeat (see docs/delivery.md); a drain would
	 * otherwise pay a sync per turn of the loop.
	 */
	if (!dq->must_sync && STAILQ_EMPTY(&dq->acks)) {
		if (journal_write(dq->jr) == 0)
			maybe_compact(dq);
		else
			commit_later(dq);
		return;
	}
	dq->must_sync = 0;
	if (journal_fsync(dq->jr) && dq->synced_ev != NULL &&
	    journal_commit_begin(dq->jr) == 0) {
		STAILQ_CONCAT(&dq->flushing, &dq->acks);
		return;
	}
	ok = journal_commit(dq->jr) == 0;
	if (!ok) {
		dq->must_sync = 1;	/* its records are still buffered */
		commit_later(dq);
	}
	ack_all(dq, ok, 0);
	if (ok) {
		settle(dq);
		maybe_compact(dq);
	}
	kick(dq);
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
	struct deliver *dq = arg;
	int rc;

	(void)fd;
	(void)what;
	if ((rc = journal_commit_end(dq->jr)) == 1)
		return;
	if (rc != 0)
		dq->must_sync = 1;	/* its records are buffered again */
	ack_all(dq, rc == 0, 1);
	if (rc == 0) {
		settle(dq);
		maybe_compact(dq);
	}
	commit_next(dq);
	kick(dq);
}

/* ---- replay ---------------------------------------------------------- */

static void
replay_add(struct deliver *dq, json_t *rec, uint64_t pos, uint32_t size)
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
	/* What can never be a report of ours (a damaged, CRC-valid record). */
	if (seq <= 0 || job <= 0 || job > (json_int_t)LIM_JOB_ID || uid < 0 ||
	    uid > (json_int_t)LIM_UID || strlen(acct) > LIM_ACCOUNT_LEN ||
	    (strcmp(kind, "start") != 0 && strcmp(kind, "end") != 0)) {
		log_err("journal: report %lld at offset %llu (job %lld, uid "
		    "%lld) is out of range; skipped", (long long)seq,
		    (unsigned long long)pos, (long long)job, (long long)uid);
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
	if (json_is_string(json_object_get(rec, "nodes")))
		r.nodes_expr = (char *)"";	/* entry_new only notes it */
	snprintf(r.account, sizeof(r.account), "%s", acct);
	if ((e = entry_new(dq, (uint64_t)seq, &r, 1)) == NULL) {
		log_err("journal: out of memory replaying report %lld",
		    (long long)seq);
		return;
	}
	e->accepted = (time_t)t;
	e->pos = pos;
	e->rec_bytes = size;
	dq->live_bytes += size;
	seen_set(dq, r.job_id, r.kind == REPORT_START ? SEEN_START : SEEN_END);
	/*
	 * Kept, never sent: an amount no API takes is a person's job.  Not
	 * journaled (the journal is being read): each replay finds it again.
	 */
	if (cents < 0 || cents > LIM_AMOUNT_CENTS) {
		e->state = E_DEAD;
		dq->dead++;
		set_error(e, "its amount is out of the API's range in the "
		    "journal: charge the job by hand");
	}
}

static void
on_replay(json_t *rec, uint64_t pos, uint32_t size, void *arg)
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
		replay_add(dq, rec, pos, size);
		return;
	}
	if ((e = idmap_get(&dq->seqs, (uint64_t)seq)) == NULL)
		return;		/* about a report already compacted away */
	if (strcmp(op, "done") == 0 || strcmp(op, "drop") == 0) {
		entry_remove(dq, e);
	} else if (strcmp(op, "dead") == 0 && e->state != E_DEAD) {
		/* A report ahead of it was done: it must not go out now. */
		unschedule(dq, e);
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
	TAILQ_INIT(&dq->unsynced);
	STAILQ_INIT(&dq->acks);
	STAILQ_INIT(&dq->flushing);
	if (idmap_init(&dq->seqs) != 0 || idmap_init(&dq->jobs) != 0 ||
	    idmap_init(&dq->seen) != 0 || names_init(&dq->names) != 0 ||
	    (dq->timer = evtimer_new(bd->base, on_timer, dq)) == NULL ||
	    (dq->commit_ev = event_new(bd->base, -1, 0, on_commit, dq)) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		deliver_close(dq);
		return NULL;
	}
	dq->jr = journal_open_at(bd->conf.state_dir, bd->conf.fsync,
	    on_replay, dq, err, errlen);
	if (dq->jr == NULL) {
		deliver_close(dq);
		return NULL;
	}
	for (i = 0; i < dq->jobs.cap; i++)
		if ((s = dq->jobs.slots[i].val) != NULL)
			schedule(dq, TAILQ_FIRST(&s->q));
	if (journal_corrupt(dq->jr) && compact(dq) == 0)
		log_info("journal rewritten without its damaged records");
	/* Without the thread, commits simply happen on the loop. */
	dq->synced_ev = journal_watch(bd->base, dq->jr, on_synced, dq,
	    "reports");
	log_info("journal %s/journal: %zu reports to deliver (%zu dead "
	    "letters)", bd->conf.state_dir, dq->len, dq->dead);
	kick(dq);
	return dq;
}

void
deliver_close(struct deliver *dq)
{
	struct entry *e;

	if (dq == NULL)
		return;
	if (dq->jr != NULL && journal_busy(dq->jr))
		ack_all(dq, journal_commit_end(dq->jr) == 0, 1);
	if (!STAILQ_EMPTY(&dq->acks))
		ack_all(dq, dq->jr && journal_commit(dq->jr) == 0, 0);
	if (dq->jr != NULL)
		settle(dq);
	/* Only what is on disk stays; the rest was answered "later". */
	if (dq->len > 0)
		log_info("%zu report(s) stay journaled for the next start",
		    dq->len - dq->nunsynced);
	if (dq->nunsynced > 0)
		log_warn("%zu report(s) could not be made durable (see above); "
		    "their plugins were told to keep them and bankd takes them "
		    "in from the spool", dq->nunsynced);
	if (dq->synced_ev)
		event_free(dq->synced_ev);
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
	free(dq->scratch);
	idmap_free(&dq->seqs);
	idmap_free(&dq->jobs);
	idmap_free(&dq->seen);
	names_free(&dq->names);
	free(dq);
}

void
deliver_set_fsync(struct deliver *dq, int on)
{
	journal_set_fsync(dq->jr, on);
}

/* ---- accepting reports --------------------------------------------- */


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
		if (e->kind != REPORT_START || e->state == E_SENDING)
			continue;
		log_info("job %" PRIu32 ": completion replaces its unsent "
		    "start report", job_id);
		journal_op(dq, "done", e, NULL);
		entry_remove(dq, e);
		return;		/* entry_remove may have freed the slot */
	}
}

/* A new entry for r; its ack is due when its record is durable. */
static enum deliver_take
enqueue(struct deliver *dq, struct report *r, struct ack *a)
{
	char amount[MONEY_FMT_LEN];
	struct entry *e;
	long rc;

	if (r->kind == REPORT_END)
		replace_unsent_start(dq, r->job_id);
	if ((e = entry_new(dq, dq->next_seq, r, 0)) == NULL)
		return TAKE_LATER;
	e->accepted = time(NULL);
	if ((rc = append_add(dq, e, r)) < 0) {
		log_err("job %" PRIu32 ": cannot journal the %s report%s",
		    e->job_id, kind_name(e), rc == -2 ? ": its record would "
		    "be larger than a journal record may be" : "");
		e->rec_bytes = 0;
		entry_remove(dq, e);
		return rc == -2 ? TAKE_TOO_BIG : TAKE_LATER;
	}
	/* From now on the journal holds the body. */
	report_clear(r);
	dq->must_sync = 1;
	dq->live_bytes += e->rec_bytes;
	if (e->kind == REPORT_END)
		seen_set(dq, e->job_id, SEEN_END);
	if (e->cents > LIM_AMOUNT_CENTS) {
		mark_dead(dq, e, "the amount is more than the API accepts "
		    "(100000000.00): charge the job by hand");
		log_err("job %" PRIu32 ": %s report of %s SU kept as dead letter "
		    "%" PRIu64 ": more than the API accepts", e->job_id,
		    kind_name(e), money_format(e->cents, amount), e->seq);
	}
	STAILQ_INSERT_TAIL(&dq->acks, a, link);
	event_active(dq->commit_ev, EV_TIMEOUT, 0);
	return TAKE_QUEUED;
}

/* 1 when e holds the same body as r (read back from the journal). */
static int
same_body(struct deliver *dq, const struct entry *e, const struct report *r)
{
	char err[256], *body;
	int same;

	if (e->nodes_apart != (r->nodes_expr != NULL) ||
	    read_body(dq, e, 0, &body, err, sizeof(err)) != 0)
		return 0;
	same = strcmp(body, r->body) == 0;
	free(body);
	return same;
}

/*
 * The job's queued report that r repeats: a start repeats any start (a
 * job starts once), a completion one with the very same body.  NULL if
 * none is queued.
 */
static struct entry *
repeated(struct deliver *dq, const struct report *r)
{
	struct jobslot *s = idmap_get(&dq->jobs, r->job_id);
	struct entry *e;

	if (s == NULL)
		return NULL;
	TAILQ_FOREACH(e, &s->q, job_link)
		if (e->kind == r->kind && (r->kind == REPORT_START ||
		    same_body(dq, e, r)))
			return e;
	return NULL;
}

/* a waits for e's record: with the batch it is in. */
static void
join(struct deliver *dq, const struct entry *e, struct ack *a)
{
	if (e->pos + e->rec_bytes <= journal_inflight_end(dq->jr) &&
	    journal_busy(dq->jr)) {
		STAILQ_INSERT_TAIL(&dq->flushing, a, link);
		return;
	}
	STAILQ_INSERT_TAIL(&dq->acks, a, link);
	dq->must_sync = 1;
	event_active(dq->commit_ev, EV_TIMEOUT, 0);
}

enum deliver_take
deliver_take(struct deliver *dq, struct report *r, deliver_ack_fn fn,
    void *arg)
{
	uintptr_t seen = seen_of(dq, r->job_id);
	enum deliver_take t;
	struct entry *e;
	struct ack *a;

	/* A start after the job's completion would undo the charge. */
	if (r->kind == REPORT_START && (seen & SEEN_END))
		return TAKE_SUPERSEDED;
	if (r->kind == REPORT_START && (seen & SEEN_START))
		return TAKE_DUP;
	e = repeated(dq, r);
	if (e != NULL && e->durable)
		return TAKE_DUP;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return TAKE_LATER;
	a->fn = fn;
	a->arg = arg;
	if (e != NULL) {
		/* Not on disk yet (or its commit failed): share its fate. */
		join(dq, e, a);
		return TAKE_JOINED;
	}
	if ((t = enqueue(dq, r, a)) != TAKE_QUEUED)
		free(a);
	return t;
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
	/* The outage is logged once (went_down); each try at debug. */
	log_debug("job %" PRIu32 ": %s report not delivered (attempt %u): "
	    "%s; next try in %" PRId64 " ms", e->job_id, kind_name(e),
	    e->attempts, why, delay);
	schedule(dq, e);
}

/* The API failed a delivery: the first failure of a run is news. */
static void
went_down(struct deliver *dq, const char *why)
{
	dq->down_fails++;
	if (dq->down_since != 0)
		return;
	dq->down_since = time(NULL);
	snprintf(dq->down_why, sizeof(dq->down_why), "%s", why);
	log_warn("the API does not take reports now (%s): they wait in the "
	    "journal and are tried again, every one at once when it answers",
	    why);
}

/*
 * The API answers again (a delivery, or the health probe): every report
 * waiting out its backoff is due now, as Postfix flushes a destination
 * that answers again, so a backlog drains in seconds, not at the end of
 * a long backoff.
 */
static void
came_back(struct deliver *dq)
{
	struct entry *e;
	size_t n = 0;

	if (dq->down_since == 0)
		return;
	while (dq->heap_len > 0) {
		e = dq->heap[1];
		heap_remove(dq, e);
		e->next_ms = 0;
		TAILQ_INSERT_TAIL(&dq->ready, e, ready_link);
		e->in_ready = 1;
		n++;
	}
	log_info("the API answers again after %lld s (%" PRIu64 " failed "
	    "tries: %s); %zu report(s) sent now", (long long)(time(NULL) -
	    dq->down_since), dq->down_fails, dq->down_why, n);
	dq->down_since = 0;
	dq->down_fails = 0;
	kick(dq);
}

void
deliver_api_answers(struct deliver *dq)
{
	came_back(dq);
}

/*
 * A start whose try failed, with the job's completion behind it: the
 * completion carries everything (deliver.h), so it goes now, and a hung
 * POST cannot hold the job's final charge for a backoff.  If the POST
 * did reach the portal, the PUT applies the difference from it.
 */
static int
start_overtaken(struct deliver *dq, struct entry *e)
{
	struct entry *next = TAILQ_NEXT(e, job_link);

	if (e->kind != REPORT_START || next == NULL ||
	    next->kind != REPORT_END)
		return 0;
	log_info("job %" PRIu32 ": its start report could not be sent; its "
	    "completion goes instead", e->job_id);
	journal_op(dq, "done", e, NULL);
	entry_remove(dq, e);
	return 1;
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
	struct report r;

	/* What the ledger needs of the report; it takes no body. */
	memset(&r, 0, sizeof(r));
	r.kind = e->kind;
	r.job_id = e->job_id;
	r.uid = e->uid;
	r.hold = e->hold;
	r.cents = e->cents;
	snprintf(r.account, sizeof(r.account), "%s", e->account);

	log_info("job %" PRIu32 ": %s report delivered (%s SU, account %s)",
	    e->job_id, kind_name(e), money_format(e->cents, amount),
	    e->account);
	if (dq->auth_blocked) {
		log_info("the API accepts our token again: delivery resumed");
		dq->auth_blocked = 0;
	}
	came_back(dq);
	api_note(dq->bd, 1, NULL);
	dq->delivered++;
	ledger_delivered(dq->bd, &r);
	journal_op(dq, "done", e, NULL);
	entry_remove(dq, e);
}

static void
mark_dead(struct deliver *dq, struct entry *e, const char *why)
{
	e->state = E_DEAD;
	dq->dead++;
	set_error(e, why);
	journal_op(dq, "dead", e, why);
}

static void
dead_letter(struct deliver *dq, struct entry *e, const char *why)
{
	mark_dead(dq, e, why);
	log_err("job %" PRIu32 ": %s report refused by the API, kept as dead "
	    "letter %" PRIu64 ": %s (bankctl retry %" PRIu64 " once fixed)",
	    e->job_id, kind_name(e), e->seq, why, e->seq);
}

/*
 * The journal holds the only copy of a body.  An I/O error may pass: the
 * report is retried with the usual backoff.  Damage will not: the report
 * becomes a dead letter, so that it shows in `bankctl queue --dead` with
 * its job, account and amount, to be charged by hand and dropped.
 */
static void
unreadable(struct deliver *dq, struct entry *e, int rc, const char *err)
{
	char why[384];

	snprintf(why, sizeof(why), "cannot read report %" PRIu64 " back from "
	    "the journal: %s", e->seq, err);
	if (rc == -1) {
		log_err("job %" PRIu32 ": %s; will retry", e->job_id, why);
		retry_later(dq, e, why);
		return;
	}
	mark_dead(dq, e, why);
	log_err("job %" PRIu32 ": %s report (%s, %" PRId64 " cents) lost its "
	    "body: %s; kept as dead letter %" PRIu64 ": charge the job by "
	    "hand, then bankctl drop %" PRIu64, e->job_id, kind_name(e),
	    e->account, e->cents, why, e->seq, e->seq);
}

/* A failure that a later try may mend: backoff, and an outage noted. */
static void
try_again(struct deliver *dq, struct entry *e, const char *why)
{
	went_down(dq, why);
	if (!start_overtaken(dq, e))
		retry_later(dq, e, why);
}

static void
on_reply(const struct api_reply *rep, void *arg)
{
	struct entry *e = arg;
	struct deliver *dq = e->dq;
	enum answer_token tok;
	char why[512], detail[300];

	dq->inflight--;
	e->state = E_QUEUED;
	/* Delivered only when the portal's own record confirms it. */
	if (rep->status >= 200 && rep->status < 300) {
		if (answer_job(rep->body, rep->len, e->job_id, e->cents,
		    detail, sizeof(detail)) == 0) {
			delivered(dq, e);
		} else {
			snprintf(why, sizeof(why), "HTTP %ld that confirms "
			    "nothing: %s", rep->status, detail);
			api_note(dq->bd, 0, why);
			try_again(dq, e, why);
		}
		kick(dq);
		return;
	}
	if (e->kind == REPORT_START && already_exists(rep)) {
		delivered(dq, e);
		kick(dq);
		return;
	}
	/* Only a failure needs its answer summarised (a JSON parse). */
	api_describe(rep, why, sizeof(why));
	if (rep->status >= 300 && rep->status < 400) {
		/* A redirect is configuration: bankd asks the wrong URL. */
		snprintf(detail, sizeof(detail), "the API redirects to %.200s: "
		    "api.url is not the API's own address (a redirected POST "
		    "or PUT loses its body); fix it and restart bankd",
		    rep->location ? rep->location : "(no Location)");
		if (dq->down_since == 0)
			log_err("%s", detail);
		api_note(dq->bd, 0, detail);
		try_again(dq, e, detail);
	} else if ((tok = answer_token(rep->status, rep->body, rep->len)) !=
	    TOKEN_OK) {
		if (!dq->auth_blocked)
			log_err("the API refuses bankd's token (%s): %s; "
			    "delivery narrowed to one report at a time until "
			    "it is accepted", why, answer_token_advice(tok));
		dq->auth_blocked = 1;
		snprintf(detail, sizeof(detail), "%s: %s", why,
		    answer_token_advice(tok));
		api_note(dq->bd, 1, detail);
		retry_later(dq, e, why);
	} else if (rep->status == 0 || rep->status >= 500 ||
	    rep->status == 429 || rep->status == 408) {
		api_note(dq->bd, 0, why);
		try_again(dq, e, why);
	} else {
		api_note(dq->bd, 1, NULL);
		dead_letter(dq, e, why);
	}
	kick(dq);
}

static void
send_entry(struct deliver *dq, struct entry *e)
{
	char path[64], err[256], *body;
	int rc;

	if (e->kind == REPORT_START)
		snprintf(path, sizeof(path), "/jobs/");
	else
		snprintf(path, sizeof(path), "/jobs/%" PRIu32 "/", e->job_id);
	e->attempts++;
	if ((rc = read_body(dq, e, 1, &body, err, sizeof(err))) != 0) {
		unreadable(dq, e, rc, err);
		return;
	}
	if (api_request_take(dq->bd->api, e->kind == REPORT_START ? "POST" :
	    "PUT", path, body, on_reply, e) != 0) {
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
	v->job_id = e->job_id;
	v->kind = kind_name(e);
	v->cents = e->cents;
	v->account = e->account;
	v->attempts = e->attempts;
	v->accepted = e->accepted;
	v->last_error = error_of(e);
	v->body = "";		/* deliver_show reads it */
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
	st->unsynced = dq->nunsynced;
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
	char err[256], shown[384], *body;

	if (e == NULL)
		return -1;
	view_of(e, &v);
	if (read_body(dq, e, 0, &body, err, sizeof(err)) != 0) {
		log_err("bankctl show %" PRIu64 ": cannot read the report back "
		    "from the journal: %s", seq, err);
		snprintf(shown, sizeof(shown), "(cannot read it back from the "
		    "journal: %s)", err);
		v.body = shown;
	} else
		v.body = body;
	fn(&v, arg);
	free(body);
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
	    " %s, %s): it will never be charged", seq, e->job_id,
	    kind_name(e), error_of(e));
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

/* Shutting down: nothing new is sent; no operator did it. */
void
deliver_quiesce(struct deliver *dq)
{
	dq->paused = 1;
}
