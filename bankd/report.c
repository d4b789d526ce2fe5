/*
 * report.c - Job bodies for POST /jobs/ (start) and PUT /jobs/{id}/ (end),
 * carrying the fields the original plugins sent.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <slurm/slurm.h>

#include "money.h"
#include "price.h"
#include "report.h"

#define REPORT_MAX_NODES	100000

void
report_date(int64_t t, char buf[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
report_clear(struct report *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* [{"name": "n1"}, ...] from a Slurm hostlist expression. */
static json_t *
nodes_array(const char *expr)
{
	json_t *a = json_array();
	hostlist_t hl;
	char *h;
	int n = 0;

	if (a == NULL || expr == NULL || *expr == '\0')
		return a;
	if ((hl = slurm_hostlist_create(expr)) == NULL)
		return a;
	while (n++ < REPORT_MAX_NODES && (h = slurm_hostlist_shift(hl))) {
		json_array_append_new(a, json_pack("{s:s}", "name", h));
		free(h);
	}
	slurm_hostlist_destroy(hl);
	return a;
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

static void
set_date(json_t *job, const char *key, uint64_t t)
{
	char buf[32];

	if (t == 0)
		return;
	report_date((int64_t)t, buf);
	json_object_set_new(job, key, json_string(buf));
}

static void
set_str(json_t *job, const char *key, const char *v)
{
	if (v != NULL)
		json_object_set_new(job, key, json_string(v));
}

/* Fields common to both reports; NULL with err on a bad message. */
static json_t *
job_common(const struct bp_msg *m, struct report *r, uint64_t *cpus,
    char *err, size_t errlen)
{
	uint64_t job_id, uid, submit = 0, start = 0, nn = 0;
	const char *acct = opt_str(m, "account");
	json_t *job;
	char id[16], uidstr[16];

	if (need_u64(m, "job_id", &job_id, err, errlen) != 0 ||
	    need_u64(m, "uid", &uid, err, errlen) != 0 ||
	    need_u64(m, "cpus", cpus, err, errlen) != 0)
		return NULL;
	if (job_id == 0 || job_id > UINT32_MAX) {
		snprintf(err, errlen, "job_id %" PRIu64 " is out of range",
		    job_id);
		return NULL;
	}
	if (acct == NULL) {
		snprintf(err, errlen, "job %" PRIu64 " has no account: the API "
		    "cannot charge it", job_id);
		r->job_id = (uint32_t)job_id;
		return NULL;
	}
	bp_get_u64(m, "submit", &submit);
	bp_get_u64(m, "start", &start);
	bp_get_u64(m, "num_nodes", &nn);
	r->job_id = (uint32_t)job_id;
	r->uid = (uint32_t)uid;
	bp_get_u64(m, "hold", &r->hold);
	snprintf(r->account, sizeof(r->account), "%s", acct);
	snprintf(id, sizeof(id), "%" PRIu64, job_id);
	snprintf(uidstr, sizeof(uidstr), "%" PRIu64, uid);
	job = json_pack("{s:s, s:s, s:s, s:I, s:I}", "jobslurmid", id,
	    "userid", uidstr, "accountid", acct, "num_cpus", (json_int_t)*cpus,
	    "num_alloc_nodes", (json_int_t)nn);
	if (job == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	set_str(job, "partition", opt_str(m, "partition"));
	set_str(job, "qos", opt_str(m, "qos"));
	/* The server refuses a start date before the submit date. */
	set_date(job, "submitdate", submit ? submit : start);
	set_date(job, "startdate", start);
	json_object_set_new(job, "nodes", nodes_array(bp_get(m, "nodes")));
	return job;
}

static int
build_start(const struct bank_conf *cf, const struct bp_msg *m,
    struct report *r, json_t *job, uint64_t cpus)
{
	uint64_t tl = 0;
	char amount[MONEY_FMT_LEN];

	(void)cpus;		/* price_usage() reads the message's cpus */
	bp_get_u64(m, "time_limit", &tl);
	if (tl == 0 || tl > UINT32_MAX)
		tl = cf->default_time_limit;
	r->cents = price_usage(cf, m, tl * 60);
	json_object_set_new(job, "amount",
	    json_string(money_format(r->cents, amount)));
	json_object_set_new(job, "jobstatus", json_string("RUNNING"));
	return 0;
}

static int
build_end(const struct bank_conf *cf, const struct bp_msg *m,
    struct report *r, json_t *job, uint64_t cpus, char *err, size_t errlen)
{
	uint64_t start = 0, end, elapsed, req = 0, susp = 0;
	char amount[MONEY_FMT_LEN];
	const char *state = opt_str(m, "state");

	if (need_u64(m, "end", &end, err, errlen) != 0)
		return -1;
	bp_get_u64(m, "start", &start);
	bp_get_u64(m, "req_nodes", &req);
	bp_get_u64(m, "suspended", &susp);
	/* A job cancelled while pending never started and costs nothing. */
	elapsed = start != 0 && end > start ? end - start : 0;
	elapsed = elapsed > susp ? elapsed - susp : 0;
	r->cents = price_usage(cf, m, elapsed);
	if (start == 0)
		set_date(job, "startdate", end);
	if (json_object_get(job, "submitdate") == NULL)
		set_date(job, "submitdate", end);
	set_date(job, "enddate", end);
	json_object_set_new(job, "amount",
	    json_string(money_format(r->cents, amount)));
	set_str(job, "jobstatus", state ? state : "COMPLETED");
	json_object_set_new(job, "num_req_nodes", json_integer(req));
	/* Hours, informational: not money, so a float is what the API wants. */
	json_object_set_new(job, "raw_time", json_real(elapsed / 3600.0));
	json_object_set_new(job, "cpu_time",
	    json_real((double)elapsed * cpus / 3600.0));
	return 0;
}

int
report_build(const struct bank_conf *cf, enum report_kind kind,
    const struct bp_msg *m, struct report *r, char *err, size_t errlen)
{
	uint64_t cpus;
	int64_t price;
	json_t *job;
	int rc;

	memset(r, 0, sizeof(*r));
	r->kind = kind;
	/* Jobs in free partitions need no account: nothing to charge. */
	conf_price(cf, bp_get(m, "partition"), &price);
	if (price == 0 && opt_str(m, "account") == NULL) {
		bp_get_u64(m, "job_id", &cpus);
		r->job_id = (uint32_t)cpus;
		return 1;
	}
	if ((job = job_common(m, r, &cpus, err, errlen)) == NULL)
		return -1;
	if (kind == REPORT_START)
		rc = build_start(cf, m, r, job, cpus);
	else
		rc = build_end(cf, m, r, job, cpus, err, errlen);
	if (rc == 0 && (r->body = json_dumps(job, JSON_COMPACT |
	    JSON_SORT_KEYS | JSON_REAL_PRECISION(8))) == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	json_decref(job);
	return rc;
}
