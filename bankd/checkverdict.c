/*
 * checkverdict.c - the end of a check: the reply (allow with its hold,
 * deny in our words, or error), and what the cache alone can decide.
 * Every other part of the check ends here; this file calls none of them.
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
#include "logkv.h"
#include "money.h"
#include "peer.h"
#include "price.h"
#include "pricemsg.h"
#include "req.h"

void
checkverdict_free_if_done(struct check *ck)
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

/*
 * What the account (and the user's share of it) has left once this job
 * and every queued job are paid, when both rooms are known to the cent;
 * -1 otherwise.  job_submit tells it to the user on acceptance.
 */
static int64_t
left_after(const struct check *ck)
{
	int64_t ra = cache_room(ck->bd->cache, ck->account, CACHE_ACCOUNT);
	int64_t ru = cache_room(ck->bd->cache, ck->account, (long)ck->uid);

	if (ra < 0 || ru < 0)
		return -1;
	ra -= ck->held_account + ck->est.cents;
	ru -= ck->held_user + ck->est.cents;
	ra = ra < ru ? ra : ru;
	return ra < 0 ? 0 : ra;
}

static void
reply(struct check *ck, const char *status, const char *source,
    uint64_t hold, const char *msg)
{
	struct bp_msg rep;
	char amount[MONEY_FMT_LEN], held_a[MONEY_FMT_LEN];
	char held_u[MONEY_FMT_LEN], left[MONEY_FMT_LEN];
	int64_t l;

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
		if (strcmp(status, "allow") == 0 &&
		    (l = left_after(ck)) >= 0)
			bp_add(&rep, "left", money_format(l, left));
	}
	if (hold != 0)
		bp_add_u64(&rep, "hold", hold);
	bp_add(&rep, "message", msg);
	conn_reply(ck->conn, &rep);
	bp_free(&rep);
}

/*
 * The check is over for its caller: no more waiting, no more answers.
 * What the budget and the asks keep of it is theirs to let go: through
 * the hooks check_init set, since they call down here, not the other way.
 */
static void
let_go(struct check *ck)
{
	ck->bd->checks->return_budget(ck);
	conn_wait_end(ck->conn);
	conn_release(ck->conn);
	ck->conn = NULL;
	if (ck->deadline != NULL)
		event_del(ck->deadline);
	ck->bd->checks->unplace(ck);
}

enum outcome {
	OUT_ACCEPT,
	OUT_REFUSE,
	OUT_ERROR,		/* no decision: the check cannot be made */
};

/*
 * A check's log line begins with its job: the id when a pending job is
 * changed, "new" at submission (slurmctld has none for it yet).
 */
void
checkverdict_line_begin(struct logkv *kv, const struct check *ck,
    const char *event)
{
	logkv_init(kv);
	if (ck->modify != 0)
		logkv_u64(kv, "job", ck->modify);
	else
		logkv_str(kv, "job", "new");
	logkv_str(kv, "event", event);
}

/*
 * The decision's line: job first.  At submission slurmctld has given
 * the job no id yet (job_submit runs before), so it is "new"; a
 * job_modify names its job.  Who, what it costs, what is known of the
 * account, what decided and why, and how long it took.
 */
static void
decision_line(const struct check *ck, enum log_level level,
    enum outcome out, const char *source, const char *reason)
{
	static const char *const outs[] = { "accept", "refuse", "error" };
	int64_t room, us;
	struct logkv kv;

	if (!log_enabled(level))
		return;
	checkverdict_line_begin(&kv, ck, "decision");
	if (ck->has_het)
		logkv_u64(&kv, "het_offset", ck->het_offset);
	logkv_u64(&kv, "uid", ck->uid);
	if (ck->caller != (uid_t)ck->uid)
		logkv_u64(&kv, "caller", (uint64_t)ck->caller);
	logkv_str(&kv, "account", ck->account);
	logkv_str(&kv, "partition", ck->est.partition[0] ? ck->est.partition :
	    ck->partitions);
	logkv_u64(&kv, "cpus", ck->est.cpus);
	logkv_u64(&kv, "minutes", ck->est.minutes);
	logkv_money(&kv, "estimate", ck->est.cents);
	logkv_money(&kv, "held", ck->held_account);
	if ((room = cache_room(ck->bd->cache, ck->account, CACHE_ACCOUNT)) >= 0)
		logkv_money(&kv, "available", room);
	if (ck->dry_run)
		logkv_str(&kv, "dry_run", "yes");
	logkv_str(&kv, "outcome", outs[out]);
	logkv_str(&kv, "source", source);
	logkv_str(&kv, "reason", reason);
	us = counters_now_us() - ck->born_us;
	logkv_fmt(&kv, "latency_ms", "%" PRId64 ".%03" PRId64, us / 1000,
	    us % 1000);
	log_kv(level, &kv);
}

/* Answer the plugin; an accepted job gets its hold. */
void
checkverdict_finish(struct check *ck, int allow, const char *source,
    const char *reason)
{
	char msg[1400], held[MONEY_FMT_LEN];
	uint64_t hold = 0;

	/*
	 * Only a refusal is read by a person (sbatch prints it); an allow's
	 * message goes to a debug log.  Profiling showed composing it was
	 * half the instructions of a warm decision: keep it to the reason.
	 */
	if (!allow && ck->has_het && ck->het_offset > 0)
		snprintf(msg, sizeof(msg), "job refused: %s (component %" PRIu32
		    " of a heterogeneous job, checked with its earlier "
		    "components, which hold %s SU of that: the whole job is "
		    "refused)", reason, ck->het_offset,
		    money_format(ck->het_cents, held));
	else if (!allow)
		snprintf(msg, sizeof(msg), "job refused: %s", reason);
	if (!allow)
		checkhold_het_release(ck);
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
	 * One line per decision, an accept too (issue 14: what an admin
	 * greps for a job): a decision by policy (the API did not answer) is
	 * a warning.  Formatted once and written with one write(); the units
	 * lift journald's rate limit, which would drop lines in a burst.
	 */
	decision_line(ck, strcmp(source, "policy") == 0 ? LOG_LEVEL_WARN :
	    LOG_LEVEL_INFO, allow ? OUT_ACCEPT : OUT_REFUSE, source, reason);
	reply(ck, allow ? "allow" : "deny", source, hold, allow ? reason : msg);
	counters_decision(&ck->bd->counters, source, allow ? COUT_ALLOW :
	    COUT_DENY, ck->born_us);
	let_go(ck);
	/* The caller frees ck (checkverdict_free_if_done) when it is done with it. */
}

/* Not a decision: the check itself cannot be made (an "error" reply). */
void
checkverdict_fail(struct check *ck, const char *why)
{
	struct bp_msg rep;

	decision_line(ck, LOG_LEVEL_INFO, OUT_ERROR, "check", why);
	checkhold_het_release(ck);	/* job_submit refuses the whole job */
	bp_init(&rep, BP_T_CHECK | BP_REPLY, ck->id);
	bp_add(&rep, "status", "error");
	bp_add(&rep, "message", why);
	conn_reply(ck->conn, &rep);
	bp_free(&rep);
	counters_decision(&ck->bd->counters, "none", COUT_ERROR, ck->born_us);
	let_go(ck);
}

/* What the cache says of both limits; max_age ANY_AGE: of any age. */
enum known
checkverdict_from_cache(struct check *ck, long max_age, const char **why)
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
void
checkverdict_estimate_words(const struct check *ck, char *out, size_t len)
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
checkverdict_refusal(const struct check *ck, enum answer_limit lim,
    const char *words, char *out, size_t len)
{
	int64_t room = cache_room(ck->bd->cache, ck->account,
	    check_limit_uid(ck, lim));
	int64_t held = lim == LIMIT_USER ? ck->held_user : ck->held_account;
	char est[400], left[MONEY_FMT_LEN], h[MONEY_FMT_LEN], jobs[96] = "";
	char who[LIM_ACCOUNT_LEN + 64];

	checkverdict_estimate_words(ck, est, sizeof(est));
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
checkverdict_deny_money(struct check *ck, const char *source,
    enum answer_limit lim, const char *words)
{
	char msg[1000];

	checkverdict_refusal(ck, lim, words, msg, sizeof(msg));
	checkverdict_finish(ck, 0, source, msg);
}

/* Decide from the cache now that it knows more; 0 when it cannot. */
int
checkverdict_decide_known(struct check *ck, long max_age)
{
	const char *why;
	enum known v;

	checkhold_take(ck);
	/* Another check's answer may have shown the caller a member. */
	if (!ck->member)
		ck->member = cache_is_member(ck->bd->cache, ck->account,
		    ck->uid, time(NULL), max_age < 0 ? LONG_MAX : max_age);
	if ((v = checkverdict_from_cache(ck, max_age, &why)) == KNOWN_NOTHING)
		return 0;
	if (v == KNOWN_ALLOW)
		checkverdict_finish(ck, 1, "api", why);
	else
		checkverdict_deny_money(ck, "api", ck->failed_limit, why);
	return 1;
}

