/*
 * checkbudget.c - the submit budget.  slurmctld calls job_submit one job
 * at a time under its locks, so the waits of a burst add up: 50
 * submissions waiting 300 ms each are 15 s, past sbatch's own timeout,
 * and jobs bankd allowed were created after sbatch had told their users
 * it failed.  So submissions may wait on the API at most
 * submit_budget_ms in all in any BUDGET_WINDOW_S (a bucket refilled at
 * that rate); past it bankd decides at once from what it knows, and asks
 * the API in the background so that it knows more for the next ones.
 */
#include <stdio.h>
#include <time.h>

#include "bankd.h"
#include "checkint.h"
#include "monotime.h"

#define BUDGET_WINDOW_S	10
#define BUDGET_MIN_MS	20	/* less is not worth a wait */

void
checkbudget_init(struct bankd *bd)
{
	bd->checks->budget_us = (int64_t)bd->conf.submit_budget_ms * 1000;
	bd->checks->budget_at_ms = monotime_ms();
}

static void
budget_refill(struct bankd *bd)
{
	struct checks *cs = bd->checks;
	int64_t cap = (int64_t)bd->conf.submit_budget_ms * 1000;
	int64_t now = monotime_ms();

	cs->budget_us += (now - cs->budget_at_ms) * bd->conf.submit_budget_ms /
	    BUDGET_WINDOW_S;
	cs->budget_at_ms = now;
	if (cs->budget_us > cap)
		cs->budget_us = cap;
}

int
checkbudget_take(struct check *ck)
{
	struct bankd *bd = ck->bd;
	struct checks *cs = bd->checks;
	int64_t want = bd->conf.decision_ms;

	if (!ck->privileged || ck->dry_run || bd->conf.submit_budget_ms == 0)
		return bd->conf.decision_ms;
	budget_refill(bd);
	if (cs->budget_us / 1000 < BUDGET_MIN_MS)
		return 0;
	if (want > cs->budget_us / 1000)
		want = cs->budget_us / 1000;
	cs->budget_us -= want * 1000;
	ck->budget_ms = (int)want;
	ck->asked_at_ms = monotime_ms();
	return (int)want;
}

/* The wait reserved and not spent goes back. */
void
checkbudget_return(struct check *ck)
{
	int64_t used;

	if (ck->budget_ms == 0)
		return;
	used = monotime_ms() - ck->asked_at_ms;
	if (used < ck->budget_ms)
		ck->bd->checks->budget_us += (ck->budget_ms - used) * 1000;
	ck->budget_ms = 0;
}

/*
 * Waiting would exceed the submit budget: what bankd knows decides, of
 * any age, even with the cache off (it is the best there is), else the
 * policy; and the API is asked meanwhile, so that the next ones are
 * decided from its answer.
 */
void
checkbudget_decide_now(struct check *ck)
{
	checkbudget_decide(ck);
	checkask_refresh(ck);
}

void
checkbudget_decide(struct check *ck)
{
	struct bankd *bd = ck->bd;
	const char *why;
	char reason[800], wait[200];
	enum known v;

	if (ck->budget_ms != 0)
		snprintf(wait, sizeof(wait), "no answer within the %d ms the "
		    "submit budget had left (deadlines.submit_budget_ms=%d)",
		    ck->budget_ms, bd->conf.submit_budget_ms);
	else
		snprintf(wait, sizeof(wait), "not waiting: submissions have "
		    "waited deadlines.submit_budget_ms=%d for the API already",
		    bd->conf.submit_budget_ms);
	if ((v = checkverdict_from_cache(ck, ANY_AGE, &why)) == KNOWN_ALLOW) {
		snprintf(reason, sizeof(reason), "%s (%s)", why, wait);
		checkverdict_finish(ck, 1, "cache (submit budget)", reason);
	} else if (v == KNOWN_DENY)
		checkverdict_deny_money(ck, "cache (submit budget)", ck->failed_limit,
		    why);
	else
		checkpolicy_decide(ck, wait);
}
