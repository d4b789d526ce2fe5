/*
 * check_req.c: unit tests of the request decoder (common/req.c): each
 * request type's fields as typed values, what "not given" decodes to
 * (a has_ flag, never a sentinel such as uid -1), defaults, and numbers
 * beyond their type saturating instead of wrapping.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bankproto.h"
#include "req.h"

/* A message of type `type` from "key", "value", ..., NULL. */
static void
msg(struct bp_msg *m, uint8_t type, const char *const *kv)
{
	bp_init(m, type, 7);
	for (; kv[0] != NULL; kv += 2)
		ck_assert_int_eq(bp_add(m, kv[0], kv[1]), 0);
}

START_TEST(test_check_given)
{
	static const char *const kv[] = {
		"uid", "1001", "account", "fc_x", "partitions", "a,b",
		"min_cpus", "4", "num_tasks", "8", "cpus_per_task", "2",
		"min_nodes", "3", "ntasks_per_node", "5", "pn_min_cpus", "6",
		"time_limit", "90", "array_tasks", "10", "shared", "0",
		"part_info", "a:32:1000:0", "mem_per_node", "0",
		"tres_per_node", "gres:gpu:2", "qos", "high", "dry_run", "1",
		"modify", "77", "array_task", "1", "hold", "123456789012",
		"cost", "2500", NULL,
	};
	struct bp_msg m;
	struct req r;
	const struct req_check *c = &r.u.check;

	msg(&m, BP_T_CHECK, kv);
	req_decode(&m, &r);
	ck_assert_uint_eq(r.type, BP_T_CHECK);
	ck_assert_uint_eq(r.id, 7);
	ck_assert(c->has_uid);
	ck_assert_uint_eq(c->uid, 1001);
	ck_assert_str_eq(c->account, "fc_x");
	ck_assert_str_eq(c->job.partitions, "a,b");
	ck_assert_uint_eq(c->job.shape.min_cpus, 4);
	ck_assert_uint_eq(c->job.shape.num_tasks, 8);
	ck_assert_uint_eq(c->job.shape.cpus_per_task, 2);
	ck_assert_uint_eq(c->job.shape.min_nodes, 3);
	ck_assert_uint_eq(c->job.shape.ntasks_per_node, 5);
	ck_assert_uint_eq(c->job.shape.pn_min_cpus, 6);
	ck_assert_uint_eq(c->job.time_limit, 90);
	ck_assert_uint_eq(c->job.array_tasks, 10);
	ck_assert(c->job.exclusive);
	ck_assert_str_eq(c->job.part_info, "a:32:1000:0");
	/* mem_per_node=0 is given: the whole node, not "no memory rule". */
	ck_assert(c->job.has_mem_per_node);
	ck_assert_uint_eq(c->job.mem_per_node, 0);
	ck_assert(!c->job.has_mem_per_cpu);
	ck_assert_str_eq(c->job.gres.per_node, "gres:gpu:2");
	ck_assert_ptr_null(c->job.gres.per_job);
	ck_assert_str_eq(c->job.qos, "high");
	ck_assert(c->dry_run);
	ck_assert_uint_eq(c->modify, 77);
	ck_assert(c->array_task);
	ck_assert_uint_eq(c->hold, 123456789012ULL);
	ck_assert(c->has_cost);
	ck_assert_int_eq(c->cost, 2500);
	bp_free(&m);
}
END_TEST

START_TEST(test_check_absent)
{
	static const char *const none[] = { NULL };
	static const char *const root[] = { "uid", "0", "shared", "1", NULL };
	struct bp_msg m;
	struct req r;
	const struct req_check *c = &r.u.check;

	msg(&m, BP_T_CHECK, none);
	req_decode(&m, &r);
	/* Not given: the caller's own uid, which check.c fills in. */
	ck_assert(!c->has_uid);
	ck_assert_str_eq(c->account, "");
	ck_assert_str_eq(c->job.partitions, "");
	ck_assert(!c->job.exclusive);
	ck_assert(!c->job.has_mem_per_cpu);
	ck_assert(!c->job.has_mem_per_node);
	ck_assert_ptr_null(c->job.qos);
	ck_assert_ptr_null(c->job.part_info);
	ck_assert(!c->dry_run);
	ck_assert_uint_eq(c->modify, 0);
	ck_assert(!c->has_cost);
	bp_free(&m);
	/* uid 0 is root's, given: not the same as no uid at all. */
	msg(&m, BP_T_CHECK, root);
	req_decode(&m, &r);
	ck_assert(c->has_uid);
	ck_assert_uint_eq(c->uid, 0);
	ck_assert(!c->job.exclusive);
	bp_free(&m);
}
END_TEST

/* Unchecked input (a test, a fuzzer) saturates; it never wraps. */
START_TEST(test_saturates)
{
	static const char *const kv[] = {
		"min_cpus", "99999999999", "time_limit", "x", "shared", "zero",
		"mem_per_cpu", "lots", NULL,
	};
	struct bp_msg m;
	struct price_job j;

	msg(&m, BP_T_ESTIMATE, kv);
	req_job(&m, &j);
	ck_assert_uint_eq(j.shape.min_cpus, UINT32_MAX);
	ck_assert_uint_eq(j.time_limit, 0);
	/* shared that is not a number is not --exclusive */
	ck_assert(!j.exclusive);
	/* Given decides the rule; a bad number counts 0 (as pricing did). */
	ck_assert(j.has_mem_per_cpu);
	ck_assert_uint_eq(j.mem_per_cpu, 0);
	bp_free(&m);
}
END_TEST

START_TEST(test_report)
{
	static const char *const start[] = { "job_id", "42", "cpus", "2",
	    "mem_mb", "0", "num_tasks", "0", "partition", "normal", NULL };
	static const char *const end[] = { "cpus", "5000000000", NULL };
	struct bp_msg m;
	struct req r;
	struct price_ran u;

	msg(&m, BP_T_START, start);
	req_decode(&m, &r);
	ck_assert_int_eq(r.u.report.kind, REPORT_START);
	ck_assert(r.u.report.has_job_id);
	ck_assert_uint_eq(r.u.report.job_id, 42);
	/* report.c builds the body from the message: it travels along. */
	ck_assert_ptr_eq(r.u.report.msg, &m);
	req_ran(&m, &u);
	ck_assert_str_eq(u.partition, "normal");
	ck_assert_uint_eq(u.cpus, 2);
	ck_assert(u.has_mem_mb);
	ck_assert_uint_eq(u.mem_mb, 0);
	ck_assert_uint_eq(u.num_nodes, 1);	/* not given: one node */
	ck_assert_uint_eq(u.num_tasks, 0);	/* given: 0 */
	bp_free(&m);
	msg(&m, BP_T_END, end);
	req_decode(&m, &r);
	ck_assert_int_eq(r.u.report.kind, REPORT_END);
	ck_assert(!r.u.report.has_job_id);
	req_ran(&m, &u);
	ck_assert_uint_eq(u.cpus, UINT32_MAX);
	ck_assert(!u.has_mem_mb);
	ck_assert_uint_eq(u.num_tasks, 1);
	ck_assert_ptr_null(u.partition);
	bp_free(&m);
}
END_TEST

START_TEST(test_admin)
{
	static const char *const none[] = { NULL };
	static const char *const page[] = { "offset", "10", "limit", "5",
	    "dead", "1", NULL };
	static const char *const holds[] = { "account", "", "uid", "0", NULL };
	static const char *const seq[] = { "seq", "9", NULL };
	struct bp_msg m;
	struct req r;

	msg(&m, BP_T_QUEUE, none);
	req_decode(&m, &r);
	ck_assert_uint_eq(r.u.queue.offset, 0);
	ck_assert_uint_eq(r.u.queue.limit, BP_QUEUE_PAGE);
	ck_assert(!r.u.queue.dead);
	bp_free(&m);
	msg(&m, BP_T_QUEUE, page);
	req_decode(&m, &r);
	ck_assert_uint_eq(r.u.queue.offset, 10);
	ck_assert_uint_eq(r.u.queue.limit, 5);
	ck_assert(r.u.queue.dead);
	bp_free(&m);
	msg(&m, BP_T_HOLDS, holds);
	req_decode(&m, &r);
	ck_assert_ptr_null(r.u.holds.account);	/* "": every account */
	ck_assert(r.u.holds.has_uid);
	ck_assert_uint_eq(r.u.holds.uid, 0);
	bp_free(&m);
	msg(&m, BP_T_HOLDS, none);
	req_decode(&m, &r);
	ck_assert(!r.u.holds.has_uid);
	bp_free(&m);
	msg(&m, BP_T_DROP, seq);
	req_decode(&m, &r);
	ck_assert_uint_eq(r.u.seq.seq, 9);
	bp_free(&m);
	msg(&m, BP_T_PRICES, page);
	req_decode(&m, &r);
	ck_assert_uint_eq(r.u.prices.offset, 10);
	bp_free(&m);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("req");
	TCase *tc = tcase_create("decode");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_check_given);
	tcase_add_test(tc, test_check_absent);
	tcase_add_test(tc, test_saturates);
	tcase_add_test(tc, test_report);
	tcase_add_test(tc, test_admin);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
