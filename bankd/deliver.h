/*
 * deliver.h - the queue of reports waiting for the API.
 *
 * Rules: reports of one job go out in order, one at a time; a completion
 * replaces a start that has not been sent yet (the PUT carries
 * everything); transient failures (no answer, timeouts, 5xx, 401/403) are
 * retried with exponential backoff and jitter; a 4xx the server will never
 * accept is parked as a dead letter with the server's message.
 */
#ifndef DELIVER_H
#define DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

struct bankd;
struct deliver;

struct deliver_stats {
	size_t		 queued;	/* waiting or in flight */
	size_t		 inflight;
	size_t		 dead;		/* parked dead letters */
	uint64_t	 delivered;
	uint64_t	 retries;
};

struct deliver	*deliver_new(struct bankd *);
void		 deliver_free(struct deliver *);

/* Takes ownership of r's body.  Returns 0 or -1 (out of memory). */
int		 deliver_enqueue(struct deliver *, struct report *);

/* 1 when a start for this job was accepted before (reports are once). */
int		 deliver_seen_start(struct deliver *, uint32_t job_id);

void		 deliver_stats(const struct deliver *, struct deliver_stats *);

#endif /* DELIVER_H */
