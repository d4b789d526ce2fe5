/*
 * qrec.c - the report queue's journal records (see qrec.h).
 *
 * An add record is written with jsonw.c rather than json_pack and
 * json_dumps: a report's body is most of its bytes and needs only
 * escaping, and that was the largest part of a report's CPU cost.  For
 * the same reason a body is read back without a JSON parse when the
 * record is as bankd writes it; anything else goes through jansson.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lim.h"
#include "log.h"
#include "qrec.h"
#include "utf8.h"

/* A record's header in the journal (journal.h): magic, length, CRC. */
#define QREC_HDR	12

static const char *const op_names[] = {
	[QREC_ADD] = "add",
	[QREC_DONE] = "done",
	[QREC_DROP] = "drop",
	[QREC_DEAD] = "dead",
	[QREC_RETRY] = "retry",
	[QREC_RUN] = "run",
	[QREC_SEEN] = "seen",
	[QREC_OTHER] = "?",
};

const char *
qrec_op_name(enum qrec_op op)
{
	return op_names[op];
}

static enum qrec_op
op_of(const char *s)
{
	enum qrec_op op;

	for (op = QREC_ADD; op < QREC_OTHER; op++)
		if (strcmp(s, op_names[op]) == 0)
			return op;
	return QREC_OTHER;
}

static void
member_str(struct jsonw *w, const char *key, const char *v)
{
	jsonw_key(w, key);
	jsonw_str(w, v);
}

static void
member_int(struct jsonw *w, const char *key, int64_t v)
{
	jsonw_key(w, key);
	jsonw_int(w, v);
}

/*
 * The account passed json_pack in report_build and the fields checks,
 * and the body is jsonw's own output: both are valid UTF-8.
 */
long
qrec_append_add(struct journal *jr, struct jsonw *w,
    const struct qrec_add *a, uint64_t *pos)
{
	jsonw_reset(w);
	jsonw_begin(w);
	member_str(w, "op", "add");
	member_int(w, "seq", (int64_t)a->seq);
	member_int(w, "job", a->job_id);
	member_str(w, "kind", a->kind == REPORT_START ? "start" : "end");
	member_int(w, "cents", a->cents);
	member_str(w, "account", a->account);
	member_str(w, "body", a->body);
	if (a->nodes != NULL)
		member_str(w, "nodes", a->nodes);
	member_int(w, "t", a->accepted);
	member_int(w, "uid", a->uid);
	member_int(w, "hold", (int64_t)a->hold);
	if (a->has_run)
		member_int(w, "run", a->run);
	jsonw_end(w);
	if (!jsonw_ok(w))
		return -1;
	/* A record that can never be journaled is an error, not "later". */
	if (w->len > JOURNAL_MAX_RECORD)
		return -2;
	return journal_append_raw(jr, w->p, w->len, pos);
}

static int append_op(struct journal *, enum qrec_op, uint64_t,
    const char *, enum dead_cause);

int
qrec_append_op(struct journal *jr, enum qrec_op op, uint64_t seq,
    const char *error)
{
	return append_op(jr, op, seq, error, DEAD_REFUSED);
}

int
qrec_append_dead(struct journal *jr, uint64_t seq, enum dead_cause cause,
    const char *error)
{
	return append_op(jr, QREC_DEAD, seq, error != NULL ? error : "", cause);
}

/*
 * The cause is written only when it is not "refused": an older bankd
 * reads the record as it always did, and a record without one is what
 * every older dead record was.
 */
static int
append_op(struct journal *jr, enum qrec_op op, uint64_t seq,
    const char *error, enum dead_cause cause)
{
	struct jsonw w;
	char s[64];
	long rc;
	int n;

	if (error == NULL) {
		n = snprintf(s, sizeof(s), "{\"op\":\"%s\",\"seq\":%" PRIu64 "}",
		    op_names[op], seq);
		return journal_append_raw(jr, s, (size_t)n, NULL) < 0 ? -1 : 0;
	}
	/* An error is the API's words: json_pack refused one not UTF-8. */
	if (!utf8_valid(error))
		return -1;
	jsonw_init(&w);
	jsonw_begin(&w);
	member_str(&w, "op", op_names[op]);
	member_int(&w, "seq", (int64_t)seq);
	member_str(&w, "error", error);
	if (op == QREC_DEAD && cause != DEAD_REFUSED)
		member_str(&w, "cause", dead_cause_name(cause));
	jsonw_end(&w);
	rc = jsonw_ok(&w) ? journal_append_raw(jr, w.p, w.len, NULL) : -1;
	jsonw_free(&w);
	return rc < 0 ? -1 : 0;
}

long
qrec_append_run(struct journal *jr, const struct qrec_run *r)
{
	char s[256];
	int n;

	n = snprintf(s, sizeof(s), "{\"op\":\"run\",\"job\":%" PRIu32
	    ",\"run\":%" PRIu32 ",\"before\":%" PRId64 ",\"cents\":%" PRId64
	    ",\"submit\":%" PRId64 ",\"prev\":%" PRId64 ",\"held\":%" PRId64
	    ",\"t\":%" PRId64 "}", r->job_id, r->run, r->before, r->cents,
	    r->submit, r->prev, r->held, r->t);
	if (n < 0 || (size_t)n >= sizeof(s) ||
	    journal_append_raw(jr, s, (size_t)n, NULL) < 0)
		return -1;
	return n + QREC_HDR;
}

long
qrec_append_seen(struct journal *jr, const struct qrec_seen *r)
{
	char s[128], hold[32] = "";
	int n;

	if (r->hold != 0)
		snprintf(hold, sizeof(hold), ",\"hold\":%" PRIu64, r->hold);
	n = snprintf(s, sizeof(s), "{\"op\":\"seen\",\"job\":%" PRIu32
	    ",\"t\":%" PRId64 "%s%s}", r->job_id, r->t, r->end ?
	    ",\"end\":1" : "", hold);
	if (n < 0 || (size_t)n >= sizeof(s) ||
	    journal_append_raw(jr, s, (size_t)n, NULL) < 0)
		return -1;
	return n + QREC_HDR;
}

/* A number of a run record in [0, max], else -1. */
static int
run_num(json_t *rec, const char *key, int64_t max, int64_t *v)
{
	json_t *n = json_object_get(rec, key);

	if (!json_is_integer(n) || json_integer_value(n) < 0 ||
	    json_integer_value(n) > max)
		return -1;
	*v = json_integer_value(n);
	return 0;
}

static int
decode_run(json_t *rec, uint64_t pos, struct qrec_run *r)
{
	int64_t job, run;

	if (run_num(rec, "job", LIM_JOB_ID, &job) != 0 || job == 0 ||
	    run_num(rec, "run", LIM_RUNS, &run) != 0 ||
	    run_num(rec, "before", LIM_AMOUNT_CENTS, &r->before) != 0 ||
	    run_num(rec, "cents", LIM_AMOUNT_CENTS, &r->cents) != 0 ||
	    run_num(rec, "submit", LIM_DATE, &r->submit) != 0 ||
	    run_num(rec, "prev", LIM_DATE, &r->prev) != 0 ||
	    run_num(rec, "held", LIM_AMOUNT_CENTS, &r->held) != 0 ||
	    run_num(rec, "t", LIM_DATE, &r->t) != 0) {
		log_err("journal: a run record at %" PRIu64 " with a field "
		    "missing or out of range; skipped", pos);
		return -1;
	}
	r->job_id = (uint32_t)job;
	r->run = (uint32_t)run;
	return 0;
}

static int
decode_seen(json_t *rec, uint64_t pos, struct qrec_seen *r)
{
	int64_t job, hold;

	if (run_num(rec, "job", LIM_JOB_ID, &job) != 0 || job == 0 ||
	    run_num(rec, "t", LIM_DATE, &r->t) != 0) {
		log_err("journal: a seen record at %" PRIu64 " with a field "
		    "missing or out of range; skipped", pos);
		return -1;
	}
	r->job_id = (uint32_t)job;
	r->end = json_integer_value(json_object_get(rec, "end")) == 1;
	/* Optional (older bankd wrote none): a bad one is as none. */
	if (json_object_get(rec, "hold") == NULL ||
	    run_num(rec, "hold", INT64_MAX, &hold) != 0)
		hold = 0;
	r->hold = (uint64_t)hold;
	return 0;
}

int
qrec_copy(struct journal *jr, const struct qrec_at *at, uint32_t job_id,
    uint64_t *pos)
{
	char err[256], *payload;
	long rc;

	if (journal_read(jr, at->pos, at->size, &payload, err,
	    sizeof(err)) != 0) {
		log_err("journal: cannot compact: report %" PRIu64 " (job %"
		    PRIu32 ") cannot be read back: %s", at->seq, job_id, err);
		return -1;
	}
	rc = journal_append_raw(jr, payload, at->size - QREC_HDR, pos);
	free(payload);
	return rc < 0 ? -1 : 0;
}

/* ---- reading a body back ------------------------------------------ */

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
	/* jsonw escapes only control characters as \u00XX. */
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

/* The add record at `at`, parsed and checked: 0, -1 or -2 (qrec_body). */
static int
read_add(struct journal *jr, const struct qrec_at *at, json_t **rec,
    char *err, size_t errlen)
{
	json_int_t seq;
	char *payload;
	int rc;

	*rec = NULL;
	if ((rc = journal_read(jr, at->pos, at->size, &payload, err,
	    errlen)) != 0)
		return rc;
	*rec = json_loads(payload, 0, NULL);
	free(payload);
	if (*rec != NULL && json_unpack(*rec, "{s:I, s:s}", "seq", &seq,
	    "body", &payload) == 0 && (uint64_t)seq == at->seq)
		return 0;
	json_decref(*rec);
	*rec = NULL;
	snprintf(err, errlen, "journal offset %" PRIu64 " does not hold "
	    "report %" PRIu64, at->pos, at->seq);
	return -2;
}

int
qrec_body(struct journal *jr, const struct qrec_at *at, int expand,
    char **body, char *err, size_t errlen)
{
	json_t *rec;
	const char *nodes;
	char *payload;
	int rc;

	*body = NULL;
	if (!at->nodes_apart) {
		if ((rc = journal_read(jr, at->pos, at->size, &payload, err,
		    errlen)) != 0)
			return rc;
		if ((*body = body_in_place(payload, at->seq)) != NULL)
			return 0;
		free(payload);
	}
	if ((rc = read_add(jr, at, &rec, err, errlen)) != 0)
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

/* ---- replay ------------------------------------------------------------ */

static int
decode_add(json_t *rec, uint64_t pos, struct qrec_add *a)
{
	json_int_t seq, job, cents, t = 0, uid = 0, hold = 0;
	const char *kind, *acct, *body;
	int64_t run;

	if (json_unpack(rec, "{s:I, s:I, s:s, s:I, s:s, s:s, s?I, s?I, s?I}",
	    "seq", &seq, "job", &job, "kind", &kind, "cents", &cents, "account",
	    &acct, "body", &body, "t", &t, "uid", &uid, "hold", &hold) != 0) {
		log_err("journal: an 'add' record lacks fields; skipped");
		return -1;
	}
	/* What can never be a report of ours (a damaged, CRC-valid record). */
	if (seq <= 0 || job <= 0 || job > (json_int_t)LIM_JOB_ID || uid < 0 ||
	    hold < 0 ||
	    uid > (json_int_t)LIM_UID || strlen(acct) > LIM_ACCOUNT_LEN ||
	    (strcmp(kind, "start") != 0 && strcmp(kind, "end") != 0)) {
		log_err("journal: report %lld at offset %llu (job %lld, uid "
		    "%lld) is out of range; skipped", (long long)seq,
		    (unsigned long long)pos, (long long)job, (long long)uid);
		return -1;
	}
	a->seq = (uint64_t)seq;
	a->job_id = (uint32_t)job;
	a->uid = (uint32_t)uid;
	a->hold = (uint64_t)hold;
	a->cents = cents;
	a->accepted = t;
	a->kind = strcmp(kind, "start") == 0 ? REPORT_START : REPORT_END;
	a->account = acct;
	a->body = body;
	a->nodes = json_string_value(json_object_get(rec, "nodes"));
	/* A completion's run; none (an older bankd) or a bad one: unknown. */
	a->has_run = a->kind == REPORT_END &&
	    run_num(rec, "run", LIM_RUNS, &run) == 0;
	a->run = a->has_run ? (uint32_t)run : 0;
	return 0;
}

int
qrec_decode(json_t *rec, uint64_t pos, struct qrec *q)
{
	const char *op = json_string_value(json_object_get(rec, "op"));
	const char *error;

	memset(q, 0, sizeof(*q));
	if (op == NULL) {
		log_err("journal: a record without 'op'; skipped");
		return -1;
	}
	if ((q->op = op_of(op)) == QREC_ADD) {
		if (decode_add(rec, pos, &q->add) != 0)
			return -1;
		q->seq = q->add.seq;
		return 0;
	}
	if (q->op == QREC_RUN)
		return decode_run(rec, pos, &q->run);
	if (q->op == QREC_SEEN)
		return decode_seen(rec, pos, &q->seen);
	q->seq = (uint64_t)json_integer_value(json_object_get(rec, "seq"));
	error = json_string_value(json_object_get(rec, "error"));
	q->error = error != NULL ? error : "";
	/* A cause this bankd does not know is a refusal, as before. */
	if (dead_cause_parse(json_string_value(json_object_get(rec, "cause")),
	    &q->cause) != 0)
		q->cause = DEAD_REFUSED;
	return 0;
}
