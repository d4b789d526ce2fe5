/*
 * credq.h - MUNGE credentials decoded off the event loop (credq.c).
 *
 * munge_decode() asks munged over its socket and waits for the answer:
 * a munged that hangs would stop bankd whole.  A few threads decode; the
 * loop hands them a credential and hears back through a pipe it watches,
 * and a credential not decoded within the deadline is answered at once
 * as munged unavailable (TA_UNAVAILABLE, "did not answer within N ms").
 */
#ifndef CREDQ_H
#define CREDQ_H

#include <stddef.h>

#include "tcpauth.h"

struct event_base;
struct credq;
struct credq_job;

/* On the loop: the decoding of the job's credential (d is the callee's
 * to read, not to keep). */
typedef void	 (*credq_done_fn)(void *arg, const struct tcpauth_decoded *d);

struct credq_settings {
	int		 threads;	/* decoders */
	size_t		 max_jobs;	/* waiting or being decoded */
	int		 deadline_ms;	/* from credq_submit() to the answer */
};

/* NULL logged. */
struct credq	*credq_new(struct event_base *, const struct credq_settings *,
		    tcpauth_decode_fn, void *decode_arg);
/*
 * cred (copied) to decode: done(arg, d) follows once on the loop, never
 * from within this call.  NULL when max_jobs are out already (or no
 * memory): the caller answers "later".
 */
struct credq_job *credq_submit(struct credq *, const char *cred,
		    credq_done_fn, void *arg);
/* The answer is no longer wanted (its connection closed): no done(). */
void		 credq_cancel(struct credq *, struct credq_job *);
/* Jobs out now (waiting, decoding, or abandoned to a stuck decoder). */
size_t		 credq_jobs(const struct credq *);
/*
 * Every job cancelled, the threads joined.  A thread stuck in munged
 * past 1 s is cancelled first (it blocks in read(2), a cancellation
 * point): bankd's exit must not wait on munged.
 */
void		 credq_free(struct credq *);

#endif /* CREDQ_H */
