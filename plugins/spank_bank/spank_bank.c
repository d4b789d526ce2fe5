/*
 * spank_bank - report a job's start, with its estimated cost, to bankd.
 *
 * spank runs for every step on every node.  This plugin acts only in the
 * job prolog (once per node per job) and only on the job's first node, so
 * a job costs one report and one slurmctld query however many steps and
 * nodes it has; bankd ignores repeats.  The prolog runs in its own process
 * beside slurmd, never in slurmctld.
 *
 * plugstack.conf:  optional /path/spank_bank.so [config=/etc/slurm/bank.yaml]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

#include "bankplug.h"
#include "bankproto.h"

SPANK_PLUGIN(bank, 1);

static const char *
config_arg(int ac, char **av)
{
	int i;

	for (i = 0; i < ac; i++)
		if (strncmp(av[i], "config=", 7) == 0)
			return av[i] + 7;
	return NULL;
}

/* Is this node the first of the job's allocation? */
static int
first_node(void)
{
	const char *me = getenv("SLURMD_NODENAME");
	const char *list = getenv("SLURM_NODELIST");
	hostlist_t hl;
	char *first;
	int yes;

	if (me == NULL || list == NULL)
		return 1;	/* cannot tell: report, bankd deduplicates */
	if ((hl = slurm_hostlist_create(list)) == NULL)
		return 1;
	first = slurm_hostlist_shift(hl);
	yes = first == NULL || strcmp(first, me) == 0;
	free(first);
	slurm_hostlist_destroy(hl);
	return yes;
}

static void
build_start(struct bp_msg *m, const slurm_job_info_t *j)
{
	bp_init(m, BP_T_START, j->job_id);
	bp_addf(m, "job_id", "%" PRIu32, j->job_id);
	bp_addf(m, "uid", "%" PRIu32, j->user_id);
	bp_add(m, "account", j->account ? j->account : "");
	bp_add(m, "partition", j->partition ? j->partition : "");
	if (j->qos != NULL)
		bp_add(m, "qos", j->qos);
	bp_addf(m, "cpus", "%" PRIu32, j->num_cpus);
	bp_add(m, "nodes", j->nodes ? j->nodes : "");
	bp_addf(m, "num_nodes", "%" PRIu32, j->num_nodes);
	bp_addf(m, "submit", "%lld", (long long)j->submit_time);
	bp_addf(m, "start", "%lld", (long long)j->start_time);
	/* Which run: a requeued job starts again under its id. */
	bp_addf(m, "run", "%u", (unsigned)j->restart_cnt);
	if (j->time_limit != NO_VAL && j->time_limit != INFINITE)
		bp_addf(m, "time_limit", "%" PRIu32, j->time_limit);
	/* GPUs and memory held: "cpu=2,mem=1000M,node=1,gres/gpu=1" */
	bankplug_add_str(m, "tres_alloc", j->tres_alloc_str);
	/* and asked for, for GPUs the allocation may not list (no slurmdbd) */
	bankplug_add_str(m, "tres_per_node", j->tres_per_node);
	bankplug_add_str(m, "tres_per_job", j->tres_per_job);
	bankplug_add_str(m, "tres_per_task", j->tres_per_task);
	if (j->num_tasks != 0 && j->num_tasks != NO_VAL)
		bp_addf(m, "num_tasks", "%" PRIu32, j->num_tasks);
}

static int
report_start(const struct bank_conf *cf, uint32_t job_id)
{
	job_info_msg_t *info = NULL;
	struct bp_msg req;
	int rc;

	if (slurm_load_job(&info, job_id, SHOW_DETAIL) != 0 || info == NULL ||
	    info->record_count < 1) {
		slurm_error("spank_bank: job %u: cannot load the job from "
		    "slurmctld: %s", job_id, slurm_strerror(slurm_get_errno()));
		if (info != NULL)
			slurm_free_job_info_msg(info);
		return -1;
	}
	build_start(&req, &info->job_array[0]);
	bankplug_add_hold(&req, info->job_array[0].admin_comment);
	/* req points into info (bp_add copies no values): free it last. */
	rc = bankplug_report(cf, NULL, BANKPLUG_LOCAL,
	    &req, "spank_bank", job_id);
	bp_free(&req);
	slurm_free_job_info_msg(info);
	return rc;
}

int
slurm_spank_job_prolog(spank_t sp, int ac, char **av)
{
	struct bank_conf cf;
	char err[512];
	const char *id = getenv("SLURM_JOB_ID");
	uint32_t job_id;

	(void)sp;
	if (id == NULL || (job_id = (uint32_t)strtoul(id, NULL, 10)) == 0)
		return 0;
	if (!first_node())
		return 0;
	if (bankplug_conf_load(config_arg(ac, av), &cf, err, sizeof(err)) != 0) {
		slurm_error("spank_bank: %s: job %u start not reported", err,
		    job_id);
		return 0;
	}
	/*
	 * A failed report never fails the job: the completion report
	 * charges it in full either way.
	 */
	if (cf.spank_enabled)
		report_start(&cf, job_id);
	conf_free(&cf);
	return 0;
}
