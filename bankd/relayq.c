/*
 * relayq.c - a relay's queue of reports and its journal (relayq.h).
 *
 * Three lists in seq order: in flight, pending, dead.  Sending takes from
 * the head of pending; a failed attempt puts its reports back where they
 * were, so the upstream always sees them in the order they were taken.
 * Bodies stay in memory, as compact JSON text (a few hundred bytes each,
 * at most RELAYQ_MAX of them; as jansson objects they took 2 KB): a relay
 * holds a node's backlog, not a cluster's.
 *
 * A report is known by (job, run, kind), the identity the controller
 * keeps exactly once; the relay only spares it the obvious repeat (the
 * same report again while held: the plugin retried after a timeout, the
 * spool and the socket both had it) and leaves the rest to the upstream,
 * which answers dup.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commit.h"
#include "idmap.h"
#include "journal.h"
#include "lim.h"
#include "log.h"
#include "relayq.h"

/*
 * Compact once the file is this large and holds RELAYQ_COMPACT_PER bytes
 * a live report: a report's records take well under 1 KB, so the file is
 * then mostly reports long done.
 */
#define RELAYQ_COMPACT_MIN	(256 * 1024)
#define RELAYQ_COMPACT_PER	4096

struct relayq {
	struct journal		*jr;
	struct commit		*commit;
	struct relayq_hooks	 hooks;
	struct relayq_list	 infl;
	struct relayq_list	 pend;
	struct relayq_list	 dead;
	struct idmap		 by_seq;
	struct idmap		 by_id;		/* (job, run, kind): newest */
	uint64_t		 next_seq;
	size_t			 n;
	size_t			 ninfl;
	size_t			 ndead;
};

static uint64_t
ident(uint32_t job, uint32_t run, enum report_kind kind)
{
	/* run <= LIM_RUNS (16 bits): the three fit apart in 49 bits. */
	return ((uint64_t)job << 17) | ((uint64_t)(run & 0xffff) << 1) |
	    (kind == REPORT_END);
}

static struct relayq_list *
list_of(struct relayq *q, enum relayq_state s)
{
	switch (s) {
	case RQ_INFLIGHT:
		return &q->infl;
	case RQ_DEAD:
		return &q->dead;
	case RQ_PENDING:
		break;
	}
	return &q->pend;
}

/* Into its state's list, in seq order (nearly always at the tail). */
static void
insert(struct relayq *q, struct relayq_entry *e)
{
	struct relayq_list *l = list_of(q, e->state);
	struct relayq_entry *o;

	TAILQ_FOREACH_REVERSE(o, l, relayq_list, link)
		if (o->seq < e->seq)
			break;
	if (o == NULL)
		TAILQ_INSERT_HEAD(l, e, link);
	else
		TAILQ_INSERT_AFTER(l, o, e, link);
	if (e->state == RQ_INFLIGHT)
		q->ninfl++;
	else if (e->state == RQ_DEAD)
		q->ndead++;
}

static void
unlink_entry(struct relayq *q, struct relayq_entry *e)
{
	TAILQ_REMOVE(list_of(q, e->state), e, link);
	if (e->state == RQ_INFLIGHT)
		q->ninfl--;
	else if (e->state == RQ_DEAD)
		q->ndead--;
}

static void
move(struct relayq *q, struct relayq_entry *e, enum relayq_state s)
{
	unlink_entry(q, e);
	e->state = s;
	insert(q, e);
}

static void
entry_free(struct relayq *q, struct relayq_entry *e)
{
	uint64_t id = ident(e->job, e->run, e->kind);

	unlink_entry(q, e);
	idmap_del(&q->by_seq, e->seq);
	if (idmap_get(&q->by_id, id) == e)
		idmap_del(&q->by_id, id);
	q->n--;
	free(e->frame);
	free(e->error);
	free(e);
}

/* A new entry, in its list and the maps, owning text; NULL: no memory. */
static struct relayq_entry *
entry_new(struct relayq *q, uint64_t seq, uint32_t job, uint32_t run,
    enum report_kind kind, char *text)
{
	struct relayq_entry *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->seq = seq;
	e->job = job;
	e->run = run;
	e->kind = kind;
	e->state = RQ_PENDING;
	if (idmap_put(&q->by_seq, seq, e) != 0 ||
	    idmap_put(&q->by_id, ident(job, run, kind), e) != 0) {
		idmap_del(&q->by_seq, seq);
		free(e);
		return NULL;
	}
	e->frame = text;
	insert(q, e);
	q->n++;
	return e;
}

/* ---- records ---------------------------------------------------------- */

/* The fields as a canonical text: compact, keys sorted (so equal
 * reports are equal strings). */
static char *
frame_text(json_t *frame)
{
	return json_dumps(frame, JSON_COMPACT | JSON_SORT_KEYS);
}

static json_t *
add_record(const struct relayq_entry *e)
{
	json_t *frame = json_loads(e->frame, 0, NULL);

	if (frame == NULL)
		return NULL;
	return json_pack("{s:s, s:I, s:I, s:I, s:s, s:I, s:o}", "op", "add",
	    "seq", (json_int_t)e->seq, "job", (json_int_t)e->job, "run",
	    (json_int_t)e->run, "kind", e->kind == REPORT_START ? "start" :
	    "end", "t", (json_int_t)e->t, "frame", frame);
}

/* Append rec (taken); its size, -2 when too large, -1 on failure. */
static long
append(struct journal *jr, json_t *rec, uint64_t *pos)
{
	char *s;
	long size;
	size_t len;

	if (rec == NULL || (s = json_dumps(rec, JSON_COMPACT)) == NULL) {
		json_decref(rec);
		return -1;
	}
	json_decref(rec);
	len = strlen(s);
	size = len > JOURNAL_MAX_RECORD ? -2 : journal_append_raw(jr, s, len,
	    pos);
	free(s);
	return size;
}

/* A change nobody waits on: written with the next batch, no sync. */
static void
note(struct relayq *q, const char *op, uint64_t seq, const char *error)
{
	json_t *rec = error == NULL ? json_pack("{s:s, s:I}", "op", op, "seq",
	    (json_int_t)seq) : json_pack("{s:s, s:I, s:s}", "op", op, "seq",
	    (json_int_t)seq, "error", error);

	if (append(q->jr, rec, NULL) < 0)
		log_err("relay: cannot journal that report %" PRIu64 " is %s",
		    seq, op);
	commit_soon(q->commit, 0);
}

static int
emit_list(struct journal *jr, struct relayq_list *l)
{
	struct relayq_entry *e;

	TAILQ_FOREACH(e, l, link) {
		if (append(jr, add_record(e), NULL) < 0)
			return -1;
		if (e->state == RQ_DEAD && append(jr, json_pack("{s:s, s:I, "
		    "s:s}", "op", "dead", "seq", (json_int_t)e->seq, "error",
		    e->error ? e->error : ""), NULL) < 0)
			return -1;
	}
	return 0;
}

/* Live reports in seq order: in flight and pending interleave by seq. */
static int
emit_live(struct journal *jr, void *arg)
{
	struct relayq *q = arg;
	struct relayq_entry *a = TAILQ_FIRST(&q->infl), *b =
	    TAILQ_FIRST(&q->pend), *e;

	/* The last seq given, so that none is given twice after a restart
	 * (replay reads the seq of any record; "mark" does nothing else). */
	if (q->next_seq > 1 && append(jr, json_pack("{s:s, s:I}", "op", "mark",
	    "seq", (json_int_t)(q->next_seq - 1)), NULL) < 0)
		return -1;
	while (a != NULL || b != NULL) {
		if (b == NULL || (a != NULL && a->seq < b->seq)) {
			e = a;
			a = TAILQ_NEXT(a, link);
		} else {
			e = b;
			b = TAILQ_NEXT(b, link);
		}
		if (append(jr, add_record(e), NULL) < 0)
			return -1;
	}
	return emit_list(jr, &q->dead);
}

static void
all_durable(struct relayq_list *l)
{
	struct relayq_entry *e;

	TAILQ_FOREACH(e, l, link)
		e->end = 0;
}

int
relayq_compact(struct relayq *q)
{
	int rc;

	if (journal_busy(q->jr))
		return -1;
	rc = journal_rewrite(q->jr, emit_live, q);
	/* Nothing buffered: the old file or the new holds every record. */
	if (!journal_pending(q->jr)) {
		all_durable(&q->infl);
		all_durable(&q->pend);
		all_durable(&q->dead);
	}
	return rc;
}

static void
on_written(void *arg)
{
	struct relayq *q = arg;
	size_t size = journal_size(q->jr);

	if (size > RELAYQ_COMPACT_MIN && size / RELAYQ_COMPACT_PER > q->n &&
	    relayq_compact(q) == 0)
		log_info("relay: journal compacted from %zu to %zu bytes", size,
		    journal_size(q->jr));
}

static void
on_durable(void *arg)
{
	struct relayq *q = arg;

	if (q->hooks.durable != NULL)
		q->hooks.durable(q->hooks.arg);
}

/* ---- replay ----------------------------------------------------------- */

/* A key as bankproto has them: 1 to BP_MAX_KEY of [a-z0-9_]. */
static int
valid_key(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > BP_MAX_KEY)
		return 0;
	return strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/*
 * What replay takes as a report's fields: what relayq_take journals, so
 * that every report held can be sent (a damaged file is skipped, not
 * made a frame that cannot be encoded).
 */
static int
valid_frame(json_t *frame)
{
	const char *k, *s;
	size_t body = 0;
	json_t *v;

	if (!json_is_object(frame) || json_object_size(frame) >= BP_MAX_FIELDS)
		return 0;
	json_object_foreach(frame, k, v) {
		if (!json_is_string(v) || !valid_key(k))
			return 0;
		s = json_string_value(v);
		if (strlen(s) != json_string_length(v) || strchr(s, '\n'))
			return 0;
		body += strlen(k) + strlen(s) + 2;
	}
	return body <= BP_MAX_BODY;
}

static void
replay_add(struct relayq *q, json_t *rec, uint64_t seq)
{
	json_int_t job, run, t;
	const char *kind;
	json_t *frame;
	struct relayq_entry *e;
	char *text;

	if (json_unpack(rec, "{s:I, s:I, s:s, s:I, s:o}", "job", &job, "run",
	    &run, "kind", &kind, "t", &t, "frame", &frame) != 0 || job <= 0 ||
	    job > (json_int_t)LIM_JOB_ID || run < 0 || run > LIM_RUNS ||
	    (strcmp(kind, "start") != 0 && strcmp(kind, "end") != 0) ||
	    !valid_frame(frame) || idmap_get(&q->by_seq, seq) != NULL) {
		log_warn("relay: journal: a damaged report record (seq %" PRIu64
		    ") skipped", seq);
		return;
	}
	if ((text = frame_text(frame)) == NULL || (e = entry_new(q, seq,
	    (uint32_t)job, (uint32_t)run, kind[0] == 's' ? REPORT_START :
	    REPORT_END, text)) == NULL) {
		free(text);
		log_err("relay: out of memory replaying the journal");
		return;
	}
	e->t = (time_t)t;
}

static void
on_replay(json_t *rec, void *arg)
{
	struct relayq *q = arg;
	struct relayq_entry *e;
	const char *op, *error = "";
	json_int_t seq;

	if (json_unpack(rec, "{s:s, s:I}", "op", &op, "seq", &seq) != 0 ||
	    seq <= 0) {
		log_warn("relay: journal: a record without op or seq skipped");
		return;
	}
	if ((uint64_t)seq >= q->next_seq)
		q->next_seq = (uint64_t)seq + 1;
	if (strcmp(op, "add") == 0) {
		replay_add(q, rec, (uint64_t)seq);
		return;
	}
	if ((e = idmap_get(&q->by_seq, (uint64_t)seq)) == NULL)
		return;		/* done before, compacted away */
	if (strcmp(op, "done") == 0)
		entry_free(q, e);
	else if (strcmp(op, "dead") == 0) {
		json_unpack(rec, "{s?s}", "error", &error);
		free(e->error);
		e->error = strdup(error);
		move(q, e, RQ_DEAD);
	} else if (strcmp(op, "retry") == 0 && e->state == RQ_DEAD)
		move(q, e, RQ_PENDING);
}

struct relayq *
relayq_open(struct event_base *base, const char *dir, int fsync,
    const struct relayq_hooks *hooks, char *err, size_t errlen)
{
	struct commit_hooks ch = { on_durable, on_written, NULL, NULL };
	struct relayq *q;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->hooks = *hooks;
	q->next_seq = 1;
	TAILQ_INIT(&q->infl);
	TAILQ_INIT(&q->pend);
	TAILQ_INIT(&q->dead);
	if (idmap_init(&q->by_seq) != 0 || idmap_init(&q->by_id) != 0) {
		snprintf(err, errlen, "out of memory");
		relayq_close(q);
		return NULL;
	}
	if ((q->jr = journal_open_named(dir, "relay", fsync, on_replay, q, err,
	    errlen)) == NULL) {
		relayq_close(q);
		return NULL;
	}
	ch.arg = q;
	if ((q->commit = commit_new(base, q->jr, "relay", &ch)) == NULL) {
		snprintf(err, errlen, "out of memory");
		relayq_close(q);
		return NULL;
	}
	if (journal_corrupt(q->jr))
		relayq_compact(q);
	log_info("relay: %zu report(s) held from before, %zu of them dead "
	    "letters", q->n, q->ndead);
	return q;
}

void
relayq_close(struct relayq *q)
{
	struct relayq_entry *e;

	if (q == NULL)
		return;
	commit_finish(q->commit);
	commit_free(q->commit);
	if (q->jr != NULL)
		journal_close(q->jr);
	while ((e = TAILQ_FIRST(&q->infl)) != NULL)
		entry_free(q, e);
	while ((e = TAILQ_FIRST(&q->pend)) != NULL)
		entry_free(q, e);
	while ((e = TAILQ_FIRST(&q->dead)) != NULL)
		entry_free(q, e);
	idmap_free(&q->by_seq);
	idmap_free(&q->by_id);
	free(q);
}

/* ---- taking ----------------------------------------------------------- */

/* m's fields as a JSON object, but the credential and peer_*. */
static json_t *
frame_of(const struct bp_msg *m)
{
	json_t *o = json_object(), *v;
	size_t i;

	if (o == NULL)
		return NULL;
	for (i = 0; i < m->nfields; i++) {
		const char *k = m->fields[i].key;

		if (strcmp(k, BP_CRED_KEY) == 0 || strcmp(k, "peer_uid") == 0 ||
		    strcmp(k, "peer_gid") == 0)
			continue;
		if ((v = json_string(m->fields[i].val)) == NULL ||
		    json_object_set_new(o, k, v) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

enum relayq_take
relayq_take(struct relayq *q, const struct bp_msg *m, relayq_ack_fn fn,
    void *arg)
{
	enum report_kind kind = m->type == BP_T_START ? REPORT_START :
	    REPORT_END;
	struct commit_waiter *w;
	struct relayq_entry *e;
	uint64_t job = 0, run = 0, pos;
	json_t *frame;
	char *text;
	long size;

	/* fields.c bounded them; without a job id no controller takes it. */
	if (bp_get_u64(m, "job_id", &job) != 0 || job == 0)
		return RQT_NO_JOB;
	bp_get_u64(m, "run", &run);
	if (job > LIM_JOB_ID || run > LIM_RUNS)
		return RQT_LATER;
	if ((frame = frame_of(m)) == NULL)
		return RQT_LATER;
	text = frame_text(frame);
	json_decref(frame);
	if (text == NULL)
		return RQT_LATER;
	e = idmap_get(&q->by_id, ident((uint32_t)job, (uint32_t)run, kind));
	if (e != NULL && strcmp(e->frame, text) == 0) {
		free(text);
		if ((w = commit_waiter_new(fn, arg)) == NULL)
			return RQT_LATER;
		/* Answered once the one it repeats is durable. */
		commit_wait(q->commit, w, e->end);
		return RQT_DUP;
	}
	if (q->n >= RELAYQ_MAX || (w = commit_waiter_new(fn, arg)) == NULL) {
		free(text);
		return RQT_LATER;
	}
	e = entry_new(q, q->next_seq, (uint32_t)job, (uint32_t)run, kind,
	    text);
	if (e == NULL) {
		free(text);
		commit_waiter_free(w);
		return RQT_LATER;
	}
	e->t = time(NULL);
	if ((size = append(q->jr, add_record(e), &pos)) < 0) {
		entry_free(q, e);
		commit_waiter_free(w);
		return size == -2 ? RQT_TOO_BIG : RQT_LATER;
	}
	q->next_seq++;
	e->end = pos + (uint64_t)size;
	commit_wait(q->commit, w, e->end);
	return RQT_QUEUED;
}

/* ---- sending ---------------------------------------------------------- */

struct relayq_entry *
relayq_next(struct relayq *q)
{
	struct relayq_entry *e = TAILQ_FIRST(&q->pend);

	if (e == NULL || e->end > journal_durable(q->jr))
		return NULL;
	return e;
}

void
relayq_sent(struct relayq *q, struct relayq_entry *e, uint64_t gen)
{
	e->gen = gen;
	e->attempts++;
	move(q, e, RQ_INFLIGHT);
}

void
relayq_unsend(struct relayq *q, struct relayq_entry *e)
{
	if (e->state == RQ_INFLIGHT)
		move(q, e, RQ_PENDING);
}

size_t
relayq_unsend_gen(struct relayq *q, uint64_t gen)
{
	struct relayq_entry *e, *next;
	size_t n = 0;

	for (e = TAILQ_FIRST(&q->infl); e != NULL; e = next) {
		next = TAILQ_NEXT(e, link);
		if (gen == 0 || e->gen == gen) {
			move(q, e, RQ_PENDING);
			n++;
		}
	}
	return n;
}

size_t
relayq_inflight(const struct relayq *q)
{
	return q->ninfl;
}

struct relayq_entry *
relayq_find(struct relayq *q, uint64_t seq)
{
	return idmap_get(&q->by_seq, seq);
}

void
relayq_done(struct relayq *q, struct relayq_entry *e)
{
	note(q, "done", e->seq, NULL);
	entry_free(q, e);
}

void
relayq_dead(struct relayq *q, struct relayq_entry *e, const char *why)
{
	note(q, "dead", e->seq, why);
	free(e->error);
	e->error = strdup(why);
	move(q, e, RQ_DEAD);
}

size_t
relayq_retry(struct relayq *q, uint64_t seq)
{
	struct relayq_entry *e, *next;
	size_t n = 0;

	for (e = TAILQ_FIRST(&q->dead); e != NULL; e = next) {
		next = TAILQ_NEXT(e, link);
		if (seq != 0 && e->seq != seq)
			continue;
		note(q, "retry", e->seq, NULL);
		move(q, e, RQ_PENDING);
		n++;
	}
	if (n > 0)
		on_durable(q);
	return n;
}

int
relayq_drop(struct relayq *q, uint64_t seq)
{
	struct relayq_entry *e = idmap_get(&q->by_seq, seq);

	if (e == NULL || e->state != RQ_DEAD)
		return -1;
	relayq_done(q, e);
	return 0;
}

int
relayq_encode(const struct relayq_entry *e, uint8_t **out, size_t *len)
{
	const char *k;
	struct bp_msg *m;
	json_t *frame, *v;
	long n = -1;

	if ((frame = json_loads(e->frame, 0, NULL)) == NULL)
		return -1;
	if ((m = malloc(sizeof(*m))) == NULL) {
		json_decref(frame);
		return -1;
	}
	bp_init(m, e->kind == REPORT_START ? BP_T_START : BP_T_END,
	    (uint32_t)e->seq);
	json_object_foreach(frame, k, v)
		if (!json_is_string(v) || bp_add(m, k, json_string_value(v)) !=
		    BP_OK)
			goto out;
	if ((n = bp_encode(m, out)) >= 0)
		*len = (size_t)n;
out:
	free(m);
	json_decref(frame);
	return n < 0 ? -1 : 0;
}

int
relayq_field(const struct relayq_entry *e, const char *key, char *buf,
    size_t len)
{
	json_t *frame = json_loads(e->frame, 0, NULL);
	const char *v = json_string_value(json_object_get(frame, key));
	int rc = v != NULL ? 0 : -1;

	snprintf(buf, len, "%s", v != NULL ? v : "");
	json_decref(frame);
	return rc;
}

/* ---- views ------------------------------------------------------------ */

void
relayq_stats(struct relayq *q, struct relayq_stats *st)
{
	struct relayq_entry *a = TAILQ_FIRST(&q->infl), *b =
	    TAILQ_FIRST(&q->pend), *e;
	uint64_t durable = journal_durable(q->jr);

	memset(st, 0, sizeof(*st));
	st->backlog = q->n - q->ndead;
	st->inflight = q->ninfl;
	st->dead = q->ndead;
	st->journal_bytes = journal_size(q->jr);
	TAILQ_FOREACH_REVERSE(e, &q->pend, relayq_list, link) {
		if (e->end <= durable)
			break;
		st->not_durable++;
	}
	if (a != NULL && (b == NULL || a->seq < b->seq))
		st->oldest = a->t;
	else if (b != NULL)
		st->oldest = b->t;
}

void
relayq_each(struct relayq *q, int dead,
    void (*fn)(const struct relayq_entry *, void *), void *arg)
{
	struct relayq_entry *e;

	if (dead) {
		TAILQ_FOREACH(e, &q->dead, link)
			fn(e, arg);
		return;
	}
	TAILQ_FOREACH(e, &q->infl, link)
		fn(e, arg);
	TAILQ_FOREACH(e, &q->pend, link)
		fn(e, arg);
}
