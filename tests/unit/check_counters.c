/*
 * check_counters.c: unit tests of bankd's named counters
 * (bankd/counters.c): values kept per counter, gauges never below zero,
 * and every counter listed once, by a unique name, in order, as a
 * metrics endpoint would list them.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"

START_TEST(test_values)
{
	struct counters c;

	memset(&c, 0, sizeof(c));
	counters_add(&c, CNT_CLIENTS, 3);
	counters_add(&c, CNT_REQUESTS, 5);
	counters_sub(&c, CNT_CLIENTS, 1);
	ck_assert_uint_eq(counters_get(&c, CNT_CLIENTS), 2);
	ck_assert_uint_eq(counters_get(&c, CNT_REQUESTS), 5);
	/* A gauge taken down too far stops at 0, it does not wrap. */
	counters_sub(&c, CNT_CLIENTS, 7);
	ck_assert_uint_eq(counters_get(&c, CNT_CLIENTS), 0);
	counters_set(&c, CNT_SPOOL_FILES, 1000);
	ck_assert_uint_eq(counters_get(&c, CNT_SPOOL_FILES), 1000);
	ck_assert_uint_eq(counters_get(&c, CNT_REFUSED), 0);
}
END_TEST

struct listing {
	int		 n;
	int		 order_ok;
	uint64_t	 sum;
	const char	*names[CNT_MAX];
};

static void
list_one(enum counter k, const char *name, enum counter_kind kind,
    uint64_t v, void *arg)
{
	struct listing *l = arg;

	if ((int)k != l->n || kind != counters_kind(k) ||
	    strcmp(name, counters_name(k)) != 0)
		l->order_ok = 0;
	l->names[l->n++] = name;
	l->sum += v;
}

START_TEST(test_listed)
{
	struct listing l = { 0, 1, 0, { NULL } };
	struct counters c;
	int i, j;

	memset(&c, 0, sizeof(c));
	counters_add(&c, CNT_SPOOL_TAKEN, 4);
	counters_add(&c, CNT_SPOOL_ASIDE, 1);
	counters_each(&c, list_one, &l);
	ck_assert_int_eq(l.n, CNT_MAX);
	ck_assert(l.order_ok);
	ck_assert_uint_eq(l.sum, 5);
	for (i = 0; i < CNT_MAX; i++) {
		ck_assert_ptr_nonnull(l.names[i]);
		ck_assert_int_gt(strlen(l.names[i]), 0);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(l.names[i], l.names[j]);
	}
	ck_assert_str_eq(counters_name(CNT_CLIENTS), "clients");
	ck_assert_int_eq(counters_kind(CNT_CLIENTS), COUNTER_GAUGE);
	ck_assert_int_eq(counters_kind(CNT_REQUESTS), COUNTER_TOTAL);
	ck_assert_ptr_null(counters_name(CNT_MAX));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("counters");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_listed);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
