/*
 * check_report.c: unit tests of bankd's report bodies (bankd/report.c).
 * report_build writes the JSON body by hand; it must give exactly the
 * bytes the earlier builder gave (a jansson object dumped with sorted
 * keys), which is kept below as the reference: start and end reports,
 * optional fields, escapes, UTF-8 (valid, invalid, overlong, surrogates),
 * host lists, dates, reals in and out of exponent form, refusals.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <slurm/slurm.h>

#include "bankproto.h"
#include "conf.h"
#include "money.h"
#include "price.h"
#include "report.h"

#define REPORT_MAX_NODES	100000

/* ---- the reference: report.c's builder before bodies were hand-made -- */

/* [{"name": "n1"}, ...] from a Slurm hostlist expression. */
static json_t *
ref_nodes_array(const char *expr)
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
ref_need_u64(const struct bp_msg *m, const char *key, uint64_t *v, char *err,
    size_t errlen)
{
	if (bp_get_u64(m, key, v) == 0)
		return 0;
	snprintf(err, errlen, "field '%s' is %s", key, bp_get(m, key) ?
	    "not a whole number" : "missing");
	return -1;
}

static const char *
ref_opt_str(const struct bp_msg *m, const char *key)
{
	const char *v = bp_get(m, key);

	return v != NULL && *v != '\0' ? v : NULL;
}

static void
ref_set_date(json_t *job, const char *key, uint64_t t)
{
	char buf[32];

	if (t == 0)
		return;
	report_date((int64_t)t, buf);
	json_object_set_new(job, key, json_string(buf));
}

static void
ref_set_str(json_t *job, const char *key, const char *v)
{
	if (v != NULL)
		json_object_set_new(job, key, json_string(v));
}

/* Fields common to both reports; NULL with err on a bad message. */
static json_t *
ref_job_common(const struct bp_msg *m, struct report *r, uint64_t *cpus,
    char *err, size_t errlen)
{
	uint64_t job_id, uid, submit = 0, start = 0, nn = 0;
	const char *acct = ref_opt_str(m, "account");
	json_t *job;
	char id[16], uidstr[16];

	if (ref_need_u64(m, "job_id", &job_id, err, errlen) != 0 ||
	    ref_need_u64(m, "uid", &uid, err, errlen) != 0 ||
	    ref_need_u64(m, "cpus", cpus, err, errlen) != 0)
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
	ref_set_str(job, "partition", ref_opt_str(m, "partition"));
	ref_set_str(job, "qos", ref_opt_str(m, "qos"));
	/* The server refuses a start date before the submit date. */
	ref_set_date(job, "submitdate", submit ? submit : start);
	ref_set_date(job, "startdate", start);
	json_object_set_new(job, "nodes", ref_nodes_array(bp_get(m, "nodes")));
	return job;
}

static int
ref_build_start(const struct bank_conf *cf, const struct bp_msg *m,
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
ref_build_end(const struct bank_conf *cf, const struct bp_msg *m,
    struct report *r, json_t *job, uint64_t cpus, char *err, size_t errlen)
{
	uint64_t start = 0, end, elapsed, req = 0, susp = 0;
	char amount[MONEY_FMT_LEN];
	const char *state = ref_opt_str(m, "state");

	if (ref_need_u64(m, "end", &end, err, errlen) != 0)
		return -1;
	bp_get_u64(m, "start", &start);
	bp_get_u64(m, "req_nodes", &req);
	bp_get_u64(m, "suspended", &susp);
	/* A job cancelled while pending never started and costs nothing. */
	elapsed = start != 0 && end > start ? end - start : 0;
	elapsed = elapsed > susp ? elapsed - susp : 0;
	r->cents = price_usage(cf, m, elapsed);
	if (start == 0)
		ref_set_date(job, "startdate", end);
	if (json_object_get(job, "submitdate") == NULL)
		ref_set_date(job, "submitdate", end);
	ref_set_date(job, "enddate", end);
	json_object_set_new(job, "amount",
	    json_string(money_format(r->cents, amount)));
	ref_set_str(job, "jobstatus", state ? state : "COMPLETED");
	json_object_set_new(job, "num_req_nodes", json_integer(req));
	/* Hours, informational: not money, so a float is what the API wants. */
	json_object_set_new(job, "raw_time", json_real(elapsed / 3600.0));
	json_object_set_new(job, "cpu_time",
	    json_real((double)elapsed * cpus / 3600.0));
	return 0;
}

static int
ref_report_build(const struct bank_conf *cf, enum report_kind kind,
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
	if (price == 0 && ref_opt_str(m, "account") == NULL) {
		bp_get_u64(m, "job_id", &cpus);
		r->job_id = (uint32_t)cpus;
		return 1;
	}
	if ((job = ref_job_common(m, r, &cpus, err, errlen)) == NULL)
		return -1;
	if (kind == REPORT_START)
		rc = ref_build_start(cf, m, r, job, cpus);
	else
		rc = ref_build_end(cf, m, r, job, cpus, err, errlen);
	if (rc == 0 && (r->body = json_dumps(job, JSON_COMPACT |
	    JSON_SORT_KEYS | JSON_REAL_PRECISION(8))) == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	json_decref(job);
	return rc;
}

/* ---- the tests ---------------------------------------------------------- */

static struct bank_conf cf;

/* Both builders on msg: same verdict, same fields, same bytes. */
static void
same(enum report_kind kind, const char *const *kv)
{
	struct bp_msg m;
	struct report a, b;
	char ea[256] = "", eb[256] = "";
	int ra, rb, i;

	bp_init(&m, kind == REPORT_START ? BP_T_START : BP_T_END, 1);
	for (i = 0; kv[i] != NULL; i += 2)
		ck_assert_int_eq(bp_add(&m, kv[i], kv[i + 1]), BP_OK);
	ra = ref_report_build(&cf, kind, &m, &a, ea, sizeof(ea));
	rb = report_build(&cf, kind, &m, &b, eb, sizeof(eb));
	ck_assert_msg(ra == rb, "verdict %d vs %d (%s / %s)", ra, rb, ea, eb);
	if (ra == 0) {
		ck_assert_str_eq(b.body, a.body);
		ck_assert_int_eq(b.cents, a.cents);
		ck_assert_uint_eq(b.job_id, a.job_id);
		ck_assert_uint_eq(b.uid, a.uid);
		ck_assert_uint_eq(b.hold, a.hold);
		ck_assert_str_eq(b.account, a.account);
	}
	report_clear(&a);
	report_clear(&b);
	bp_free(&m);
}

static void
both(const char *const *kv)
{
	same(REPORT_START, kv);
	same(REPORT_END, kv);
}

START_TEST(usual_reports)
{
	static const char *const full[] = { "job_id", "1234", "uid", "47001",
	    "account", "fc_physics", "partition", "normal", "qos", "normal",
	    "cpus", "2", "nodes", "n[1-3]", "num_nodes", "3", "req_nodes",
	    "3", "submit", "1700000000", "start", "1700000100", "end",
	    "1700003700", "time_limit", "90", "state", "COMPLETED", "hold",
	    "77", NULL };
	static const char *const bare[] = { "job_id", "9", "uid", "0",
	    "account", "a", "cpus", "1", "end", "1700000000", NULL };
	static const char *const pending[] = { "job_id", "10", "uid", "5",
	    "account", "a", "cpus", "4", "end", "1700000000", "state",
	    "CANCELLED", "nodes", "", NULL };
	static const char *const suspended[] = { "job_id", "11", "uid", "5",
	    "account", "a", "cpus", "64", "start", "1000", "end", "900000",
	    "suspended", "7000", "nodes", "gpu-node_1.cluster", NULL };
	static const char *const no_end[] = { "job_id", "12", "uid", "5",
	    "account", "a", "cpus", "1", "start", "1700000000", NULL };

	both(full);
	both(bare);
	both(pending);
	both(suspended);
	both(no_end);
}
END_TEST

START_TEST(strings_and_escapes)
{
	static const char *const odd[] = {
	    "quote\"back\\slash", "tab\there", "ctl\x01\x1f\x7f",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",	/* 2-4 bytes */
	    "bad\xc3", "bad\xff", "overlong\xc0\xaf", "surrogate\xed\xa0\x80",
	    "over\xf4\x90\x80\x80", "cr\rbs\bff\f", "slash/", NULL };
	int i;

	for (i = 0; odd[i] != NULL; i++) {
		const char *const acct[] = { "job_id", "5", "uid", "1",
		    "account", odd[i], "cpus", "1", "end", "100", NULL };
		const char *const opt[] = { "job_id", "5", "uid", "1",
		    "account", "a", "cpus", "1", "end", "100", "partition",
		    odd[i], "qos", odd[i], "state", odd[i], NULL };

		both(acct);
		both(opt);
	}
}
END_TEST

START_TEST(host_lists)
{
	static const char *const lists[] = { "n1", "n1-5", "n[01-03,7]",
	    "a,b,c", "x.y_z", "n[1-2]-ib", "node 1", "n[", "", "123",
	    "n\xc3\xa9", "n[1-200]", NULL };
	int i;

	for (i = 0; lists[i] != NULL; i++) {
		const char *const kv[] = { "job_id", "5", "uid", "1",
		    "account", "a", "cpus", "1", "end", "100", "start", "50",
		    "nodes", lists[i], NULL };

		both(kv);
	}
}
END_TEST

/* Reals: plain, integral (".0"), exponents both ways. */
START_TEST(reals)
{
	static const char *const cpus[] = { "1", "3", "7", "1000000",
	    "99999999", NULL };
	static const char *const spans[] = { "0", "1", "59", "3600", "3601",
	    "86399", "4000000000", NULL };
	char end[32];
	int i, k;

	for (i = 0; cpus[i] != NULL; i++)
		for (k = 0; spans[k] != NULL; k++) {
			snprintf(end, sizeof(end), "%llu", 1000ULL +
			    strtoull(spans[k], NULL, 10));
			{
				const char *const kv[] = { "job_id", "5",
				    "uid", "1", "account", "a", "cpus",
				    cpus[i], "start", "1000", "end", end,
				    NULL };

				same(REPORT_END, kv);
			}
		}
}
END_TEST

START_TEST(refusals)
{
	static const char *const no_job[] = { "uid", "1", "account", "a",
	    "cpus", "1", "end", "1", NULL };
	static const char *const big_job[] = { "job_id", "4294967296", "uid",
	    "1", "account", "a", "cpus", "1", "end", "1", NULL };
	static const char *const no_acct[] = { "job_id", "3", "uid", "1",
	    "partition", "normal", "cpus", "1", "end", "1", NULL };
	static const char *const free_job[] = { "job_id", "3", "uid", "1",
	    "partition", "free", "cpus", "1", "end", "1", NULL };
	static const char *const bad_cpus[] = { "job_id", "3", "uid", "1",
	    "account", "a", "cpus", "x", "end", "1", NULL };

	both(no_job);
	both(big_job);
	both(no_acct);
	both(free_job);
	both(bad_cpus);
}
END_TEST

START_TEST(utf8_check)
{
	ck_assert_int_eq(report_utf8_valid(""), 1);
	ck_assert_int_eq(report_utf8_valid("caf\xc3\xa9"), 1);
	ck_assert_int_eq(report_utf8_valid("\xf4\x8f\xbf\xbf"), 1);
	ck_assert_int_eq(report_utf8_valid("\xf4\x90\x80\x80"), 0);
	ck_assert_int_eq(report_utf8_valid("\xe0\x9f\xbf"), 0);
	ck_assert_int_eq(report_utf8_valid("\xed\xbf\xbf"), 0);
	ck_assert_int_eq(report_utf8_valid("\xc3"), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report");
	SRunner *sr;
	char err[256];
	int failed;

	if (conf_load(CONF_DIR "/report.yaml", &cf, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return EXIT_FAILURE;
	}
	tcase_add_test(tc, usual_reports);
	tcase_add_test(tc, strings_and_escapes);
	tcase_add_test(tc, host_lists);
	tcase_add_test(tc, reals);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, utf8_check);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	conf_free(&cf);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
