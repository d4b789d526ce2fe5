/*
 * job_submit/bank - refuse, at submission, a job its account cannot pay.
 *
 * Runs inside slurmctld under its locks, so it does one thing: collect what
 * Slurm knows of the job's size, partitions and time limit, ask bankd with
 * a hard deadline, and act on the answer.  Pricing and the API live in
 * bankd.  When bankd cannot answer in time, the site's on_api_unavailable
 * policy decides, and the decision is logged.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slurm/slurm_errno.h"
#include "src/common/slurm_xlator.h"
#include "src/common/xstring.h"
#include "src/slurmctld/slurmctld.h"

#include "bankplug.h"
#include "bankproto.h"
#include "lim.h"
#include "price.h"

const char plugin_name[] = "Service-unit bank submission check";
const char plugin_type[] = "job_submit/bank";
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

static struct bank_conf	 bconf;
static int		 conf_ok;
static char		 conf_err[512];
static uint32_t		 next_id;

/*
 * The components of one heterogeneous submission come to job_submit one
 * after another on the RPC's thread (het_job_offset 0, 1, ...; NO_VAL
 * for any other job), all before Slurm creates any of them, and one
 * refused refuses them all (proc_req.c, 22.05).  Each accepted
 * component holds its estimate, so a later one is checked against the
 * earlier ones' holds; it names them (het_holds), so that bankd ends
 * them at once if it refuses this one.  Per thread: other submissions'
 * checks may run between two components under the same read locks.
 */
static __thread struct {
	uint32_t	 n;		/* components seen; UINT32_MAX: lost */
	uint64_t	 hold[LIM_HET_COMPONENTS];
} het;

/* One connection to bankd, kept open (bankplug.h). */
static struct bankplug_conn	 kept = BANKPLUG_CONN_INIT;

extern int
init(void)
{
	conf_ok = bankplug_conf_load(NULL, &bconf, conf_err,
	    sizeof(conf_err)) == 0;
	if (!conf_ok)
		error("job_submit/bank: %s; every job is let through until "
		    "it is fixed (scontrol reconfigure)", conf_err);
	else
		info("job_submit/bank: bankd at %s, deadline %d ms, "
		    "on_api_unavailable=%s", bconf.socket,
		    bconf.submit_deadline_ms,
		    conf_policy_name(bconf.on_api_unavailable));
	bankplug_conn_set(&kept, conf_ok ? bconf.socket : "");
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

static int
is_set32(uint32_t v)
{
	return v != NO_VAL && v != INFINITE && v != 0;
}

static int
is_set16(uint16_t v)
{
	return v != NO_VAL16 && v != INFINITE16 && v != 0;
}

/*
 * The job's own limit, else the longest default (or maximum) of the
 * partitions it may run in; 0 when none is finite.
 */
static uint32_t
time_limit_of(const job_desc_msg_t *jd, const char *parts)
{
	char *list, *tok, *save = NULL;
	part_record_t *p;
	uint32_t best = 0, t;

	if (is_set32(jd->time_limit))
		return jd->time_limit;
	list = xstrdup(parts);
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if ((p = find_part_record(tok)) == NULL)
			continue;
		t = is_set32(p->default_time) ? p->default_time :
		    is_set32(p->max_time) ? p->max_time : 0;
		if (t > best)
			best = t;
	}
	xfree(list);
	return best;
}

static void
add_u32(struct bp_msg *m, const char *key, uint32_t v)
{
	if (is_set32(v))
		bp_addf(m, key, "%" PRIu32, v);
}

static void
add_u16(struct bp_msg *m, const char *key, uint16_t v)
{
	if (is_set16(v))
		bp_addf(m, key, "%u", (unsigned)v);
}

/*
 * "name:cpus_per_node:mem_mb_per_node:exclusive" for each partition the
 * job may run in, from slurmctld's records (read locks are held): the
 * largest node of each, and OverSubscribe=EXCLUSIVE (max_share 0).
 */
static void
add_part_info(struct bp_msg *m, const char *parts)
{
	char *list, *tok, *save = NULL, *out = NULL;
	part_record_t *p;
	node_record_t *n;
	uint64_t mem;
	int i;

	list = xstrdup(parts);
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if ((p = find_part_record(tok)) == NULL)
			continue;
		mem = 0;
		for (i = 0; p->node_bitmap != NULL && i < node_record_count;
		    i++) {
			if ((n = node_record_table_ptr[i]) == NULL ||
			    !bit_test(p->node_bitmap, i))
				continue;
			if (n->real_memory > mem)
				mem = n->real_memory;
		}
		xstrfmtcat(out, "%s%s:%u:%" PRIu64 ":%d", out ? "," : "",
		    p->name, p->max_cpu_cnt, mem, p->max_share == 0);
	}
	xfree(list);
	if (out != NULL && strlen(out) < 4000)
		bp_addf(m, "part_info", "%s", out);	/* bp_add keeps pointers */
	xfree(out);
}

/*
 * What prices a job beyond its CPUs: --exclusive (shared 0), memory
 * (MEM_PER_CPU flags --mem-per-cpu; --mem=0 is the whole node), GPUs
 * (the TRES strings, parsed by bankd), QoS and the array's task count.
 */
static void
add_pricing(struct bp_msg *m, const job_desc_msg_t *jd, const char *parts)
{
	uint32_t tasks;

	if (jd->shared != NO_VAL16)
		bp_addf(m, "shared", "%u", (unsigned)jd->shared);
	if (jd->pn_min_memory != NO_VAL64) {
		if (jd->pn_min_memory & MEM_PER_CPU)
			bp_addf(m, "mem_per_cpu", "%" PRIu64,
			    (uint64_t)(jd->pn_min_memory & ~MEM_PER_CPU));
		else
			bp_addf(m, "mem_per_node", "%" PRIu64,
			    (uint64_t)jd->pn_min_memory);
	}
	bankplug_add_str(m, "tres_per_job", jd->tres_per_job);
	bankplug_add_str(m, "tres_per_node", jd->tres_per_node);
	bankplug_add_str(m, "tres_per_task", jd->tres_per_task);
	bankplug_add_str(m, "tres_per_socket", jd->tres_per_socket);
	bankplug_add_str(m, "qos", jd->qos);
	if (jd->array_inx != NULL &&
	    (tasks = price_array_tasks(jd->array_inx)) > 1)
		bp_addf(m, "array_tasks", "%" PRIu32, tasks);
	add_part_info(m, parts);
}

static void
build_check(struct bp_msg *m, const job_desc_msg_t *jd, uint32_t uid,
    const char *parts)
{
	bp_init(m, BP_T_CHECK, ++next_id);
	bp_addf(m, "uid", "%" PRIu32, uid);
	bp_add(m, "account", jd->account ? jd->account : "");
	bp_add(m, "partitions", parts);
	add_u32(m, "min_cpus", jd->min_cpus);
	add_u32(m, "num_tasks", jd->num_tasks);
	add_u16(m, "cpus_per_task", jd->cpus_per_task);
	add_u32(m, "min_nodes", jd->min_nodes);
	add_u16(m, "ntasks_per_node", jd->ntasks_per_node);
	add_u16(m, "pn_min_cpus", jd->pn_min_cpus);
	bp_addf(m, "time_limit", "%" PRIu32, time_limit_of(jd, parts));
	add_pricing(m, jd, parts);
	bp_add(m, "plugin", "job_submit");
}

/* bankd did not answer: the site's policy decides. */
static int
unavailable(uint32_t uid, const char *why, char **err_msg)
{
	/* Without bankd there is no cache: "cached" falls back at once. */
	if ((bconf.on_api_unavailable == POLICY_CACHED ? bconf.on_unknown :
	    bconf.on_api_unavailable) == POLICY_ALLOW) {
		info("job_submit/bank: job from uid %u allowed without a "
		    "check: %s (on_api_unavailable=allow)", uid, why);
		return SLURM_SUCCESS;
	}
	error("job_submit/bank: job from uid %u refused: %s "
	    "(on_api_unavailable=deny)", uid, why);
	*err_msg = xstrdup_printf("bank: the service-unit bank cannot check "
	    "this job now (%s); the site refuses jobs until it can. Try "
	    "again later.", why);
	return ESLURM_ACCOUNTING_POLICY;
}

/*
 * The job id does not exist yet, so bankd's hold is tied to the job by a
 * token in its AdminComment, which only admins can change and which the
 * start and completion reports carry back with the id.
 */
static void
tag_hold(job_desc_msg_t *jd, const char *hold)
{
	if (hold == NULL || strspn(hold, "0123456789") != strlen(hold) ||
	    *hold == '\0')
		return;
	if (jd->admin_comment != NULL && *jd->admin_comment != '\0')
		xstrfmtcat(jd->admin_comment, " bank_hold=%s", hold);
	else {
		xfree(jd->admin_comment);
		jd->admin_comment = xstrdup_printf("bank_hold=%s", hold);
	}
}

/*
 * The job's AdminComment with its bank_hold token replaced (or added):
 * set in the update itself, which the job takes once the update passes.
 */
static void
retag_hold(job_desc_msg_t *jd, const job_record_t *job, const char *hold)
{
	const char *was = jd->admin_comment ? jd->admin_comment :
	    job->admin_comment, *p, *e;
	char *out = NULL;

	if (hold == NULL || *hold == '\0' || strspn(hold, "0123456789") !=
	    strlen(hold))
		return;
	if (was != NULL && (p = strstr(was, "bank_hold=")) != NULL) {
		e = p + 10 + strspn(p + 10, "0123456789");
		xstrfmtcat(out, "%.*sbank_hold=%s%s", (int)(p - was), was, hold,
		    e);
	} else if (was != NULL && *was != '\0')
		xstrfmtcat(out, "%s bank_hold=%s", was, hold);
	else
		xstrfmtcat(out, "bank_hold=%s", hold);
	xfree(jd->admin_comment);
	jd->admin_comment = out;
}

/*
 * An accepted job's cost, for its user: slurmctld 22.05 hands job_submit's
 * err_msg back on success too (job_submit_user_msg), and sbatch, srun and
 * salloc print it as "sbatch: ...".  What is left after it only when
 * bankd knows it to the cent ("left" in its reply).
 */
static void
submit_message(const job_desc_msg_t *jd, const struct bp_msg *rep,
    char **err_msg)
{
	const char *est = bp_get(rep, "estimate"), *left = bp_get(rep, "left");

	/*
	 * Not per component of a heterogeneous job: sbatch would print one
	 * per component, even next to a later component's refusal.
	 */
	if (!bconf.submit_message || est == NULL || *err_msg != NULL ||
	    jd->het_job_offset != NO_VAL)
		return;
	if (left != NULL)
		*err_msg = xstrdup_printf("%s%sthis job may cost up to %s SU; "
		    "%s SU left after it", jd->account ? jd->account : "",
		    jd->account ? ": " : "", est, left);
	else
		*err_msg = xstrdup_printf("%s%sthis job may cost up to %s SU",
		    jd->account ? jd->account : "", jd->account ? ": " : "",
		    est);
}

/* Which component this is, and the holds of the ones before it. */
static void
add_het(struct bp_msg *m, const job_desc_msg_t *jd)
{
	char *list = NULL;
	uint32_t i;

	if (jd->het_job_offset == NO_VAL || jd->het_job_offset == 0)
		het.n = 0;
	if (jd->het_job_offset == NO_VAL ||
	    jd->het_job_offset >= LIM_HET_COMPONENTS)
		return;
	bp_addf(m, "het_offset", "%" PRIu32, jd->het_job_offset);
	if (het.n != jd->het_job_offset) {	/* a component went missing */
		het.n = UINT32_MAX;
		return;
	}
	for (i = 0; i < het.n; i++)
		if (het.hold[i] != 0)
			xstrfmtcat(list, "%s%" PRIu64, list ? "," : "",
			    het.hold[i]);
	if (list != NULL)
		bp_addf(m, "het_holds", "%s", list);	/* bp_add keeps pointers */
	xfree(list);
}

/* An accepted component: its hold (0: none) joins the list. */
static void
het_accepted(const job_desc_msg_t *jd, const char *hold)
{
	if (jd->het_job_offset == NO_VAL || het.n != jd->het_job_offset ||
	    het.n >= LIM_HET_COMPONENTS)
		return;
	het.hold[het.n++] = hold != NULL ? strtoull(hold, NULL, 10) : 0;
}

extern int
job_submit(job_desc_msg_t *jd, uint32_t submit_uid, char **err_msg)
{
	struct bp_msg req, rep;
	const char *parts, *status, *msg;
	uint32_t uid = jd->user_id != NO_VAL ? jd->user_id : submit_uid;
	int rc;

	if (!conf_ok) {
		error("job_submit/bank: %s: job from uid %u let through",
		    conf_err, uid);
		return SLURM_SUCCESS;
	}
	if (!bconf.job_submit_enabled)
		return SLURM_SUCCESS;
	parts = jd->partition ? jd->partition :
	    default_part_loc ? default_part_loc->name : "";
	build_check(&req, jd, uid, parts);
	add_het(&req, jd);
	rc = bankplug_call(&bconf, &kept, bconf.submit_deadline_ms,
	    &req, &rep);
	bp_free(&req);
	if (rc != BP_OK) {
		/* Refused by the policy, earlier holds wait for the reconcile. */
		het.n = UINT32_MAX;
		return unavailable(uid, bp_strerror(rc), err_msg);
	}
	status = bp_get(&rep, "status");
	msg = bp_get(&rep, "message");
	if (status != NULL && strcmp(status, "deny") == 0) {
		*err_msg = xstrdup_printf("bank: %s", msg ? msg :
		    "job refused by the service-unit bank");
		info("job_submit/bank: uid %u account %s refused: %s", uid,
		    jd->account ? jd->account : "(none)", msg ? msg : "");
		rc = ESLURM_ACCOUNTING_POLICY;
	} else if (status != NULL && strcmp(status, "error") == 0) {
		/*
		 * bankd refused the request itself: something of the job (a
		 * QoS or account with control characters, a count past what
		 * Slurm can hold) can never be checked, so it is refused, not
		 * let through by the policy unchecked.
		 */
		*err_msg = xstrdup_printf("bank: this job cannot be checked: %s",
		    msg ? msg : "bankd refused the request");
		info("job_submit/bank: uid %u: job refused, bankd cannot check "
		    "it: %s", uid, msg ? msg : "");
		rc = ESLURM_ACCOUNTING_POLICY;
	} else if (status != NULL && strcmp(status, "allow") == 0) {
		debug("job_submit/bank: uid %u: %s", uid, msg ? msg : "");
		tag_hold(jd, bp_get(&rep, "hold"));
		submit_message(jd, &rep, err_msg);
		het_accepted(jd, bp_get(&rep, "hold"));
		rc = SLURM_SUCCESS;
	} else {
		rc = unavailable(uid, msg ? msg : "bankd answered an error",
		    err_msg);
	}
	bp_free(&rep);
	return rc;
}

/* Does the change touch what the job costs? */
static int
changes_cost(const job_desc_msg_t *jd)
{
	return jd->partition != NULL || jd->account != NULL ||
	    jd->qos != NULL || jd->time_limit != NO_VAL ||
	    jd->min_cpus != NO_VAL || jd->num_tasks != NO_VAL ||
	    jd->cpus_per_task != NO_VAL16 || jd->min_nodes != NO_VAL ||
	    jd->ntasks_per_node != NO_VAL16 || jd->pn_min_cpus != NO_VAL16 ||
	    jd->pn_min_memory != NO_VAL64 || jd->shared != NO_VAL16 ||
	    jd->tres_per_job != NULL || jd->tres_per_node != NULL ||
	    jd->tres_per_task != NULL || jd->tres_per_socket != NULL;
}

/*
 * The job as it will be after the change: what the request sets, else
 * what the job has.  A shallow copy: nothing in it is freed.
 */
static void
merge(job_desc_msg_t *mj, const job_desc_msg_t *jd, const job_record_t *job)
{
	const struct job_details *d = job->details;

	*mj = *jd;
	if (mj->partition == NULL)
		mj->partition = job->partition;
	if (mj->account == NULL)
		mj->account = job->account;
	if (mj->qos == NULL && job->qos_ptr != NULL)
		mj->qos = job->qos_ptr->name;
	if (mj->time_limit == NO_VAL)
		mj->time_limit = job->time_limit;
	if (mj->tres_per_job == NULL)
		mj->tres_per_job = job->tres_per_job;
	if (mj->tres_per_node == NULL)
		mj->tres_per_node = job->tres_per_node;
	if (mj->tres_per_task == NULL)
		mj->tres_per_task = job->tres_per_task;
	if (mj->tres_per_socket == NULL)
		mj->tres_per_socket = job->tres_per_socket;
	/* The array's size is sent apart (array_tasks), not its range. */
	mj->array_inx = NULL;
	if (d == NULL)
		return;
	if (mj->min_cpus == NO_VAL)
		mj->min_cpus = d->min_cpus;
	if (mj->num_tasks == NO_VAL)
		mj->num_tasks = d->num_tasks;
	if (mj->cpus_per_task == NO_VAL16)
		mj->cpus_per_task = d->cpus_per_task;
	if (mj->min_nodes == NO_VAL)
		mj->min_nodes = d->min_nodes;
	if (mj->ntasks_per_node == NO_VAL16)
		mj->ntasks_per_node = d->ntasks_per_node;
	if (mj->pn_min_cpus == NO_VAL16 && d->pn_min_cpus < NO_VAL16)
		mj->pn_min_cpus = (uint16_t)d->pn_min_cpus;
	if (mj->pn_min_memory == NO_VAL64)
		mj->pn_min_memory = d->pn_min_memory;
	if (mj->shared == NO_VAL16 && d->whole_node == 1)
		mj->shared = 0;
}

/*
 * A change to a pending job that may raise what it costs is checked as a
 * submission is, the job's own hold counted once (bankd); refused, the
 * update fails and the job is unchanged.  Slurm 22.05 gives job_modify
 * no message for the user: scontrol says "Job violates accounting/QOS
 * policy", and slurmctld's log has bankd's reason.  Running jobs are
 * charged what they use: not checked.
 */
extern int
job_modify(job_desc_msg_t *jd, job_record_t *job, uint32_t modify_uid)
{
	job_desc_msg_t mj;
	struct bp_msg req, rep;
	const char *parts, *status, *msg, *hold;
	uint32_t uid;
	int rc;

	(void)modify_uid;
	if (!conf_ok || !bconf.job_submit_enabled || job == NULL ||
	    !IS_JOB_PENDING(job) || !changes_cost(jd))
		return SLURM_SUCCESS;
	uid = job->user_id;
	merge(&mj, jd, job);
	parts = mj.partition ? mj.partition :
	    default_part_loc ? default_part_loc->name : "";
	build_check(&req, &mj, uid, parts);
	bp_addf(&req, "modify", "%" PRIu32, job->job_id);
	bankplug_add_hold(&req, job->admin_comment);
	if (job->array_recs != NULL && job->array_recs->task_cnt > 1)
		bp_addf(&req, "array_tasks", "%" PRIu32,
		    job->array_recs->task_cnt);
	else if (job->array_task_id != NO_VAL)
		bp_add(&req, "array_task", "1");
	rc = bankplug_call(&bconf, &kept, bconf.submit_deadline_ms,
	    &req, &rep);
	bp_free(&req);
	if (rc != BP_OK) {
		char *ignored = NULL;

		rc = unavailable(uid, bp_strerror(rc), &ignored);
		xfree(ignored);
		return rc;
	}
	status = bp_get(&rep, "status");
	msg = bp_get(&rep, "message");
	if (status != NULL && strcmp(status, "allow") == 0) {
		/* Moved to another account: its new hold's token goes in. */
		if ((hold = bp_get(&rep, "hold")) != NULL)
			retag_hold(jd, job, hold);
		rc = SLURM_SUCCESS;
	} else if (status != NULL && (strcmp(status, "deny") == 0 ||
	    strcmp(status, "error") == 0)) {
		info("job_submit/bank: update of job %u refused: %s",
		    job->job_id, msg ? msg : "");
		rc = ESLURM_ACCOUNTING_POLICY;
	} else {
		char *ignored = NULL;

		rc = unavailable(uid, msg ? msg : "bankd answered an error",
		    &ignored);
		xfree(ignored);
	}
	bp_free(&rep);
	return rc;
}
