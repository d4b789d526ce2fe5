/*
 * price.h - what a job may cost (the estimate at submission and start) and
 * what it did cost (at completion).  Pure functions over bank.yaml's price
 * list: no I/O, so bankd, bankctl and the tests share them.
 */
#ifndef PRICE_H
#define PRICE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "lim.h"

/* What Slurm knows of a job's size at submission; 0 means unset. */
struct job_shape {
	uint32_t	 min_cpus;
	uint32_t	 num_tasks;
	uint32_t	 cpus_per_task;
	uint32_t	 min_nodes;
	uint32_t	 ntasks_per_node;
	uint32_t	 pn_min_cpus;
};

#define PRICE_MAX_GPU_TYPES	8

/* GPUs of one kind; type "" is "any GPU". */
struct gpu_count {
	char		 type[LIM_GPU_TYPE_LEN + 1];
	uint64_t	 n;
};

/*
 * What a job holds while it runs, as priced (pricemsg.c fills it from a
 * message; price_use_cost() prices it).  0 means none or unknown.
 */
struct price_use {
	uint32_t	 cpus;
	uint64_t	 mem_mb;	/* whole job */
	uint32_t	 node_cpus;	/* CPUs of one node (memory share) */
	uint64_t	 node_mem_mb;	/* MiB of one node (memory share) */
	struct gpu_count gpu[PRICE_MAX_GPU_TYPES];
	size_t		 ngpu;
	const char	*qos;
	/*
	 * Slurm's UsageFactor of the job's QoS x 1e6, when Slurm knows the
	 * QoS (slurmdbd): it replaces bank.yaml's multiplier for `qos`.
	 */
	int		 has_usage_factor;
	int64_t		 usage_factor;
};

struct estimate {
	char		 partition[64];	/* the dearest one that was asked */
	int64_t		 price;		/* micro-SU per CPU-hour */
	uint32_t	 cpus;		/* per array task */
	uint32_t	 minutes;	/* time limit used */
	int64_t		 cents;		/* the whole job (every array task) */
	/* Beyond CPUs (price_request); 0 when not part of the price. */
	uint64_t	 gpus;		/* per array task, all types */
	uint64_t	 mem_mb;	/* per array task */
	int64_t		 qos_micro;	/* multiplier x 1e6; 0 means 1 */
	uint32_t	 tasks;		/* array tasks; 0 or 1: not an array */
	int64_t		 task_cents;	/* one task */
	int		 billing_max;	/* memory share raised the CPUs */
	uint32_t	 billed_cpus;	/* CPUs charged (memory share) */
};

/* CPUs a job will hold at least, never 0 (see price.c for the rules). */
uint32_t	 price_infer_cpus(const struct job_shape *);

/*
 * The cost of `u` for `seconds` in partition `part` (NULL: unlisted):
 * CPUs, GPUs (by type where priced), memory, billing sum or max, and the
 * QoS multiplier (u->usage_factor if set, else bank.yaml's for u->qos),
 * summed exactly and rounded half-up to cents once.
 * *billed_cpus (if not NULL) gets the CPUs charged after the memory share.
 */
int64_t		 price_use_cost(const struct bank_conf *, const char *part,
		    const struct price_use *, uint64_t seconds,
		    uint32_t *billed_cpus);

/*
 * GPUs named in a TRES string, added to u->gpu scaled by `mult`: request
 * forms "gres:gpu:2", "gres/gpu:a100:2", "gpu:2" (comma or semicolon
 * lists; other GRES ignored) and allocation forms "gres/gpu=2",
 * "gres/gpu:a100=2" (typed counts replace the untyped total).  Counts
 * saturate at UINT64_MAX, never wrap; a type beyond PRICE_MAX_GPU_TYPES
 * is counted as any GPU (type "").
 */
void		 price_parse_gpus(const char *tres, uint64_t mult,
		    struct price_use *u);

/*
 * Memory of an allocation string ("cpu=2,mem=1500M,..."), in MiB, rounded
 * up and saturating at UINT64_MAX; 0 if none.
 */
uint64_t	 price_parse_mem(const char *tres);

/*
 * Tasks of a job array expression ("0-9%2", "1,3,5-7", "0-15:4"), at most
 * LIM_ARRAY_TASKS; 0 if it is not one; PRICE_ARRAY_HUGE if an index is at
 * or beyond LIM_ARRAY_TASKS, which no Slurm accepts (a caller that prices
 * it anyway prices UINT32_MAX tasks, never one).
 */
#define PRICE_ARRAY_HUGE	UINT32_MAX
uint32_t	 price_array_tasks(const char *inx);

/*
 * pricemsg.c (pricemsg.h prices a decoded request): what a START or END
 * message (partition, cpus, qos, tres_alloc, mem_mb, node_cpus,
 * node_mem_mb) costs over elapsed_s.
 */
struct bp_msg;
int64_t		 price_usage(const struct bank_conf *, const struct bp_msg *m,
		    uint64_t elapsed_s);

/* "2 CPUs + 1 GPU x 1h30m on normal at ..." for messages and logs. */
void		 price_describe(const struct estimate *, char *buf, size_t len);

#endif /* PRICE_H */
