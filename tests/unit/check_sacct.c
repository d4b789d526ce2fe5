/*
 * check_sacct.c: unit tests of bankctl backfill's sacct reader
 * (bankctl/ctl_sacct.c): good lines decode to the values sacct meant;
 * every kind of bad line is refused with the field it broke, never half
 * taken; random bytes and every one-byte change of a good line neither
 * crash nor pass unchecked; the command runner keeps its deadline.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_sacct.h"

#define GOOD "4242|47001|fc_alpha|normal|double|COMPLETED|2|node[1-2]|2|1|" \
	"1764600000|1764600010|1764600070|00:00:00|10|" \
	"billing=2,cpu=2,mem=200M,node=1"

static int
parse(const char *line, struct ctl_sacct_job *j, char *why)
{
	why[0] = '\0';
	return ctl_sacct_line(line, strlen(line), j, why, 256);
}

START_TEST(good_line)
{
	struct ctl_sacct_job j;
	char why[256];

	ck_assert_int_eq(parse(GOOD, &j, why), 0);
	ck_assert_uint_eq(j.job_id, 4242);
	ck_assert_uint_eq(j.uid, 47001);
	ck_assert_str_eq(j.account, "fc_alpha");
	ck_assert_str_eq(j.partition, "normal");
	ck_assert_str_eq(j.qos, "double");
	ck_assert_str_eq(j.state, "COMPLETED");
	ck_assert_uint_eq(j.cpus, 2);
	ck_assert_str_eq(j.nodes, "node[1-2]");
	ck_assert_uint_eq(j.num_nodes, 2);
	ck_assert_uint_eq(j.req_nodes, 1);
	ck_assert_int_eq(j.submit, 1764600000);
	ck_assert_int_eq(j.start, 1764600010);
	ck_assert_int_eq(j.end, 1764600070);
	ck_assert_int_eq(j.suspended, 0);
	ck_assert_int_eq(j.has_time_limit, 1);
	ck_assert_uint_eq(j.time_limit, 10);
	ck_assert_str_eq(j.tres, "billing=2,cpu=2,mem=200M,node=1");
}
END_TEST

/* What sacct prints for a cancelled job, a running one, no limit. */
START_TEST(sacct_words)
{
	struct ctl_sacct_job j;
	char why[256];

	ck_assert_int_eq(parse("7|0|||normal|CANCELLED by 1000|0|None assigned"
	    "|0|1|1764600000|None|Unknown|1-02:03:04|UNLIMITED|", &j, why), 0);
	ck_assert_str_eq(j.state, "CANCELLED");
	ck_assert_str_eq(j.account, "");
	ck_assert_str_eq(j.nodes, "");
	ck_assert_int_eq(j.start, 0);
	ck_assert_int_eq(j.end, 0);
	ck_assert_int_eq(j.suspended, 86400 + 2 * 3600 + 3 * 60 + 4);
	ck_assert_int_eq(j.has_time_limit, 0);
	ck_assert_int_eq(parse("8|1|a|p|q|RUNNING|1|n1|1|1|1|2|Unknown|05:06|"
	    "Partition_Limit|cpu=1", &j, why), 0);
	ck_assert_int_eq(j.suspended, 5 * 60 + 6);
}
END_TEST

/* sacct's local ISO dates (no SLURM_TIME_FORMAT), read in TZ. */
START_TEST(local_dates)
{
	struct ctl_sacct_job j;
	char why[256];
	int64_t t;

	setenv("TZ", "UTC", 1);
	tzset();
	ck_assert_int_eq(parse("9|1|a|p|q|COMPLETED|1|n1|1|1|"
	    "2025-12-01T14:40:00|2025-12-01T14:40:10|2025-12-01T14:41:10|"
	    "00:00:00|5|cpu=1", &j, why), 0);
	ck_assert_int_eq(j.submit, 1764600000);
	ck_assert_int_eq(j.end - j.start, 60);
	ck_assert_int_eq(ctl_sacct_date("2025-12-01", &t), 0);
	ck_assert_int_eq(t, 1764547200);
	ck_assert_int_eq(ctl_sacct_date("2025-12-01T14:40", &t), 0);
	ck_assert_int_eq(t, 1764600000);
	ck_assert_int_eq(ctl_sacct_date("2025-12-01T14:40:00", &t), 0);
	ck_assert_int_eq(ctl_sacct_date("2025-13-01", &t), -1);
	ck_assert_int_eq(ctl_sacct_date("2025-12-01 14:40", &t), -1);
	ck_assert_int_eq(ctl_sacct_date("2025-12-01T14:40:00x", &t), -1);
	ck_assert_int_eq(ctl_sacct_date("now", &t), -1);
	ck_assert_int_eq(ctl_sacct_date("", &t), -1);
	ck_assert_int_eq(ctl_sacct_date("1969-12-31", &t), -1);
}
END_TEST

static const struct {
	const char	*line;
	const char	*field;		/* named in why */
} bad[] = {
	{ "", "fields" },
	{ "garbage", "fields" },
	{ "1|2|3", "fields" },
	{ GOOD "|extra", "fields" },
	{ "0|1|a|p|q|COMPLETED|1|n|1|1|1|2|3|00:00|5|x", "JobIDRaw" },
	{ "-1|1|a|p|q|COMPLETED|1|n|1|1|1|2|3|00:00|5|x", "JobIDRaw" },
	{ "4294967294|1|a|p|q|COMPLETED|1|n|1|1|1|2|3|00:00|5|x", "JobIDRaw" },
	{ "12_3|1|a|p|q|COMPLETED|1|n|1|1|1|2|3|00:00|5|x", "JobIDRaw" },
	{ "1|4294967295|a|p|q|COMPLETED|1|n|1|1|1|2|3|00:00|5|x", "UID" },
	{ "1|99999999999999999999999|a|p|q|COMPLETED|1|n|1|1|1|2|3|00:00|5|x",
	    "UID" },
	{ "1|1|a b|p|q|COMPLETED|1|n|1|1|1|2|3|00:00|5|x", "Account" },
	{ "1|1|a$(reboot)|p|q|COMPLETED|1|n|1|1|1|2|3|00:00|5|x", "Account" },
	{ "1|1|a|p/../x|q|COMPLETED|1|n|1|1|1|2|3|00:00|5|x", "Partition" },
	{ "1|1|a|p|q\x1b[2J|COMPLETED|1|n|1|1|1|2|3|00:00|5|x", "QOS" },
	{ "1|1|a|p|q|completed|1|n|1|1|1|2|3|00:00|5|x", "State" },
	{ "1|1|a|p|q||1|n|1|1|1|2|3|00:00|5|x", "State" },
	{ "1|1|a|p|q|COMPLETED|1.5|n|1|1|1|2|3|00:00|5|x", "AllocCPUS" },
	{ "1|1|a|p|q|COMPLETED|2147483648|n|1|1|1|2|3|00:00|5|x", "AllocCPUS" },
	{ "1|1|a|p|q|COMPLETED|1|n 1|1|1|1|2|3|00:00|5|x", "NodeList" },
	{ "1|1|a|p|q|COMPLETED|1|n|x|1|1|2|3|00:00|5|x", "NNodes" },
	{ "1|1|a|p|q|COMPLETED|1|n|1||1|2|3|00:00|5|x", "ReqNodes" },
	{ "1|1|a|p|q|COMPLETED|1|n|1|1|yesterday|2|3|00:00|5|x", "Submit" },
	{ "1|1|a|p|q|COMPLETED|1|n|1|1|1|253402300800|3|00:00|5|x", "Start" },
	{ "1|1|a|p|q|COMPLETED|1|n|1|1|1|20|10|00:00|5|x", "End" },
	{ "1|1|a|p|q|COMPLETED|1|n|1|1|1|2|3|1:2:3:4|5|x", "Suspended" },
	{ "1|1|a|p|q|COMPLETED|1|n|1|1|1|2|3|00:61|5|x", "Suspended" },
	{ "1|1|a|p|q|COMPLETED|1|n|1|1|1|2|3||5|x", "Suspended" },
	{ "1|1|a|p|q|COMPLETED|1|n|1|1|1|2|3|-00:00|5|x", "Suspended" },
	{ "1|1|a|p|q|COMPLETED|1|n|1|1|1|2|3|00:00|-5|x", "TimelimitRaw" },
	{ "1|1|a|p|q|COMPLETED|1|n|1|1|1|2|3|00:00|5|cpu=1\x7f", "AllocTRES" },
};

START_TEST(bad_lines)
{
	struct ctl_sacct_job j;
	char why[256];

	if (parse(bad[_i].line, &j, why) != -1)
		ck_abort_msg("line %d taken: %s", _i, bad[_i].line);
	if (strstr(why, bad[_i].field) == NULL)
		ck_abort_msg("line %d: '%s' does not name %s", _i, why,
		    bad[_i].field);
}
END_TEST

/* A NUL inside, and a line past the bound. */
START_TEST(nul_and_long)
{
	struct ctl_sacct_job j;
	char why[256], *big;
	char withnul[] = GOOD;

	withnul[3] = '\0';
	ck_assert_int_eq(ctl_sacct_line(withnul, sizeof(withnul) - 1, &j, why,
	    sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "NUL"));
	big = malloc(CTL_SACCT_LINE_MAX + 10);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', CTL_SACCT_LINE_MAX + 9);
	ck_assert_int_eq(ctl_sacct_line(big, CTL_SACCT_LINE_MAX + 9, &j, why,
	    sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "longer"));
	free(big);
}
END_TEST

/*
 * Every one-byte change of a good line, and random lines: either taken
 * with every text field clean, or refused with a reason.  (ASan and
 * valgrind watch the reads.)
 */
START_TEST(mutations)
{
	static const char alphabet[] = "|0123456789-:T aZ_\x01\xff\n";
	struct ctl_sacct_job j;
	char line[sizeof(GOOD)], why[256];
	size_t i, k, n = strlen(GOOD);
	unsigned seed = 14;

	for (i = 0; i < n; i++)
		for (k = 0; k < sizeof(alphabet) - 1; k++) {
			memcpy(line, GOOD, sizeof(line));
			line[i] = alphabet[k];
			why[0] = '\0';
			if (ctl_sacct_line(line, n, &j, why, sizeof(why)) == 0) {
				ck_assert_ptr_null(strpbrk(j.account, " |\n"));
				ck_assert_ptr_null(strpbrk(j.nodes, " |\n"));
				ck_assert_ptr_null(strpbrk(j.tres, " |\n"));
				ck_assert_uint_ne(j.job_id, 0);
			} else
				ck_assert_uint_gt(strlen(why), 0);
		}
	for (i = 0; i < 20000; i++) {
		char rnd[200];
		size_t len = (size_t)(rand_r(&seed) % sizeof(rnd));

		for (k = 0; k < len; k++)
			rnd[k] = (rand_r(&seed) & 1) ? '|' :
			    (char)(rand_r(&seed) & 0xff);
		why[0] = '\0';
		if (ctl_sacct_line(rnd, len, &j, why, sizeof(why)) != 0)
			ck_assert_uint_gt(strlen(why), 0);
	}
}
END_TEST

START_TEST(qos_lines)
{
	char name[64];
	uint64_t micro;

	ck_assert_int_eq(ctl_sacct_qos_line("double|2.000000", 15, name,
	    sizeof(name), &micro), 0);
	ck_assert_str_eq(name, "double");
	ck_assert_uint_eq(micro, 2000000);
	ck_assert_int_eq(ctl_sacct_qos_line("half|0.5", 8, name, sizeof(name),
	    &micro), 0);
	ck_assert_uint_eq(micro, 500000);
	ck_assert_int_eq(ctl_sacct_qos_line("x|1e3", 5, name, sizeof(name),
	    &micro), -1);
	ck_assert_int_eq(ctl_sacct_qos_line("x|-1", 4, name, sizeof(name),
	    &micro), -1);
	ck_assert_int_eq(ctl_sacct_qos_line("x|1001", 6, name, sizeof(name),
	    &micro), -1);
	ck_assert_int_eq(ctl_sacct_qos_line("a b|1", 5, name, sizeof(name),
	    &micro), -1);
	ck_assert_int_eq(ctl_sacct_qos_line("|1", 2, name, sizeof(name),
	    &micro), -1);
	ck_assert_int_eq(ctl_sacct_qos_line("x|1|2", 5, name, sizeof(name),
	    &micro), -1);
	ck_assert_int_eq(ctl_sacct_qos_line("x", 1, name, sizeof(name),
	    &micro), -1);
}
END_TEST

START_TEST(runner)
{
	char *echo[] = { "sh", "-c", "printf '%s' \"$SLURM_TIME_FORMAT\"",
	    NULL };
	char *fail[] = { "false", NULL };
	char *slow[] = { "sleep", "10", NULL };
	char *none[] = { "/nonexistent/sacct", NULL };
	char *lots[] = { "head", "-c", "100000", "/dev/zero", NULL };
	char *out = NULL, why[256];
	struct timespec t0, t1;
	size_t len;

	ck_assert_int_eq(ctl_sacct_run(echo, 5000, 1024, &out, &len, why,
	    sizeof(why)), 0);
	ck_assert_str_eq(out, "%s");
	ck_assert_uint_eq(len, 2);
	free(out);
	ck_assert_int_eq(ctl_sacct_run(fail, 5000, 1024, &out, &len, why,
	    sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "status 1"));
	ck_assert_int_eq(ctl_sacct_run(none, 5000, 1024, &out, &len, why,
	    sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "status 127"));
	ck_assert_int_eq(ctl_sacct_run(lots, 5000, 65536, &out, &len, why,
	    sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "more than"));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(ctl_sacct_run(slow, 300, 1024, &out, &len, why,
	    sizeof(why)), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_ptr_nonnull(strstr(why, "deadline"));
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 3);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sacct");
	TCase *tc = tcase_create("sacct");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, good_line);
	tcase_add_test(tc, sacct_words);
	tcase_add_test(tc, local_dates);
	tcase_add_loop_test(tc, bad_lines, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, nul_and_long);
	tcase_add_test(tc, mutations);
	tcase_add_test(tc, qos_lines);
	tcase_add_test(tc, runner);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
