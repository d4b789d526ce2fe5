/*
 * report.c - Job bodies for POST /jobs/ (start) and PUT /jobs/{id}/ (end),
 * carrying the fields the original plugins sent.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <slurm/slurm.h>

#include "money.h"
#include "jsonw.h"
#include "lim.h"
#include "price.h"
#include "report.h"
#include "utf8.h"

#define REPORT_MAX_NODES	100000

int
report_date(int64_t t, char buf[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	/* gmtime_r fails for years it cannot hold: never format garbage. */
	if (t < 0 || t > LIM_DATE || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		buf[0] = '\0';
		return -1;
	}
	return 0;
}

void
report_clear(struct report *r)
{
	free(r->body);
	free(r->nodes_expr);
	memset(r, 0, sizeof(*r));
}

int
report_utf8_valid(const char *s)
{
	return utf8_valid(s);
}

/*
 * The body is written straight into a string (jsonw.c), in the bytes
 * jansson's json_dumps(JSON_COMPACT | JSON_SORT_KEYS |
 * JSON_REAL_PRECISION(8)) made of the same object
 * (tests/unit/check_report.c holds them side by side): building and
 * dumping a json_t was most of a report's CPU.  An optional string
 * member that is not UTF-8 is left out, as jansson left it out.
 */
static void
member_str(struct jsonw *o, const char *key, const char *v)
{
	if (v == NULL || !report_utf8_valid(v))
		return;
	jsonw_key(o, key);
	jsonw_str(o, v);
}

static void
member_int(struct jsonw *o, const char *key, int64_t v)
{
	jsonw_key(o, key);
	jsonw_int(o, v);
}

static void
member_real(struct jsonw *o, const char *key, double v)
{
	jsonw_key(o, key);
	jsonw_real(o, v);
}

/* t is within LIM_DATE (job_common): report_date cannot fail. */
static void
member_date(struct jsonw *o, const char *key, uint64_t t)
{
	char buf[32];

	if (t == 0 || report_date((int64_t)t, buf) != 0)
		return;
	jsonw_key(o, key);
	jsonw_str(o, buf);
}

/* A plain host name needs no hostlist. */
static int
plain_host(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
		    *s != '.')
			return 0;
	return 1;
}

static void
node(struct jsonw *o, const char *name, int *first)
{
	if (!report_utf8_valid(name))
		return;
	jsonw_lit(o, *first ? "{\"name\":" : ",{\"name\":");
	jsonw_str(o, name);
	jsonw_raw(o, "}", 1);
	*first = 0;
}

/* [{"name": "n1"}, ...] from a Slurm hostlist expression. */
static void
nodes_array(struct jsonw *o, const char *expr)
{
	hostlist_t hl;
	char *h;
	int n = 0, first = 1;

	jsonw_raw(o, "[", 1);
	if (expr != NULL && *expr != '\0' && plain_host(expr))
		node(o, expr, &first);
	else if (expr != NULL && *expr != '\0' &&
	    (hl = slurm_hostlist_create(expr)) != NULL) {
		while (n++ < REPORT_MAX_NODES &&
		    (h = slurm_hostlist_shift(hl)) != NULL) {
			node(o, h, &first);
			free(h);
		}
		slurm_hostlist_destroy(hl);
	}
	jsonw_raw(o, "]", 1);
}

static void
member_nodes(struct jsonw *o, const char *expr)
{
	jsonw_key(o, "nodes");
	nodes_array(o, expr);
}

/* Where the body keeps its place for a node list kept apart. */
#define NODES_APART	",\"nodes\":[]"

int
report_nodes_expand(const char *body, const char *expr, char **out,
    char *err, size_t errlen)
{
	struct jsonw o;
	const char *at;

	/*
	 * Inside a JSON string every '"' is escaped, so the member is the
	 * only place this sequence can stand.
	 */
	*out = NULL;
	if ((at = strstr(body, NODES_APART)) == NULL) {
		snprintf(err, errlen, "the journaled body has no place for "
		    "its node list");
		return -2;
	}
	jsonw_init(&o);
	jsonw_raw(&o, body, (size_t)(at - body) + strlen(NODES_APART) - 2);
	nodes_array(&o, expr);
	jsonw_lit(&o, at + strlen(NODES_APART));
	if ((*out = jsonw_take(&o)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
need_u64(const struct bp_msg *m, const char *key, uint64_t *v, char *err,
    size_t errlen)
{
	if (bp_get_u64(m, key, v) == 0)
		return 0;
	snprintf(err, errlen, "field '%s' is %s", key, bp_get(m, key) ?
	    "not a whole number" : "missing");
	return -1;
}

static const char *
opt_str(const struct bp_msg *m, const char *key)
{
	const char *v = bp_get(m, key);

	return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * A date: absent is 0 (none); anything else is a time Slurm could hold
 * and RFC 3339 can write.  fields.c refuses these before, from the
 * socket and the spool; this keeps report_build safe on its own.
 */
static int
opt_date(const struct bp_msg *m, const char *key, uint64_t *v, char *err,
    size_t errlen)
{
	*v = 0;
	if (bp_get(m, key) == NULL)
		return 0;
	if (bp_get_u64(m, key, v) == 0 && *v <= (uint64_t)LIM_DATE)
		return 0;
	snprintf(err, errlen, "field '%s' is not a date (seconds from 1970 "
	    "to 9999)", key);
	return -1;
}

/* What the body is made of. */
struct job {
	uint64_t	 job_id;
	uint64_t	 uid;
	uint64_t	 cpus;
	uint64_t	 nn;		/* allocated nodes */
	uint64_t	 req;		/* requested nodes */
	uint64_t	 submit;	/* dates, 0: none */
	uint64_t	 start;
	uint64_t	 end;
	uint64_t	 elapsed;	/* seconds charged */
	const char	*acct;
	const char	*status;
	char		 amount[MONEY_FMT_LEN];
};

/* Fields common to both reports; -1 with err on a bad message. */
static int
job_common(const struct bp_msg *m, struct report *r, struct job *j,
    char *err, size_t errlen)
{
	uint64_t run = 0;

	if (need_u64(m, "job_id", &j->job_id, err, errlen) != 0 ||
	    need_u64(m, "uid", &j->uid, err, errlen) != 0 ||
	    need_u64(m, "cpus", &j->cpus, err, errlen) != 0)
		return -1;
	if (j->job_id == 0 || j->job_id > UINT32_MAX) {
		snprintf(err, errlen, "job_id %" PRIu64 " is out of range",
		    j->job_id);
		return -1;
	}
	if ((j->acct = opt_str(m, "account")) == NULL) {
		snprintf(err, errlen, "job %" PRIu64 " has no account: the API "
		    "cannot charge it", j->job_id);
		r->job_id = (uint32_t)j->job_id;
		return -1;
	}
	if (!report_utf8_valid(j->acct)) {
		snprintf(err, errlen, "job %" PRIu64 ": its account is not "
		    "valid UTF-8", j->job_id);
		return -1;
	}
	if (opt_date(m, "submit", &j->submit, err, errlen) != 0 ||
	    opt_date(m, "start", &j->start, err, errlen) != 0)
		return -1;
	bp_get_u64(m, "num_nodes", &j->nn);
	r->job_id = (uint32_t)j->job_id;
	r->uid = (uint32_t)j->uid;
	bp_get_u64(m, "hold", &r->hold);
	if (bp_get_u64(m, "run", &run) == 0 && run <= LIM_RUNS)
		r->run = (uint32_t)run;
	snprintf(r->account, sizeof(r->account), "%s", j->acct);
	/* As Slurm said it: a reused job id is told apart by it. */
	r->submit = (int64_t)j->submit;
	/* The server refuses a start date before the submit date. */
	if (j->submit == 0)
		j->submit = j->start;
	return 0;
}

static void
build_start(const struct bank_conf *cf, const struct bp_msg *m,
    struct report *r, struct job *j)
{
	uint64_t tl = 0;

	bp_get_u64(m, "time_limit", &tl);
	if (tl == 0 || tl > UINT32_MAX)
		tl = cf->default_time_limit;
	r->cents = price_usage(cf, m, tl * 60);
	money_format(r->cents, j->amount);
	j->status = "RUNNING";
}

static int
build_end(const struct bank_conf *cf, const struct bp_msg *m,
    struct report *r, struct job *j, char *err, size_t errlen)
{
	uint64_t susp = 0;

	if (need_u64(m, "end", &j->end, err, errlen) != 0)
		return -1;
	if (j->end > (uint64_t)LIM_DATE) {
		snprintf(err, errlen, "field 'end' is not a date (seconds from "
		    "1970 to 9999)");
		return -1;
	}
	bp_get_u64(m, "req_nodes", &j->req);
	bp_get_u64(m, "suspended", &susp);
	/* A job cancelled while pending never started and costs nothing. */
	j->elapsed = j->start != 0 && j->end > j->start ? j->end - j->start :
	    0;
	j->elapsed = j->elapsed > susp ? j->elapsed - susp : 0;
	r->cents = price_usage(cf, m, j->elapsed);
	if (j->start == 0)
		j->start = j->end;
	if (j->submit == 0)
		j->submit = j->end;
	money_format(r->cents, j->amount);
	j->status = opt_str(m, "state") ? opt_str(m, "state") : "COMPLETED";
	r->node_fail = strcmp(j->status, "NODE_FAIL") == 0;
	return 0;
}

/*
 * The members in key order, as JSON_SORT_KEYS put them.  nodes_apart:
 * "nodes":[] in place of the list (report_nodes_expand).
 */
static char *
body(const struct bp_msg *m, enum report_kind kind, const struct job *j,
    int nodes_apart)
{
	struct jsonw o;
	char id[24];

	jsonw_init(&o);
	jsonw_begin(&o);
	member_str(&o, "accountid", j->acct);
	member_str(&o, "amount", j->amount);
	if (kind == REPORT_END) {
		/* Hours, informational: not money, so a float is fine. */
		member_real(&o, "cpu_time", (double)j->elapsed * j->cpus /
		    3600.0);
		member_date(&o, "enddate", j->end);
	}
	snprintf(id, sizeof(id), "%" PRIu64, j->job_id);
	member_str(&o, "jobslurmid", id);
	member_str(&o, "jobstatus", j->status);
	member_nodes(&o, nodes_apart ? NULL : bp_get(m, "nodes"));
	member_int(&o, "num_alloc_nodes", (int64_t)j->nn);
	member_int(&o, "num_cpus", (int64_t)j->cpus);
	if (kind == REPORT_END)
		member_int(&o, "num_req_nodes", (int64_t)j->req);
	member_str(&o, "partition", opt_str(m, "partition"));
	member_str(&o, "qos", opt_str(m, "qos"));
	if (kind == REPORT_END)
		member_real(&o, "raw_time", j->elapsed / 3600.0);
	member_date(&o, "startdate", j->start);
	member_date(&o, "submitdate", j->submit);
	snprintf(id, sizeof(id), "%" PRIu64, j->uid);
	member_str(&o, "userid", id);
	jsonw_end(&o);
	return jsonw_take(&o);
}

int
report_build(const struct bank_conf *cf, enum report_kind kind,
    const struct bp_msg *m, struct report *r, char *err, size_t errlen)
{
	struct job j;
	uint64_t id;

	memset(r, 0, sizeof(*r));
	memset(&j, 0, sizeof(j));
	r->kind = kind;
	/*
	 * A job in a free partition costs nothing: no report, with or
	 * without an account (an unknown one would only make dead letters),
	 * unless the site records them (prices.report_free).
	 */
	if (conf_free_partition(cf, opt_str(m, "partition")) &&
	    (!cf->report_free || opt_str(m, "account") == NULL)) {
		bp_get_u64(m, "job_id", &id);
		r->job_id = (uint32_t)id;
		return 1;
	}
	if (job_common(m, r, &j, err, errlen) != 0)
		return -1;
	if (kind == REPORT_START)
		build_start(cf, m, r, &j);
	else if (build_end(cf, m, r, &j, err, errlen) != 0)
		return -1;
	if ((r->body = body(m, kind, &j, 0)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Thousands of nodes: kept as the expression, expanded when sent. */
	if (strlen(r->body) > REPORT_INLINE_MAX && opt_str(m, "nodes")) {
		free(r->body);
		if ((r->body = body(m, kind, &j, 1)) == NULL ||
		    (r->nodes_expr = strdup(opt_str(m, "nodes"))) == NULL) {
			report_clear(r);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

/*
 * The body's amount replaced.  The body is jsonw's, so its first
 * `"amount":"` is the member (inside a string every quote is escaped).
 */
int
report_set_amount(struct report *r, int64_t cents)
{
	static const char key[] = "\"amount\":\"";
	char amount[MONEY_FMT_LEN], *at, *end, *nb;
	size_t head, tail, n;

	if (r->body == NULL || (at = strstr(r->body, key)) == NULL ||
	    (end = strchr(at + sizeof(key) - 1, '"')) == NULL)
		return -1;
	money_format(cents, amount);
	head = (size_t)(at - r->body) + sizeof(key) - 1;
	tail = strlen(end);
	n = strlen(amount);
	if ((nb = malloc(head + n + tail + 1)) == NULL)
		return -1;
	memcpy(nb, r->body, head);
	memcpy(nb + head, amount, n);
	memcpy(nb + head + n, end, tail + 1);
	free(r->body);
	r->body = nb;
	r->cents = cents;
	return 0;
}
