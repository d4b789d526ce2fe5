/*
 * pricemsg.h - the price of a job as a request describes it: the estimate
 * of a CHECK or ESTIMATE, the cost of a START or END.  The fields come
 * decoded (req.c, the one place that reads a message's key=value bag);
 * the rules are price.c's and docs/pricing.md's.
 */
#ifndef PRICEMSG_H
#define PRICEMSG_H

#include <stdint.h>

#include "price.h"

struct bp_msg;

/* GPUs as Slurm lists what a job asks (tres_per_*); NULL: none. */
struct price_gres {
	const char	*per_job;
	const char	*per_node;
	const char	*per_task;
	const char	*per_socket;	/* counted one socket per node */
};

/*
 * A CHECK or ESTIMATE's job: the partitions it may run in (the dearest
 * wins), its size, time limit, memory, GPUs, QoS and array tasks; and
 * part_info, what slurmctld knows of each partition's nodes.
 */
struct price_job {
	const char	*partitions;	/* comma list; "": the default */
	struct job_shape shape;
	uint32_t	 time_limit;	/* minutes; 0: none known */
	uint32_t	 array_tasks;	/* 0 or 1: not an array */
	int		 exclusive;	/* shared=0: --exclusive */
	const char	*part_info;	/* "name:cpus:mem_mb:excl,..."; NULL */
	int		 has_mem_per_cpu;
	uint64_t	 mem_per_cpu;	/* MiB */
	int		 has_mem_per_node;
	uint64_t	 mem_per_node;	/* MiB; 0: the whole node */
	struct price_gres gres;
	const char	*qos;		/* NULL: none */
};

/*
 * What a START or END says the job held: its allocation (tres_alloc,
 * gpus, mem_mb) and, for GPUs the allocation does not list, what it
 * asked (gres, over num_nodes and num_tasks).
 */
struct price_ran {
	const char	*partition;	/* NULL: none */
	uint32_t	 cpus;
	const char	*qos;
	int		 has_usage_factor;
	int64_t		 usage_factor;	/* Slurm's, x 1e6 (has_usage_factor) */
	const char	*tres_alloc;
	const char	*gpus;
	int		 has_mem_mb;
	uint64_t	 mem_mb;
	uint32_t	 node_cpus;	/* 0: from part_info */
	uint64_t	 node_mem_mb;	/* 0: from part_info */
	uint64_t	 num_nodes;	/* 1 when not given */
	uint64_t	 num_tasks;	/* 1 when not given */
	const char	*part_info;
	struct price_gres gres;
};

/* The estimate; est->cents covers every array task. */
void		 pricemsg_estimate(const struct bank_conf *,
		    const struct price_job *, struct estimate *est);
/* What the job cost over elapsed_s. */
int64_t		 pricemsg_usage(const struct bank_conf *,
		    const struct price_ran *, uint64_t elapsed_s);

/*
 * price_usage (price.h) stays the message's for report.c, which builds a
 * report from the bag: it decodes (req_ran) and prices (pricemsg_usage).
 */

#endif /* PRICEMSG_H */
