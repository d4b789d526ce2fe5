/*
 * check_money.c: unit tests of bankcore's exact money arithmetic and the
 * pricing rules (money.c, price.c).  Every amount is asserted exactly: a
 * cent off is a billing error.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bankproto.h"
#include "lim.h"
#include "conf.h"
#include "money.h"
#include "price.h"
#include "pricemsg.h"
#include "req.h"

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

/*
 * The daemon's own path: a CHECK's fields decoded (req_job) and priced
 * (pricemsg_estimate); a report's (price_usage).
 */
static void
estimate_cpus(const struct bank_conf *c, const char *parts, uint32_t cpus,
    uint32_t minutes, struct estimate *est)
{
	struct price_job j;
	struct bp_msg m;

	bp_init(&m, 2, 1);
	if (parts != NULL)
		ck_assert_int_eq(bp_add(&m, "partitions", parts), 0);
	ck_assert_int_eq(bp_add_u64(&m, "min_cpus", cpus), 0);
	ck_assert_int_eq(bp_add_u64(&m, "time_limit", minutes), 0);
	req_job(&m, &j);
	pricemsg_estimate(c, &j, est);
	bp_free(&m);
}

static int64_t
actual_cpus(const struct bank_conf *c, const char *part, uint32_t cpus,
    uint64_t seconds)
{
	struct bp_msg m;
	int64_t v;

	bp_init(&m, 5, 1);
	if (part != NULL)
		ck_assert_int_eq(bp_add(&m, "partition", part), 0);
	ck_assert_int_eq(bp_add_u64(&m, "cpus", cpus), 0);
	v = price_usage(c, &m, seconds);
	bp_free(&m);
	return v;
}

START_TEST(estimate_dearest)
{
	struct estimate est;

	/* 360 SU/h x 2 CPUs x 10 min = 120 SU. */
	estimate_cpus(&cf, "debug,normal", 2, 10, &est);
	ck_assert_str_eq(est.partition, "normal");
	ck_assert_int_eq(est.price, 360000000);
	ck_assert_uint_eq(est.cpus, 2);
	ck_assert_uint_eq(est.minutes, 10);
	ck_assert_int_eq(est.cents, 12000);

	/* The order the partitions are listed in must not matter. */
	estimate_cpus(&cf, "normal,debug", 2, 10, &est);
	ck_assert_str_eq(est.partition, "normal");
	ck_assert_int_eq(est.cents, 12000);

	/* An unlisted partition at the default (2) beats debug (0.5). */
	estimate_cpus(&cf, "debug,bigmem", 1, 60, &est);
	ck_assert_str_eq(est.partition, "bigmem");
	ck_assert_int_eq(est.price, 2000000);
	ck_assert_int_eq(est.cents, 200);
}
END_TEST

START_TEST(estimate_single)
{
	struct estimate est;

	/* 0.5 SU/h x 4 CPUs x 90 min = 3 SU. */
	estimate_cpus(&cf, "debug", 4, 90, &est);
	ck_assert_str_eq(est.partition, "debug");
	ck_assert_int_eq(est.price, 500000);
	ck_assert_int_eq(est.cents, 300);
}
END_TEST

START_TEST(estimate_default_limit)
{
	struct estimate est;

	/* No time limit known: default_time_limit (30 min) is used. */
	estimate_cpus(&cf, "normal", 1, 0, &est);
	ck_assert_uint_eq(est.minutes, 30);
	ck_assert_int_eq(est.cents, 18000);
}
END_TEST

START_TEST(estimate_unlisted)
{
	struct estimate est;

	/* 2 SU/h x 3 CPUs x 60 min = 6 SU. */
	estimate_cpus(&cf, "bigmem", 3, 60, &est);
	ck_assert_str_eq(est.partition, "bigmem");
	ck_assert_int_eq(est.price, 2000000);
	ck_assert_int_eq(est.cents, 600);

	/* No partition asked at all: Slurm's default, priced as unlisted. */
	estimate_cpus(&cf, NULL, 3, 60, &est);
	ck_assert_str_eq(est.partition, "");
	ck_assert_int_eq(est.cents, 600);
	estimate_cpus(&cf, "", 3, 60, &est);
	ck_assert_int_eq(est.cents, 600);
}
END_TEST

START_TEST(actual_cost)
{
	/* 0.5 SU/h x 4 CPUs x 30 min = 1 SU. */
	ck_assert_int_eq(actual_cpus(&cf, "debug", 4, 1800), 100);
	/* 360 SU/h x 1 CPU x 3 s = 0.30 SU. */
	ck_assert_int_eq(actual_cpus(&cf, "normal", 1, 3), 30);
	ck_assert_int_eq(actual_cpus(&cf, "bigmem", 1, 3600), 200);
	ck_assert_int_eq(actual_cpus(&cf, NULL, 1, 3600), 200);
	ck_assert_int_eq(actual_cpus(&cf, "debug", 4, 0), 0);
}
END_TEST

/* A hand-built conf: pricing must not depend on conf_load. */
START_TEST(estimate_hand_conf)
{
	struct conf_price p[] = { { .partition = "a", .micro = 100 },
	    { .partition = "b", .micro = 300 },
	    { .partition = "c", .micro = 200 } };
	struct bank_conf hc = { .default_price = 0, .prices = p,
	    .nprices = 3, .default_time_limit = 60 };
	struct estimate est;

	estimate_cpus(&hc, "a,b,c", 1, 0, &est);
	ck_assert_str_eq(est.partition, "b");
	ck_assert_int_eq(est.price, 300);
	ck_assert_uint_eq(est.minutes, 60);
	ck_assert_int_eq(est.cents, 0);
	/* Equal prices: the first one named is reported. */
	p[2].micro = 300;
	estimate_cpus(&hc, "c,b", 1, 0, &est);
	ck_assert_str_eq(est.partition, "c");
}
END_TEST


/* ---- pricing beyond CPUs: pricing.yaml -------------------------------- */
/*
 * default 1; qos normal 1, high 1.5, low 0.5; cpu: 2; gpu: cpu 1, gpu 4,
 * a100 8, mem_gb 0.10; big: cpu 1, billing max; bigmem: cpu 1, mem_gb 0.5,
 * billing max; default_time_limit 60.
 */
static struct bank_conf pc;

static void
pricing_setup(void)
{
	char err[512];

	ck_assert_msg(conf_load(CONF_DIR "/pricing.yaml", &pc, err,
	    sizeof(err)) == 0, "%s", err);
}

static void
pricing_teardown(void)
{
	conf_free(&pc);
}

/* A CHECK message from "key=value" pairs. */
static void
msg(struct bp_msg *m, const char *const *kv)
{
	bp_init(m, 2, 1);
	for (; kv[0] != NULL; kv += 2)
		ck_assert_int_eq(bp_add(m, kv[0], kv[1]), 0);
}

static int64_t
request(const char *const *kv, struct estimate *est)
{
	struct price_job j;
	struct bp_msg m;

	msg(&m, kv);
	req_job(&m, &j);
	pricemsg_estimate(&pc, &j, est);
	bp_free(&m);
	return est->cents;
}

static int64_t
usage(const char *const *kv, uint64_t seconds)
{
	struct bp_msg m;
	int64_t c;

	msg(&m, kv);
	c = price_usage(&pc, &m, seconds);
	bp_free(&m);
	return c;
}

START_TEST(conf_price_forms)
{
	const struct conf_price *g = conf_price_entry(&pc, "gpu");
	const struct conf_price *c = conf_price_entry(&pc, "cpu");

	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(g->micro, 1000000);
	ck_assert_int_eq(g->gpu, 4000000);
	ck_assert_int_eq(g->mem_gb, 100000);
	ck_assert_uint_eq(g->ngpu_types, 1);
	ck_assert_str_eq(g->gpu_types[0].type, "a100");
	ck_assert_int_eq(g->gpu_types[0].micro, 8000000);
	ck_assert_int_eq(g->billing_max, -1);
	/* The bare number is still the CPU price. */
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->micro, 2000000);
	ck_assert_int_eq(c->gpu, 0);
	ck_assert_int_eq(conf_price_entry(&pc, "bigmem")->billing_max, 1);
	ck_assert_ptr_null(conf_price_entry(&pc, "nope"));
	ck_assert_int_eq(conf_qos_multiplier(&pc, "high"), 1500000);
	ck_assert_int_eq(conf_qos_multiplier(&pc, "low"), 500000);
	ck_assert_int_eq(conf_qos_multiplier(&pc, "other"), 1000000);
	ck_assert_int_eq(conf_qos_multiplier(&pc, NULL), 1000000);
	ck_assert_int_eq(pc.billing, BILLING_SUM);
	ck_assert_int_eq(pc.prices_from_api, 0);
	ck_assert_int_eq(pc.prices_refresh_s, 300);
}
END_TEST

START_TEST(qos_multiplier)
{
	struct estimate est;
	const char *high[] = { "partitions", "cpu", "num_tasks", "4",
	    "time_limit", "90", "qos", "high", NULL };
	const char *low[] = { "partitions", "cpu", "num_tasks", "4",
	    "time_limit", "90", "qos", "low", NULL };
	const char *other[] = { "partitions", "cpu", "num_tasks", "4",
	    "time_limit", "90", "qos", "scavenger", NULL };

	/* 2 SU x 4 CPUs x 1.5 h = 12 SU; x 1.5 = 18.00; x 0.5 = 6.00 */
	ck_assert_int_eq(request(high, &est), 1800);
	ck_assert_int_eq(est.qos_micro, 1500000);
	ck_assert_int_eq(request(low, &est), 600);
	ck_assert_int_eq(request(other, &est), 1200);
}
END_TEST

/* The multiplier applies before the one rounding, not after. */
START_TEST(qos_rounds_once)
{
	const char *a[] = { "partition", "cpu", "cpus", "1", "qos", "high",
	    NULL };
	const char *b[] = { "partition", "cpu", "cpus", "1", "qos", "low",
	    NULL };

	/* 2 SU x 42 s = 2.333.. cents; x 1.5 = 3.5 -> 4 (not 2 x 1.5 = 3) */
	ck_assert_int_eq(usage(a, 42), 4);
	/* 2 SU x 18 s = 1 cent; x 0.5 = 0.5 -> 1 (half-up) */
	ck_assert_int_eq(usage(b, 18), 1);
	/* 2 SU x 3 s x 1.5 = 0.25 cent -> 0; nothing for no time */
	ck_assert_int_eq(usage(a, 3), 0);
	ck_assert_int_eq(usage(a, 0), 0);
}
END_TEST

/*
 * Slurm's UsageFactor (END's usage_factor, x 1e6, under slurmdbd) is the
 * charge's multiplier: it replaces bank.yaml's for the QoS, 0 is free.
 */
START_TEST(usage_factor_charges)
{
	const char *plain[] = { "partition", "cpu", "cpus", "4", "qos",
	    "double", NULL };
	const char *dbl[] = { "partition", "cpu", "cpus", "4", "qos",
	    "double", "usage_factor", "2000000", NULL };
	const char *high[] = { "partition", "cpu", "cpus", "4", "qos", "high",
	    "usage_factor", "1000000", NULL };
	const char *third[] = { "partition", "cpu", "cpus", "1", "qos", "x",
	    "usage_factor", "333333", NULL };
	const char *zero[] = { "partition", "cpu", "cpus", "4", "qos", "x",
	    "usage_factor", "0", NULL };

	/* 2 SU x 4 CPUs x 90 s = 20 cents; x 2 = 40 */
	ck_assert_int_eq(usage(plain, 90), 20);
	ck_assert_int_eq(usage(dbl, 90), 40);
	/* bank.yaml says high is x1.5; Slurm's factor 1 wins for the charge */
	ck_assert_int_eq(usage(high, 90), 20);
	/* 2 SU x 1 h x 0.333333 = 66.6666 cents -> 67: one rounding */
	ck_assert_int_eq(usage(third, 3600), 67);
	ck_assert_int_eq(usage(zero, 3600), 0);
}
END_TEST

START_TEST(gpu_prices)
{
	struct estimate est;
	const char *any[] = { "partitions", "gpu", "num_tasks", "2",
	    "tres_per_node", "gres:gpu:2", "time_limit", "60", NULL };
	const char *a100[] = { "partitions", "gpu", "num_tasks", "2",
	    "tres_per_node", "gres/gpu:a100:2", "time_limit", "60", NULL };
	const char *v100[] = { "partitions", "gpu", "num_tasks", "2",
	    "tres_per_node", "gres:gpu:v100:2", "time_limit", "60", NULL };
	const char *job[] = { "partitions", "gpu", "min_nodes", "2",
	    "tres_per_job", "gres:gpu:3", "time_limit", "30", "qos", "high",
	    NULL };
	const char *node2[] = { "partitions", "gpu", "min_nodes", "2",
	    "tres_per_node", "gres:gpu:a100:1", "time_limit", "60", NULL };
	const char *task[] = { "partitions", "gpu", "num_tasks", "3",
	    "tres_per_task", "gres:gpu:1", "time_limit", "60", NULL };

	/* 2 CPUs x 1 + 2 GPUs x 4 = 10 SU/h */
	ck_assert_int_eq(request(any, &est), 1000);
	ck_assert_uint_eq(est.gpus, 2);
	/* 2 x 1 + 2 x 8 (a100) = 18 */
	ck_assert_int_eq(request(a100, &est), 1800);
	/* a type without its own price costs the GPU price */
	ck_assert_int_eq(request(v100, &est), 1000);
	/* --gpus=3 on 2 nodes (2 CPUs), 30 min, QoS 1.5: (2 + 12) / 2 x 1.5 */
	ck_assert_int_eq(request(job, &est), 1050);
	/* per node x 2 nodes: 2 CPUs + 2 a100 = 18 */
	ck_assert_int_eq(request(node2, &est), 1800);
	/* per task x 3 tasks: 3 + 12 = 15 */
	ck_assert_int_eq(request(task, &est), 1500);
}
END_TEST

START_TEST(gpu_dearest_partition)
{
	struct estimate est;
	const char *kv[] = { "partitions", "cpu,gpu", "tres_per_node",
	    "gres:gpu:1", "time_limit", "60", NULL };

	/* cpu: 2 SU (GPUs unpriced there); gpu: 1 + 4 = 5 SU */
	ck_assert_int_eq(request(kv, &est), 500);
	ck_assert_str_eq(est.partition, "gpu");
	ck_assert_int_eq(est.price, 1000000);
}
END_TEST

START_TEST(memory_sum)
{
	struct estimate est;
	const char *node[] = { "partitions", "gpu", "num_tasks", "2",
	    "mem_per_node", "10240", "time_limit", "60", NULL };
	const char *cpu[] = { "partitions", "gpu", "num_tasks", "2",
	    "mem_per_cpu", "1536", "time_limit", "60", NULL };
	const char *whole[] = { "partitions", "gpu", "mem_per_node", "0",
	    "part_info", "gpu:8:20480:0", "time_limit", "60", NULL };
	const char *none[] = { "partitions", "cpu", "mem_per_node", "10240",
	    "time_limit", "60", NULL };

	/* 2 CPUs x 1 + 10 GB x 0.10 = 3.00 */
	ck_assert_int_eq(request(node, &est), 300);
	ck_assert_uint_eq(est.mem_mb, 10240);
	/* 1536 MiB x 2 CPUs = 3 GB: 2 + 0.30 */
	ck_assert_int_eq(request(cpu, &est), 230);
	/* --mem=0: the whole node (20 GB): 1 + 2.00 */
	ck_assert_int_eq(request(whole, &est), 300);
	/* no memory price: memory is free */
	ck_assert_int_eq(request(none, &est), 200);
}
END_TEST

START_TEST(memory_share_max)
{
	struct estimate est;
	/* big: 4 CPUs and 8192 MiB per node: 2048 MiB per CPU */
	const char *three[] = { "partitions", "big", "mem_per_node", "6144",
	    "part_info", "big:4:8192:0", "time_limit", "60", NULL };
	const char *frac[] = { "partitions", "big", "mem_per_node", "5000",
	    "part_info", "big:4:8192:0", "time_limit", "60", NULL };
	const char *small[] = { "partitions", "big", "mem_per_node", "1024",
	    "part_info", "big:4:8192:0", "time_limit", "60", NULL };
	const char *unknown[] = { "partitions", "big", "mem_per_node", "6144",
	    "time_limit", "60", NULL };
	const char *gb[] = { "partitions", "bigmem", "num_tasks", "2",
	    "mem_per_node", "8192", "time_limit", "60", NULL };
	const char *gbsmall[] = { "partitions", "bigmem", "num_tasks", "2",
	    "mem_per_node", "2048", "time_limit", "60", NULL };

	/* 1 CPU, 6144 MiB = 3 CPUs' share: 3.00, billed as 3 */
	ck_assert_int_eq(request(three, &est), 300);
	ck_assert_uint_eq(est.billed_cpus, 3);
	ck_assert_int_eq(est.billing_max, 1);
	/* 5000 x 4 / 8192 = 2.44140625 CPUs: 244.140625 cents -> 2.44 */
	ck_assert_int_eq(request(frac, &est), 244);
	ck_assert_uint_eq(est.billed_cpus, 3);
	/* half a CPU's share: the CPU is larger */
	ck_assert_int_eq(request(small, &est), 100);
	ck_assert_int_eq(est.billing_max, 0);
	/* node size unknown: CPUs only */
	ck_assert_int_eq(request(unknown, &est), 100);
	/* max(2 CPUs x 1, 8 GB x 0.5) = 4.00; max(2, 1) = 2.00 */
	ck_assert_int_eq(request(gb, &est), 400);
	ck_assert_int_eq(request(gbsmall, &est), 200);
}
END_TEST

START_TEST(exclusive_whole_nodes)
{
	struct estimate est;
	const char *job[] = { "partitions", "cpu", "shared", "0",
	    "part_info", "cpu:8:16384:0", "time_limit", "60", NULL };
	const char *part[] = { "partitions", "cpu",
	    "part_info", "cpu:8:16384:1", "time_limit", "60", NULL };
	const char *two[] = { "partitions", "cpu", "min_cpus", "10",
	    "shared", "0", "part_info", "cpu:8:16384:0", "time_limit", "60",
	    NULL };
	const char *nodes[] = { "partitions", "cpu", "min_nodes", "3",
	    "part_info", "cpu:8:16384:1", "time_limit", "30", NULL };
	const char *shared[] = { "partitions", "cpu", "shared", "1",
	    "part_info", "cpu:8:16384:0", "time_limit", "60", NULL };
	const char *mem[] = { "partitions", "gpu", "shared", "0",
	    "part_info", "gpu:4:10240:0", "time_limit", "60", NULL };

	/* --exclusive: 8 CPUs x 2 SU = 16.00 */
	ck_assert_int_eq(request(job, &est), 1600);
	ck_assert_uint_eq(est.cpus, 8);
	/* OverSubscribe=EXCLUSIVE partition: the same */
	ck_assert_int_eq(request(part, &est), 1600);
	/* 10 CPUs need 2 whole nodes: 16 CPUs = 32.00 */
	ck_assert_int_eq(request(two, &est), 3200);
	ck_assert_uint_eq(est.cpus, 16);
	/* 3 nodes x 8 CPUs x 2 SU x 0.5 h = 24.00 */
	ck_assert_int_eq(request(nodes, &est), 2400);
	/* shared: 1 CPU = 2.00 */
	ck_assert_int_eq(request(shared, &est), 200);
	/* whole node's memory too: 4 CPUs x 1 + 10 GB x 0.10 = 5.00 */
	ck_assert_int_eq(request(mem, &est), 500);
}
END_TEST

START_TEST(array_tasks)
{
	struct estimate est;
	const char *kv[] = { "partitions", "cpu", "array_tasks", "10",
	    "time_limit", "60", NULL };
	const char *one[] = { "partitions", "cpu", "array_tasks", "1",
	    "time_limit", "60", NULL };

	ck_assert_int_eq(request(kv, &est), 2000);
	ck_assert_int_eq(est.task_cents, 200);
	ck_assert_uint_eq(est.tasks, 10);
	ck_assert_int_eq(request(one, &est), 200);
	ck_assert_uint_eq(price_array_tasks("0-9%2"), 10);
	ck_assert_uint_eq(price_array_tasks("1,3,5-7"), 5);
	ck_assert_uint_eq(price_array_tasks("0-15:4"), 4);
	ck_assert_uint_eq(price_array_tasks("7"), 1);
	ck_assert_uint_eq(price_array_tasks("0-4294967295"), UINT32_MAX);
	ck_assert_uint_eq(price_array_tasks("abc"), 0);
	ck_assert_uint_eq(price_array_tasks("5-1"), 0);
	ck_assert_uint_eq(price_array_tasks(NULL), 0);
}
END_TEST

START_TEST(parse_gpus)
{
	struct price_use u;

	memset(&u, 0, sizeof(u));
	price_parse_gpus("gres:gpu:2", 1, &u);
	ck_assert_uint_eq(u.ngpu, 1);
	ck_assert_str_eq(u.gpu[0].type, "");
	ck_assert_uint_eq(u.gpu[0].n, 2);

	memset(&u, 0, sizeof(u));
	price_parse_gpus("gres:gpu:a100:1,gres:mps:100", 3, &u);
	ck_assert_uint_eq(u.ngpu, 1);
	ck_assert_str_eq(u.gpu[0].type, "a100");
	ck_assert_uint_eq(u.gpu[0].n, 3);

	/* An allocation: the total, then each type within it. */
	memset(&u, 0, sizeof(u));
	price_parse_gpus("cpu=2,mem=1000M,node=1,billing=2,gres/gpu=3,"
	    "gres/gpu:a100=2", 1, &u);
	ck_assert_uint_eq(u.ngpu, 2);
	ck_assert_str_eq(u.gpu[0].type, "a100");
	ck_assert_uint_eq(u.gpu[0].n, 2);
	ck_assert_str_eq(u.gpu[1].type, "");
	ck_assert_uint_eq(u.gpu[1].n, 1);

	memset(&u, 0, sizeof(u));
	price_parse_gpus("gpu", 1, &u);
	price_parse_gpus("gres:gpu:a100", 1, &u);
	price_parse_gpus("gres/gpumem:100;gres:gpus:2", 1, &u);
	ck_assert_uint_eq(u.ngpu, 2);
	ck_assert_uint_eq(u.gpu[0].n, 1);
	ck_assert_str_eq(u.gpu[1].type, "a100");
	ck_assert_uint_eq(u.gpu[1].n, 1);
}
END_TEST

START_TEST(parse_mem)
{
	ck_assert_uint_eq(price_parse_mem("cpu=2,mem=1000M,node=1"), 1000);
	ck_assert_uint_eq(price_parse_mem("cpu=1,mem=2G"), 2048);
	ck_assert_uint_eq(price_parse_mem("mem=1.50G"), 1536);
	ck_assert_uint_eq(price_parse_mem("mem=1T"), 1048576);
	ck_assert_uint_eq(price_parse_mem("mem=512K"), 1);
	ck_assert_uint_eq(price_parse_mem("cpu=1,gpumem=5G"), 0);
	ck_assert_uint_eq(price_parse_mem("cpu=2"), 0);
	ck_assert_uint_eq(price_parse_mem(NULL), 0);
}
END_TEST

/*
 * Hostile TRES and array strings (a user's --gres, --gpus and --array
 * reach these inside slurmctld): counts saturate, nothing wraps.
 */
START_TEST(parse_gpus_saturates)
{
	struct price_use u;
	char big[256];

	/* typed counts that would wrap to 0 */
	memset(&u, 0, sizeof(u));
	price_parse_gpus("gres:gpu:a100:18446744073709551615,"
	    "gres:gpu:a100:1", 1, &u);
	ck_assert_uint_eq(u.ngpu, 1);
	ck_assert_uint_eq(u.gpu[0].n, UINT64_MAX);
	memset(&u, 0, sizeof(u));
	price_parse_gpus("gpu:a100:9223372036854775808;gpu:a100:"
	    "9223372036854775808", 1, &u);
	ck_assert_uint_eq(u.gpu[0].n, UINT64_MAX);
	/* untyped, and far more digits than fit */
	memset(&u, 0, sizeof(u));
	price_parse_gpus("gres:gpu:99999999999999999999999999999999", 1, &u);
	price_parse_gpus("gres:gpu:1", 1, &u);
	ck_assert_uint_eq(u.gpu[0].n, UINT64_MAX);
	/* an allocation whose typed sum wraps: the total is not revived */
	memset(&u, 0, sizeof(u));
	price_parse_gpus("gres/gpu=5,gres/gpu:a100=18446744073709551615,"
	    "gres/gpu:v100=2", 1, &u);
	ck_assert_uint_eq(u.ngpu, 2);
	ck_assert_str_eq(u.gpu[0].type, "a100");
	ck_assert_uint_eq(u.gpu[0].n, UINT64_MAX);
	ck_assert_str_eq(u.gpu[1].type, "v100");
	ck_assert_uint_eq(u.gpu[1].n, 2);
	/* the multiplier (nodes, tasks) saturates too */
	memset(&u, 0, sizeof(u));
	price_parse_gpus("gpu:4294967296", UINT64_C(4294967296), &u);
	ck_assert_uint_eq(u.gpu[0].n, UINT64_MAX);
	/* a long type name does not cut the count short */
	memset(&u, 0, sizeof(u));
	snprintf(big, sizeof(big), "gres:gpu:%0120d:1000", 0);
	price_parse_gpus(big, 1, &u);
	ck_assert_uint_eq(u.ngpu, 1);
	ck_assert_uint_eq(u.gpu[0].n, 1000);
	ck_assert_uint_eq(strlen(u.gpu[0].type), sizeof(u.gpu[0].type) - 1);
	/* and a long token of something else is still not a GPU */
	memset(&u, 0, sizeof(u));
	snprintf(big, sizeof(big), "gres:mps:%0200d,gpu:2", 7);
	price_parse_gpus(big, 1, &u);
	ck_assert_uint_eq(u.ngpu, 1);
	ck_assert_uint_eq(u.gpu[0].n, 2);
}
END_TEST

/* More types than slots: every GPU is still counted (as "any GPU"). */
START_TEST(parse_gpus_many_types)
{
	struct price_use u;
	uint64_t sum = 0;
	size_t i;

	memset(&u, 0, sizeof(u));
	price_parse_gpus("gpu:t1:1,gpu:t2:2,gpu:t3:3,gpu:t4:4,gpu:t5:5,"
	    "gpu:t6:6,gpu:t7:7,gpu:t8:8", 1, &u);
	price_parse_gpus("gpu:t9:9,gpu:t10:10", 1, &u);
	ck_assert_uint_le(u.ngpu, PRICE_MAX_GPU_TYPES);
	for (i = 0; i < u.ngpu; i++)
		sum += u.gpu[i].n;
	ck_assert_uint_eq(sum, 55);
	ck_assert_str_eq(u.gpu[0].type, "t1");
	ck_assert_uint_eq(u.gpu[0].n, 1);

	/* an allocation: total 100, ten types of 10 */
	memset(&u, 0, sizeof(u));
	price_parse_gpus("gres/gpu=100,gres/gpu:t1=10,gres/gpu:t2=10,"
	    "gres/gpu:t3=10,gres/gpu:t4=10,gres/gpu:t5=10,gres/gpu:t6=10,"
	    "gres/gpu:t7=10,gres/gpu:t8=10,gres/gpu:t9=10,gres/gpu:t10=10",
	    1, &u);
	for (sum = 0, i = 0; i < u.ngpu; i++)
		sum += u.gpu[i].n;
	ck_assert_uint_eq(sum, 100);
}
END_TEST

/* A wrapped GPU count must not make a job cheap. */
START_TEST(gpu_price_saturates)
{
	struct estimate est;
	const char *kv[] = { "partitions", "gpu", "num_tasks", "2",
	    "tres_per_task", "gres:gpu:a100:9223372036854775808",
	    "time_limit", "60", NULL };
	const char *wrap[] = { "partitions", "gpu", "tres_per_job",
	    "gres:gpu:a100:18446744073709551615,gres:gpu:a100:1",
	    "time_limit", "60", NULL };

	ck_assert_int_eq(request(kv, &est), INT64_MAX);
	ck_assert_uint_eq(est.gpus, UINT64_MAX);
	ck_assert_int_eq(request(wrap, &est), INT64_MAX);
	ck_assert_uint_eq(est.gpus, UINT64_MAX);
}
END_TEST

START_TEST(parse_mem_saturates)
{
	/* K rounds up without wrapping */
	ck_assert_uint_eq(price_parse_mem("mem=18446744073709551615K"),
	    UINT64_C(18014398509481984));
	ck_assert_uint_eq(price_parse_mem("mem=18446744073709550593K"),
	    UINT64_C(18014398509481984));
	ck_assert_uint_eq(price_parse_mem("mem=18446744073709550592K"),
	    UINT64_C(18014398509481983));
	ck_assert_uint_eq(price_parse_mem("mem=99999999999999999999999K"),
	    UINT64_C(18014398509481984));
	ck_assert_uint_eq(price_parse_mem("mem=1025K"), 2);
	ck_assert_uint_eq(price_parse_mem("mem=99999999999999999999999P"),
	    UINT64_MAX);
	ck_assert_uint_eq(price_parse_mem("mem=18446744073709551615.999999T"),
	    UINT64_MAX);
	ck_assert_uint_eq(price_parse_mem("mem=18446744073709551615"),
	    UINT64_MAX);
	ck_assert_uint_eq(price_parse_mem("mem="), 0);
	ck_assert_uint_eq(price_parse_mem("xmem=5G,mem=1G"), 1024);
}
END_TEST

START_TEST(array_tasks_bounded)
{
	char many[512];
	size_t o = 0;
	int i;

	/* Wrapped to 0 before ("not an array": priced as one task). */
	ck_assert_uint_eq(price_array_tasks("0-18446744073709551615"),
	    PRICE_ARRAY_HUGE);
	ck_assert_uint_eq(price_array_tasks("0-99999999999999999999999"),
	    PRICE_ARRAY_HUGE);
	ck_assert_uint_eq(price_array_tasks("1,0-18446744073709551615:1"),
	    PRICE_ARRAY_HUGE);
	/* Slurm's largest MaxArraySize: indices 0..4000000. */
	ck_assert_uint_eq(price_array_tasks("0-4000000"), LIM_ARRAY_TASKS);
	ck_assert_uint_eq(price_array_tasks("4000000"), 1);
	ck_assert_uint_eq(price_array_tasks("4000001"), PRICE_ARRAY_HUGE);
	ck_assert_uint_eq(price_array_tasks("0-4000001%5"), PRICE_ARRAY_HUGE);
	/* Repeated ranges: Slurm keeps a bitmap, so never more than max + 1 */
	for (i = 0; i < 20; i++)
		o += snprintf(many + o, sizeof(many) - o, "%s0-4000000",
		    i ? "," : "");
	ck_assert_uint_eq(price_array_tasks(many), LIM_ARRAY_TASKS);
	ck_assert_uint_eq(price_array_tasks("0-15:18446744073709551615"), 1);
	ck_assert_uint_eq(price_array_tasks("0-4000000:4000000"), 2);
	/* Still not arrays */
	ck_assert_uint_eq(price_array_tasks(""), 0);
	ck_assert_uint_eq(price_array_tasks("0-9:0"), 0);
	ck_assert_uint_eq(price_array_tasks("1,,2"), 0);
	ck_assert_uint_eq(price_array_tasks("-5"), 0);
	ck_assert_uint_eq(price_array_tasks("5-"), 0);
}
END_TEST

START_TEST(usage_end)
{
	const char *kv[] = { "partition", "gpu", "cpus", "2", "qos", "high",
	    "tres_alloc", "cpu=2,mem=2G,node=1,gres/gpu=1,gres/gpu:a100=1",
	    NULL };
	const char *share[] = { "partition", "big", "cpus", "1",
	    "tres_alloc", "cpu=1,mem=6G,node=1", "node_cpus", "4",
	    "node_mem_mb", "8192", NULL };
	const char *cpuonly[] = { "partition", "normal", "cpus", "3", NULL };

	/* (2 x 1 + 1 a100 x 8 + 2 GB x 0.10) x 0.5 h x 1.5 = 7.65 */
	ck_assert_int_eq(usage(kv, 1800), 765);
	/* 6 GB = 3 CPUs' share of a 4-CPU, 8 GB node: 3 SU/h x 1 h */
	ck_assert_int_eq(usage(share, 3600), 300);
	/* unlisted partition at the default (1): 3 CPUs x 20 min */
	ck_assert_int_eq(usage(cpuonly, 1200), 100);
}
END_TEST

START_TEST(usage_matches_money_cost)
{
	/* CPU-only: the same as money_cost(), the original rule. */
	static const uint64_t secs[] = { 1, 7, 42, 1799, 3600, 86399 };
	const char *kv[] = { "partition", "cpu", "cpus", "13", NULL };
	size_t i;

	for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
		ck_assert_int_eq(usage(kv, secs[i]),
		    money_cost(2000000, 13, secs[i]));
}
END_TEST

START_TEST(describe)
{
	struct estimate est;
	char buf[320];
	const char *kv[] = { "partitions", "gpu", "num_tasks", "2",
	    "tres_per_node", "gres:gpu:2", "time_limit", "90", "qos", "high",
	    "array_tasks", "3", NULL };

	request(kv, &est);
	price_describe(&est, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2 CPUs + 2 GPUs x 1h30m on gpu at 1 "
	    "SU/CPU-hour, QoS x1.5, 3 array tasks");
	/* 10 SU/h x 1.5 h x 1.5 = 22.50 a task */
	ck_assert_int_eq(est.task_cents, 2250);
	ck_assert_int_eq(est.cents, 6750);
}
END_TEST

START_TEST(conf_pricing_errors)
{
	static const struct { const char *file, *want; } t[] = {
		{ "bad-price-map-key.yaml", ":8: unknown setting 'gpus'" },
		{ "bad-price-map-nocpu.yaml", ":7: partition gpu: missing "
		    "'cpu'" },
		{ "bad-qos.yaml", ":6: multiplier of QoS high '-1.5': not a "
		    "non-negative decimal number" },
		{ "bad-billing.yaml", ":5: 'billing' must be sum or max" },
		{ "bad-gpu-type.yaml", ":9: price of gpu GPUs of type a100 "
		    "'8.0000001': too many decimal places" },
	};
	struct bank_conf bc;
	char err[512], path[512];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(path, sizeof(path), CONF_DIR "/%s", t[i].file);
		ck_assert_msg(conf_load(path, &bc, err, sizeof(err)) != 0,
		    "%s loaded", t[i].file);
		ck_assert_msg(strstr(err, t[i].want) != NULL, "%s: '%s' does "
		    "not say '%s'", t[i].file, err, t[i].want);
	}
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

	tc = tcase_create("pricing");
	tcase_add_checked_fixture(tc, pricing_setup, pricing_teardown);
	tcase_add_test(tc, conf_price_forms);
	tcase_add_test(tc, qos_multiplier);
	tcase_add_test(tc, qos_rounds_once);
	tcase_add_test(tc, usage_factor_charges);
	tcase_add_test(tc, gpu_prices);
	tcase_add_test(tc, gpu_dearest_partition);
	tcase_add_test(tc, memory_sum);
	tcase_add_test(tc, memory_share_max);
	tcase_add_test(tc, exclusive_whole_nodes);
	tcase_add_test(tc, array_tasks);
	tcase_add_test(tc, parse_gpus);
	tcase_add_test(tc, parse_mem);
	tcase_add_test(tc, parse_gpus_saturates);
	tcase_add_test(tc, parse_gpus_many_types);
	tcase_add_test(tc, gpu_price_saturates);
	tcase_add_test(tc, parse_mem_saturates);
	tcase_add_test(tc, array_tasks_bounded);
	tcase_add_test(tc, usage_end);
	tcase_add_test(tc, usage_matches_money_cost);
	tcase_add_test(tc, describe);
	tcase_add_test(tc, conf_pricing_errors);
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
