/*
 * report.h - start and completion reports, as the API wants them.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdint.h>

#include "bankproto.h"
#include "conf.h"
#include "req.h"		/* enum report_kind */


struct report {
	enum report_kind	 kind;
	uint32_t		 job_id;
	uint32_t		 uid;
	uint64_t		 hold;		/* the job's hold token, if any */
	char			 account[128];
	int64_t			 cents;		/* amount sent */
	/*
	 * Which run of the job this is: Slurm's restart_cnt, 0 for the
	 * first (a requeued or preempted job runs again under its id).
	 * A completion's cents are that run's own cost until the queue
	 * makes them the job's cumulative charge (deliver.h).
	 */
	uint32_t		 run;
	uint8_t			 node_fail;	/* the run ended NODE_FAIL */
	/*
	 * A backfill's correction (accept_repair): queued even though the
	 * same completion was delivered, since the portal lacks it or holds
	 * another amount.  Not journaled: once taken it is a completion as
	 * any.
	 */
	uint8_t			 repair;
	int64_t			 submit;	/* the body's submitdate */
	/*
	 * Delivered completions only: what the portal held for the job
	 * from its earlier runs' completions (the PUT applied the
	 * difference from it), for the ledger; 0 if none.
	 */
	int64_t			 held;
	/*
	 * Delivered reports only: the cache's tick at the report's first
	 * send by this process, for the ledger (cache.h); 0 when it may
	 * have reached the portal before (replayed, or a duplicate).
	 */
	uint64_t		 sent_tick;
	char			*body;		/* the Job, as JSON */
	/*
	 * The node list as a Slurm hostlist expression, when expanded it
	 * would make the body too large to keep (a 60,000-node job): the
	 * body then holds "nodes":[] and report_nodes_expand() fills it in
	 * as the report is sent.  NULL otherwise.
	 */
	char			*nodes_expr;
};

/* A body larger than this keeps its node list apart (nodes_expr). */
#define REPORT_INLINE_MAX	(48 * 1024)

/*
 * Build a report from a plugin's message.  0; 1 when there is nothing to
 * charge (a free partition and no account); or -1 with a reason naming
 * the missing or malformed field in err.
 */
int	 report_build(const struct bank_conf *, enum report_kind,
	    const struct bp_msg *, struct report *, char *err, size_t errlen);
void	 report_clear(struct report *);
/* 1 when s is UTF-8 as jansson takes it (the body's strings must be). */
int	 report_utf8_valid(const char *s);

/*
 * body with its empty "nodes" member filled from the hostlist expression
 * expr, in *out (to free); 0, or -1 with err.
 */
int	 report_nodes_expand(const char *body, const char *expr, char **out,
	    char *err, size_t errlen);

/*
 * The body's "amount" made cents (a requeued job's cumulative charge);
 * 0, or -1 out of memory.
 */
int	 report_set_amount(struct report *, int64_t cents);

/* RFC 3339 UTC, as the server writes dates; 0, or -1 past year 9999. */
int	 report_date(int64_t t, char buf[32]);

#endif /* REPORT_H */
