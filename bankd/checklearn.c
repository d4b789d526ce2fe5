/*
 * checklearn.c - what a can_submit_job answer teaches, and what it
 * decides for the check that asked.  Every answer teaches the cache
 * (cache.c), a late one too (after the policy answered): the next checks
 * are decided from it instead of by the policy again.  For a check still
 * waiting, a pass at Ca passes both limits; a refusal of the user's limit
 * (the account's passed) is asked again at Cu; a refused probe is
 * decided by the room it names, or asked again at the cost itself.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "bankd.h"
#include "cache.h"
#include "checkint.h"
#include "health.h"
#include "log.h"
#include "logkv.h"
#include "money.h"
#include "portal.h"

static void
learn_room(struct check *ck, enum answer_limit lim, int64_t room)
{
	time_t now = time(NULL);
	char msg[256], left[MONEY_FMT_LEN];

	/* Exact: everything up to room passes, a cent more fails. */
	money_format(room, left);
	if (lim != LIMIT_USER)
		snprintf(msg, sizeof(msg), "the account has %s SU left in its "
		    "allocation", left);
	else
		snprintf(msg, sizeof(msg), "user %ld has %s SU left in their "
		    "allocation in this account", (long)ck->uid, left);
	cache_learn(ck->bd->cache, ck->account, check_limit_uid(ck, lim),
	    room + 1, 0, msg, now);
	cache_learn(ck->bd->cache, ck->account, check_limit_uid(ck, lim), room,
	    1, msg, now);
}

/*
 * What an answer teaches, whether or not it still decides ck (a late
 * answer, after the policy answered, teaches as much: the next checks
 * are decided from it instead of by the policy again).
 */
static void
learn(struct check *ck, int64_t cost, const struct check_answer *a)
{
	const char *msg = a->message;
	time_t now = time(NULL);

	if (a->kind == ANSWER_PASS) {
		cache_note_member(ck->bd->cache, ck->account, ck->uid, now);
		ck->member = 1;
		cache_learn(ck->bd->cache, ck->account, CACHE_ACCOUNT, cost, 1,
		    msg, now);
		cache_learn(ck->bd->cache, ck->account, ck->uid, cost, 1, msg,
		    now);
		return;
	}
	if (a->kind != ANSWER_REFUSED || a->limit == LIMIT_NONE)
		return;
	/* Only a member is told of a balance. */
	cache_note_member(ck->bd->cache, ck->account, ck->uid, now);
	ck->member = 1;
	if (a->room >= 0)
		learn_room(ck, a->limit, a->room);
	else
		cache_learn(ck->bd->cache, ck->account,
		    check_limit_uid(ck, a->limit), cost, 0, msg, now);
	/* The account's limit is checked first: it passed. */
	if (a->limit == LIMIT_USER)
		cache_learn(ck->bd->cache, ck->account, CACHE_ACCOUNT, cost, 1,
		    msg, now);
}

static enum checklearn_next
learn_and_decide(struct check *ck, int64_t cost, const struct check_answer *a)
{
	const char *msg = a->message;
	int64_t room = a->room;
	enum answer_limit lim = a->limit;
	char words[400];

	learn(ck, cost, a);
	if (a->kind == ANSWER_PASS) {
		/* Holds placed meanwhile may need more than was asked. */
		checkhold_take(ck);
		if (check_cost_of(ck, ck->stage) <= cost)
			checkverdict_finish(ck, 1, "api", msg);
		else if (!checkverdict_decide_known(ck, FRESH))
			return LEARN_ASK_AGAIN;
		return LEARN_DECIDED;
	}
	if (a->limit == LIMIT_NONE) {
		/* Not a member, no allocation: the API's words say it. */
		snprintf(words, sizeof(words), "account %s: %s", ck->account,
		    msg);
		checkverdict_finish(ck, 0, "api", words);
		return LEARN_DECIDED;
	}
	/* Asked for more than needed: the room decides, not the refusal. */
	if (room >= 0 && cost > check_cost_of(ck, ck->stage) &&
	    checkverdict_decide_known(ck, ANY_AGE))
		return LEARN_DECIDED;
	/* The account has room; the user's limit is still open. */
	if (lim == LIMIT_ACCOUNT && room >= check_cost_account(ck))
		return LEARN_ASK_USER;
	if (lim == LIMIT_USER && ck->stage == ASK_ACCOUNT &&
	    check_cost_user(ck) < cost)
		return LEARN_ASK_USER;
	if (room < 0 && !ck->exact && cost > check_cost_of(ck, ck->stage)) {
		/* A refused probe without its numbers: ask the real cost. */
		ck->exact = 1;
		return LEARN_ASK_AGAIN;
	}
	checkverdict_deny_money(ck, "api", lim, msg);
	return LEARN_DECIDED;
}

/*
 * An API answer that came after its check was decided (what: late, a
 * refresh, a failure): no decision, but what the next ones will know.
 */
static void
late_line(const struct check *ck, const char *what, double seconds,
    const char *answer)
{
	struct logkv kv;

	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	checkverdict_line_begin(&kv, ck, "learn");
	logkv_str(&kv, "what", what);
	logkv_u64(&kv, "uid", ck->uid);
	logkv_str(&kv, "account", ck->account);
	logkv_fmt(&kv, "api_ms", "%.0f", seconds * 1000);
	logkv_str(&kv, "answer", answer);
	log_kv(LOG_LEVEL_INFO, &kv);
}

enum checklearn_next
checklearn_answered(struct check *ck, int64_t cost,
    const struct portal_ask_reply *rep)
{
	/* A copy, as the reply is the portal's. */
	struct check_answer copy = rep->answer;
	const struct check_answer *a = &copy;
	char why[600];

	if (a->kind != ANSWER_UNUSABLE) {
		api_note(ck->bd, 1, NULL);
		if (ck->conn == NULL) {	/* decided already: it teaches */
			learn(ck, cost, a);
			late_line(ck, ck->refreshing ? "refresh" : "late",
			    rep->seconds, a->message);
		}
		else if (a->kind == ANSWER_UNKNOWN) {
			/* Unknown user or account: it cannot be charged. */
			snprintf(why, sizeof(why), "account %s: %s",
			    ck->account, a->message);
			checkverdict_finish(ck, 0, "api", why);
		}
		else
			return learn_and_decide(ck, cost, a);
	} else {
		snprintf(why, sizeof(why), "%s", rep->why);
		api_note(ck->bd, 0, why);
		if (ck->conn != NULL)
			checkpolicy_decide(ck, why);
		else
			late_line(ck, "late_failure", rep->seconds, why);
	}
	return LEARN_DECIDED;
}
