/*
 * check_sim.c: unit tests of the myBRC simulator's logic (simbank),
 * without HTTP.  Amounts are asserted to the cent.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sim_bank.h"

static const char *fixture =
    "{\"tokens\":[{\"key\":\"s\",\"staff\":true}],"
    "\"period\":{\"start\":\"2026-06-01T00:00:00Z\","
    "\"end\":\"2027-05-31T23:59:59Z\"},"
    "\"users\":[{\"uid\":47001,\"username\":\"alice\"},"
    "{\"uid\":47002,\"username\":\"bob\"},{\"uid\":47003,\"username\":\"eve\"}],"
    "\"accounts\":[{\"name\":\"fc_a\",\"allocation\":\"1000.00\","
    "\"usage\":\"990.00\"},{\"name\":\"pc_u\",\"allocation\":\"100.00\"},"
    "{\"name\":\"ic_off\",\"allocation\":\"5.00\",\"active\":false},"
    "{\"name\":\"dept\",\"allocation\":\"0.00\"}],"
    "\"memberships\":[{\"uid\":47001,\"account\":\"fc_a\","
    "\"allocation\":\"500.00\",\"usage\":\"0.00\"},"
    "{\"uid\":47001,\"account\":\"pc_u\",\"allocation\":\"10.00\","
    "\"usage\":\"8.00\"},{\"uid\":47002,\"account\":\"fc_a\"},"
    "{\"uid\":47001,\"account\":\"ic_off\",\"allocation\":\"1.00\"},"
    "{\"uid\":47001,\"account\":\"dept\",\"allocation\":\"0.00\"}]}";

static struct sim_bank *b;

static void
setup(void)
{
	json_t	*fx;
	char	 err[128];

	fx = json_loads(fixture, 0, NULL);
	ck_assert_ptr_nonnull(fx);
	b = sim_bank_new();
	ck_assert_int_eq(sim_bank_load_fixture(b, fx, err, sizeof(err)), 0);
	json_decref(fx);
}

static void
teardown(void)
{
	sim_bank_free(b);
}

static int64_t
acct(const char *name)
{
	int64_t	v = -1;

	ck_assert_int_eq(sim_account_usage(b, name, &v), 0);
	return v;
}

static int64_t
member(const char *name, long uid)
{
	int64_t	v = -1;

	ck_assert_int_eq(sim_member_usage(b, name, uid, &v), 0);
	return v;
}

/* Check status and "message"; frees the answer. */
static void
expect_submit(const char *cost, const char *uid, const char *a, int status,
    int ok, const char *msg)
{
	struct sim_resp	r = sim_can_submit(b, cost, uid, a);

	ck_assert_int_eq(r.status, status);
	ck_assert_ptr_nonnull(r.body);
	ck_assert_int_eq(json_is_true(json_object_get(r.body, "success")), ok);
	ck_assert_str_eq(json_string_value(json_object_get(r.body, "message")),
	    msg);
	sim_resp_clear(&r);
}

/* Run a POST or PUT of a JSON text; returns the status. */
static int
send_job(const char *put_id, const char *text, const char *errfield,
    const char *errmsg)
{
	struct sim_resp	 r;
	json_t		*body = json_loads(text, 0, NULL);
	int		 status;

	ck_assert_ptr_nonnull(body);
	r = put_id ? sim_jobs_put(b, put_id, body) : sim_jobs_post(b, body);
	json_decref(body);
	status = r.status;
	if (errfield != NULL) {
		ck_assert_ptr_nonnull(r.body);
		ck_assert_str_eq(json_string_value(json_array_get(
		    json_object_get(r.body, errfield), 0)), errmsg);
	}
	sim_resp_clear(&r);
	return status;
}

#define JOB(id, amt, dates) "{\"jobslurmid\":\"" id "\",\"userid\":\"47001\"," \
	"\"accountid\":\"fc_a\",\"amount\":\"" amt "\"" dates "}"
#define D_START ",\"submitdate\":\"2026-11-26T00:18:20Z\"," \
	"\"startdate\":\"2026-11-26T00:18:30Z\""
#define D_END D_START ",\"enddate\":\"2026-11-26T01:00:00Z\""

START_TEST(submit_ok)
{
	expect_submit("10.00", "47001", "fc_a", 200, 1,
	    "A job with job_cost 10.00 can be submitted.");
}
END_TEST

START_TEST(submit_limits)
{
	expect_submit("12.00", "47001", "fc_a", 200, 0, "Adding job_cost 12.00 "
	    "to account balance 990.00 would exceed account allocation 1000.00.");
	expect_submit("5.00", "47001", "pc_u", 200, 0, "Adding job_cost 5.00 "
	    "to user balance 8.00 would exceed user allocation 10.00.");
	expect_submit("2.00", "47001", "pc_u", 200, 1,
	    "A job with job_cost 2.00 can be submitted.");
}
END_TEST

START_TEST(submit_errors)
{
	struct sim_resp	r;

	expect_submit("1.234", "47001", "fc_a", 400, 0,
	    "job_cost 1.234 has greater than 2 decimal places.");
	expect_submit("-1", "47001", "fc_a", 400, 0,
	    "job_cost -1 is not nonnegative.");
	expect_submit("123456789012", "47001", "fc_a", 400, 0,
	    "job_cost 123456789012 has greater than 11 digits.");
	expect_submit("1", "9999", "fc_a", 400, 0,
	    "No user exists with user_id 9999.");
	expect_submit("1", "47001", "fc_zz", 400, 0,
	    "No account exists with account_id fc_zz.");
	expect_submit("1", "47003", "fc_a", 200, 0,
	    "User eve is not a member of account fc_a.");
	expect_submit("1", "47002", "fc_a", 200, 0, "User bob is not an active "
	    "member of the compute allocation for account fc_a.");
	expect_submit("1", "47001", "ic_off", 200, 0,
	    "Account ic_off has no active compute allocation.");
	r = sim_can_submit(b, "abc", "47001", "fc_a");
	ck_assert_int_eq(r.status, 400);
	sim_resp_clear(&r);
	r = sim_can_submit(b, "1e3", "47001", "fc_a");
	ck_assert_int_eq(r.status, 400);
	sim_resp_clear(&r);
	r = sim_can_submit(b, "NaN", "47001", "fc_a");
	ck_assert_int_eq(r.status, 500);
	ck_assert_int_eq(r.html, 1);
	sim_resp_clear(&r);
}
END_TEST

START_TEST(submit_no_prefix)
{
	expect_submit("99999.99", "47003", "dept", 200, 1,
	    "A job with job_cost 99999.99 can be submitted.");
}
END_TEST

START_TEST(post_charges_with_dates)
{
	ck_assert_int_eq(send_job(NULL, JOB("1", "30.00", D_START), NULL,
	    NULL), 201);
	ck_assert_int_eq(acct("fc_a"), 102000);
	ck_assert_int_eq(member("fc_a", 47001), 3000);
	/* No dates: stored, not charged. */
	ck_assert_int_eq(send_job(NULL, JOB("2", "30.00", ""), NULL, NULL),
	    201);
	/* Started before the period: not charged either. */
	ck_assert_int_eq(send_job(NULL, JOB("3", "7.00",
	    ",\"submitdate\":\"2026-05-01T00:00:00Z\","
	    "\"startdate\":\"2026-05-01T00:00:00Z\""), NULL, NULL), 201);
	ck_assert_int_eq(acct("fc_a"), 102000);
	ck_assert_int_eq(member("fc_a", 47001), 3000);
}
END_TEST

START_TEST(post_duplicate)
{
	ck_assert_int_eq(send_job(NULL, JOB("1", "30.00", D_START), NULL,
	    NULL), 201);
	ck_assert_int_eq(send_job(NULL, JOB("1", "30.00", D_START),
	    "jobslurmid", "job with this jobslurmid already exists."), 400);
	ck_assert_int_eq(acct("fc_a"), 102000);
	ck_assert_int_eq(member("fc_a", 47001), 3000);
}
END_TEST

START_TEST(post_validation)
{
	ck_assert_int_eq(send_job(NULL, "{\"jobslurmid\":\"9\",\"userid\":"
	    "\"9999\",\"accountid\":\"fc_a\"}", "userid",
	    "UserProfile for cluster_uid 9999 does not exist."), 400);
	ck_assert_int_eq(send_job(NULL, "{\"jobslurmid\":\"9\",\"userid\":"
	    "\"47003\",\"accountid\":\"fc_a\"}", "non_field_errors",
	    "User eve is not a member of account fc_a."), 400);
	ck_assert_int_eq(send_job(NULL, JOB("9", "1.234", D_START), "amount",
	    "Ensure that there are no more than 2 decimal places."), 400);
	ck_assert_int_eq(send_job(NULL, "{\"userid\":\"47001\",\"accountid\":"
	    "\"fc_a\"}", "jobslurmid", "This field is required."), 400);
	ck_assert_int_eq(send_job(NULL, JOB("9", "1.00",
	    ",\"submitdate\":\"2026-11-26T00:18:20Z\","
	    "\"startdate\":\"2026-11-25T00:18:30Z\""), NULL, NULL), 400);
	ck_assert_int_eq(send_job(NULL, JOB("9", "NaN", D_START), NULL, NULL),
	    500);
	ck_assert_int_eq(acct("fc_a"), 99000);
}
END_TEST

START_TEST(put_create_once)
{
	ck_assert_int_eq(send_job("5", JOB("5", "12.34", D_END), NULL, NULL),
	    200);
	ck_assert_int_eq(send_job("5", JOB("5", "12.34", D_END), NULL, NULL),
	    200);
	ck_assert_int_eq(acct("fc_a"), 100234);
	ck_assert_int_eq(member("fc_a", 47001), 1234);
}
END_TEST

START_TEST(put_adjusts)
{
	ck_assert_int_eq(send_job(NULL, JOB("6", "30.00", D_START), NULL,
	    NULL), 201);
	ck_assert_int_eq(send_job("6", JOB("6", "12.50", D_END), NULL, NULL),
	    200);
	ck_assert_int_eq(acct("fc_a"), 100250);
	ck_assert_int_eq(member("fc_a", 47001), 1250);
	ck_assert_int_eq(send_job("6", JOB("6", "20.01", D_END), NULL, NULL),
	    200);
	ck_assert_int_eq(member("fc_a", 47001), 2001);
}
END_TEST

START_TEST(put_clamps)
{
	/* Stored 400.00 without dates (uncharged); the PUT's -390 clamps. */
	ck_assert_int_eq(send_job(NULL, JOB("7", "400.00", ""), NULL, NULL),
	    201);
	ck_assert_int_eq(send_job("7", JOB("7", "10.00", D_END), NULL, NULL),
	    200);
	ck_assert_int_eq(acct("fc_a"), 60000);
	ck_assert_int_eq(member("fc_a", 47001), 0);
}
END_TEST

START_TEST(put_without_end)
{
	struct sim_resp	r;

	ck_assert_int_eq(send_job(NULL, JOB("8", "30.00", D_START), NULL,
	    NULL), 201);
	ck_assert_int_eq(send_job("8", JOB("8", "5.00", D_START), NULL, NULL),
	    200);
	ck_assert_int_eq(acct("fc_a"), 102000);
	ck_assert_int_eq(member("fc_a", 47001), 3000);
	r = sim_jobs_get(b, "8");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(r.body, "amount")),
	    "5.00");
	sim_resp_clear(&r);
}
END_TEST

START_TEST(put_mismatch)
{
	ck_assert_int_eq(send_job(NULL, JOB("9", "1.00", D_START), NULL, NULL),
	    201);
	ck_assert_int_eq(send_job("9", "{\"jobslurmid\":\"9\",\"userid\":"
	    "\"47001\",\"accountid\":\"pc_u\",\"amount\":\"1.00\"" D_END "}",
	    "non_field_errors", "The account does not match the Job's account."),
	    400);
	ck_assert_int_eq(send_job("9", JOB("9", "1.234", D_END), "amount",
	    "Ensure that there are no more than 2 decimal places."), 400);
	ck_assert_int_eq(acct("fc_a"), 99100);
}
END_TEST

START_TEST(money_parse)
{
	int64_t	c;

	ck_assert_int_eq(sim_money_cents("0.1", &c), 0);
	ck_assert_int_eq(c, 10);
	ck_assert_int_eq(sim_money_cents("999999999.99", &c), 0);
	ck_assert_int_eq(c, 99999999999LL);
	ck_assert_int_eq(sim_money_cents("1.001", &c), -1);
	ck_assert_int_eq(sim_money_cents("1e2", &c), -1);
	ck_assert_int_eq(sim_money_cents("-1", &c), -1);
	ck_assert_int_eq(sim_money_cents("inf", &c), -1);
	ck_assert_int_eq(sim_money_cents("", &c), -1);
}
END_TEST

static Suite *
sim_suite(void)
{
	Suite	*s = suite_create("sim");
	TCase	*tc = tcase_create("bank");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, submit_ok);
	tcase_add_test(tc, submit_limits);
	tcase_add_test(tc, submit_errors);
	tcase_add_test(tc, submit_no_prefix);
	tcase_add_test(tc, post_charges_with_dates);
	tcase_add_test(tc, post_duplicate);
	tcase_add_test(tc, post_validation);
	tcase_add_test(tc, put_create_once);
	tcase_add_test(tc, put_adjusts);
	tcase_add_test(tc, put_clamps);
	tcase_add_test(tc, put_without_end);
	tcase_add_test(tc, put_mismatch);
	tcase_add_test(tc, money_parse);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(sim_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
