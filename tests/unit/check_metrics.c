/*
 * check_metrics.c: unit tests of bankd's Prometheus text
 * (bankd/metrics_fmt.c) and the labelled counters it shows
 * (bankd/counters.c): seconds and SU as exact decimals, label escaping,
 * histogram buckets (inclusive upper bounds, cumulative), decision
 * sources and API routes by our words, the size bound.
 *
 *	check_metrics		the tests
 *	check_metrics --sample	a scrape of made-up figures (test_dashboard.py)
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"
#include "metrics_fmt.h"

static struct counters cnt;

static void
sample_view(struct mfmt_view *v, int relay)
{
	memset(&cnt, 0, sizeof(cnt));
	memset(v, 0, sizeof(*v));
	v->version = "1.2.3";
	v->relay = relay;
	v->started = 1700000000;
	v->counters = &cnt;
	v->queued = 3;
	v->inflight = 1;
	v->dead = 1;
	v->retries = 7;
	v->journal_bytes = 4096;
	v->oldest_s = 12;
	v->holds = 2;
	v->holds_cents = 1234567;	/* 12345.67 SU */
	snprintf(v->upstream, sizeof(v->upstream), "10.0.0.1:7003");
	v->backlog = 5;
	counters_decision(&cnt, "cache", COUT_ALLOW, counters_now_us());
	counters_decision(&cnt, "api", COUT_DENY, counters_now_us());
	counters_api(&cnt, CRT_CAN_SUBMIT, 200, 0);
	counters_api(&cnt, CRT_JOBS_POST, 503, 0);
	counters_api(&cnt, CRT_JOBS_PUT, 0, 1);
	counters_accepted(&cnt, 0);
	counters_delivered(&cnt, 1);
	counters_add(&cnt, CNT_SPOOL_TAKEN, 4);
}

static char *
render(const struct mfmt_view *v)
{
	struct mfmt_buf b;
	char *s;

	mfmt_init(&b, MFMT_MAX_BYTES);
	ck_assert_int_eq(mfmt_render(&b, v), 0);
	s = strdup(b.p);
	mfmt_free(&b);
	return s;
}

/* The line "what\n" is in s, whole. */
static int
has_line(const char *s, const char *what)
{
	size_t n = strlen(what);
	const char *p;

	for (p = s; (p = strstr(p, what)) != NULL; p++)
		if ((p == s || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

START_TEST(test_seconds)
{
	char out[32];

	ck_assert_str_eq(mfmt_seconds(0, out), "0");
	ck_assert_str_eq(mfmt_seconds(100, out), "0.0001");
	ck_assert_str_eq(mfmt_seconds(2500, out), "0.0025");
	ck_assert_str_eq(mfmt_seconds(1000000, out), "1");
	ck_assert_str_eq(mfmt_seconds(10000000, out), "10");
	ck_assert_str_eq(mfmt_seconds(1234567, out), "1.234567");
	ck_assert_str_eq(mfmt_seconds(UINT64_MAX, out),
	    "18446744073709.551615");
}
END_TEST

START_TEST(test_escape)
{
	char out[64];

	mfmt_escape("a\"b\\c\nd", out, sizeof(out));
	ck_assert_str_eq(out, "a\\\"b\\\\c\\nd");
	/* Cut short, never past the buffer nor in the middle of \x. */
	mfmt_escape("\"\"\"\"", out, 6);
	ck_assert_str_eq(out, "\\\"\\\"");
	mfmt_escape("", out, sizeof(out));
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_histogram)
{
	struct counters_hist h;
	struct mfmt_view v;
	char *s;

	memset(&h, 0, sizeof(h));
	counters_hist_add(&h, 0);
	counters_hist_add(&h, 100);	/* le is inclusive: the first bucket */
	counters_hist_add(&h, 101);
	counters_hist_add(&h, 10000000);
	counters_hist_add(&h, 10000001);	/* +Inf only */
	ck_assert_uint_eq(h.n[0], 2);
	ck_assert_uint_eq(h.n[1], 1);
	ck_assert_uint_eq(h.n[CHIST_BUCKETS - 1], 1);
	ck_assert_uint_eq(h.n[CHIST_BUCKETS], 1);
	ck_assert_uint_eq(h.count, 5);
	ck_assert_uint_eq(h.sum_us, 20000202);

	sample_view(&v, 0);
	cnt.decision = h;
	s = render(&v);
	ck_assert(has_line(s, "# TYPE bankd_decision_seconds histogram"));
	ck_assert(has_line(s, "bankd_decision_seconds_bucket{le=\"0.0001\"} 2"));
	ck_assert(has_line(s, "bankd_decision_seconds_bucket{le=\"0.00025\"} "
	    "3"));
	ck_assert(has_line(s, "bankd_decision_seconds_bucket{le=\"5\"} 3"));
	ck_assert(has_line(s, "bankd_decision_seconds_bucket{le=\"10\"} 4"));
	ck_assert(has_line(s, "bankd_decision_seconds_bucket{le=\"+Inf\"} 5"));
	ck_assert(has_line(s, "bankd_decision_seconds_count 5"));
	ck_assert(has_line(s, "bankd_decision_seconds_sum 20.000202"));
	free(s);
}
END_TEST

START_TEST(test_sources_routes)
{
	ck_assert_int_eq(counters_source("cache"), CSRC_CACHE);
	ck_assert_int_eq(counters_source("cache (submit budget)"), CSRC_CACHE);
	ck_assert_int_eq(counters_source("cache (API unavailable)"),
	    CSRC_CACHE);
	ck_assert_int_eq(counters_source("api"), CSRC_API);
	ck_assert_int_eq(counters_source("policy"), CSRC_POLICY);
	ck_assert_int_eq(counters_source("price"), CSRC_PRICE);
	ck_assert_int_eq(counters_source("config"), CSRC_CONFIG);
	ck_assert_int_eq(counters_source("modify"), CSRC_MODIFY);
	ck_assert_int_eq(counters_source("apis"), CSRC_NONE);
	ck_assert_int_eq(counters_source(""), CSRC_NONE);

	ck_assert_int_eq(counters_route("GET", "/can_submit_job/12.00/47001/"
	    "fc_alpha/"), CRT_CAN_SUBMIT);
	ck_assert_int_eq(counters_route("POST", "/jobs/"), CRT_JOBS_POST);
	ck_assert_int_eq(counters_route("PUT", "/jobs/123/"), CRT_JOBS_PUT);
	ck_assert_int_eq(counters_route("GET", "/jobs/123/"), CRT_JOBS_GET);
	ck_assert_int_eq(counters_route("GET", "/jobs/?jobstatus=bankd-probe"),
	    CRT_PROBE);
	ck_assert_int_eq(counters_route("GET", "/partitions/?page=2"),
	    CRT_PARTITIONS);
	ck_assert_int_eq(counters_route("DELETE", "/jobs/1/"), CRT_OTHER);
	ck_assert_int_eq(counters_route("GET", "/users/"), CRT_OTHER);
}
END_TEST

START_TEST(test_render)
{
	struct mfmt_view v;
	char *s;

	sample_view(&v, 0);
	s = render(&v);
	ck_assert(has_line(s, "# HELP bankd_up 1: bankd answers."));
	ck_assert(has_line(s, "bankd_up 1"));
	ck_assert(has_line(s, "bankd_build_info{version=\"1.2.3\",role="
	    "\"controller\"} 1"));
	ck_assert(has_line(s, "bankd_decisions_total{source=\"cache\","
	    "outcome=\"allow\"} 1"));
	ck_assert(has_line(s, "bankd_decisions_total{source=\"api\","
	    "outcome=\"deny\"} 1"));
	ck_assert(has_line(s, "bankd_decisions_total{source=\"policy\","
	    "outcome=\"allow\"} 0"));
	ck_assert(has_line(s, "bankd_decisions_total{source=\"none\","
	    "outcome=\"error\"} 0"));
	ck_assert_ptr_null(strstr(s, "source=\"none\",outcome=\"allow\""));
	ck_assert(has_line(s, "bankd_decision_seconds_count 2"));
	ck_assert(has_line(s, "bankd_api_requests_total{endpoint="
	    "\"can_submit_job\",status=\"200\"} 1"));
	ck_assert(has_line(s, "bankd_api_requests_total{endpoint="
	    "\"jobs_post\",status=\"503\"} 1"));
	ck_assert(has_line(s, "bankd_api_requests_total{endpoint="
	    "\"jobs_put\",status=\"timeout\"} 1"));
	/* Only what happened: no line per possible status. */
	ck_assert_ptr_null(strstr(s, "status=\"404\""));
	ck_assert(has_line(s, "bankd_reports_accepted_total{kind=\"start\"} 1"));
	ck_assert(has_line(s, "bankd_reports_accepted_total{kind=\"end\"} 0"));
	ck_assert(has_line(s, "bankd_reports_delivered_total{kind=\"end\"} 1"));
	ck_assert(has_line(s, "bankd_delivery_retries_total 7"));
	ck_assert(has_line(s, "bankd_queue_reports 3"));
	ck_assert(has_line(s, "bankd_queue_oldest_seconds 12"));
	ck_assert(has_line(s, "bankd_dead_letters 1"));
	ck_assert(has_line(s, "bankd_journal_bytes 4096"));
	ck_assert(has_line(s, "bankd_holds 2"));
	ck_assert(has_line(s, "bankd_holds_su 12345.67"));
	ck_assert(has_line(s, "bankd_spool_files_taken_total 4"));
	ck_assert(has_line(s, "# TYPE bankd_spool_files_taken_total counter"));
	ck_assert(has_line(s, "# TYPE bankd_clients gauge"));
	ck_assert_ptr_null(strstr(s, "bankd_relay_backlog"));
	free(s);
}
END_TEST

/* SU exact at any size: 0.01 SU steps never drift as a float would. */
START_TEST(test_su_exact)
{
	struct mfmt_view v;
	char *s;

	sample_view(&v, 0);
	v.holds_cents = 999999999999999999LL;
	s = render(&v);
	ck_assert(has_line(s, "bankd_holds_su 9999999999999999.99"));
	free(s);
	v.holds_cents = 1;
	s = render(&v);
	ck_assert(has_line(s, "bankd_holds_su 0.01"));
	free(s);
	v.holds_cents = 0;
	s = render(&v);
	ck_assert(has_line(s, "bankd_holds_su 0.00"));
	free(s);
}
END_TEST

START_TEST(test_relay)
{
	struct mfmt_view v;
	char *s;

	sample_view(&v, 1);
	snprintf(v.upstream, sizeof(v.upstream), "[::1]:7003\"x");
	s = render(&v);
	ck_assert(has_line(s, "bankd_relay_backlog{upstream=\"[::1]:7003\\\"x\"} "
	    "5"));
	ck_assert(has_line(s, "bankd_build_info{version=\"1.2.3\",role="
	    "\"relay\"} 1"));
	/* A relay decides nothing and asks no API. */
	ck_assert_ptr_null(strstr(s, "bankd_decisions_total"));
	ck_assert_ptr_null(strstr(s, "bankd_holds"));
	ck_assert(has_line(s, "bankd_queue_oldest_seconds 12"));
	free(s);
}
END_TEST

START_TEST(test_bound)
{
	struct mfmt_view v;
	struct mfmt_buf b;

	sample_view(&v, 0);
	mfmt_init(&b, 100);
	ck_assert_int_eq(mfmt_render(&b, &v), -1);
	ck_assert(b.failed);
	ck_assert_uint_le(b.len, 100);
	mfmt_free(&b);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_seconds);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_sources_routes);
	tcase_add_test(tc, test_render);
	tcase_add_test(tc, test_su_exact);
	tcase_add_test(tc, test_relay);
	tcase_add_test(tc, test_bound);
	suite_add_tcase(s, tc);
	return s;
}

int
main(int argc, char **argv)
{
	struct mfmt_view v;
	struct mfmt_buf b;
	const char *rel, *end;
	SRunner *sr;
	int failed;

	if (argc == 2 && strcmp(argv[1], "--sample") == 0) {
		mfmt_init(&b, MFMT_MAX_BYTES);
		sample_view(&v, 0);
		failed = mfmt_render(&b, &v);
		fputs(b.p, stdout);
		mfmt_free(&b);
		mfmt_init(&b, MFMT_MAX_BYTES);
		sample_view(&v, 1);
		failed |= mfmt_render(&b, &v);
		/* A relay's families too: only the one a controller lacks. */
		rel = strstr(b.p, "# HELP bankd_relay_backlog");
		end = rel ? strstr(rel + 1, "# HELP ") : NULL;
		if (rel != NULL && end != NULL)
			fwrite(rel, 1, (size_t)(end - rel), stdout);
		mfmt_free(&b);
		return failed ? 1 : 0;
	}
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
