/*
 * check_money.c: unit tests of bankcore's exact money arithmetic and the
 * pricing rules (money.c, price.c).  Every amount is asserted exactly: a
 * cent off is a billing error.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "money.h"
#include "price.h"

struct parse_ok {
	const char	*in;
	int		 scale;
	int64_t		 want;
};

struct parse_bad {
	const char	*in;
	int		 scale;
	const char	*why;	/* the reason given, exactly */
};

static const char *const NOTNUM = "not a non-negative decimal number";

START_TEST(parse_accepts)
{
	static const struct parse_ok t[] = {
		{ "12", 2, 1200 },
		{ "12", 6, 12000000 },
		{ "0.5", 2, 50 },
		{ "0.5", 6, 500000 },
		{ "1.250000", 6, 1250000 },
		{ "1.25", 2, 125 },
		{ "0", 2, 0 },
		{ "007.10", 2, 710 },
		{ "1.", 2, 100 },
		{ ".5", 2, 50 },
		{ "0.000001", 6, 1 },
		/* The largest that fits after scaling: no false overflow. */
		{ "92233720368547758", 2, INT64_C(9223372036854775800) },
	};
	const char *why;
	int64_t v;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = -1;
		why = "unset";
		ck_assert_msg(money_parse(t[i].in, t[i].scale, &v, &why) == 0,
		    "'%s' scale %d refused: %s", t[i].in, t[i].scale,
		    why ? why : "(null)");
		ck_assert_msg(v == t[i].want, "'%s' scale %d: %lld, want %lld",
		    t[i].in, t[i].scale, (long long)v, (long long)t[i].want);
		ck_assert_ptr_null(why);
	}
}
END_TEST

START_TEST(parse_rejects)
{
	static const struct parse_bad t[] = {
		{ "-1", 2, NULL },
		{ "+1", 2, NULL },
		{ "1e3", 2, NULL },
		{ "abc", 2, NULL },
		{ "NaN", 6, NULL },
		{ "inf", 6, NULL },
		{ ".", 2, NULL },
		{ "1.2.3", 2, NULL },
		{ " 1", 2, NULL },
		{ "1 ", 2, NULL },
		{ "0x10", 2, NULL },
		{ "1,5", 2, NULL },
		{ "", 2, "empty amount" },
		{ "1.234", 2, "too many decimal places" },
		{ "0.0000001", 6, "too many decimal places" },
		{ "1.5", 0, "too many decimal places" },
		/* Overflow while reading digits, and while scaling up. */
		{ "99999999999999999999", 0, "amount too large" },
		{ "92233720368547759", 2, "amount too large" },
		{ "9223372036854775", 6, "amount too large" },
	};
	const char *why;
	int64_t v;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = 4242;
		why = NULL;
		ck_assert_msg(money_parse(t[i].in, t[i].scale, &v, &why) == -1,
		    "'%s' scale %d accepted as %lld", t[i].in, t[i].scale,
		    (long long)v);
		/* A refused amount must not leave a half-parsed value. */
		ck_assert_msg(v == 4242, "'%s' changed *out", t[i].in);
		ck_assert_ptr_nonnull(why);
		ck_assert_str_eq(why, t[i].why ? t[i].why : NOTNUM);
	}
}
END_TEST

START_TEST(parse_null)
{
	const char *why = NULL;
	int64_t v = 7;

	ck_assert_int_eq(money_parse(NULL, 2, &v, &why), -1);
	ck_assert_str_eq(why, "empty amount");
	ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(format_cents)
{
	char buf[MONEY_FMT_LEN];

	ck_assert_str_eq(money_format(0, buf), "0.00");
	ck_assert_str_eq(money_format(5, buf), "0.05");
	ck_assert_str_eq(money_format(50, buf), "0.50");
	ck_assert_str_eq(money_format(1234, buf), "12.34");
	ck_assert_str_eq(money_format(100000, buf), "1000.00");
	ck_assert_str_eq(money_format(-5, buf), "-0.05");
	ck_assert_str_eq(money_format(-1234, buf), "-12.34");
	ck_assert_str_eq(money_format(INT64_MAX, buf),
	    "92233720368547758.07");
	/* Negating INT64_MIN in int64_t would be UB: it must still print. */
	ck_assert_str_eq(money_format(INT64_MIN, buf),
	    "-92233720368547758.08");
	ck_assert_ptr_eq(money_format(1, buf), buf);
}
END_TEST

START_TEST(format_price)
{
	char buf[MONEY_FMT_LEN];

	ck_assert_str_eq(money_format_price(0, buf), "0");
	ck_assert_str_eq(money_format_price(1500000, buf), "1.5");
	ck_assert_str_eq(money_format_price(1000000, buf), "1");
	/* Trimming zeros must stop at the point: 10, not 1. */
	ck_assert_str_eq(money_format_price(10000000, buf), "10");
	ck_assert_str_eq(money_format_price(250000, buf), "0.25");
	ck_assert_str_eq(money_format_price(1, buf), "0.000001");
	ck_assert_str_eq(money_format_price(12345678, buf), "12.345678");
	ck_assert_str_eq(money_format_price(1000001, buf), "1.000001");
}
END_TEST

START_TEST(cost_rounding)
{
	/* 1.5 SU/h x 1 CPU x 1 s = 0.000416 SU: well under half a cent. */
	ck_assert_int_eq(money_cost(1500000, 1, 1), 0);
	/* 360 SU/h x 1 CPU x 3 s = 0.30 SU. */
	ck_assert_int_eq(money_cost(360000000, 1, 3), 30);
	/* 0.018 SU/h x 1000 s = 0.005 SU exactly: half a cent rounds up. */
	ck_assert_int_eq(money_cost(18000, 1, 1000), 1);
	/* One micro-SU less is just under half a cent: rounds down. */
	ck_assert_int_eq(money_cost(17999, 1, 1000), 0);
	/* 0.015 SU exactly -> 0.02; 0.0149.. -> 0.01. */
	ck_assert_int_eq(money_cost(54000, 1, 1000), 2);
	ck_assert_int_eq(money_cost(53999, 1, 1000), 1);
	/* 1 SU/h x 4 CPUs x 1 h = 4.00 SU; CPUs and seconds commute. */
	ck_assert_int_eq(money_cost(1000000, 4, 3600), 400);
	ck_assert_int_eq(money_cost(1000000, 3600, 4), 400);
	/* 1.000001 SU/h x 1 CPU x 1 year: the micro part must count. */
	ck_assert_int_eq(money_cost(1000001, 1, 31536000), 876001);
}
END_TEST

START_TEST(cost_zero)
{
	ck_assert_int_eq(money_cost(1000000, 0, 3600), 0);
	ck_assert_int_eq(money_cost(1000000, 8, 0), 0);
	ck_assert_int_eq(money_cost(0, 8, 3600), 0);
	/* A negative price is never a credit. */
	ck_assert_int_eq(money_cost(-1000000, 8, 3600), 0);
}
END_TEST

START_TEST(cost_saturates)
{
	/* Product overflows 128 bits: the overflow check must catch it. */
	ck_assert_int_eq(money_cost(INT64_MAX, UINT64_MAX, UINT64_MAX),
	    INT64_MAX);
	/* Fits in 128 bits, but the cents exceed int64_t. */
	ck_assert_int_eq(money_cost(INT64_MAX, UINT32_MAX, 3600), INT64_MAX);
	/* Just below saturation: exact. 1e6 micro x 100 x 3600 x k. */
	ck_assert_int_eq(money_cost(1000000, UINT32_MAX, 3600),
	    (int64_t)UINT32_MAX * 100);
}
END_TEST

static uint32_t
infer(uint32_t min_cpus, uint32_t num_tasks, uint32_t cpt,
    uint32_t min_nodes, uint32_t tpn, uint32_t pn_min_cpus)
{
	struct job_shape js = {
		.min_cpus = min_cpus, .num_tasks = num_tasks,
		.cpus_per_task = cpt, .min_nodes = min_nodes,
		.ntasks_per_node = tpn, .pn_min_cpus = pn_min_cpus,
	};

	return price_infer_cpus(&js);
}

START_TEST(infer_cpus)
{
	/* min_cpus, num_tasks, cpus_per_task, min_nodes, tpn, pn_min */
	ck_assert_uint_eq(infer(0, 0, 0, 0, 0, 0), 1);
	ck_assert_uint_eq(infer(0, 4, 0, 0, 0, 0), 4);
	ck_assert_uint_eq(infer(0, 4, 2, 0, 0, 0), 8);
	ck_assert_uint_eq(infer(6, 2, 0, 0, 0, 0), 6);
	ck_assert_uint_eq(infer(2, 6, 0, 0, 0, 0), 6);
	ck_assert_uint_eq(infer(0, 0, 0, 3, 0, 0), 3);
	ck_assert_uint_eq(infer(0, 0, 0, 3, 2, 0), 6);
	ck_assert_uint_eq(infer(0, 0, 0, 0, 2, 0), 2);
	ck_assert_uint_eq(infer(0, 0, 0, 3, 2, 0), 6);
	ck_assert_uint_eq(infer(0, 0, 4, 3, 2, 0), 24);
	ck_assert_uint_eq(infer(0, 0, 0, 2, 0, 4), 8);
	/* An explicit --ntasks beats --ntasks-per-node x nodes. */
	ck_assert_uint_eq(infer(0, 1, 0, 0, 8, 0), 1);
}
END_TEST

START_TEST(infer_cpus_saturates)
{
	ck_assert_uint_eq(infer(0, UINT32_MAX, 2, 0, 0, 0), UINT32_MAX);
	ck_assert_uint_eq(infer(0, 65536, 65536, 0, 0, 0), UINT32_MAX);
	ck_assert_uint_eq(infer(0, 0, 2, 65536, 65536, 0), UINT32_MAX);
	ck_assert_uint_eq(infer(0, 0, 0, 65536, 0, 65536), UINT32_MAX);
	ck_assert_uint_eq(infer(UINT32_MAX, 0, 0, 0, 0, 0), UINT32_MAX);
}
END_TEST

/*
 * --cpus-per-task without --ntasks is one task per node of that many CPUs
 * in Slurm, not 0 tasks (which once made the estimate a single CPU).
 */
START_TEST(infer_cpus_per_task_alone)
{
	ck_assert_uint_eq(infer(0, 0, 3, 0, 0, 0), 3);
	ck_assert_uint_eq(infer(0, 0, 4, 2, 0, 0), 8);
}
END_TEST

/* prices.yaml: default 2, debug 0.5, normal 360, default_time_limit 30. */
static struct bank_conf cf;

static void
prices_setup(void)
{
	char err[512];

	ck_assert_msg(conf_load(CONF_DIR "/prices.yaml", &cf, err,
	    sizeof(err)) == 0, "%s", err);
}

static void
prices_teardown(void)
{
	conf_free(&cf);
}

START_TEST(estimate_dearest)
{
	struct estimate est;

	/* 360 SU/h x 2 CPUs x 10 min = 120 SU. */
	price_estimate(&cf, "debug,normal", 2, 10, &est);
	ck_assert_str_eq(est.partition, "normal");
	ck_assert_int_eq(est.price, 360000000);
	ck_assert_uint_eq(est.cpus, 2);
	ck_assert_uint_eq(est.minutes, 10);
	ck_assert_int_eq(est.cents, 12000);

	/* The order the partitions are listed in must not matter. */
	price_estimate(&cf, "normal,debug", 2, 10, &est);
	ck_assert_str_eq(est.partition, "normal");
	ck_assert_int_eq(est.cents, 12000);

	/* An unlisted partition at the default (2) beats debug (0.5). */
	price_estimate(&cf, "debug,bigmem", 1, 60, &est);
	ck_assert_str_eq(est.partition, "bigmem");
	ck_assert_int_eq(est.price, 2000000);
	ck_assert_int_eq(est.cents, 200);
}
END_TEST

START_TEST(estimate_single)
{
	struct estimate est;

	/* 0.5 SU/h x 4 CPUs x 90 min = 3 SU. */
	price_estimate(&cf, "debug", 4, 90, &est);
	ck_assert_str_eq(est.partition, "debug");
	ck_assert_int_eq(est.price, 500000);
	ck_assert_int_eq(est.cents, 300);
}
END_TEST

START_TEST(estimate_default_limit)
{
	struct estimate est;

	/* No time limit known: default_time_limit (30 min) is used. */
	price_estimate(&cf, "normal", 1, 0, &est);
	ck_assert_uint_eq(est.minutes, 30);
	ck_assert_int_eq(est.cents, 18000);
}
END_TEST

START_TEST(estimate_unlisted)
{
	struct estimate est;

	/* 2 SU/h x 3 CPUs x 60 min = 6 SU. */
	price_estimate(&cf, "bigmem", 3, 60, &est);
	ck_assert_str_eq(est.partition, "bigmem");
	ck_assert_int_eq(est.price, 2000000);
	ck_assert_int_eq(est.cents, 600);

	/* No partition asked at all: Slurm's default, priced as unlisted. */
	price_estimate(&cf, NULL, 3, 60, &est);
	ck_assert_str_eq(est.partition, "");
	ck_assert_int_eq(est.cents, 600);
	price_estimate(&cf, "", 3, 60, &est);
	ck_assert_int_eq(est.cents, 600);
}
END_TEST

START_TEST(actual_cost)
{
	/* 0.5 SU/h x 4 CPUs x 30 min = 1 SU. */
	ck_assert_int_eq(price_actual(&cf, "debug", 4, 1800), 100);
	/* 360 SU/h x 1 CPU x 3 s = 0.30 SU. */
	ck_assert_int_eq(price_actual(&cf, "normal", 1, 3), 30);
	ck_assert_int_eq(price_actual(&cf, "bigmem", 1, 3600), 200);
	ck_assert_int_eq(price_actual(&cf, NULL, 1, 3600), 200);
	ck_assert_int_eq(price_actual(&cf, "debug", 4, 0), 0);
}
END_TEST

/* A hand-built conf: price_* must not depend on conf_load. */
START_TEST(estimate_hand_conf)
{
	struct conf_price p[] = { { .partition = "a", .micro = 100 },
	    { .partition = "b", .micro = 300 },
	    { .partition = "c", .micro = 200 } };
	struct bank_conf hc = { .default_price = 0, .prices = p,
	    .nprices = 3, .default_time_limit = 60 };
	struct estimate est;

	price_estimate(&hc, "a,b,c", 1, 0, &est);
	ck_assert_str_eq(est.partition, "b");
	ck_assert_int_eq(est.price, 300);
	ck_assert_uint_eq(est.minutes, 60);
	ck_assert_int_eq(est.cents, 0);
	/* Equal prices: the first one named is reported. */
	p[2].micro = 300;
	price_estimate(&hc, "c,b", 1, 0, &est);
	ck_assert_str_eq(est.partition, "c");
}
END_TEST

static Suite *
money_suite(void)
{
	Suite *s = suite_create("money");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, parse_accepts);
	tcase_add_test(tc, parse_rejects);
	tcase_add_test(tc, parse_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_test(tc, format_cents);
	tcase_add_test(tc, format_price);
	suite_add_tcase(s, tc);

	tc = tcase_create("cost");
	tcase_add_test(tc, cost_rounding);
	tcase_add_test(tc, cost_zero);
	tcase_add_test(tc, cost_saturates);
	suite_add_tcase(s, tc);

	tc = tcase_create("infer");
	tcase_add_test(tc, infer_cpus);
	tcase_add_test(tc, infer_cpus_saturates);
	suite_add_tcase(s, tc);

	tc = tcase_create("estimate");
	tcase_add_checked_fixture(tc, prices_setup, prices_teardown);
	tcase_add_test(tc, estimate_dearest);
	tcase_add_test(tc, estimate_single);
	tcase_add_test(tc, estimate_default_limit);
	tcase_add_test(tc, estimate_unlisted);
	tcase_add_test(tc, actual_cost);
	tcase_add_test(tc, estimate_hand_conf);
	tcase_add_test(tc, infer_cpus_per_task_alone);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(money_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
