/*
 * ctl_sacct.h - sacct's view of finished jobs, for bankctl backfill: the
 * command run with a deadline (fixed argv, no shell), and its output
 * decoded once, line by line, into typed values.  Every line is hostile
 * (sacct prints what users named their jobs' accounts and what slurmdbd
 * holds; a --sacct-file is anyone's): a line that is not exactly the
 * fields below, each within its bound, is refused whole with the reason,
 * and never charged.
 */
#ifndef CTL_SACCT_H
#define CTL_SACCT_H

#include <stddef.h>
#include <stdint.h>

#include "lim.h"

/*
 * The fields asked for (sacct --format), in this order.  One line per
 * job and per run: --allocations (-X, no steps) --duplicates (-D, every
 * run of a requeued job, each its own line under the job's id).  Times
 * are Unix seconds when SLURM_TIME_FORMAT=%s (bankctl sets it), else
 * sacct's local "YYYY-MM-DDTHH:MM:SS" (read in bankctl's time zone).
 */
#define CTL_SACCT_FORMAT	"JobIDRaw,UID,Account,Partition,QOS,State," \
	"AllocCPUS,NodeList,NNodes,ReqNodes,Submit,Start,End,Suspended," \
	"TimelimitRaw,AllocTRES"
#define CTL_SACCT_NFIELDS	16
#define CTL_SACCT_LINE_MAX	16384	/* bytes of one line, newline too */
#define CTL_SACCT_NODES_MAX	8191	/* a hostlist expression */
#define CTL_SACCT_TRES_MAX	1023
#define CTL_SACCT_STATE_MAX	31

struct ctl_sacct_job {
	uint32_t	 job_id;
	uint32_t	 uid;
	char		 account[LIM_ACCOUNT_LEN + 1];	/* "" none */
	char		 partition[LIM_PARTITION_LEN + 1];
	char		 qos[LIM_QOS_LEN + 1];
	char		 state[CTL_SACCT_STATE_MAX + 1];  /* "CANCELLED" of
						     "CANCELLED by 1000" */
	uint32_t	 cpus;
	char		 nodes[CTL_SACCT_NODES_MAX + 1];  /* "" none */
	uint32_t	 num_nodes;
	uint32_t	 req_nodes;
	int64_t		 submit, start, end;	/* Unix s; 0 not known */
	int64_t		 suspended;		/* seconds */
	int		 has_time_limit;
	uint32_t	 time_limit;		/* minutes */
	char		 tres[CTL_SACCT_TRES_MAX + 1];
};

/*
 * One line (without its newline) into *j: 0, or -1 with why (naming the
 * field) in why[0..len).
 */
int	 ctl_sacct_line(const char *line, size_t n, struct ctl_sacct_job *j,
	    char *why, size_t len);

/*
 * A date as sacct -S takes it, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], in
 * local time, as Unix seconds: 0, or -1 (not one of those forms).
 */
int	 ctl_sacct_date(const char *, int64_t *t);

/*
 * Run argv (argv[0] looked up in PATH; no shell) with SLURM_TIME_FORMAT=%s,
 * within deadline_ms: its standard output, at most max bytes, in *out
 * (malloc'd, NUL-terminated; *outlen its length).  0, or -1 with why:
 * not found, killed at the deadline, too much output, a non-zero exit.
 */
int	 ctl_sacct_run(char *const argv[], int deadline_ms, size_t max,
	    char **out, size_t *outlen, char *why, size_t len);

/*
 * A QoS's UsageFactor ("2.000000") in millionths, from `sacctmgr -nP show
 * qos format=Name,UsageFactor` lines: 0, or -1 (not such a line).
 */
int	 ctl_sacct_qos_line(const char *line, size_t n, char *name,
	    size_t namelen, uint64_t *micro);

#endif /* CTL_SACCT_H */
