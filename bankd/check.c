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

/* ---- answering -------------------------------------------------------- */

void
check_free_if_done(struct check *ck)
{
	if (ck->conn != NULL || ck->api_pending || ck->place != P_NONE)
		return;
	if (ck->deadline != NULL)
		event_free(ck->deadline);
	if (ck->counted)
		conn_check_end(ck->bd, ck->caller);
	TAILQ_REMOVE(&ck->bd->checks->all, ck, all_link);
	free(ck);
}

static void
reply(struct check *ck, const char *status, const char *source,
    uint64_t hold, const char *msg)
{
	struct bp_msg rep;
	char amount[MONEY_FMT_LEN], held_a[MONEY_FMT_LEN];
	char held_u[MONEY_FMT_LEN];

	bp_init(&rep, BP_T_CHECK | BP_REPLY, ck->id);
	bp_add(&rep, "status", status);
	bp_add(&rep, "estimate", money_format(ck->est.cents, amount));
	bp_add(&rep, "partition", ck->est.partition);
	bp_add_u64(&rep, "cpus", ck->est.cpus);
	bp_add_u64(&rep, "minutes", ck->est.minutes);
	bp_add(&rep, "source", source);
	/* What others hold is the account's business, and its members'. */
	if (ck->privileged || ck->member) {
		bp_add(&rep, "held_account", money_format(ck->held_account,
		    held_a));
		bp_add(&rep, "held_user", money_format(ck->held_user, held_u));
		bp_add_u64(&rep, "held_jobs", ck->held_jobs);
	}
	if (hold != 0)
		bp_add_u64(&rep, "hold", hold);
	bp_add(&rep, "message", msg);
	conn_reply(ck->conn, &rep);
	bp_free(&rep);
}

/* The check is over for its caller: no more waiting, no more answers. */
static void
let_go(struct check *ck)
{
	checkbudget_return(ck);
	conn_wait_end(ck->conn);
	conn_release(ck->conn);
	ck->conn = NULL;
	if (ck->deadline != NULL)
		event_del(ck->deadline);
	checkask_unplace(ck);
}

/* Answer the plugin; an accepted job gets its hold. */
void
check_finish(struct check *ck, int allow, const char *source,
    const char *reason)
{
	char msg[1400], amount[MONEY_FMT_LEN], held[MONEY_FMT_LEN];
	uint64_t hold = 0;

	money_format(ck->est.cents, amount);
	/*
	 * Only a refusal is read by a person (sbatch prints it); an allow's
	 * message goes to a debug log.  Profiling showed composing it was
	 * half the instructions of a warm decision: keep it to the reason.
	 */
	if (!allow)
		snprintf(msg, sizeof(msg), "job refused: %s", reason);
	/*
	 * Holds are placed for submissions: job_submit's, never a user's,
	 * and not for nothing (a free partition's job).
	 */
	if (allow && !ck->dry_run && ck->privileged && ck->modify != 0 &&
	    ck->bd->conf.holds_enabled)
		hold = checkhold_modify(ck);
	else if (allow && !ck->dry_run && ck->privileged && ck->est.cents > 0 &&
	    ck->bd->conf.holds_enabled)
		hold = hold_place(ck->bd->holds, ck->uid, ck->account,
		    ck->est.cents, ck->est.tasks, ck->est.task_cents);
	/*
	 * A refusal is news; an allow is the common case, and slurmctld
	 * logs the job anyway: at the rate jobs arrive, an info line per
	 * allow would cost more than the decision (docs/performance.md).
	 */
	(allow ? log_debug : log_info)("check uid %" PRIu32 " account %s "
	    "partitions %s: %s by %s (%s SU, %s held): %s", ck->uid,
	    ck->account, ck->partitions, allow ? "allow" : "deny", source,
	    amount, money_format(ck->held_account, held), reason);
	reply(ck, allow ? "allow" : "deny", source, hold, allow ? reason : msg);
	let_go(ck);
	/* The caller frees ck (check_free_if_done) when it is done with it. */
}

/* Not a decision: the check itself cannot be made (an "error" reply). */
void
check_fail(struct check *ck, const char *why)
{
	struct bp_msg rep;

	log_info("check uid %" PRIu32 " account %s from uid %ld: %s", ck->uid,
	    ck->account, (long)ck->caller, why);
	bp_init(&rep, BP_T_CHECK | BP_REPLY, ck->id);
	bp_add(&rep, "status", "error");
	bp_add(&rep, "message", why);
	conn_reply(ck->conn, &rep);
	bp_free(&rep);
	let_go(ck);
}

/* What the cache says of both limits; max_age ANY_AGE: of any age. */
enum known
check_from_cache(struct check *ck, long max_age, const char **why)
{
	struct cache *c = ck->bd->cache;
	time_t now = time(NULL);
	enum cache_verdict va, vu;
	const char *msg = NULL;

	/* The cache speaks of the account: to members only. */
	if (!ck->privileged && !ck->member)
		return KNOWN_NOTHING;
	va = cache_judge(c, ck->account, CACHE_ACCOUNT, check_cost_account(ck),
	    now, max_age, &msg);
	if (va == CACHE_FAIL) {
		*why = msg;
		ck->failed_limit = LIMIT_ACCOUNT;
		return KNOWN_DENY;
	}
	vu = cache_judge(c, ck->account, ck->uid, check_cost_user(ck), now,
	    max_age, &msg);
	if (vu == CACHE_FAIL) {
		*why = msg;
		ck->failed_limit = LIMIT_USER;
		return KNOWN_DENY;
	}
	if (va == CACHE_PASS && vu == CACHE_PASS) {
		*why = "within what the API last allowed";
		return KNOWN_ALLOW;
	}
	return KNOWN_NOTHING;
}

/* "E SU (2 CPUs x 1h00m on normal at 360 SU/CPU-hour)", or "E SU". */
static void
estimate_words(const struct check *ck, char *out, size_t len)
{
	char amount[MONEY_FMT_LEN], what[320];

	money_format(ck->est.cents, amount);
	if (ck->cost_given) {
		snprintf(out, len, "%s SU", amount);
		return;
	}
	price_describe(&ck->est, what, sizeof(what));
	snprintf(out, len, "%s SU (%s)", amount, what);
}

/*
 * A refusal for money, in our words: what is left under the limit that
 * refused (the account's, or the user's share), what of it is
 * already held for queued jobs, and this job's estimate.  The API's
 * figure would include the holds (bankd asked for estimate + held);
 * where the room is not known, its words follow ours.
 */
void
check_refusal(const struct check *ck, enum answer_limit lim, const char *words,
    char *out, size_t len)
{
	int64_t room = cache_room(ck->bd->cache, ck->account,
	    check_limit_uid(ck, lim));
	int64_t held = lim == LIMIT_USER ? ck->held_user : ck->held_account;
	char est[400], left[MONEY_FMT_LEN], h[MONEY_FMT_LEN], jobs[96] = "";
	char who[LIM_ACCOUNT_LEN + 64];

	estimate_words(ck, est, sizeof(est));
	if (lim != LIMIT_USER)
		snprintf(who, sizeof(who), "account %s", ck->account);
	else
		snprintf(who, sizeof(who), "uid %ld's share of account %s",
		    (long)ck->uid, ck->account);
	if (held > 0 && lim != LIMIT_USER)
		snprintf(jobs, sizeof(jobs), ", %s SU of it held for %zu queued "
		    "job(s)", money_format(held, h), ck->held_jobs);
	else if (held > 0)
		snprintf(jobs, sizeof(jobs), ", %s SU of it held for their "
		    "queued jobs", money_format(held, h));
	if (room >= 0)
		snprintf(out, len, "%s has %s SU left%s; this job's estimate "
		    "is %s", who, money_format(room, left), jobs, est);
	else if (held > 0)
		snprintf(out, len, "%s cannot pay this job's estimate of %s on "
		    "top of %s SU held for queued job(s): %s", who, est,
		    money_format(held, h), words);
	else
		snprintf(out, len, "%s cannot pay this job's estimate of %s: %s",
		    who, est, words);
}

void
check_deny_money(struct check *ck, const char *source, enum answer_limit lim,
    const char *words)
{
	char msg[1000];

	check_refusal(ck, lim, words, msg, sizeof(msg));
	check_finish(ck, 0, source, msg);
}

/* Decide from the cache now that it knows more; 0 when it cannot. */
int
check_decide_known(struct check *ck, long max_age)
{
	const char *why;
	enum known v;

	checkhold_take(ck);
	/* Another check's answer may have shown the caller a member. */
	if (!ck->member)
		ck->member = cache_is_member(ck->bd->cache, ck->account,
		    ck->uid, time(NULL), max_age < 0 ? LONG_MAX : max_age);
	if ((v = check_from_cache(ck, max_age, &why)) == KNOWN_NOTHING)
		return 0;
	if (v == KNOWN_ALLOW)
		check_finish(ck, 1, "api", why);
	else
		check_deny_money(ck, "api", ck->failed_limit, why);
	return 1;
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
		check_free_if_done(ck);
		return;
	}
	snprintf(why, sizeof(why), "no answer within decision_ms=%d ms",
	    ck->bd->conf.decision_ms);
	checkpolicy_decide(ck, why);
	check_free_if_done(ck);
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
		check_fail(ck, why);
		return 1;
	}
	if (!bd->conf.job_submit_enabled) {
		check_finish(ck, 1, "config", "submission checks are disabled");
		return 1;
	}
	/* A change that costs no more, on the same account: it passes. */
	if (ck->modify != 0 && ck->has_old && strcmp(ck->old_account,
	    ck->account) == 0 && ck->old.uid == ck->uid &&
	    ck->est.cents <= checkhold_old_cost(ck)) {
		check_finish(ck, 1, "modify", "the job costs no more than "
		    "before");
		return 1;
	}
	if (ck->est.cents == 0 && ck->est.price == 0 && !ck->cost_given) {
		check_finish(ck, 1, "price", "free partition, no charge");
		return 1;
	}
	if (ck->account[0] == '\0') {
		snprintf(why_buf, sizeof(why_buf), "%s%s is priced and no "
		    "account was given: submit with -A/--account <project> (a "
		    "project you belong to)", ck->est.partition[0] ?
		    "partition " : "the default partition",
		    ck->est.partition);
		check_finish(ck, 0, "config", why_buf);
		return 1;
	}
	if (!fields_account_ok(ck->account)) {
		check_finish(ck, 0, "config", "the account name is not one the "
		    "API takes");
		return 1;
	}
	if (ck->est.cents > LIM_COST_CENTS) {
		estimate_words(ck, why_buf, sizeof(why_buf));
		snprintf(why_buf + strlen(why_buf), sizeof(why_buf) -
		    strlen(why_buf), ": this job's estimate is more than the "
		    "API can check (999999999.99 SU); ask for less time or fewer "
		    "resources");
		check_finish(ck, 0, "price", why_buf);
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
		check_free_if_done(ck);
		return;
	}
	checkhold_take(ck);
	if (!ck->privileged)
		ck->member = cache_is_member(bd->cache, ck->account, ck->uid,
		    time(NULL), bd->conf.cache_ttl_s);
	if (bd->conf.cache_ttl_s > 0 &&
	    (v = check_from_cache(ck, bd->conf.cache_ttl_s, &why)) !=
	    KNOWN_NOTHING) {
		if (v == KNOWN_ALLOW)
			check_finish(ck, 1, "cache", why);
		else
			check_deny_money(ck, "cache", ck->failed_limit, why);
		check_free_if_done(ck);
		return;
	}
	if ((wait_ms = checkbudget_take(ck)) == 0) {
		checkbudget_decide_now(ck);
		check_free_if_done(ck);
		return;
	}
	/* The account's limit known to pass at Ca: only the user's is open. */
	checkask_ask(ck, bd->conf.cache_ttl_s > 0 && (ck->privileged ||
	    ck->member) && cache_judge(bd->cache, ck->account, CACHE_ACCOUNT,
	    check_cost_account(ck), time(NULL), bd->conf.cache_ttl_s, &why) ==
	    CACHE_PASS ? ASK_USER : ASK_ACCOUNT);
	checkask_room(ck);
	if (ck->conn == NULL) {		/* answered already */
		check_free_if_done(ck);
		return;
	}
	tv.tv_sec = wait_ms / 1000;
	tv.tv_usec = wait_ms % 1000 * 1000;
	if ((ck->deadline = evtimer_new(bd->base, on_deadline, ck)) == NULL ||
	    evtimer_add(ck->deadline, &tv) != 0)
		log_err("check: cannot arm the decision deadline");
}
