/*
 * check_ledger.c: unit tests of what a delivered report changes
 * (bankd/ledger.c): the job's hold ends, and the cache's thresholds move
 * by exactly the usage the report added: a start its amount, a
 * completion after a delivered start only the difference, a completion
 * alone all of it.  holds.c is stood in for by a recorder.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bankd.h"
#include "cache.h"
#include "ledger.h"
#include "report.h"

/* holds.c's hold_delivered(), recorded. */
static struct {
	uint64_t	 token;
	uint32_t	 job;
} ended[8];
static int nended;

int64_t
hold_delivered(struct holds *h, uint64_t token, uint32_t job_id)
{
	(void)h;
	if (nended < 8) {
		ended[nended].token = token;
		ended[nended].job = job_id;
	}
	nended++;
	return 0;
}

static struct bankd bd;

static void
setup(void)
{
	memset(&bd, 0, sizeof(bd));
	nended = 0;
	bd.cache = cache_new();
	bd.ledger = ledger_new();
	bd.holds = (struct holds *)&bd;		/* the recorder ignores it */
	ck_assert_ptr_nonnull(bd.cache);
	ck_assert_ptr_nonnull(bd.ledger);
	/* The API passed 1000 and refused 2000, for the account and uid 5. */
	cache_learn(bd.cache, "acct", -1, 1000, 1, "ok", time(NULL));
	cache_learn(bd.cache, "acct", -1, 2000, 0, "no", time(NULL));
	cache_learn(bd.cache, "acct", 5, 1000, 1, "ok", time(NULL));
	cache_learn(bd.cache, "acct", 5, 2000, 0, "no", time(NULL));
}

static void
teardown(void)
{
	ledger_free(bd.ledger);
	cache_free(bd.cache);
}

static void
deliver(enum report_kind kind, uint32_t job, uint64_t hold, int64_t cents)
{
	struct report r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.job_id = job;
	r.uid = 5;
	r.hold = hold;
	r.cents = cents;
	/* Sent after every answer the cache learned (test_delta_in_doubt). */
	r.sent_tick = ledger_tick(&bd);
	strcpy(r.account, "acct");
	ledger_delivered(&bd, &r);
}

static enum cache_verdict
judge(long uid, int64_t cost)
{
	const char *msg;

	return cache_judge(bd.cache, "acct", uid, cost, time(NULL), -1, &msg);
}

/* The largest cost the limit is known to pass, by bisection of judge. */
static int64_t
passes_up_to(long uid)
{
	int64_t lo = 0, hi = 10000, mid;

	if (judge(uid, 0) != CACHE_PASS)
		return -1;
	while (lo < hi) {
		mid = lo + (hi - lo + 1) / 2;
		if (judge(uid, mid) == CACHE_PASS)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

START_TEST(test_start_then_end)
{
	deliver(REPORT_START, 42, 9, 300);
	ck_assert_int_eq(passes_up_to(-1), 700);
	ck_assert_int_eq(passes_up_to(5), 700);
	ck_assert_int_eq(judge(-1, 1700), CACHE_FAIL);
	ck_assert_int_eq(judge(-1, 1699), CACHE_UNKNOWN);
	/* The completion adds 500 - 300: the server applies new - stored. */
	deliver(REPORT_END, 42, 9, 500);
	ck_assert_int_eq(passes_up_to(-1), 500);
	ck_assert_int_eq(passes_up_to(5), 500);
	ck_assert_int_eq(judge(5, 1500), CACHE_FAIL);
	ck_assert_int_eq(judge(5, 1499), CACHE_UNKNOWN);
	/* Each delivery ended (its share of) the job's hold. */
	ck_assert_int_eq(nended, 2);
	ck_assert_uint_eq(ended[0].token, 9);
	ck_assert_uint_eq(ended[0].job, 42);
	ck_assert_uint_eq(ended[1].job, 42);
}
END_TEST

START_TEST(test_end_alone)
{
	/* No start was delivered (a short job): all of it is new usage. */
	deliver(REPORT_END, 43, 0, 400);
	ck_assert_int_eq(passes_up_to(-1), 600);
	ck_assert_int_eq(judge(-1, 1600), CACHE_FAIL);
	ck_assert_int_eq(nended, 1);
	ck_assert_uint_eq(ended[0].token, 0);
	ck_assert_uint_eq(ended[0].job, 43);
}
END_TEST

START_TEST(test_later_run_nets_what_the_portal_held)
{
	struct report r;

	/* Run 0: start 300, end 200 (the usage is 200). */
	deliver(REPORT_START, 44, 0, 300);
	deliver(REPORT_END, 44, 0, 200);
	ck_assert_int_eq(passes_up_to(-1), 800);
	/* Run 1's completion sends 500 (both runs): the PUT adds 300. */
	memset(&r, 0, sizeof(r));
	r.kind = REPORT_END;
	r.job_id = 44;
	r.uid = 5;
	r.cents = 500;
	r.held = 200;
	r.sent_tick = ledger_tick(&bd);
	strcpy(r.account, "acct");
	ledger_delivered(&bd, &r);
	ck_assert_int_eq(passes_up_to(-1), 500);
}
END_TEST

START_TEST(test_jobs_apart)
{
	/* Two jobs' starts are kept apart: each completion nets its own. */
	deliver(REPORT_START, 1, 0, 100);
	deliver(REPORT_START, 2, 0, 200);
	ck_assert_int_eq(passes_up_to(-1), 700);
	deliver(REPORT_END, 2, 0, 150);		/* ran shorter: -50 */
	ck_assert_int_eq(passes_up_to(-1), 750);
	deliver(REPORT_END, 1, 0, 100);		/* as estimated: 0 */
	ck_assert_int_eq(passes_up_to(-1), 750);
	/* Job 1's start is forgotten with its completion. */
	deliver(REPORT_END, 1, 0, 100);
	ck_assert_int_eq(passes_up_to(-1), 650);
}
END_TEST

/*
 * A completion below its start's estimate, sent before the API's next
 * answer: the portal may have applied it before answering, so the cache
 * does not credit it again (tests/dst seed 35008).  A report replayed
 * after a restart (tick 0) is the same.
 */
START_TEST(test_delta_in_doubt)
{
	struct report r;
	uint64_t sent;

	deliver(REPORT_START, 45, 0, 300);
	ck_assert_int_eq(passes_up_to(-1), 700);
	sent = ledger_tick(&bd);
	/* The API answers meanwhile: 700 passes (the PUT not yet applied). */
	cache_learn(bd.cache, "acct", -1, 700, 1, "ok", time(NULL));
	memset(&r, 0, sizeof(r));
	r.kind = REPORT_END;
	r.job_id = 45;
	r.uid = 5;
	r.cents = 100;
	r.sent_tick = sent;
	strcpy(r.account, "acct");
	ledger_delivered(&bd, &r);
	/* -200 is in doubt: 700 stays what is known to pass, not 900. */
	ck_assert_int_eq(passes_up_to(-1), 700);
	/* The user's limit learned nothing since: the credit is applied. */
	ck_assert_int_eq(passes_up_to(5), 900);
	/* Replayed (0): in doubt for every answer. */
	deliver(REPORT_START, 46, 0, 300);
	ck_assert_int_eq(passes_up_to(-1), 400);
	r.job_id = 46;
	r.sent_tick = 0;
	ledger_delivered(&bd, &r);
	ck_assert_int_eq(passes_up_to(-1), 400);
	ck_assert_int_eq(passes_up_to(5), 600);
	/* What fails: 2000, less both starts (300), plus both credits (200). */
	ck_assert_int_eq(judge(-1, 1800), CACHE_FAIL);
	ck_assert_int_eq(judge(-1, 1799), CACHE_UNKNOWN);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ledger");
	TCase *tc = tcase_create("delivered");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_start_then_end);
	tcase_add_test(tc, test_end_alone);
	tcase_add_test(tc, test_jobs_apart);
	tcase_add_test(tc, test_later_run_nets_what_the_portal_held);
	tcase_add_test(tc, test_delta_in_doubt);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
