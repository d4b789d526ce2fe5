/*
 * req.h - a request decoded once, where it enters (the socket, the
 * spool), into the typed values its handler reads.
 *
 * The decoder is the one place that reads a message's key=value bag
 * (bp_get): after fields_check() every number it reads parses and is
 * within lim.h, so a field is either given, with its value, or not (a
 * has_ flag, or the default named beside it).  A decoded request points
 * into its message: valid while the handler runs; what outlives it (a
 * check waiting on the API) is copied.
 */
#ifndef REQ_H
#define REQ_H

#include <stdint.h>

#include "bankproto.h"
#include "lim.h"
#include "pricemsg.h"

/* BP_T_CHECK: may this job be submitted? */
struct req_check {
	struct price_job job;
	const char	*account;	/* "": none given */
	int		 has_uid;	/* whose job; none: the caller's */
	uint32_t	 uid;
	int		 dry_run;	/* decide, place no hold */
	uint32_t	 modify;	/* job_modify: the job; 0 a new one */
	int		 array_task;	/* job_modify: one task of an array */
	uint64_t	 hold;		/* job_modify: its hold token; 0 none */
	int		 has_cost;	/* bankctl check: the cost, unpriced */
	int64_t		 cost;		/* cents */
	/* A heterogeneous job's component (job_submit), and its earlier
	 * components' holds, which end if this one is refused. */
	int		 has_het;
	uint32_t	 het_offset;
	size_t		 het_n;
	uint64_t	 het_holds[LIM_HET_COMPONENTS];
};

/* BP_T_ESTIMATE: the price only. */
struct req_estimate {
	struct price_job job;
};

/* BP_T_PRICES: a page of the price table. */
struct req_prices {
	uint64_t	 offset;
};

enum report_kind {
	REPORT_START,		/* POST /jobs/ with the estimate */
	REPORT_END,		/* PUT /jobs/{id}/ with the actual cost */
};

/*
 * BP_T_START, BP_T_END.  The report itself is built from the message by
 * report.c (report_build), which reads the bag: it travels along.
 */
struct req_report {
	enum report_kind kind;
	int		 has_job_id;
	uint32_t	 job_id;
	const struct bp_msg *msg;
};

/* BP_T_QUEUE: a page of the queue, or of its dead letters. */
struct req_queue {
	uint64_t	 offset;
	uint64_t	 limit;		/* BP_QUEUE_PAGE when not given */
	int		 dead;
};

/* BP_T_SHOW, BP_T_RETRY, BP_T_DROP: one report (0: none given). */
struct req_seq {
	uint64_t	 seq;
};

/* BP_T_HOLDS: holds, of one account and one user if given. */
struct req_holds {
	const char	*account;	/* NULL: every account */
	int		 has_uid;
	uint32_t	 uid;
};

/* BP_T_BALANCE: one account (NULL: none given). */
struct req_balance {
	const char	*account;
};

struct req {
	uint8_t		 type;		/* BP_T_* */
	uint32_t	 id;
	union {
		struct req_check	check;
		struct req_estimate	estimate;
		struct req_prices	prices;
		struct req_report	report;
		struct req_queue	queue;
		struct req_seq		seq;
		struct req_holds	holds;
		struct req_balance	balance;
	} u;
};

/* m, checked by fields_check(), as its type's values (none: STATUS...). */
void		 req_decode(const struct bp_msg *m, struct req *);

/* The parts pricing reads: a CHECK or ESTIMATE's job, a report's use. */
void		 req_job(const struct bp_msg *, struct price_job *);
void		 req_ran(const struct bp_msg *, struct price_ran *);

#endif /* REQ_H */
