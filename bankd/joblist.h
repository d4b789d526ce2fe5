/*
 * joblist.h - the stream in which `bankd --list-jobs` (listjobs.c), a
 * short-lived child, hands slurmctld's job list to the reconciler
 * (reconcile.c) through a pipe.  The child exists so that what libslurm
 * leaks while listing dies with it.
 *
 * Version 1, every number little-endian:
 *
 *	"BJL" 0x01			the header, once, first
 *	'J' u32 job_id u64 token	a job (token 0: no hold token)
 *	'E' u64 count			the end: count 'J' records came
 *	'X' u8 len, len bytes		or the end: the child could not list
 *					(printable ASCII, len <= 200)
 *
 * Nothing may follow the end.  A stream without its end, with a count
 * that does not match, or with anything else, is malformed: the parent
 * then keeps its holds until the next try.
 */
#ifndef JOBLIST_H
#define JOBLIST_H

#include <stddef.h>
#include <stdint.h>

struct live_job;

#define JOBLIST_MAGIC		"BJL\001"
#define JOBLIST_HEADER_LEN	4
#define JOBLIST_JOB_LEN		13
#define JOBLIST_END_LEN		9
#define JOBLIST_ERR_MAX		200
/* More jobs than any slurmctld keeps (MaxJobCount): a bound, not a goal. */
#define JOBLIST_MAX_JOBS	10000000u
#define JOBLIST_MAX_BYTES	(JOBLIST_HEADER_LEN + \
	    (size_t)JOBLIST_JOB_LEN * JOBLIST_MAX_JOBS + JOBLIST_END_LEN)

enum joblist_result {
	JOBLIST_OK,		/* *jobs, *n: the whole list */
	JOBLIST_FAILED,		/* the child's own error, in err */
	JOBLIST_BAD,		/* malformed or truncated; why in err */
};

/* The records, written into out; each returns the bytes written. */
size_t	joblist_put_header(uint8_t out[JOBLIST_HEADER_LEN]);
size_t	joblist_put_job(uint8_t out[JOBLIST_JOB_LEN], uint32_t job_id,
	    uint64_t token);
size_t	joblist_put_end(uint8_t out[JOBLIST_END_LEN], uint64_t count);
/* out has 2 + JOBLIST_ERR_MAX bytes; msg is cut and made printable. */
size_t	joblist_put_error(uint8_t *out, const char *msg);

/*
 * Decode a whole stream of len bytes, of at most max_jobs jobs (the
 * reconciler: JOBLIST_MAX_JOBS).  JOBLIST_OK: *jobs (malloc'd, the
 * caller frees it; never NULL) holds *n jobs.  Otherwise *jobs is NULL,
 * *n is 0 and err says why.  Allocates nothing before the stream is
 * known to be well formed and within the bound.
 */
enum joblist_result joblist_decode(const uint8_t *buf, size_t len,
	    size_t max_jobs, struct live_job **jobs, size_t *n, char *err,
	    size_t errlen);

#endif /* JOBLIST_H */
