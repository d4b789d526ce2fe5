/*
 * metrics_fmt.h - bankd's figures as Prometheus text (exposition format
 * 0.0.4), from a plain view of them: no socket, no daemon, so that a
 * unit test reads exactly what a scrape does (metrics.c serves it).
 */
#ifndef METRICS_FMT_H
#define METRICS_FMT_H

#include <stddef.h>
#include <stdint.h>

#include "counters.h"

/* The text grows in this; past max it stops and says failed. */
struct mfmt_buf {
	char		*p;
	size_t		 len;
	size_t		 cap;
	size_t		 max;
	int		 failed;	/* out of memory or past max */
};

#define MFMT_MAX_BYTES	(8u << 20)	/* a scrape; 10k holds is ~3 KB */
#define MFMT_UPSTREAM	128		/* a relay upstream's label */

/* What a scrape shows, gathered by metrics.c from each part. */
struct mfmt_view {
	const char		*version;
	int			 relay;		/* role relay: its families */
	int64_t			 started;	/* unix time */
	const struct counters	*counters;
	/* The queue (deliver_stats, or a relay's relayq_stats). */
	uint64_t		 queued;
	uint64_t		 inflight;
	uint64_t		 dead;
	uint64_t		 retries;
	uint64_t		 journal_bytes;
	int64_t			 oldest_s;	/* age of the oldest; 0: none */
	/* A controller's. */
	uint64_t		 holds;
	int64_t			 holds_cents;	/* exact: printed as decimal */
	uint64_t		 cache_entries;
	/* A relay's: where its backlog goes. */
	char			 upstream[MFMT_UPSTREAM];
	uint64_t		 backlog;
};

void		 mfmt_init(struct mfmt_buf *, size_t max);
void		 mfmt_free(struct mfmt_buf *);
void		 mfmt_add(struct mfmt_buf *, const char *, size_t);
/* Every family of the view, HELP and TYPE first; 0, or -1 (failed). */
int		 mfmt_render(struct mfmt_buf *, const struct mfmt_view *);

/* A label value escaped (\\, \", \n); out holds 2 * strlen + 1. */
void		 mfmt_escape(const char *in, char *out, size_t len);
/* Microseconds as decimal seconds, no float: 2500 -> "0.0025". */
char		*mfmt_seconds(uint64_t us, char out[32]);

#endif /* METRICS_FMT_H */
