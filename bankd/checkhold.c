/*
 * checkhold.c - what is held against a check, and what an accepted one
 * holds.  A job's estimate is weighed with what the account's queued
 * jobs hold already (holds.c); a job changed by job_modify counts once,
 * so its own hold is not held against it, and an accepted change turns
 * its hold into the new estimate.
 */
#include <string.h>

#include "bankd.h"
#include "checkint.h"
#include "holds.h"

int64_t
checkhold_old_cost(const struct check *ck)
{
	if (!ck->has_old)
		return 0;
	return ck->array_task && ck->old.tasks > 0 ? ck->old.task_cents :
	    ck->old.cents;
}

/*
 * What is held now: other checks may have placed holds meanwhile.  A job
 * being changed counts once: its own hold is not held against it.
 */
void
checkhold_take(struct check *ck)
{
	int64_t own = checkhold_old_cost(ck);

	if (!ck->bd->conf.holds_enabled)
		return;
	holds_sum(ck->bd->holds, ck->account, ck->uid, &ck->held_account,
	    &ck->held_user, &ck->held_jobs);
	if (own > 0 && strcmp(ck->old_account, ck->account) == 0) {
		ck->held_account -= own < ck->held_account ? own :
		    ck->held_account;
		if (ck->held_jobs > 0 && !ck->array_task)
			ck->held_jobs--;
		if (ck->old.uid == ck->uid)
			ck->held_user -= own < ck->held_user ? own :
			    ck->held_user;
	}
}

/*
 * An accepted change of a pending job: its hold becomes the new estimate
 * (journaled), in place when the account and user are the same, else
 * moved (the old released, a new placed, whose token job_submit puts in
 * the job).  Returns the token of a new hold, or 0.
 */
uint64_t
checkhold_modify(struct check *ck)
{
	struct holds *h = ck->bd->holds;
	int64_t cents;

	if (ck->has_old && strcmp(ck->old_account, ck->account) == 0 &&
	    ck->old.uid == ck->uid) {
		if (ck->array_task && ck->old.tasks > 0) {
			/* One task: the array's hold grows by its change. */
			cents = ck->old.cents - ck->old.task_cents +
			    ck->est.cents;
			if (cents < 0)
				cents = 0;
			hold_resize(h, ck->old.token, cents, ck->old.tasks,
			    ck->old.task_cents < cents ? ck->old.task_cents :
			    cents);
		} else if (ck->est.cents == 0)
			hold_release_token(h, ck->old.token, "the job was "
			    "changed to cost nothing");
		else
			hold_resize(h, ck->old.token, ck->est.cents,
			    ck->est.tasks, ck->est.task_cents);
		return 0;
	}
	if (ck->has_old && !ck->array_task)
		hold_release_token(h, ck->old.token, "the job moved to another "
		    "account or user");
	else if (ck->has_old)
		hold_resize(h, ck->old.token, ck->old.cents -
		    checkhold_old_cost(ck), ck->old.tasks, ck->old.task_cents);
	if (ck->est.cents == 0)
		return 0;
	return hold_place(h, ck->uid, ck->account, ck->est.cents,
	    ck->est.tasks, ck->est.task_cents);
}

/*
 * Slurm 22.05 runs job_submit once per component of a heterogeneous job
 * (het_job_offset 0, 1, ...) and creates none of them until every one
 * has passed (proc_req.c); each accepted component holds its estimate
 * like any queued job, so a later component is checked against the
 * earlier ones' holds: the sum of the components must fit.  job_submit
 * names those holds, so that the refusal of a later one ends them at
 * once rather than at the reconcile's next look.  Only job_submit's
 * (root, slurm_user) and only holds of the same uid not yet bound to a
 * job, which a submission still being checked cannot have.
 */
void
checkhold_het_take(struct check *ck, const uint64_t *tok, size_t n)
{
	struct hold_view v;
	size_t i;

	ck->het_n = 0;
	ck->het_cents = 0;
	if (!ck->privileged || !ck->bd->conf.holds_enabled)
		return;
	for (i = 0; i < n && ck->het_n < LIM_HET_COMPONENTS; i++) {
		if (hold_find(ck->bd->holds, tok[i], 0, &v) != 0 ||
		    v.job_id != 0 || v.uid != ck->uid)
			continue;
		ck->het_holds[ck->het_n++] = tok[i];
		ck->het_cents += v.cents;	/* LIM_HOLDS: no overflow */
	}
}

void
checkhold_het_release(struct check *ck)
{
	struct hold_view v;
	size_t i;

	for (i = 0; i < ck->het_n; i++)
		if (hold_find(ck->bd->holds, ck->het_holds[i], 0, &v) == 0 &&
		    v.job_id == 0 && v.uid == ck->uid)
			hold_release_token(ck->bd->holds, ck->het_holds[i],
			    "a later component of its heterogeneous job was "
			    "refused: Slurm creates none of them");
	ck->het_n = 0;
}
