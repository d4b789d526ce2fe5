/*
 * check_cache.c: unit tests of what bankd learns from can_submit_job
 * (bankd/cache.c): what a pass and a failure teach, how they contradict,
 * the exact room a refusal that names a balance gives (decoded by
 * answer.c, learned as check.c learns it), delivered usage shifting the
 * thresholds, ages, membership, and the account's limit (uid -1) apart
 * from each user's.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "cache.h"

#define T0	1000000		/* a time, in seconds */
#define ACCOUNT	CACHE_ACCOUNT
#define NOW	UINT64_MAX	/* a report sent after every answer */

static enum cache_verdict
judge(struct cache *c, const char *account, long uid, int64_t cost,
    time_t now, long max_age)
{
	const char *msg = NULL;

	return cache_judge(c, account, uid, cost, now, max_age, &msg);
}

/* What checklearn.c's learn_room() does with a refusal that names a balance. */
static void
learn_room(struct cache *c, const char *account, long uid, int64_t room,
    const char *msg, time_t now)
{
	cache_learn(c, account, uid, room + 1, 0, msg, now);
	cache_learn(c, account, uid, room, 1, msg, now);
}

START_TEST(test_pass_and_fail_teach)
{
	struct cache *c = cache_new();
	const char *msg = NULL;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 1, T0, -1), CACHE_UNKNOWN);
	ck_assert_int_eq(cache_knows(c, "fc_a", ACCOUNT), 0);
	/* A pass at 10.00: anything up to it passes, nothing is known above. */
	cache_learn(c, "fc_a", ACCOUNT, 1000, 1, "can be submitted", T0);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 1000, T0, -1), CACHE_PASS);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 0, T0, -1), CACHE_PASS);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 1001, T0, -1),
	    CACHE_UNKNOWN);
	ck_assert_int_eq(cache_knows(c, "fc_a", ACCOUNT), 1);
	/* A failure at 50.00: it and anything above fail, with its words. */
	cache_learn(c, "fc_a", ACCOUNT, 5000, 0, "would exceed", T0);
	ck_assert_int_eq(cache_judge(c, "fc_a", ACCOUNT, 5000, T0, -1, &msg),
	    CACHE_FAIL);
	ck_assert_str_eq(msg, "would exceed");
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 900000, T0, -1), CACHE_FAIL);
	/* Between the two nothing is known; below the pass still passes. */
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 4999, T0, -1),
	    CACHE_UNKNOWN);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 1000, T0, -1), CACHE_PASS);
	/* Neither the room (a gap of 40.00) nor other limits are known. */
	ck_assert_int_eq(cache_room(c, "fc_a", ACCOUNT), -1);
	ck_assert_int_eq(judge(c, "fc_a", 7, 1, T0, -1), CACHE_UNKNOWN);
	ck_assert_int_eq(judge(c, "fc_b", ACCOUNT, 1, T0, -1), CACHE_UNKNOWN);
	ck_assert_uint_eq(cache_entries(c), 1);
	cache_free(c);
}
END_TEST

START_TEST(test_thresholds_contradicted)
{
	struct cache *c = cache_new();

	/* A pass at or above the known failure: the failure was stale. */
	cache_learn(c, "fc_a", ACCOUNT, 500, 0, "no", T0);
	cache_learn(c, "fc_a", ACCOUNT, 600, 1, "yes", T0 + 1);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 600, T0 + 1, -1),
	    CACHE_PASS);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 700, T0 + 1, -1),
	    CACHE_UNKNOWN);
	/* A failure at or below the known pass: the pass was stale. */
	cache_learn(c, "fc_a", ACCOUNT, 400, 0, "no", T0 + 2);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 400, T0 + 2, -1),
	    CACHE_FAIL);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 399, T0 + 2, -1),
	    CACHE_UNKNOWN);
	/* The same second: a smaller pass adds nothing to a larger one. */
	cache_learn(c, "fc_a", ACCOUNT, 300, 1, "yes", T0 + 3);
	cache_learn(c, "fc_a", ACCOUNT, 100, 1, "yes", T0 + 3);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 300, T0 + 3, -1),
	    CACHE_PASS);
	/* A later second: fresh news replaces old news, even if smaller. */
	cache_learn(c, "fc_a", ACCOUNT, 100, 1, "yes", T0 + 4);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 100, T0 + 4, -1),
	    CACHE_PASS);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 101, T0 + 4, -1),
	    CACHE_UNKNOWN);
	/* A failure replaces a failure, higher or lower. */
	cache_learn(c, "fc_a", ACCOUNT, 350, 0, "no", T0 + 5);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 349, T0 + 5, -1),
	    CACHE_UNKNOWN);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 350, T0 + 5, -1),
	    CACHE_FAIL);
	cache_free(c);
}
END_TEST

START_TEST(test_room_from_a_refusal)
{
	struct cache *c = cache_new();
	struct check_answer a;
	const char *acc = "{\"success\": false, \"message\": \"Adding job_cost "
	    "12.00 to account balance 990.00 would exceed account allocation "
	    "1000.00.\"}";
	const char *usr = "{\"success\": false, \"message\": \"Adding job_cost "
	    "5.00 to user balance 8.00 would exceed user allocation 10.00.\"}";

	answer_check(200, acc, strlen(acc), &a);
	ck_assert_int_eq(a.kind, ANSWER_REFUSED);
	ck_assert_int_eq(a.limit, LIMIT_ACCOUNT);
	ck_assert_int_eq(a.room, 1000);	/* 1000.00 - 990.00, in cents */
	learn_room(c, "fc_a", ACCOUNT, a.room, a.message, T0);
	ck_assert_int_eq(cache_room(c, "fc_a", ACCOUNT), 1000);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 1000, T0, -1), CACHE_PASS);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 1001, T0, -1), CACHE_FAIL);
	/* The user's limit is the user's: the account's room is apart. */
	answer_check(200, usr, strlen(usr), &a);
	ck_assert_int_eq(a.limit, LIMIT_USER);
	ck_assert_int_eq(a.room, 200);
	learn_room(c, "fc_a", 47001, a.room, a.message, T0);
	ck_assert_int_eq(cache_room(c, "fc_a", 47001), 200);
	ck_assert_int_eq(cache_room(c, "fc_a", ACCOUNT), 1000);
	ck_assert_int_eq(cache_room(c, "fc_a", 47002), -1);
	/* A room of nothing (the balance is past the allocation). */
	learn_room(c, "fc_z", ACCOUNT, 0, "past it", T0);
	ck_assert_int_eq(cache_room(c, "fc_z", ACCOUNT), 0);
	ck_assert_int_eq(judge(c, "fc_z", ACCOUNT, 1, T0, -1), CACHE_FAIL);
	ck_assert_int_eq(judge(c, "fc_z", ACCOUNT, 0, T0, -1), CACHE_PASS);
	/* A pass alone, or a gap, is no exact room. */
	cache_learn(c, "fc_p", ACCOUNT, 700, 1, "yes", T0);
	ck_assert_int_eq(cache_room(c, "fc_p", ACCOUNT), -1);
	cache_learn(c, "fc_p", ACCOUNT, 702, 0, "no", T0);
	ck_assert_int_eq(cache_room(c, "fc_p", ACCOUNT), -1);
	cache_learn(c, "fc_p", ACCOUNT, 701, 0, "no", T0);
	ck_assert_int_eq(cache_room(c, "fc_p", ACCOUNT), 700);
	ck_assert_int_eq(cache_room(c, "nobody", ACCOUNT), -1);
	cache_free(c);
}
END_TEST

START_TEST(test_charged_lowers_the_room)
{
	struct cache *c = cache_new();

	learn_room(c, "fc_a", ACCOUNT, 1000, "room", T0);
	learn_room(c, "fc_a", 7, 400, "user room", T0);
	learn_room(c, "fc_a", 8, 300, "user room", T0);
	/* Usage of user 7 delivered: the account's and 7's, not 8's. */
	cache_charged(c, "fc_a", 7, 250, NOW);
	ck_assert_int_eq(cache_room(c, "fc_a", ACCOUNT), 750);
	ck_assert_int_eq(cache_room(c, "fc_a", 7), 150);
	ck_assert_int_eq(cache_room(c, "fc_a", 8), 300);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 750, T0, -1), CACHE_PASS);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 751, T0, -1), CACHE_FAIL);
	/* The account's usage alone (uid -1): no user's limit moves. */
	cache_charged(c, "fc_a", ACCOUNT, 50, NOW);
	ck_assert_int_eq(cache_room(c, "fc_a", ACCOUNT), 700);
	ck_assert_int_eq(cache_room(c, "fc_a", 7), 150);
	/* A refund (a completion below its estimate) raises it again. */
	cache_charged(c, "fc_a", 7, -100, NOW);
	ck_assert_int_eq(cache_room(c, "fc_a", ACCOUNT), 800);
	ck_assert_int_eq(cache_room(c, "fc_a", 7), 250);
	/* Nothing charged, nothing moves. */
	cache_charged(c, "fc_a", 7, 0, NOW);
	ck_assert_int_eq(cache_room(c, "fc_a", 7), 250);
	/* Past the pass: no pass is known, and every cost fails. */
	cache_charged(c, "fc_a", 8, 5000, NOW);
	ck_assert_int_eq(cache_room(c, "fc_a", 8), -1);
	ck_assert_int_eq(judge(c, "fc_a", 8, 0, T0, -1), CACHE_FAIL);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 0, T0, -1), CACHE_FAIL);
	/* Another account's usage is not this one's. */
	cache_charged(c, "fc_b", 7, 100, NOW);
	ck_assert_int_eq(cache_room(c, "fc_a", 7), 250);
	cache_free(c);
}
END_TEST

/*
 * A report sent before an answer may be in it: its delta moves what that
 * answer taught only the safe way (what passes only down, what fails
 * only up).  tests/dst seed 35008: a completion below its estimate,
 * applied by the portal before a check's answer and confirmed after it,
 * was credited twice and the cache passed a cost the portal refused;
 * seed 8108: a credit not applied kept a refusal the portal would not.
 */
START_TEST(test_delta_sent_before_the_answer)
{
	struct cache *c = cache_new();
	uint64_t before, after;

	before = cache_tick(c);
	learn_room(c, "fc_a", ACCOUNT, 1000, "room", T0);
	after = cache_tick(c);
	ck_assert_uint_gt(after, before);
	/* A credit in doubt: the pass stays, the failure moves up. */
	cache_charged(c, "fc_a", ACCOUNT, -300, before);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 1000, T0, -1), CACHE_PASS);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 1001, T0, -1),
	    CACHE_UNKNOWN);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 1300, T0, -1),
	    CACHE_UNKNOWN);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 1301, T0, -1), CACHE_FAIL);
	/* Not known to the cent any more. */
	ck_assert_int_eq(cache_room(c, "fc_a", ACCOUNT), -1);
	/* A replayed report (0) is in doubt the same. */
	cache_charged(c, "fc_a", ACCOUNT, -300, 0);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 1001, T0, -1),
	    CACHE_UNKNOWN);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 1601, T0, -1), CACHE_FAIL);
	/* A charge in doubt: the pass moves down, the failure stays. */
	cache_charged(c, "fc_a", ACCOUNT, 200, before);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 800, T0, -1), CACHE_PASS);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 801, T0, -1),
	    CACHE_UNKNOWN);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 1600, T0, -1),
	    CACHE_UNKNOWN);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 1601, T0, -1), CACHE_FAIL);
	/* Sent after the answer: it cannot be in it; both move. */
	learn_room(c, "fc_a", ACCOUNT, 1000, "room", T0);
	after = cache_tick(c);
	cache_charged(c, "fc_a", ACCOUNT, -300, after);
	ck_assert_int_eq(cache_room(c, "fc_a", ACCOUNT), 1300);
	cache_charged(c, "fc_a", ACCOUNT, 100, after);
	ck_assert_int_eq(cache_room(c, "fc_a", ACCOUNT), 1200);
	/* A fresh answer: what was sent before it is again in doubt. */
	learn_room(c, "fc_a", ACCOUNT, 500, "room", T0);
	cache_charged(c, "fc_a", ACCOUNT, -300, after);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 500, T0, -1), CACHE_PASS);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 501, T0, -1),
	    CACHE_UNKNOWN);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 801, T0, -1), CACHE_FAIL);
	cache_free(c);
}
END_TEST

START_TEST(test_ages)
{
	struct cache *c = cache_new();

	cache_learn(c, "fc_a", ACCOUNT, 1000, 1, "yes", T0);
	cache_learn(c, "fc_a", ACCOUNT, 3000, 0, "no", T0 + 30);
	/* Each threshold ages from when it was learned. */
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 1000, T0 + 60, 60),
	    CACHE_PASS);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 1000, T0 + 61, 60),
	    CACHE_UNKNOWN);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 3000, T0 + 61, 60),
	    CACHE_FAIL);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 3000, T0 + 91, 60),
	    CACHE_UNKNOWN);
	/* max_age < 0 takes any age (what the room ask reads). */
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 1000, T0 + 86400, -1),
	    CACHE_PASS);
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 3000, T0 + 86400, -1),
	    CACHE_FAIL);
	/* Old knowledge is still knowledge: knows ignores ages. */
	ck_assert_int_eq(cache_knows(c, "fc_a", ACCOUNT), 1);
	cache_free(c);
}
END_TEST

START_TEST(test_knows)
{
	struct cache *c = cache_new();

	ck_assert_int_eq(cache_knows(c, "fc_a", ACCOUNT), 0);
	/* Membership alone says nothing of a limit. */
	cache_note_member(c, "fc_a", ACCOUNT, T0);
	ck_assert_int_eq(cache_knows(c, "fc_a", ACCOUNT), 0);
	cache_learn(c, "fc_a", ACCOUNT, 100, 0, "no", T0);
	ck_assert_int_eq(cache_knows(c, "fc_a", ACCOUNT), 1);
	ck_assert_int_eq(cache_knows(c, "fc_a", 7), 0);
	/* A pass charged away: no pass is known, the failure still is. */
	cache_learn(c, "fc_b", 7, 100, 1, "yes", T0);
	ck_assert_int_eq(cache_knows(c, "fc_b", 7), 1);
	cache_charged(c, "fc_b", 7, 200, NOW);
	ck_assert_int_eq(cache_knows(c, "fc_b", 7), 0);
	ck_assert_int_eq(judge(c, "fc_b", 7, 0, T0, -1), CACHE_UNKNOWN);
	cache_free(c);
}
END_TEST

START_TEST(test_membership)
{
	struct cache *c = cache_new();

	ck_assert_int_eq(cache_is_member(c, "fc_a", 7, T0, 60), 0);
	cache_note_member(c, "fc_a", 7, T0);
	ck_assert_int_eq(cache_is_member(c, "fc_a", 7, T0 + 60, 60), 1);
	ck_assert_int_eq(cache_is_member(c, "fc_a", 7, T0 + 61, 60), 0);
	/* Per (account, user): not another user's, not another account's. */
	ck_assert_int_eq(cache_is_member(c, "fc_a", 8, T0, 60), 0);
	ck_assert_int_eq(cache_is_member(c, "fc_b", 7, T0, 60), 0);
	ck_assert_int_eq(cache_is_member(c, "fc_a", ACCOUNT, T0, 60), 0);
	/* Noted again: it counts from then. */
	cache_note_member(c, "fc_a", 7, T0 + 100);
	ck_assert_int_eq(cache_is_member(c, "fc_a", 7, T0 + 150, 60), 1);
	/* Membership does not make a threshold, nor the other way round. */
	cache_learn(c, "fc_c", 9, 100, 1, "yes", T0);
	ck_assert_int_eq(cache_is_member(c, "fc_c", 9, T0, 60), 0);
	ck_assert_int_eq(judge(c, "fc_a", 7, 1, T0, -1), CACHE_UNKNOWN);
	ck_assert_uint_eq(cache_entries(c), 2);
	cache_free(c);
}
END_TEST

START_TEST(test_account_apart_from_users)
{
	struct cache *c = cache_new();
	char name[32];
	int i;

	cache_learn(c, "fc_a", ACCOUNT, 5000, 1, "yes", T0);
	cache_learn(c, "fc_a", 0, 100, 0, "no", T0);	/* root's, uid 0 */
	ck_assert_int_eq(judge(c, "fc_a", ACCOUNT, 100, T0, -1), CACHE_PASS);
	ck_assert_int_eq(judge(c, "fc_a", 0, 100, T0, -1), CACHE_FAIL);
	ck_assert_int_eq(judge(c, "fc_a", 1, 100, T0, -1), CACHE_UNKNOWN);
	/* Names that share a prefix are other accounts. */
	ck_assert_int_eq(judge(c, "fc_ab", ACCOUNT, 100, T0, -1),
	    CACHE_UNKNOWN);
	ck_assert_int_eq(judge(c, "fc_", ACCOUNT, 100, T0, -1), CACHE_UNKNOWN);
	ck_assert_uint_eq(cache_entries(c), 2);
	/* Many limits (the table grows): each keeps its own. */
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "pc_%d", i);
		cache_learn(c, name, i % 2 ? i : ACCOUNT, 100 + i, 1, "yes", T0);
	}
	ck_assert_uint_eq(cache_entries(c), 5002);
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "pc_%d", i);
		ck_assert_int_eq(judge(c, name, i % 2 ? i : ACCOUNT, 100 + i,
		    T0, -1), CACHE_PASS);
		ck_assert_int_eq(judge(c, name, i % 2 ? i : ACCOUNT, 101 + i,
		    T0, -1), CACHE_UNKNOWN);
		ck_assert_int_eq(judge(c, name, i % 2 ? ACCOUNT : 1, 1, T0,
		    -1), CACHE_UNKNOWN);
	}
	cache_free(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_pass_and_fail_teach);
	tcase_add_test(tc, test_thresholds_contradicted);
	tcase_add_test(tc, test_room_from_a_refusal);
	tcase_add_test(tc, test_charged_lowers_the_room);
	tcase_add_test(tc, test_delta_sent_before_the_answer);
	tcase_add_test(tc, test_ages);
	tcase_add_test(tc, test_knows);
	tcase_add_test(tc, test_membership);
	tcase_add_test(tc, test_account_apart_from_users);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
