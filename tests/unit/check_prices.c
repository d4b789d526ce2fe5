/*
 * check_prices.c: unit tests of the prices in force (bankd/pricetab.c):
 * bank.yaml's prices merged with the API's, local winning; the API's
 * dropped while prices.from_api is off; a reload that builds the new
 * table from the new bank.yaml and the API's last list, so that the
 * first request after the swap is priced by the API's price, never the
 * default; and the table owning its copy (the configuration it was built
 * from may go first).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "pricetab.h"

#define YAML_BASE \
    "api:\n" \
    "  url: http://127.0.0.1:9/api\n" \
    "  token: \"Token 0123\"\n" \
    "prices:\n" \
    "  default: 1\n" \
    "  from_api: %s\n" \
    "  partitions:\n" \
    "    shr: \"3.00\"\n" \
    "%s" \
    "    gpu:\n" \
    "      cpu: \"360\"\n" \
    "      gpu: \"1800\"\n" \
    "      gpu_types:\n" \
    "        tesla: \"3600\"\n"

/* bank.yaml with from_api and extra partition lines; loaded into cf. */
static void
load(struct bank_conf *cf, const char *from_api, const char *extra)
{
	char path[] = "/tmp/check_prices.XXXXXX", err[512];
	FILE *f;
	int fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
	fprintf(f, YAML_BASE, from_api, extra);
	fclose(f);
	ck_assert_msg(conf_load(path, cf, err, sizeof(err)) == 0, "%s", err);
	unlink(path);
}

/* The API's list as the pricing e2e's fixture has it. */
static void
api_list(struct pricetab_list *l)
{
	memset(l, 0, sizeof(*l));
	ck_assert_int_eq(pricetab_list_put(l, "fill007", 2000000), 0);
	ck_assert_int_eq(pricetab_list_put(l, "shr", 99000000), 0);
	ck_assert_int_eq(pricetab_list_put(l, "apionly", 7125000), 0);
}

static int64_t
price_of(const struct bank_conf *cf, const char *part, int *listed)
{
	int64_t micro;

	*listed = conf_price(cf, part, &micro);
	return micro;
}

static enum price_source
source_of(const struct bank_conf *cf, const char *part)
{
	const struct conf_price *pr = conf_price_entry(cf, part);

	return pr != NULL ? pr->source : PRICE_DEFAULT;
}

START_TEST(test_list)
{
	struct pricetab_list l = { 0 };
	char name[16];
	int i;

	ck_assert_ptr_null(pricetab_list_get(&l, "a"));
	ck_assert_ptr_null(pricetab_list_get(NULL, "a"));
	ck_assert_int_eq(pricetab_list_put(&l, "a", 1), 0);
	ck_assert_int_eq(pricetab_list_put(&l, "b", 2), 0);
	/* Listed twice: the last. */
	ck_assert_int_eq(pricetab_list_put(&l, "a", 3), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_int_eq(pricetab_list_get(&l, "a")->micro, 3);
	ck_assert_int_eq(pricetab_list_get(&l, "b")->micro, 2);
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		ck_assert_int_eq(pricetab_list_put(&l, name, i), 0);
	}
	ck_assert_uint_eq(l.n, 202);
	ck_assert_int_eq(pricetab_list_get(&l, "p199")->micro, 199);
	pricetab_list_clear(&l);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_null(l.v);
}
END_TEST

START_TEST(test_local_wins_api_fills)
{
	struct bank_conf cf;
	struct pricetab_list l;
	struct pricetab *cur = NULL, *t;
	const struct conf_price *pr;
	int listed;

	load(&cf, "true", "");
	api_list(&l);
	/* Loaded: bank.yaml's own prices, nothing from the API yet. */
	ck_assert_uint_eq(cf.nprices, 2);
	ck_assert_int_eq(price_of(&cf, "apionly", &listed), 1000000);
	ck_assert_int_eq(listed, 0);
	ck_assert_ptr_nonnull(t = pricetab_build(&cf, &l));
	ck_assert_uint_eq(pricetab_from_api(t), 2);
	pricetab_swap(&cur, t, &cf);
	ck_assert_ptr_eq(cur, t);
	/* Local first, in bank.yaml's order, then the API's in its order. */
	ck_assert_uint_eq(cf.nprices, 4);
	ck_assert_str_eq(cf.prices[0].partition, "shr");
	ck_assert_str_eq(cf.prices[1].partition, "gpu");
	ck_assert_str_eq(cf.prices[2].partition, "fill007");
	ck_assert_str_eq(cf.prices[3].partition, "apionly");
	/* The API's price where bank.yaml has none; bank.yaml's wins. */
	ck_assert_int_eq(price_of(&cf, "apionly", &listed), 7125000);
	ck_assert_int_eq(listed, 1);
	ck_assert_int_eq(source_of(&cf, "apionly"), PRICE_API);
	ck_assert_int_eq(price_of(&cf, "shr", &listed), 3000000);
	ck_assert_int_eq(source_of(&cf, "shr"), PRICE_LOCAL);
	/* The API prices CPUs only; the site's billing choice applies. */
	pr = conf_price_entry(&cf, "apionly");
	ck_assert_int_eq(pr->gpu, 0);
	ck_assert_int_eq(pr->mem_gb, 0);
	ck_assert_uint_eq(pr->ngpu_types, 0);
	ck_assert_int_eq(pr->billing_max, -1);
	/* A local entry is copied whole, GPU types too. */
	pr = conf_price_entry(&cf, "gpu");
	ck_assert_int_eq(pr->micro, 360000000);
	ck_assert_int_eq(pr->gpu, 1800000000);
	ck_assert_uint_eq(pr->ngpu_types, 1);
	ck_assert_str_eq(pr->gpu_types[0].type, "tesla");
	ck_assert_int_eq(pr->gpu_types[0].micro, 3600000000LL);
	/* Neither lists it: the default. */
	ck_assert_int_eq(price_of(&cf, "nowhere", &listed), 1000000);
	ck_assert_int_eq(listed, 0);
	/* The configuration is bank.yaml's still. */
	ck_assert_uint_eq(cf.nlocal, 2);
	ck_assert_str_eq(cf.local[0].partition, "shr");
	ck_assert_int_eq(cf.local[0].micro, 3000000);
	conf_free(&cf);
	pricetab_free(cur);
	pricetab_list_clear(&l);
}
END_TEST

START_TEST(test_from_api_off)
{
	struct bank_conf cf;
	struct pricetab_list l;
	struct pricetab *cur = NULL;
	int listed;

	load(&cf, "false", "");
	api_list(&l);
	pricetab_swap(&cur, pricetab_build(&cf, &l), &cf);
	ck_assert_uint_eq(pricetab_from_api(cur), 0);
	ck_assert_uint_eq(cf.nprices, 2);
	ck_assert_int_eq(price_of(&cf, "apionly", &listed), 1000000);
	ck_assert_int_eq(listed, 0);
	ck_assert_int_eq(price_of(&cf, "shr", &listed), 3000000);
	/* No list yet (nothing fetched): bank.yaml's alone. */
	pricetab_swap(&cur, pricetab_build(&cf, NULL), &cf);
	ck_assert_uint_eq(cf.nprices, 2);
	conf_free(&cf);
	pricetab_free(cur);
	pricetab_list_clear(&l);
}
END_TEST

/*
 * A reload as main.c does it: the new table from the new bank.yaml and
 * the API's last list, built before the swap; right after it, the API's
 * prices are there (never the default) and bank.yaml's new entry wins.
 */
START_TEST(test_reload_keeps_api_prices)
{
	struct bank_conf cf, next;
	struct pricetab_list l;
	struct pricetab *cur = NULL, *t;
	int listed;

	load(&cf, "true", "");
	api_list(&l);
	pricetab_swap(&cur, pricetab_build(&cf, &l), &cf);
	ck_assert_int_eq(price_of(&cf, "fill007", &listed), 2000000);
	load(&next, "true", "    fill007: \"5.5\"\n");
	ck_assert_ptr_nonnull(t = pricetab_build(&next, &l));
	conf_free(&cf);
	cf = next;
	/* Before the swap: bank.yaml's alone (what a check must not see). */
	ck_assert_int_eq(price_of(&cf, "apionly", &listed), 1000000);
	pricetab_swap(&cur, t, &cf);
	ck_assert_int_eq(price_of(&cf, "apionly", &listed), 7125000);
	ck_assert_int_eq(source_of(&cf, "apionly"), PRICE_API);
	ck_assert_int_eq(price_of(&cf, "fill007", &listed), 5500000);
	ck_assert_int_eq(source_of(&cf, "fill007"), PRICE_LOCAL);
	ck_assert_uint_eq(pricetab_from_api(cur), 1);
	ck_assert_uint_eq(cf.nprices, 4);
	/* from_api switched off by a reload: the API's go, the list stays. */
	load(&next, "false", "");
	t = pricetab_build(&next, &l);
	conf_free(&cf);
	cf = next;
	pricetab_swap(&cur, t, &cf);
	ck_assert_int_eq(source_of(&cf, "apionly"), PRICE_DEFAULT);
	ck_assert_int_eq(price_of(&cf, "fill007", &listed), 1000000);
	ck_assert_uint_eq(l.n, 3);
	conf_free(&cf);
	pricetab_free(cur);
	pricetab_list_clear(&l);
}
END_TEST

/* The table is its own: the configuration it came from may go first. */
START_TEST(test_table_outlives_its_conf)
{
	struct bank_conf cf, other;
	struct pricetab *cur = NULL, *t;
	const struct conf_price *pr;

	load(&cf, "true", "");
	ck_assert_ptr_nonnull(t = pricetab_build(&cf, NULL));
	conf_free(&cf);
	load(&other, "false", "    extra: \"2\"\n");
	pricetab_swap(&cur, t, &other);
	pr = conf_price_entry(&other, "gpu");
	ck_assert_ptr_nonnull(pr);
	ck_assert_str_eq(pr->gpu_types[0].type, "tesla");
	ck_assert_ptr_null(conf_price_entry(&other, "extra"));
	/* conf_free() leaves the table alone: it is freed once, here. */
	conf_free(&other);
	ck_assert_ptr_null(other.prices);
	pricetab_free(cur);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("prices");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_local_wins_api_fills);
	tcase_add_test(tc, test_from_api_off);
	tcase_add_test(tc, test_reload_keeps_api_prices);
	tcase_add_test(tc, test_table_outlives_its_conf);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
