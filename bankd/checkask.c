/*
 * checkask.c - the check's asks to the API.  Checks about the same
 * (account, uid) share one can_submit_job at a time: the first leads an
 * ask, the rest wait on it, and its answer (once checklearn.c has taught
 * the cache) decides each of them or sends it to ask again.  At most
 * api_checks requests are in flight in all, users' at most half of them
 * so that job_submit always finds a slot; the rest queue for one, root's
 * and slurm_user's first.  A check decided without waiting (the submit
 * budget) refreshes its key in the background, and the first privileged
 * check of an account nothing is known of also asks for the account's
 * room (the most the API can check).
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bankd.h"
#include "cache.h"
#include "checkint.h"
#include "conn.h"
#include "portal.h"

static void	 on_answer(const struct portal_ask_reply *, void *arg);

/* ---- the asks in flight, by (account, uid) ---------------------------- */

static uint64_t
key_of(const char *account, uint32_t uid)
{
	uint64_t h = 1469598103934665603ULL;

	while (*account)
		h = (h ^ (unsigned char)*account++) * 1099511628211ULL;
	h = (h ^ uid) * 1099511628211ULL;
	return h;
}

static struct ask *
ask_find(struct checks *cs, const char *account, uint32_t uid)
{
	struct ask *a = idmap_get(&cs->asks, key_of(account, uid));

	for (; a != NULL; a = a->next)
		if (a->uid == uid && strcmp(a->account, account) == 0)
			return a;
	return NULL;
}

static struct ask *
ask_new(struct checks *cs, const char *account, uint32_t uid)
{
	struct ask *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->key = key_of(account, uid);
	a->uid = uid;
	snprintf(a->account, sizeof(a->account), "%s", account);
	TAILQ_INIT(&a->waiters);
	a->next = idmap_get(&cs->asks, a->key);
	if (idmap_put(&cs->asks, a->key, a) != 0) {
		free(a);
		return NULL;
	}
	return a;
}

static void
ask_unlink(struct checks *cs, struct ask *a)
{
	struct ask *head = idmap_get(&cs->asks, a->key), **pp;

	if (head == a) {
		if (a->next != NULL)
			idmap_put(&cs->asks, a->key, a->next);
		else
			idmap_del(&cs->asks, a->key);
		return;
	}
	for (pp = &head->next; *pp != NULL; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			return;
		}
}

/* At exit (check_fini): the asks no answer will end. */
void
checkask_free_all(struct checks *cs)
{
	struct ask *a, *next;
	size_t i;

	for (i = 0; i < cs->asks.cap; i++)
		for (a = cs->asks.slots[i].val; a != NULL; a = next) {
			next = a->next;
			free(a);
		}
}

/* Out of a queue or off an ask's waiters, if on one. */
void
checkask_unplace(struct check *ck)
{
	struct checks *cs = ck->bd->checks;

	/* A request in flight stays ck's until on_answer(). */
	if (ck->place == P_ASKING)
		return;
	if (ck->place == P_WAITING)
		TAILQ_REMOVE(&ck->on->waiters, ck, link);
	else if (ck->place == P_QUEUED)
		TAILQ_REMOVE(&cs->queue[!ck->privileged], ck, link);
	ck->on = NULL;
	ck->place = P_NONE;
}

/* ---- asking ------------------------------------------------------------ */

/*
 * Ask for more than is needed (cache.probe_factor times): a pass covers
 * the next submissions too, and a refusal's message tells the exact room
 * left, so the cache can decide later ones either way.  When asking about
 * the user's limit, stay within the account's known room, or the account
 * (checked first) would refuse again.
 */
static int64_t
probe_cost(struct check *ck, enum stage stage)
{
	int64_t need = check_cost_of(ck, stage);
	int64_t p = need, room;
	/*
	 * Even with the cache off (ttl_s 0): the answer teaches what decides
	 * the submissions that cannot wait for one (the submit budget).
	 */
	int f = !ck->exact ? ck->bd->conf.probe_factor : 1;
	const char *msg;

	if (f > 1 && need <= LIM_COST_CENTS / f)
		p = need * f;
	if (p > LIM_COST_CENTS)
		p = need;
	if (stage == ASK_USER) {
		/* The largest cost the account is known to pass. */
		for (room = p; room > need; room = need + (room - need) / 2)
			if (cache_judge(ck->bd->cache, ck->account,
			    CACHE_ACCOUNT, room, time(NULL), ANY_AGE, &msg) ==
			    CACHE_PASS)
				break;
		p = room;
	}
	return p;
}

static int
slot_free(const struct bankd *bd, int privileged)
{
	const struct checks *cs = bd->checks;

	if (cs->inflight >= bd->conf.api_checks)
		return 0;
	/* Users may take half the slots: job_submit always finds one. */
	return privileged || cs->user_inflight < (bd->conf.api_checks + 1) / 2;
}

/* The request itself; ck leads a new ask. */
static void
send_ask(struct check *ck)
{
	struct checks *cs = ck->bd->checks;
	enum portal_start st;

	if ((ck->on = ask_new(cs, ck->account, ck->room_ask ? ROOM_ASK :
	    ck->uid)) == NULL) {
		if (ck->conn != NULL)
			checkpolicy_decide(ck, "bankd is out of memory");
		return;
	}
	st = portal_can_submit(ck->bd->portal, ck->account, ck->uid, ck->asked,
	    on_answer, ck);
	if (st != PORTAL_STARTED) {
		ask_unlink(cs, ck->on);
		free(ck->on);
		ck->on = NULL;
		if (ck->conn == NULL)
			return;
		/* fields.c admits no account that needs it; safe anyway. */
		if (st == PORTAL_BAD_NAME)
			checkverdict_finish(ck, 0, "config", "the account name is not "
			    "one the API takes");
		else
			checkpolicy_decide(ck, "cannot start an HTTP request");
		return;
	}
	ck->place = P_ASKING;
	ck->api_pending = 1;
	cs->inflight++;
	if (!ck->privileged)
		cs->user_inflight++;
}

void
checkask_ask(struct check *ck, enum stage stage)
{
	struct checks *cs = ck->bd->checks;
	struct ask *a;

	ck->stage = stage;
	ck->asked = probe_cost(ck, stage);
	if (check_cost_of(ck, stage) > LIM_COST_CENTS) {
		checkverdict_finish(ck, 0, "price", "this job's estimate and what is "
		    "held for the account's queued jobs come to more than the "
		    "API can check (999999999.99 SU)");
		return;
	}
	/* A user's check waits on the API from now: it counts (conn.c). */
	if (!ck->privileged && !ck->counted) {
		conn_check_begin(ck->conn);
		ck->counted = 1;
	}
	/* The same question in flight: its answer will serve this one. */
	if ((a = ask_find(cs, ck->account, ck->uid)) != NULL) {
		ck->on = a;
		ck->place = P_WAITING;
		TAILQ_INSERT_TAIL(&a->waiters, ck, link);
		return;
	}
	if (!ck->privileged && !ck->asked_before &&
	    !conn_take_api_check(ck->conn)) {
		checkverdict_fail(ck, "too many checks asking the API: a user may make "
		    "limits.user_checks_per_s a second; try again in a moment");
		return;
	}
	ck->asked_before = 1;
	if (!slot_free(ck->bd, ck->privileged)) {
		ck->place = P_QUEUED;
		TAILQ_INSERT_TAIL(&cs->queue[!ck->privileged], ck, link);
		return;
	}
	send_ask(ck);
}

/* API slots came free: the queued checks go, root's and slurm's first. */
void
checkask_start_queued(struct bankd *bd)
{
	struct checks *cs = bd->checks;
	struct check *ck;
	int q;

	for (q = 0; q < 2; q++)
		while ((ck = TAILQ_FIRST(&cs->queue[q])) != NULL &&
		    slot_free(bd, q == 0)) {
			TAILQ_REMOVE(&cs->queue[q], ck, link);
			ck->place = P_NONE;
			/* Someone's answer may decide it now; else it asks. */
			if (!checkverdict_decide_known(ck, bd->conf.cache_ttl_s > 0 ?
			    bd->conf.cache_ttl_s : FRESH))
				checkask_ask(ck, ck->stage);
			checkverdict_free_if_done(ck);
		}
}

/* ---- the answer -------------------------------------------------------- */

/* The leader's answer taught the cache: each waiter decides or asks. */
static void
wake_waiters(struct bankd *bd, struct checkq *w)
{
	struct check *ck;
	long age = bd->conf.cache_ttl_s > 0 ? bd->conf.cache_ttl_s : FRESH;

	while ((ck = TAILQ_FIRST(w)) != NULL) {
		TAILQ_REMOVE(w, ck, link);
		ck->place = P_NONE;
		ck->on = NULL;
		if (ck->conn != NULL && !checkverdict_decide_known(ck, age))
			checkask_ask(ck, ck->stage);
		checkverdict_free_if_done(ck);
	}
}

static void
on_answer(const struct portal_ask_reply *rep, void *arg)
{
	struct check *ck = arg;
	struct bankd *bd = ck->bd;
	struct checks *cs = bd->checks;
	struct checkq waiters;
	int64_t cost = ck->asked;
	int again;

	ck->api_pending = 0;
	cs->inflight--;
	if (!ck->privileged)
		cs->user_inflight--;
	/* Off the ask: the waiters are woken once ck has learned. */
	TAILQ_INIT(&waiters);
	TAILQ_CONCAT(&waiters, &ck->on->waiters, link);
	again = ck->on->again;
	ask_unlink(cs, ck->on);
	free(ck->on);
	ck->on = NULL;
	ck->place = P_NONE;
	switch (checklearn_answered(ck, cost, rep)) {
	case LEARN_DECIDED:
		break;
	case LEARN_ASK_AGAIN:
		checkask_ask(ck, ck->stage);
		break;
	case LEARN_ASK_USER:
		checkask_ask(ck, ASK_USER);
		break;
	}
	wake_waiters(bd, &waiters);
	/* Submissions went on without this answer: ask again for them. */
	if (again && rep->answer.kind != ANSWER_UNUSABLE && ck->conn == NULL &&
	    !ck->api_pending)
		checkask_refresh(ck);
	checkverdict_free_if_done(ck);
	checkask_start_queued(bd);
}

/* ---- asking for the next ones ------------------------------------------ */

/*
 * A refresh asks what no submission waits on, for the submissions that
 * will not wait: so it asks for the room itself.  About the account's
 * limit, the most the API can check: a refusal names the account's
 * balance and allocation (the room to the cent), a pass covers any job.
 * About the user's, once the account's room is known: that room (more
 * the account would refuse again before the user's limit is looked at).
 */
static enum stage
refresh_stage(const struct check *ck)
{
	struct cache *c = ck->bd->cache;
	const char *msg;

	if (cache_room(c, ck->account, CACHE_ACCOUNT) >=
	    check_cost_account(ck) ||
	    cache_judge(c, ck->account, CACHE_ACCOUNT, LIM_COST_CENTS,
	    time(NULL), ANY_AGE, &msg) == CACHE_PASS)
		return ASK_USER;
	return ASK_ACCOUNT;
}

static int64_t
refresh_cost(const struct check *ck, enum stage stage)
{
	int64_t need = check_cost_of(ck, stage), room;
	const char *msg;

	if (stage == ASK_ACCOUNT)
		return LIM_COST_CENTS;
	if ((room = cache_room(ck->bd->cache, ck->account, CACHE_ACCOUNT)) >=
	    need)
		return room;
	for (room = LIM_COST_CENTS; room > need; room = need +
	    (room - need) / 2)
		if (cache_judge(ck->bd->cache, ck->account, CACHE_ACCOUNT, room,
		    time(NULL), ANY_AGE, &msg) == CACHE_PASS)
			break;
	return room;
}

/*
 * ck is decided; ask the API in the background about its key so that the
 * next submissions, which will not wait either, are decided from a fresh
 * answer.  One request at most per key: one in flight already is asked
 * again when it is answered (ask.again).
 */
void
checkask_refresh(struct check *ck)
{
	struct bankd *bd = ck->bd;
	struct ask *a;

	if ((a = ask_find(bd->checks, ck->account, ck->uid)) != NULL) {
		a->again = 1;
		return;
	}
	if (!slot_free(bd, 1))
		return;
	checkhold_take(ck);
	ck->stage = refresh_stage(ck);
	if (check_cost_of(ck, ck->stage) > LIM_COST_CENTS)
		return;
	ck->asked = refresh_cost(ck, ck->stage);
	ck->refreshing = 1;
	send_ask(ck);
}

/*
 * The first submission to an account nothing is known of: while its own
 * request asks a probe (probe_factor times its cost, answered for it), a
 * second asks the most the API can check, whose refusal names the
 * account's balance and allocation.  Then the submissions that will not
 * wait (the submit budget) are refused from what the API said once the
 * account's room is spent, not let through by the policy while the
 * probes' passes catch up with the holds: one request more per account,
 * once.
 */
void
checkask_room(const struct check *ck)
{
	struct bankd *bd = ck->bd;
	struct check *r;

	if (!ck->privileged || ck->dry_run || bd->conf.submit_budget_ms == 0 ||
	    cache_knows(bd->cache, ck->account, CACHE_ACCOUNT) ||
	    ask_find(bd->checks, ck->account, ROOM_ASK) != NULL ||
	    !slot_free(bd, 1) || (r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->bd = bd;
	r->privileged = 1;
	r->dry_run = 1;
	r->uid = ck->uid;
	r->caller = ck->caller;
	r->est = ck->est;
	memcpy(r->account, ck->account, sizeof(r->account));
	r->stage = ASK_ACCOUNT;
	r->asked = LIM_COST_CENTS;
	r->refreshing = r->room_ask = 1;
	TAILQ_INSERT_TAIL(&bd->checks->all, r, all_link);
	send_ask(r);
	checkverdict_free_if_done(r);
}
