/*
 * check.c - the submit decision: may this job's account pay its estimate
 * on top of what is already held for the account's queued jobs?
 *
 * The API's can_submit_job checks one cost C against two limits: the
 * account's (every user's usage) and the user's share of it.  Holds by all
 * users count against the account, only the user's own against the user,
 * so the two limits need two costs: Ca = estimate + account holds and
 * Cu = estimate + the user's holds (Ca >= Cu).  bankd asks for Ca first;
 * a pass there passes both; a refusal that names the user's limit (the
 * account's passed) is asked again with Cu.  Neither limit is overdrawn
 * and neither refuses a job that fits.
 *
 * Every answer teaches the cache (cache.c); a decision the cache implies
 * is made without the API.  When the API does not answer within
 * decision_ms, the policy decides: allow, deny, or cached (what is known,
 * of any age, else on_unknown).  An accepted job gets a hold (holds.c).
 *
 * Who asks matters (the socket is open to every local user).  Root and
 * slurm_user (job_submit) ask for any uid and their accepted checks hold.
 * Anyone else asks about their own uid only, never holds, is told the
 * figures of an account only once the API has shown them a member of it,
 * and has their API checks counted (conn.c: user_checks in flight,
 * user_checks_per_s).  Whoever asks, checks about the same (account, uid)
 * share one API request at a time: the rest wait for its answer, which
 * the cache then applies to each of them; and at most api_checks requests
 * are in flight in all (users' at most half of them), the rest queued.
 *
 * This file is the check from its request to its answer; checkint.h
 * lists the others and their jobs.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bankd.h"
#include "cache.h"
#include "checkint.h"
#include "checks.h"
#include "conn.h"
#include "fields.h"
#include "holds.h"
#include "log.h"
#include "money.h"
#include "peer.h"
#include "price.h"
#include "pricemsg.h"
#include "req.h"

/* ---- the module ------------------------------------------------------- */

int
check_init(struct bankd *bd)
{
	struct checks *cs;

	if ((cs = calloc(1, sizeof(*cs))) == NULL ||
	    idmap_init(&cs->asks) != 0) {
		free(cs);
		return -1;
	}
	TAILQ_INIT(&cs->all);
	TAILQ_INIT(&cs->queue[0]);
	TAILQ_INIT(&cs->queue[1]);
	cs->return_budget = checkbudget_return;
	cs->unplace = checkask_unplace;
	bd->checks = cs;
	checkbudget_init(bd);
	return 0;
}

/*
 * At exit, after portal_free() and api_free(): the checks still waiting
 * on the API will never hear from it (their connections are closed
 * already).
 */
void
check_fini(struct bankd *bd)
{
	struct checks *cs = bd->checks;
	struct check *ck;

	if (cs == NULL)
		return;
	while ((ck = TAILQ_FIRST(&cs->all)) != NULL) {
		TAILQ_REMOVE(&cs->all, ck, all_link);
		if (ck->deadline != NULL)
			event_free(ck->deadline);
		if (ck->conn != NULL)
			conn_release(ck->conn);
		free(ck);
	}
	checkask_free_all(cs);
	idmap_free(&cs->asks);
	free(cs);
	bd->checks = NULL;
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct check *ck = arg;
	char why[128];

	(void)fd;
	(void)what;
	/* Cut short by the budget: what bankd knows decides first. */
	if (ck->budget_ms != 0 && ck->budget_ms < ck->bd->conf.decision_ms) {
		checkbudget_decide(ck);
		checkverdict_free_if_done(ck);
		return;
	}
	snprintf(why, sizeof(why), "no answer within decision_ms=%d ms",
	    ck->bd->conf.decision_ms);
	checkpolicy_decide(ck, why);
	checkverdict_free_if_done(ck);
}

/* ---- a new check ------------------------------------------------------ */

/*
 * Whose job this is.  Root and slurm_user (job_submit, for the
 * submitter) name the uid; anyone else asks about themselves: a uid in
 * the body that is not theirs is refused, and they never hold.
 */
static int
check_who(struct check *ck, const struct req_check *rq, const char **why)
{
	const struct peer *p = conn_peer(ck->conn);

	ck->privileged = peer_privileged(p, ck->bd->slurm_uid);
	ck->caller = p->uid;
	ck->uid = (uint32_t)ck->caller;
	if (rq->has_uid) {
		if (!ck->privileged && rq->uid != (uint32_t)ck->caller) {
			*why = "a user may only ask about their own jobs: the "
			    "uid in the request is not the caller's";
			return -1;
		}
		ck->uid = rq->uid;
	}
	ck->dry_run = rq->dry_run || !ck->privileged;
	if ((ck->has_het = rq->has_het && rq->modify == 0)) {
		ck->het_offset = rq->het_offset;
		checkhold_het_take(ck, rq->het_holds, rq->het_n);
	}
	if (rq->modify == 0)
		return 0;
	if (!ck->privileged) {
		*why = "only job_submit (root or slurm_user) may check a change "
		    "to a job";
		return -1;
	}
	ck->modify = rq->modify;
	ck->array_task = rq->array_task;
	if (ck->bd->conf.holds_enabled && hold_find(ck->bd->holds, rq->hold,
	    ck->array_task ? 0 : ck->modify, &ck->old) == 0) {
		ck->has_old = 1;
		snprintf(ck->old_account, sizeof(ck->old_account), "%s",
		    ck->old.account);
	}
	return 0;
}

static struct check *
check_new(struct bankd *bd, struct conn *c, uint32_t id,
    const struct req_check *rq)
{
	const char *parts = rq->job.partitions;
	struct check *ck;

	if ((ck = calloc(1, sizeof(*ck))) == NULL)
		return NULL;
	ck->bd = bd;
	ck->conn = c;
	ck->id = id;
	ck->begun_ms = checkverdict_now_ms();
	TAILQ_INSERT_TAIL(&bd->checks->all, ck, all_link);
	conn_hold(c);
	conn_wait_begin(c);
	snprintf(ck->account, sizeof(ck->account), "%s", rq->account);
	snprintf(ck->partitions, sizeof(ck->partitions), "%s", *parts ?
	    parts : "(default)");
	pricemsg_estimate(&bd->conf, &rq->job, &ck->est);
	/* bankctl check USER ACCOUNT COST: the cost is given. */
	if (rq->has_cost) {
		ck->est.cents = rq->cost;
		ck->cost_given = 1;
	}
	return ck;
}

/* Decided before any hold or the API is looked at; 1 if so. */
static int
decided_early(struct check *ck, const struct req_check *rq)
{
	struct bankd *bd = ck->bd;
	char why_buf[600];
	const char *why;

	if (check_who(ck, rq, &why) != 0) {
		checkverdict_fail(ck, why);
		return 1;
	}
	if (!bd->conf.job_submit_enabled) {
		checkverdict_finish(ck, 1, "config", "submission checks are disabled");
		return 1;
	}
	/* A change that costs no more, on the same account: it passes. */
	if (ck->modify != 0 && ck->has_old && strcmp(ck->old_account,
	    ck->account) == 0 && ck->old.uid == ck->uid &&
	    ck->est.cents <= checkhold_old_cost(ck)) {
		checkverdict_finish(ck, 1, "modify", "the job costs no more than "
		    "before");
		return 1;
	}
	if (ck->est.cents == 0 && ck->est.price == 0 && !ck->cost_given) {
		checkverdict_finish(ck, 1, "price", "free partition, no charge");
		return 1;
	}
	if (ck->account[0] == '\0') {
		snprintf(why_buf, sizeof(why_buf), "%s%s is priced and no "
		    "account was given: submit with -A/--account <project> (a "
		    "project you belong to)", ck->est.partition[0] ?
		    "partition " : "the default partition",
		    ck->est.partition);
		checkverdict_finish(ck, 0, "config", why_buf);
		return 1;
	}
	if (!fields_account_ok(ck->account)) {
		checkverdict_finish(ck, 0, "config", "the account name is not one the "
		    "API takes");
		return 1;
	}
	if (ck->est.cents > LIM_COST_CENTS) {
		checkverdict_estimate_words(ck, why_buf, sizeof(why_buf));
		snprintf(why_buf + strlen(why_buf), sizeof(why_buf) -
		    strlen(why_buf), ": this job's estimate is more than the "
		    "API can check (999999999.99 SU); ask for less time or fewer "
		    "resources");
		checkverdict_finish(ck, 0, "price", why_buf);
		return 1;
	}
	return 0;
}

void
check_request(struct bankd *bd, struct conn *c, const struct req *rq)
{
	struct check *ck;
	struct timeval tv;
	const char *why;
	enum known v;
	int wait_ms;

	/* "later": bankd cannot decide now; job_submit's policy does. */
	if ((ck = check_new(bd, c, rq->id, &rq->u.check)) == NULL) {
		conn_reply_status(c, rq->type, rq->id, "later", "bankd is out "
		    "of memory");
		return;
	}
	if (decided_early(ck, &rq->u.check)) {
		checkverdict_free_if_done(ck);
		return;
	}
	checkhold_take(ck);
	if (!ck->privileged)
		ck->member = cache_is_member(bd->cache, ck->account, ck->uid,
		    time(NULL), bd->conf.cache_ttl_s);
	if (bd->conf.cache_ttl_s > 0 &&
	    (v = checkverdict_from_cache(ck, bd->conf.cache_ttl_s, &why)) !=
	    KNOWN_NOTHING) {
		if (v == KNOWN_ALLOW)
			checkverdict_finish(ck, 1, "cache", why);
		else
			checkverdict_deny_money(ck, "cache", ck->failed_limit, why);
		checkverdict_free_if_done(ck);
		return;
	}
	if ((wait_ms = checkbudget_take(ck)) == 0) {
		checkbudget_decide_now(ck);
		checkverdict_free_if_done(ck);
		return;
	}
	/* The account's limit known to pass at Ca: only the user's is open. */
	checkask_ask(ck, bd->conf.cache_ttl_s > 0 && (ck->privileged ||
	    ck->member) && cache_judge(bd->cache, ck->account, CACHE_ACCOUNT,
	    check_cost_account(ck), time(NULL), bd->conf.cache_ttl_s, &why) ==
	    CACHE_PASS ? ASK_USER : ASK_ACCOUNT);
	checkask_room(ck);
	if (ck->conn == NULL) {		/* answered already */
		checkverdict_free_if_done(ck);
		return;
	}
	tv.tv_sec = wait_ms / 1000;
	tv.tv_usec = wait_ms % 1000 * 1000;
	if ((ck->deadline = evtimer_new(bd->base, on_deadline, ck)) == NULL ||
	    evtimer_add(ck->deadline, &tv) != 0)
		log_err("check: cannot arm the decision deadline");
}
