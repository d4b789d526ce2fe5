/*
 * price.h - what a job may cost (the estimate at submission and start) and
 * what it did cost (at completion).  Pure functions over bank.yaml's price
 * list: no I/O, so bankd, bankctl and the tests share them.
 */
#ifndef PRICE_H
#define PRICE_H

#include <stdint.h>

#include "conf.h"

/* What Slurm knows of a job's size at submission; 0 means unset. */
struct job_shape {
	uint32_t	 min_cpus;
	uint32_t	 num_tasks;
	uint32_t	 cpus_per_task;
	uint32_t	 min_nodes;
	uint32_t	 ntasks_per_node;
	uint32_t	 pn_min_cpus;
};

struct estimate {
	char		 partition[64];	/* the dearest one that was asked */
	int64_t		 price;		/* micro-SU per CPU-hour */
	uint32_t	 cpus;
	uint32_t	 minutes;	/* time limit used */
	int64_t		 cents;
};

/* CPUs a job will hold at least, never 0 (see price.c for the rules). */
uint32_t	 price_infer_cpus(const struct job_shape *);

/*
 * Price a job for a comma-separated list of partitions: the dearest one
 * wins, since the job may run in any of them.  time_limit 0 means "none
 * known" and uses default_time_limit.
 */
void		 price_estimate(const struct bank_conf *, const char *partitions,
		    uint32_t cpus, uint32_t time_limit, struct estimate *);

/* The actual cost: price x allocated CPUs x elapsed seconds. */
int64_t		 price_actual(const struct bank_conf *, const char *partition,
		    uint32_t cpus, uint64_t elapsed_s);

#endif /* PRICE_H */
