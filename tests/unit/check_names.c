/*
 * check_names.c: unit tests of bankd's interned names (bankd/names.c),
 * which queued reports use for their account: one copy per distinct
 * name, the same pointer each time, through growth of the table.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

START_TEST(same_copy)
{
	struct names n;
	const char *a, *b;
	char buf[32];

	ck_assert_int_eq(names_init(&n), 0);
	ck_assert_ptr_nonnull(a = names_get(&n, "fc_physics"));
	snprintf(buf, sizeof(buf), "%s", "fc_physics");
	ck_assert_ptr_eq(names_get(&n, buf), a);	/* by value */
	ck_assert_ptr_ne(a, buf);			/* a copy */
	ck_assert_str_eq(a, "fc_physics");
	ck_assert_ptr_nonnull(b = names_get(&n, "ac_chem"));
	ck_assert_ptr_ne(a, b);
	ck_assert_ptr_nonnull(names_get(&n, ""));
	ck_assert_uint_eq(n.len, 3);
	names_free(&n);
	names_free(&n);		/* twice is harmless */
}
END_TEST

/* Through several growths, every name keeps its one copy. */
START_TEST(many_names)
{
	static const char *first[1000];
	struct names n;
	char buf[32];
	int i, round;

	ck_assert_int_eq(names_init(&n), 0);
	for (round = 0; round < 2; round++)
		for (i = 0; i < 1000; i++) {
			const char *p;

			snprintf(buf, sizeof(buf), "account_%d", i);
			if ((p = names_get(&n, buf)) == NULL)
				ck_abort_msg("names_get %s", buf);
			if (round == 0)
				first[i] = p;
			else if (p != first[i] || strcmp(p, buf) != 0)
				ck_abort_msg("%s: not the first copy", buf);
		}
	ck_assert_uint_eq(n.len, 1000);
	ck_assert_uint_ge(n.cap, 2000);
	names_free(&n);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("names");
	TCase *tc = tcase_create("names");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, same_copy);
	tcase_add_test(tc, many_names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
