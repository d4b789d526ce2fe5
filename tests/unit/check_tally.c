/*
 * check_tally.c: unit tests of bankd's hold sums (bankd/tally.c): sums per
 * account and per user, entries vanishing with their last job, growth of
 * the table, and a random run of adds and removes against a model that
 * sums a plain list, as holds_sum() used to.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tally.h"

START_TEST(test_sums)
{
	struct tally *t = tally_new();
	int64_t a, u;
	size_t j;

	ck_assert_ptr_nonnull(t);
	tally_get(t, "fc_x", 1, &a, &u, &j);
	ck_assert_int_eq(a, 0);
	ck_assert_int_eq(u, 0);
	ck_assert_uint_eq(j, 0);
	ck_assert_int_eq(tally_add(t, "fc_x", 1, 1500, 1), 0);
	ck_assert_int_eq(tally_add(t, "fc_x", 2, 250, 1), 0);
	ck_assert_int_eq(tally_add(t, "fc_y", 1, 99, 1), 0);
	tally_get(t, "fc_x", 1, &a, &u, &j);
	ck_assert_int_eq(a, 1750);
	ck_assert_int_eq(u, 1500);
	ck_assert_uint_eq(j, 2);
	tally_get(t, "fc_x", 3, &a, &u, &j);
	ck_assert_int_eq(a, 1750);
	ck_assert_int_eq(u, 0);
	/* An array task's share ends: cents drop, the job stays. */
	ck_assert_int_eq(tally_add(t, "fc_x", 1, -500, 0), 0);
	tally_get(t, "fc_x", 1, &a, &u, &j);
	ck_assert_int_eq(a, 1250);
	ck_assert_int_eq(u, 1000);
	ck_assert_uint_eq(j, 2);
	ck_assert_int_eq(tally_add(t, "fc_x", 1, -1000, -1), 0);
	ck_assert_int_eq(tally_add(t, "fc_x", 2, -250, -1), 0);
	tally_get(t, "fc_x", 2, &a, &u, &j);
	ck_assert_int_eq(a, 0);
	ck_assert_int_eq(u, 0);
	ck_assert_uint_eq(j, 0);
	/* Similar names are different accounts. */
	tally_get(t, "fc_y", 1, &a, &u, &j);
	ck_assert_int_eq(a, 99);
	tally_get(t, "fc_", 1, &a, &u, &j);
	ck_assert_int_eq(a, 0);
	tally_free(t);
}
END_TEST

#define NHOLD	20000

struct mhold {
	char		 account[16];
	uint32_t	 uid;
	int64_t		 cents;
	int		 live;
};

static void
model_sum(const struct mhold *m, size_t n, const char *acct, uint32_t uid,
    int64_t *a, int64_t *u, size_t *j)
{
	size_t i;

	*a = *u = 0;
	*j = 0;
	for (i = 0; i < n; i++) {
		if (!m[i].live || strcmp(m[i].account, acct) != 0)
			continue;
		*a += m[i].cents;
		(*j)++;
		if (m[i].uid == uid)
			*u += m[i].cents;
	}
}

/* Many accounts and users (the table grows), random adds and removes. */
START_TEST(test_random_against_model)
{
	struct tally *t = tally_new();
	struct mhold *m = calloc(NHOLD, sizeof(*m));
	int64_t a, u, ma, mu;
	size_t j, mj, i, k;
	char acct[16];
	uint32_t uid;

	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(m);
	srandom(7);
	for (i = 0; i < NHOLD; i++) {
		snprintf(m[i].account, sizeof(m[i].account), "a%ld",
		    random() % 700);
		m[i].uid = (uint32_t)(random() % 50);
		m[i].cents = random() % 100000;
		m[i].live = 1;
		ck_assert_int_eq(tally_add(t, m[i].account, m[i].uid,
		    m[i].cents, 1), 0);
		/* Now and then one ends, or loses an array task's share. */
		if (random() % 3 == 0) {
			k = (size_t)random() % (i + 1);
			if (!m[k].live)
				continue;
			if (random() % 2) {
				tally_add(t, m[k].account, m[k].uid,
				    -m[k].cents, -1);
				m[k].live = 0;
			} else {
				tally_add(t, m[k].account, m[k].uid, -7, 0);
				m[k].cents -= 7;
			}
		}
	}
	for (k = 0; k < 400; k++) {
		snprintf(acct, sizeof(acct), "a%ld", random() % 720);
		uid = (uint32_t)(random() % 55);
		tally_get(t, acct, uid, &a, &u, &j);
		model_sum(m, NHOLD, acct, uid, &ma, &mu, &mj);
		ck_assert_int_eq(a, ma);
		ck_assert_int_eq(u, mu);
		ck_assert_uint_eq(j, mj);
	}
	/* Everything ends: every sum is back to nothing. */
	for (i = 0; i < NHOLD; i++)
		if (m[i].live)
			tally_add(t, m[i].account, m[i].uid, -m[i].cents, -1);
	tally_get(t, "a1", 1, &a, &u, &j);
	ck_assert_int_eq(a, 0);
	ck_assert_uint_eq(j, 0);
	free(m);
	tally_free(t);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tally");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_sums);
	tcase_add_test(tc, test_random_against_model);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
