/*
 * fuzz_joblist.c - the job list stream `bankd --list-jobs` writes to the
 * reconciler (bankd/joblist.c's joblist_decode()): the child can be
 * killed at any byte, or be another version of bankd.  The input is the
 * stream itself.
 *
 * Promises checked (the harness aborts otherwise): an answer is one of
 * joblist.h's; only JOBLIST_OK gives jobs, as many as the stream's 'J'
 * records, each the one its record names, and the stream is then exactly
 * header, records and end; any other answer gives none and a printable
 * reason; and a good stream cut short by any byte is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "holds.h"
#include "joblist.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void
check_err(const char *err)
{
	const char *p;

	if (memchr(err, '\0', 256) == NULL || *err == '\0')
		fuzz_fail("no reason given");
	for (p = err; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f)
			fuzz_fail("an unprintable reason");
}

static void
check_jobs(const uint8_t *data, size_t len, const struct live_job *jobs,
    size_t n)
{
	uint8_t rec[JOBLIST_JOB_LEN];
	size_t i;

	if (len != JOBLIST_HEADER_LEN + n * JOBLIST_JOB_LEN + JOBLIST_END_LEN)
		fuzz_fail("%zu jobs from %zu bytes", n, len);
	for (i = 0; i < n; i++) {
		joblist_put_job(rec, jobs[i].job_id, jobs[i].token);
		if (memcmp(rec, data + JOBLIST_HEADER_LEN + i * JOBLIST_JOB_LEN,
		    sizeof(rec)) != 0)
			fuzz_fail("job %zu is not its record", i);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct live_job *jobs;
	char err[256];
	size_t n;
	enum joblist_result r;

	memset(err, 0, sizeof(err));
	r = joblist_decode(data, len, JOBLIST_MAX_JOBS, &jobs, &n, err,
	    sizeof(err));
	if (r == JOBLIST_OK) {
		if (jobs == NULL)
			fuzz_fail("a list without its jobs");
		check_jobs(data, len, jobs, n);
		free(jobs);
		/* Any shorter stream is a truncated one. */
		if (joblist_decode(data, len - 1, JOBLIST_MAX_JOBS, &jobs, &n,
		    err, sizeof(err)) != JOBLIST_BAD || jobs != NULL)
			fuzz_fail("a list cut by its last byte was taken");
		return 0;
	}
	if (r != JOBLIST_FAILED && r != JOBLIST_BAD)
		fuzz_fail("answer %d", (int)r);
	if (jobs != NULL || n != 0)
		fuzz_fail("jobs from a refused stream");
	check_err(err);
	return 0;
}
