/*
 * check_joblist.c: unit tests of the job list stream that `bankd
 * --list-jobs` writes for the reconciler (bankd/joblist.c): a good list
 * decodes to its jobs, the child's own error comes through, and every
 * truncation, every garbage byte, a count that does not match and a list
 * over the bound are refused, with nothing allocated.  Only a whole list
 * may end holds, so a refusal is the only safe answer to a short one.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "holds.h"
#include "joblist.h"

struct stream {
	uint8_t		 buf[4096];
	size_t		 len;
};

static void
add_header(struct stream *s)
{
	s->len += joblist_put_header(s->buf + s->len);
}

static void
add_job(struct stream *s, uint32_t id, uint64_t token)
{
	s->len += joblist_put_job(s->buf + s->len, id, token);
}

static void
add_end(struct stream *s, uint64_t count)
{
	s->len += joblist_put_end(s->buf + s->len, count);
}

/* Three jobs: one without a token, and the largest numbers there are. */
static void
good(struct stream *s)
{
	memset(s, 0, sizeof(*s));
	add_header(s);
	add_job(s, 17, 0);
	add_job(s, 4294967295u, 18446744073709551615ull);
	add_job(s, 1000001, 0x0102030405060708ull);
	add_end(s, 3);
}

static enum joblist_result
decode(const struct stream *s, size_t len, size_t max, size_t *n,
    struct live_job **jobs, char *err)
{
	return joblist_decode(s->buf, len, max, jobs, n, err, 256);
}

/* A refusal: JOBLIST_BAD, no jobs, and a reason. */
static void
assert_bad(const uint8_t *buf, size_t len, size_t max)
{
	struct live_job *jobs = (void *)1;
	char err[256] = "";
	size_t n = 99;

	ck_assert_int_eq(joblist_decode(buf, len, max, &jobs, &n, err,
	    sizeof(err)), JOBLIST_BAD);
	ck_assert_ptr_null(jobs);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_gt(strlen(err), 0);
}

START_TEST(good_list)
{
	struct live_job *jobs;
	struct stream s;
	char err[256];
	size_t n;

	good(&s);
	ck_assert_uint_eq(s.len, 4 + 3 * 13 + 9);
	ck_assert_int_eq(decode(&s, s.len, JOBLIST_MAX_JOBS, &n, &jobs, err),
	    JOBLIST_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(jobs[0].job_id, 17);
	ck_assert_uint_eq(jobs[0].token, 0);
	ck_assert_uint_eq(jobs[1].job_id, 4294967295u);
	ck_assert_uint_eq(jobs[1].token, 18446744073709551615ull);
	ck_assert_uint_eq(jobs[2].job_id, 1000001);
	ck_assert_uint_eq(jobs[2].token, 0x0102030405060708ull);
	free(jobs);
	/* Little-endian on the wire, whatever the host. */
	ck_assert_uint_eq(s.buf[4 + 13 + 5], 0xff);
	ck_assert_uint_eq(s.buf[4 + 26 + 1], 1000001 & 0xff);
	ck_assert_uint_eq(s.buf[4 + 26 + 5], 0x08);
}
END_TEST

START_TEST(empty_list)
{
	struct live_job *jobs;
	struct stream s = { .len = 0 };
	char err[256];
	size_t n = 5;

	add_header(&s);
	add_end(&s, 0);
	ck_assert_int_eq(decode(&s, s.len, JOBLIST_MAX_JOBS, &n, &jobs, err),
	    JOBLIST_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_nonnull(jobs);	/* an empty list is still a list */
	free(jobs);
}
END_TEST

START_TEST(every_truncation)
{
	struct stream s;
	size_t len;

	good(&s);
	for (len = 0; len < s.len; len++)
		assert_bad(s.buf, len, JOBLIST_MAX_JOBS);
}
END_TEST

START_TEST(child_error)
{
	struct live_job *jobs;
	struct stream s = { .len = 0 };
	char err[256], big[400];
	size_t n, len;

	add_header(&s);
	s.len += joblist_put_error(s.buf + s.len, "Unable to contact slurm "
	    "controller (connect failure)");
	ck_assert_int_eq(decode(&s, s.len, JOBLIST_MAX_JOBS, &n, &jobs, err),
	    JOBLIST_FAILED);
	ck_assert_str_eq(err, "Unable to contact slurm controller (connect "
	    "failure)");
	ck_assert_ptr_null(jobs);
	ck_assert_uint_eq(n, 0);
	for (len = 0; len < s.len; len++)
		assert_bad(s.buf, len, JOBLIST_MAX_JOBS);
	/* An empty reason is still a reason. */
	s.buf[JOBLIST_HEADER_LEN + 1] = 0;
	ck_assert_int_eq(decode(&s, JOBLIST_HEADER_LEN + 2, JOBLIST_MAX_JOBS,
	    &n, &jobs, err), JOBLIST_FAILED);
	ck_assert_uint_gt(strlen(err), 0);
	s.buf[JOBLIST_HEADER_LEN + 1] =
	    (uint8_t)(s.len - JOBLIST_HEADER_LEN - 2);
	/* Anything after it. */
	s.buf[s.len] = 'E';
	assert_bad(s.buf, s.len + 1, JOBLIST_MAX_JOBS);
	/* A long or unprintable message is cut and made printable. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[3] = '\n';
	s.len = JOBLIST_HEADER_LEN;
	s.len += joblist_put_error(s.buf + s.len, big);
	ck_assert_uint_eq(s.len, 4 + 2 + JOBLIST_ERR_MAX);
	ck_assert_int_eq(decode(&s, s.len, JOBLIST_MAX_JOBS, &n, &jobs, err),
	    JOBLIST_FAILED);
	ck_assert_uint_eq(strlen(err), JOBLIST_ERR_MAX);
	ck_assert_int_eq(err[3], '?');
	/* A crafted one is not believed. */
	s.buf[JOBLIST_HEADER_LEN + 2] = '\033';
	assert_bad(s.buf, s.len, JOBLIST_MAX_JOBS);
	s.buf[JOBLIST_HEADER_LEN + 2] = 'a';
	s.buf[JOBLIST_HEADER_LEN + 1] = JOBLIST_ERR_MAX + 1;
	memset(s.buf + s.len, 'a', 1);
	assert_bad(s.buf, s.len + 1, JOBLIST_MAX_JOBS);
}
END_TEST

START_TEST(garbage)
{
	struct stream s, g;
	size_t i;
	int b;

	good(&s);
	/* Another version, another magic. */
	g = s;
	g.buf[3] = 2;
	assert_bad(g.buf, g.len, JOBLIST_MAX_JOBS);
	g = s;
	g.buf[0] = 'b';
	assert_bad(g.buf, g.len, JOBLIST_MAX_JOBS);
	/* Anything after the end. */
	g = s;
	g.buf[g.len] = 0;
	assert_bad(g.buf, g.len + 1, JOBLIST_MAX_JOBS);
	g.len += joblist_put_job(g.buf + g.len, 5, 5);
	assert_bad(g.buf, g.len, JOBLIST_MAX_JOBS);
	/* A record kind that is not one. */
	g = s;
	g.buf[4 + 13] = 'K';
	assert_bad(g.buf, g.len, JOBLIST_MAX_JOBS);
	/* Every record kind byte, and the end's, replaced by every other. */
	for (i = 4; i < s.len; i += 13)
		for (b = 0; b < 256; b++) {
			if (b == s.buf[i])
				continue;
			g = s;
			g.buf[i] = (uint8_t)b;
			assert_bad(g.buf, g.len, JOBLIST_MAX_JOBS);
		}
	/* Bytes that were never a stream. */
	srandom(15);
	for (i = 0; i < 2000; i++) {
		size_t j;

		g.len = 1 + (size_t)random() % 200;
		for (j = 0; j < g.len; j++)
			g.buf[j] = (uint8_t)random();
		if (i % 2)
			memcpy(g.buf, JOBLIST_MAGIC, 4);
		assert_bad(g.buf, g.len, JOBLIST_MAX_JOBS);
	}
}
END_TEST

START_TEST(count_that_does_not_match)
{
	static const uint64_t counts[] = { 0, 2, 4, 1ull << 32,
	    JOBLIST_MAX_JOBS + 1ull, 18446744073709551615ull };
	struct stream s;
	size_t i;

	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		good(&s);
		s.len -= JOBLIST_END_LEN;
		add_end(&s, counts[i]);
		assert_bad(s.buf, s.len, JOBLIST_MAX_JOBS);
	}
}
END_TEST

START_TEST(over_the_bound)
{
	struct live_job *jobs;
	struct stream s;
	char err[256];
	size_t n;

	good(&s);
	assert_bad(s.buf, s.len, 2);
	assert_bad(s.buf, s.len, 0);
	ck_assert_int_eq(decode(&s, s.len, 3, &n, &jobs, err), JOBLIST_OK);
	ck_assert_uint_eq(n, 3);
	free(jobs);
}
END_TEST

/* The real bound: JOBLIST_MAX_JOBS + 1 jobs (130 MB) are refused. */
START_TEST(over_the_real_bound)
{
	size_t len = JOBLIST_MAX_BYTES + JOBLIST_JOB_LEN, off, i;
	uint8_t *buf = malloc(len);

	ck_assert_ptr_nonnull(buf);
	off = joblist_put_header(buf);
	for (i = 0; i <= JOBLIST_MAX_JOBS; i++)
		off += joblist_put_job(buf + off, (uint32_t)i + 1, 0);
	off += joblist_put_end(buf + off, JOBLIST_MAX_JOBS + 1ull);
	ck_assert_uint_eq(off, len);
	assert_bad(buf, len, JOBLIST_MAX_JOBS);
	free(buf);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("joblist");
	TCase *tc = tcase_create("joblist");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, good_list);
	tcase_add_test(tc, empty_list);
	tcase_add_test(tc, every_truncation);
	tcase_add_test(tc, child_error);
	tcase_add_test(tc, garbage);
	tcase_add_test(tc, count_that_does_not_match);
	tcase_add_test(tc, over_the_bound);
	tcase_add_test(tc, over_the_real_bound);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
