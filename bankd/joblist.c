/*
 * joblist.c - the job list stream between `bankd --list-jobs` and the
 * reconciler (joblist.h describes it).  Pure: no I/O.  The decoder trusts
 * nothing of the stream: the child may have been killed at any byte, or
 * a binary of another version may have written it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "holds.h"
#include "joblist.h"

static void
put_le(uint8_t *p, uint64_t v, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	int i;

	for (i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

size_t
joblist_put_header(uint8_t out[JOBLIST_HEADER_LEN])
{
	memcpy(out, JOBLIST_MAGIC, JOBLIST_HEADER_LEN);
	return JOBLIST_HEADER_LEN;
}

size_t
joblist_put_job(uint8_t out[JOBLIST_JOB_LEN], uint32_t job_id,
    uint64_t token)
{
	out[0] = 'J';
	put_le(out + 1, job_id, 4);
	put_le(out + 5, token, 8);
	return JOBLIST_JOB_LEN;
}

size_t
joblist_put_end(uint8_t out[JOBLIST_END_LEN], uint64_t count)
{
	out[0] = 'E';
	put_le(out + 1, count, 8);
	return JOBLIST_END_LEN;
}

size_t
joblist_put_error(uint8_t *out, const char *msg)
{
	size_t i, len = strlen(msg);

	if (len > JOBLIST_ERR_MAX)
		len = JOBLIST_ERR_MAX;
	out[0] = 'X';
	out[1] = (uint8_t)len;
	for (i = 0; i < len; i++)
		out[2 + i] = msg[i] >= 0x20 && msg[i] < 0x7f ? msg[i] : '?';
	return 2 + len;
}

/* The child's error record: printable, and the stream's last bytes. */
static enum joblist_result
decode_error(const uint8_t *p, size_t left, char *err, size_t errlen)
{
	size_t len, i;

	if (left < 2 || (len = p[1]) > JOBLIST_ERR_MAX || left != 2 + len) {
		snprintf(err, errlen, "a malformed error record");
		return JOBLIST_BAD;
	}
	for (i = 0; i < len; i++)
		if (p[2 + i] < 0x20 || p[2 + i] >= 0x7f) {
			snprintf(err, errlen, "an unprintable error record");
			return JOBLIST_BAD;
		}
	snprintf(err, errlen, "%.*s", (int)len, (const char *)p + 2);
	if (len == 0)
		snprintf(err, errlen, "no reason given");
	return JOBLIST_FAILED;
}

/* Walk the records: how many jobs there are, if the stream is whole. */
static enum joblist_result
scan(const uint8_t *buf, size_t len, size_t max, size_t *count, char *err,
    size_t errlen)
{
	size_t off = JOBLIST_HEADER_LEN, n = 0;

	if (len < JOBLIST_HEADER_LEN ||
	    memcmp(buf, JOBLIST_MAGIC, JOBLIST_HEADER_LEN) != 0) {
		snprintf(err, errlen, "not a version 1 job list");
		return JOBLIST_BAD;
	}
	while (off < len && buf[off] == 'J' && n < max &&
	    len - off >= JOBLIST_JOB_LEN) {
		off += JOBLIST_JOB_LEN;
		n++;
	}
	if (off < len && buf[off] == 'X')
		return decode_error(buf + off, len - off, err, errlen);
	if (off == len || buf[off] != 'E') {
		snprintf(err, errlen, off == len || (buf[off] == 'J' &&
		    len - off < JOBLIST_JOB_LEN) ? "truncated after %zu jobs" :
		    buf[off] == 'J' ? "more than %zu jobs" :
		    "a malformed record after %zu jobs", n);
		return JOBLIST_BAD;
	}
	if (len - off != JOBLIST_END_LEN ||
	    get_le(buf + off + 1, 8) != (uint64_t)n) {
		snprintf(err, errlen, "an end that does not match %zu jobs", n);
		return JOBLIST_BAD;
	}
	*count = n;
	return JOBLIST_OK;
}

enum joblist_result
joblist_decode(const uint8_t *buf, size_t len, size_t max_jobs,
    struct live_job **jobs, size_t *n, char *err, size_t errlen)
{
	enum joblist_result r;
	const uint8_t *p;
	size_t count = 0, i;

	*jobs = NULL;
	*n = 0;
	if ((r = scan(buf, len, max_jobs, &count, err, errlen)) != JOBLIST_OK)
		return r;
	/* One more than needed: an empty list is still a list. */
	if ((*jobs = calloc(count + 1, sizeof(**jobs))) == NULL) {
		snprintf(err, errlen, "out of memory for %zu jobs", count);
		return JOBLIST_BAD;
	}
	for (i = 0, p = buf + JOBLIST_HEADER_LEN; i < count;
	    i++, p += JOBLIST_JOB_LEN) {
		(*jobs)[i].job_id = (uint32_t)get_le(p + 1, 4);
		(*jobs)[i].token = get_le(p + 5, 8);
	}
	*n = count;
	return JOBLIST_OK;
}
