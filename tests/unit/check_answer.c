/*
 * check_answer.c: unit tests of the API's answers as bankd decodes them
 * (bankd/answer.c): what can_submit_job says, and the partitions' prices.
 * The API can answer anything; what is not the server's form is unusable,
 * and every number in it is exact and bounded.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "answer.h"

static struct check_answer a;

static void
decode(long status, const char *body)
{
	answer_check(status, body, strlen(body), &a);
}

START_TEST(check_pass)
{
	decode(200, "{\"success\": true, \"message\": \"A job with job_cost "
	    "100.00 can be submitted.\"}");
	ck_assert_int_eq(a.kind, ANSWER_PASS);
	ck_assert_str_eq(a.message, "A job with job_cost 100.00 can be "
	    "submitted.");
}
END_TEST

START_TEST(check_refused_user_with_room)
{
	decode(200, "{\"success\": false, \"message\": \"Adding job_cost 5.00 "
	    "to user balance 8.00 would exceed user allocation 10.00.\"}");
	ck_assert_int_eq(a.kind, ANSWER_REFUSED);
	ck_assert_int_eq(a.limit, LIMIT_USER);
	ck_assert_int_eq(a.room, 200);
}
END_TEST

START_TEST(check_refused_account_already_past)
{
	decode(200, "{\"success\": false, \"message\": \"Adding job_cost 1.00 "
	    "to account balance 1200.50 would exceed account allocation "
	    "1000.00.\"}");
	ck_assert_int_eq(a.kind, ANSWER_REFUSED);
	ck_assert_int_eq(a.limit, LIMIT_ACCOUNT);
	ck_assert_int_eq(a.room, 0);
}
END_TEST

/* Not about money: the caller learns nothing of the account. */
START_TEST(check_refused_not_a_member)
{
	decode(200, "{\"success\": false, \"message\": \"User bankeve is not "
	    "a member of account fc_alpha.\"}");
	ck_assert_int_eq(a.kind, ANSWER_REFUSED);
	ck_assert_int_eq(a.limit, LIMIT_NONE);
	ck_assert_int_eq(a.room, -1);
}
END_TEST

START_TEST(check_unknown_user)
{
	decode(400, "{\"success\": false, \"message\": \"No user exists with "
	    "user_id 9999.\"}");
	ck_assert_int_eq(a.kind, ANSWER_UNKNOWN);
	ck_assert_str_eq(a.message, "No user exists with user_id 9999.");
}
END_TEST

/* What a proxy, a maintenance page or a broken server answers. */
START_TEST(check_unusable)
{
	decode(200, "<html><body>Maintenance</body></html>");
	ck_assert_int_eq(a.kind, ANSWER_UNUSABLE);
	decode(200, "{\"success\": \"yes\", \"message\": \"ok\"}");
	ck_assert_int_eq(a.kind, ANSWER_UNUSABLE);
	decode(200, "{\"success\": true}");
	ck_assert_int_eq(a.kind, ANSWER_UNUSABLE);
	decode(500, "{\"success\": false, \"message\": \"oops\"}");
	ck_assert_int_eq(a.kind, ANSWER_UNUSABLE);
	decode(200, "[true, \"message\"]");
	ck_assert_int_eq(a.kind, ANSWER_UNUSABLE);
	answer_check(200, "", 0, &a);
	ck_assert_int_eq(a.kind, ANSWER_UNUSABLE);
}
END_TEST

/* Figures past int64 or with too many places: no room learned. */
START_TEST(check_hostile_figures)
{
	decode(200, "{\"success\": false, \"message\": \"Adding job_cost 1 to "
	    "account balance 99999999999999999999999 would exceed account "
	    "allocation 1000.00.\"}");
	ck_assert_int_eq(a.limit, LIMIT_ACCOUNT);
	ck_assert_int_eq(a.room, -1);
	decode(200, "{\"success\": false, \"message\": \"Adding job_cost 1 to "
	    "account balance 1.001 would exceed account allocation "
	    "1000.00.\"}");
	ck_assert_int_eq(a.room, -1);
	decode(200, "{\"success\": false, \"message\": \"... would exceed "
	    "account allocation\"}");
	ck_assert_int_eq(a.room, -1);
}
END_TEST

/* The words reach sbatch's user and the log: no control characters. */
START_TEST(check_message_is_printable)
{
	char big[2048], body[2200];

	decode(200, "{\"success\": false, \"message\": \"a\\u001b[31mred"
	    "\\nline\\u0085\"}");
	ck_assert_str_eq(a.message, "a?[31mred?line?");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big + 254, "\xc3\xa9", 2);	/* an 'é' across the cut */
	snprintf(body, sizeof(body), "{\"success\": true, \"message\": "
	    "\"%s\"}", big);
	decode(200, body);
	ck_assert_int_eq(a.kind, ANSWER_PASS);
	ck_assert_uint_eq(strlen(a.message), 254);
}
END_TEST

static int
partition(const char *json, const char **name, int64_t *micro,
    const char **why)
{
	json_t *j = json_loads(json, 0, NULL);
	int rc;

	ck_assert_ptr_nonnull(j);
	rc = answer_partition(j, name, micro, why);
	if (rc == 0)
		ck_assert_ptr_nonnull(*name);
	/* name points into j: compared before it goes. */
	if (rc == 0 && strcmp(*name, "normal") != 0)
		rc = 2;
	json_decref(j);
	return rc;
}

START_TEST(partition_prices)
{
	const char *name, *why;
	int64_t micro;

	ck_assert_int_eq(partition("{\"name\": \"normal\", \"su_per_core_hour\":"
	    " \"1.50\"}", &name, &micro, &why), 0);
	ck_assert_int_eq(micro, 1500000);
	ck_assert_int_eq(partition("{\"name\": \"normal\", \"su_per_core_hour\":"
	    " 2}", &name, &micro, &why), 0);
	ck_assert_int_eq(micro, 2000000);
	/*
	 * Longer than 63 characters: it used to be cut to 63 first, which
	 * read this one as 0 (a free partition).
	 */
	ck_assert_int_eq(partition("{\"name\": \"normal\", \"su_per_core_hour\":"
	    " \"000000000000000000000000000000000000000000000000000000000000000"
	    "000001.5\"}", &name, &micro, &why), 0);
	ck_assert_int_eq(micro, 1500000);
}
END_TEST

START_TEST(partition_refused)
{
	static const char *const bad[] = {
		"{\"name\": \"normal\", \"su_per_core_hour\": -1}",
		"{\"name\": \"normal\", \"su_per_core_hour\": \"1e3\"}",
		"{\"name\": \"normal\", \"su_per_core_hour\": 1.5}",
		"{\"name\": \"normal\"}",
		"{\"su_per_core_hour\": \"1.00\"}",
		"{\"name\": \"\", \"su_per_core_hour\": \"1.00\"}",
		"{\"name\": \"a\\u001bb\", \"su_per_core_hour\": \"1.00\"}",
		"{\"name\": \"a,b\", \"su_per_core_hour\": \"1.00\"}",
		"{\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaa\", \"su_per_core_hour\": \"1.00\"}",
		"{\"name\": \"normal\", \"su_per_core_hour\": "
		    "\"99999999999999999999\"}",
	};
	const char *name, *why;
	int64_t micro;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(partition(bad[i], &name, &micro, &why) == -1,
		    "accepted %s", bad[i]);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("answer");
	TCase *tc = tcase_create("answer");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, check_pass);
	tcase_add_test(tc, check_refused_user_with_room);
	tcase_add_test(tc, check_refused_account_already_past);
	tcase_add_test(tc, check_refused_not_a_member);
	tcase_add_test(tc, check_unknown_user);
	tcase_add_test(tc, check_unusable);
	tcase_add_test(tc, check_hostile_figures);
	tcase_add_test(tc, check_message_is_printable);
	tcase_add_test(tc, partition_prices);
	tcase_add_test(tc, partition_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
