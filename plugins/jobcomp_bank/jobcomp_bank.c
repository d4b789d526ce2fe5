/*
 * jobcomp/bank - report every finished job (completed, failed, cancelled,
 * timed out) to bankd, which charges its actual cost.
 *
 * Runs inside slurmctld with the job write lock held: one bankd call with
 * a hard deadline, nothing else.  JobCompLoc may name bank.yaml; by default
 * it is the file beside slurm.bconf.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slurm/slurm_errno.h"
#include "src/common/slurm_xlator.h"
#include "src/common/slurm_jobcomp.h"
#include "src/common/xstring.h"
#include "src/slurmctld/slurmctld.h"

#include "bankplug.h"
#include "bankproto.h"
#include "lim.h"

const char plugin_name[] = "Service-unit bank completion report";
const char plugin_type[] = "jobcomp/bank";
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

static struct bank_conf	 bconf;
static int		 conf_ok;
static uint32_t		 next_id;
static struct bankplug_conn	 kept = BANKPLUG_CONN_INIT;

extern int
init(void)
{
	return SLURM_SUCCESS;
}

extern int
fini(void)
{
	bankplug_conn_close(&kept);
	if (conf_ok)
		conf_free(&bconf);
	conf_ok = 0;
	return SLURM_SUCCESS;
}

extern int
jobcomp_p_set_location(char *location)
{
	char err[512];

	if (conf_ok)
		conf_free(&bconf);
	/* JobCompLoc defaults to a log file path: only take a YAML file. */
	if (location != NULL && strstr(location, ".yaml") == NULL)
		location = NULL;
	conf_ok = bankplug_conf_load(location, &bconf, err, sizeof(err)) == 0;
	if (!conf_ok) {
		error("jobcomp/bank: %s: completions are NOT reported until it "
		    "is fixed", err);
		return SLURM_ERROR;
	}
	info("jobcomp/bank: reporting to bankd at %s, deadline %d ms",
	    bconf.socket, bconf.report_deadline_ms);
	bankplug_conn_set(&kept, bconf.socket);
	return SLURM_SUCCESS;
}

static void
build_end(struct bp_msg *m, const job_record_t *job)
{
	const struct job_details *d = job->details;
	uint32_t state = job->job_state & JOB_STATE_BASE;

	bp_init(m, BP_T_END, ++next_id);
	bp_addf(m, "job_id", "%" PRIu32, job->job_id);
	bp_addf(m, "uid", "%" PRIu32, job->user_id);
	bp_add(m, "account", job->account ? job->account : "");
	if (job->part_ptr != NULL && job->part_ptr->name != NULL)
		bp_add(m, "partition", job->part_ptr->name);
	else if (job->partition != NULL)
		bp_add(m, "partition", job->partition);
	if (job->qos_ptr != NULL && job->qos_ptr->name != NULL)
		bp_add(m, "qos", job->qos_ptr->name);
	/*
	 * With slurmdbd the QoS record is there and its UsageFactor is what
	 * Slurm multiplies usage by: bankd charges it too.  In millionths,
	 * bounded (lim.h); anything else is left out and bank.yaml's
	 * multiplier applies.
	 */
	if (job->qos_ptr != NULL) {
		double f = job->qos_ptr->usage_factor;

		if (f >= 0 && f <= (double)LIM_USAGE_FACTOR_MICRO / 1e6)
			bp_addf(m, "usage_factor", "%" PRIu64,
			    (uint64_t)(f * 1e6 + 0.5));
		else
			error("jobcomp/bank: job %" PRIu32 ": QoS %s's "
			    "UsageFactor %g is out of range: bank.yaml's "
			    "multiplier applies", job->job_id,
			    job->qos_ptr->name ? job->qos_ptr->name : "?", f);
	}
	bp_add(m, "state", job_state_string(state));
	bp_addf(m, "cpus", "%" PRIu32, job->total_cpus);
	bp_add(m, "nodes", job->nodes ? job->nodes : "");
	bp_addf(m, "num_nodes", "%" PRIu32, job->node_cnt);
	if (d != NULL) {
		bp_addf(m, "req_nodes", "%" PRIu32, d->min_nodes);
		bp_addf(m, "submit", "%lld", (long long)d->submit_time);
	}
	bp_addf(m, "start", "%lld", (long long)job->start_time);
	bp_addf(m, "end", "%lld", (long long)job->end_time);
	/*
	 * Which run ended: jobcomp fires once per run, before a requeue
	 * counts the next one (job_mgr.c), so run k's completion says k.
	 */
	bp_addf(m, "run", "%u", (unsigned)job->restart_cnt);
	bp_addf(m, "suspended", "%lld", (long long)job->tot_sus_time);
	bp_addf(m, "time_limit", "%" PRIu32, job->time_limit);
	/* Priced beyond CPUs: GPUs and memory held ("gres/gpu:a100=2"). */
	if (job->tres_fmt_alloc_str != NULL &&
	    strchr(job->tres_fmt_alloc_str, '\n') == NULL)
		bp_addf(m, "tres_alloc", "%s", job->tres_fmt_alloc_str);
	/*
	 * What the job asked for and got: GPUs are in the allocated TRES only
	 * when AccountingStorageTRES tracks gres/gpu (slurmdbd), so bankd
	 * falls back to these.
	 */
	bankplug_add_str(m, "tres_per_job", job->tres_per_job);
	bankplug_add_str(m, "tres_per_node", job->tres_per_node);
	bankplug_add_str(m, "tres_per_task", job->tres_per_task);
	bankplug_add_str(m, "tres_per_socket", job->tres_per_socket);
	if (d != NULL && d->num_tasks != NO_VAL && d->num_tasks != 0)
		bp_addf(m, "num_tasks", "%" PRIu32, d->num_tasks);
	if (job->part_ptr != NULL) {
		/* A node's size, for billing by memory share. */
		uint64_t mem = 0;
		node_record_t *n;
		int i;

		for (i = 0; job->part_ptr->node_bitmap != NULL &&
		    i < node_record_count; i++)
			if ((n = node_record_table_ptr[i]) != NULL &&
			    bit_test(job->part_ptr->node_bitmap, i) &&
			    n->real_memory > mem)
				mem = n->real_memory;
		bp_addf(m, "node_cpus", "%" PRIu32, job->part_ptr->max_cpu_cnt);
		bp_addf(m, "node_mem_mb", "%" PRIu64, mem);
	}
}

extern int
jobcomp_p_log_record(job_record_t *job)
{
	struct bp_msg req;
	int rc;

	if (!conf_ok || !bconf.jobcomp_enabled || job == NULL)
		return SLURM_SUCCESS;
	build_end(&req, job);
	bankplug_add_hold(&req, job->admin_comment);
	rc = bankplug_report(&bconf, &kept, BANKPLUG_FAILOVER, &req,
	    "jobcomp/bank", job->job_id);
	bp_free(&req);
	return rc == 0 ? SLURM_SUCCESS : SLURM_ERROR;
}

extern List
jobcomp_p_get_jobs(void *job_cond)
{
	(void)job_cond;
	return NULL;
}
