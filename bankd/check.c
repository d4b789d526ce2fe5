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
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api.h"
#include "bankd.h"
#include "cache.h"
#include "holds.h"
#include "log.h"
#include "money.h"
#include "price.h"

enum stage {
	ASK_ACCOUNT,		/* cost Ca: decides both limits if it passes */
	ASK_USER,		/* cost Cu: the account's limit passed already */
};

/*
 * A check in progress.  Answered once: by the cache, the API, or the
 * policy at the deadline; the API request runs on in the background and
 * the check is freed when both are done with it.
 */
struct check {
	struct bankd		*bd;
	struct conn		*conn;		/* NULL once answered */
	struct event		*deadline;
	int			 api_pending;
	enum stage		 stage;
	uint32_t		 id;
	uint32_t		 uid;
	int			 dry_run;	/* bankctl check: no hold */
	int			 exact;		/* ask the cost itself, no probe */
	char			 account[128];
	char			 partitions[128];
	struct estimate		 est;
	int64_t			 asked;		/* the cost in the request */
	int64_t			 held_account;	/* by every user */
	int64_t			 held_user;
	size_t			 held_jobs;
};

static void	 ask(struct check *, enum stage);

#define COST_MAX	INT64_C(99999999999)	/* the API's 11 digits */

static int64_t
cost_account(const struct check *ck)
{
	return ck->est.cents + ck->held_account;
}

static int64_t
cost_user(const struct check *ck)
{
	return ck->est.cents + ck->held_user;
}

static void
check_free_if_done(struct check *ck)
{
	if (ck->conn != NULL || ck->api_pending)
		return;
	if (ck->deadline != NULL)
		event_free(ck->deadline);
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
	bp_add(&rep, "held_account", money_format(ck->held_account, held_a));
	bp_add(&rep, "held_user", money_format(ck->held_user, held_u));
	bp_add_u64(&rep, "held_jobs", ck->held_jobs);
	if (hold != 0)
		bp_add_u64(&rep, "hold", hold);
	bp_add(&rep, "message", msg);
	conn_reply(ck->conn, &rep);
	bp_free(&rep);
}

/* Answer the plugin; an accepted job gets its hold. */
static void
finish(struct check *ck, int allow, const char *source, const char *reason)
{
	char msg[1200], what[320], amount[MONEY_FMT_LEN], held[MONEY_FMT_LEN];
	char onto[160] = "";
	uint64_t hold = 0;

	money_format(ck->est.cents, amount);
	/*
	 * Only a refusal is read by a person (sbatch prints it); an allow's
	 * message goes to a debug log.  Profiling showed composing it was
	 * half the instructions of a warm decision: keep it to the reason.
	 */
	if (!allow) {
		describe_estimate(&ck->est, what, sizeof(what));
		if (ck->held_account > 0)
			snprintf(onto, sizeof(onto), ", on top of %s SU held "
			    "for %zu queued job(s) of this account",
			    money_format(ck->held_account, held),
			    ck->held_jobs);
		snprintf(msg, sizeof(msg), "job refused: account %s cannot be "
		    "charged the estimated %s SU (%s)%s: %s", ck->account,
		    amount, what, onto, reason);
	}
	if (allow && !ck->dry_run && ck->bd->conf.holds_enabled)
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
	conn_release(ck->conn);
	ck->conn = NULL;
	if (ck->deadline != NULL)
		event_del(ck->deadline);
	/* The caller frees ck (check_free_if_done) when it is done with it. */
}

/* 1 allow, 0 deny, -1 nothing known; max_age < 0: any age. */
static int
from_cache(struct check *ck, long max_age, const char **why)
{
	struct cache *c = ck->bd->cache;
	time_t now = time(NULL);
	enum cache_verdict va, vu;
	const char *msg = NULL;

	va = cache_judge(c, ck->account, -1, cost_account(ck), now, max_age,
	    &msg);
	if (va == CACHE_FAIL) {
		*why = msg;
		return 0;
	}
	vu = cache_judge(c, ck->account, ck->uid, cost_user(ck), now, max_age,
	    &msg);
	if (vu == CACHE_FAIL) {
		*why = msg;
		return 0;
	}
	if (va == CACHE_PASS && vu == CACHE_PASS) {
		*why = "within what the API last allowed";
		return 1;
	}
	return -1;
}

/* The API gave no usable answer: the site's policy decides. */
static void
by_policy(struct check *ck, const char *why)
{
	enum conf_policy p = ck->bd->conf.on_api_unavailable;
	const char *known;
	char reason[700];
	int v;

	if (p == POLICY_CACHED && (v = from_cache(ck, -1, &known)) >= 0) {
		snprintf(reason, sizeof(reason), "%s (the API could not answer: "
		    "%s; decided from what it said before)", known, why);
		finish(ck, v, "cache (API unavailable)", reason);
		return;
	}
	if (p == POLICY_CACHED)
		p = ck->bd->conf.on_unknown;
	snprintf(reason, sizeof(reason), "the accounting API could not answer "
	    "(%s); policy on_api_unavailable=%s", why,
	    conf_policy_name(ck->bd->conf.on_api_unavailable));
	log_warn("check uid %" PRIu32 " account %s: %s", ck->uid, ck->account,
	    reason);
	finish(ck, p == POLICY_ALLOW, "policy", reason);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct check *ck = arg;
	char why[128];

	(void)fd;
	(void)what;
	snprintf(why, sizeof(why), "no answer within decision_ms=%d ms",
	    ck->bd->conf.decision_ms);
	by_policy(ck, why);
	check_free_if_done(ck);
}

static int
scan_amount(const char *p, char *out, size_t len)
{
	size_t n = strspn(p, "0123456789.");

	while (n > 0 && p[n - 1] == '.')
		n--;
	if (n == 0 || n >= len)
		return 0;
	memcpy(out, p, n);
	out[n] = '\0';
	return 1;
}

/*
 * Which limit an API refusal names, and how much room it had left: the
 * message is "Adding job_cost C to account balance B would exceed account
 * allocation A." (or "user balance ... user allocation"; mybrc-api.md).
 * Returns -1 for the account, the uid for the user, -2 if neither.
 */
static long
refused_limit(const struct check *ck, const char *msg, int64_t *room)
{
	const char *b, *a, *why;
	char num[32];
	int64_t bal, alloc;
	long lim;

	if (strstr(msg, "exceed user allocation") != NULL)
		lim = ck->uid;
	else if (strstr(msg, "exceed account allocation") != NULL)
		lim = -1;
	else
		return -2;	/* not about money: not a member, no allocation */
	*room = -1;
	/* "%[0-9.]" also takes the sentence's final period: trim it. */
	if ((b = strstr(msg, " balance ")) != NULL &&
	    (a = strstr(msg, " allocation ")) != NULL &&
	    scan_amount(b + 9, num, sizeof(num)) &&
	    money_parse(num, 2, &bal, &why) == 0 &&
	    scan_amount(a + 12, num, sizeof(num)) &&
	    money_parse(num, 2, &alloc, &why) == 0)
		*room = alloc > bal ? alloc - bal : 0;
	return lim;
}

static void
learn_room(struct check *ck, long lim, int64_t room)
{
	time_t now = time(NULL);
	char msg[256], left[MONEY_FMT_LEN];

	/* Exact: everything up to room passes, a cent more fails. */
	money_format(room, left);
	if (lim == -1)
		snprintf(msg, sizeof(msg), "the account has %s SU left in its "
		    "allocation", left);
	else
		snprintf(msg, sizeof(msg), "user %ld has %s SU left in their "
		    "allocation in this account", lim, left);
	cache_learn(ck->bd->cache, ck->account, lim, room + 1, 0, msg, now);
	cache_learn(ck->bd->cache, ck->account, lim, room, 1, msg, now);
}

/* Decide from the cache now that it knows more; 0 when it cannot. */
static int
decide_known(struct check *ck)
{
	const char *why;
	int v;

	if ((v = from_cache(ck, -1, &why)) < 0)
		return 0;
	finish(ck, v, "api", why);
	return 1;
}

static void
learn_and_decide(struct check *ck, int64_t cost, int ok, const char *msg)
{
	time_t now = time(NULL);
	int64_t room;
	long lim;

	if (ok) {
		cache_learn(ck->bd->cache, ck->account, -1, cost, 1, msg, now);
		cache_learn(ck->bd->cache, ck->account, ck->uid, cost, 1, msg,
		    now);
		finish(ck, 1, "api", msg);
		return;
	}
	if ((lim = refused_limit(ck, msg, &room)) == -2) {
		finish(ck, 0, "api", msg);
		return;
	}
	if (room >= 0)
		learn_room(ck, lim, room);
	else
		cache_learn(ck->bd->cache, ck->account, lim, cost, 0, msg, now);
	if (lim != -1)	/* the account's limit is checked first: it passed */
		cache_learn(ck->bd->cache, ck->account, -1, cost, 1, msg, now);
	/* Asked for more than needed: the room decides, not the refusal. */
	if (room >= 0 && cost > (ck->stage == ASK_ACCOUNT ? cost_account(ck) :
	    cost_user(ck)) && decide_known(ck))
		return;
	if (lim == -1 && room >= cost_account(ck)) {
		/* The account has room; the user's limit is still open. */
		ask(ck, ASK_USER);
		return;
	}
	if (lim != -1 && ck->stage == ASK_ACCOUNT && cost_user(ck) < cost) {
		ask(ck, ASK_USER);
		return;
	}
	if (room < 0 && !ck->exact && cost > (ck->stage == ASK_ACCOUNT ?
	    cost_account(ck) : cost_user(ck))) {
		/* A refused probe without its numbers: ask the real cost. */
		ck->exact = 1;
		ask(ck, ck->stage);
		return;
	}
	finish(ck, 0, "api", msg);
}

static void
on_answer(const struct api_reply *rep, void *arg)
{
	struct check *ck = arg;
	json_t *j = api_reply_json(rep), *ok, *msg;
	int64_t cost = ck->asked;
	char why[512];

	ck->api_pending = 0;
	ok = json_object_get(j, "success");
	msg = json_object_get(j, "message");
	if ((rep->status == 200 || rep->status == 400) && json_is_boolean(ok) &&
	    json_is_string(msg)) {
		api_note(ck->bd, 1, NULL);
		if (ck->conn == NULL)	/* decided by policy already */
			log_info("check uid %" PRIu32 " account %s: the API "
			    "answered after the decision deadline (%.0f ms): "
			    "%s", ck->uid, ck->account, rep->seconds * 1000,
			    json_string_value(msg));
		else if (rep->status == 400)
			/* Unknown user or account: it cannot be charged. */
			finish(ck, 0, "api", json_string_value(msg));
		else
			learn_and_decide(ck, cost, json_is_true(ok),
			    json_string_value(msg));
	} else {
		api_describe(rep, why, sizeof(why));
		api_note(ck->bd, 0, why);
		if (ck->conn != NULL)
			by_policy(ck, why);
		else
			log_info("check uid %" PRIu32 " account %s: late API "
			    "failure: %s", ck->uid, ck->account, why);
	}
	json_decref(j);
	check_free_if_done(ck);
}

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
	int64_t need = stage == ASK_ACCOUNT ? cost_account(ck) : cost_user(ck);
	int64_t p = need, room;
	int f = ck->bd->conf.cache_ttl_s > 0 && !ck->exact ?
	    ck->bd->conf.probe_factor : 1;
	const char *msg;

	if (f > 1 && need <= COST_MAX / f)
		p = need * f;
	if (p > COST_MAX)
		p = need;
	if (stage == ASK_USER) {
		/* The largest cost the account is known to pass. */
		for (room = p; room > need; room = need + (room - need) / 2)
			if (cache_judge(ck->bd->cache, ck->account, -1, room,
			    time(NULL), -1, &msg) == CACHE_PASS)
				break;
		p = room;
	}
	return p;
}

static void
ask(struct check *ck, enum stage stage)
{
	char path[512], amount[MONEY_FMT_LEN];

	ck->stage = stage;
	ck->asked = probe_cost(ck, stage);
	snprintf(path, sizeof(path), "/can_submit_job/%s/%" PRIu32 "/%s/",
	    money_format(ck->asked, amount), ck->uid, ck->account);
	if (api_request(ck->bd->api, "GET", path, NULL, on_answer, ck) != 0) {
		by_policy(ck, "cannot start an HTTP request");
		return;
	}
	ck->api_pending = 1;
}

/* Account names go into a URL path: keep to what Slurm accounts use. */
static int
account_valid(const char *a)
{
	return strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_.-") == strlen(a);
}

static struct check *
check_new(struct bankd *bd, struct conn *c, const struct bp_msg *m)
{
	const char *acct = bp_get(m, "account");
	const char *parts = bp_get(m, "partitions");
	struct check *ck;
	uint64_t v = 0;

	if ((ck = calloc(1, sizeof(*ck))) == NULL)
		return NULL;
	ck->bd = bd;
	ck->conn = c;
	ck->id = m->id;
	conn_hold(c);
	bp_get_u64(m, "uid", &v);
	ck->uid = (uint32_t)v;
	v = 0;
	bp_get_u64(m, "dry_run", &v);
	ck->dry_run = v != 0;
	snprintf(ck->account, sizeof(ck->account), "%s", acct ? acct : "");
	snprintf(ck->partitions, sizeof(ck->partitions), "%s", parts && *parts ?
	    parts : "(default)");
	estimate_of(bd, m, &ck->est);
	/* bankctl check USER ACCOUNT COST: the cost is given. */
	if (bp_get_u64(m, "cost", &v) == 0)
		ck->est.cents = (int64_t)v;
	return ck;
}

void
handle_check(struct bankd *bd, struct conn *c, const struct bp_msg *m)
{
	struct check *ck;
	struct timeval tv;
	const char *why;
	int v;

	if ((ck = check_new(bd, c, m)) == NULL) {
		reply_simple(c, m, "error", "bankd is out of memory");
		return;
	}
	if (!bd->conf.job_submit_enabled) {
		finish(ck, 1, "config", "submission checks are disabled");
		check_free_if_done(ck);
		return;
	}
	if (ck->est.cents == 0 && ck->est.price == 0 && bp_get(m, "cost") ==
	    NULL) {
		finish(ck, 1, "price", "free partition, no charge");
		check_free_if_done(ck);
		return;
	}
	if (ck->account[0] == '\0' || !account_valid(ck->account)) {
		finish(ck, 0, "config", ck->account[0] == '\0' ? "partition is "
		    "priced and no account was given: submit with "
		    "-A/--account <project>" : "account name is invalid");
		check_free_if_done(ck);
		return;
	}
	if (bd->conf.holds_enabled)
		holds_sum(bd->holds, ck->account, ck->uid, &ck->held_account,
		    &ck->held_user, &ck->held_jobs);
	if (bd->conf.cache_ttl_s > 0 &&
	    (v = from_cache(ck, bd->conf.cache_ttl_s, &why)) >= 0) {
		finish(ck, v, "cache", why);
		check_free_if_done(ck);
		return;
	}
	/* The account's limit known to pass at Ca: only the user's is open. */
	ask(ck, bd->conf.cache_ttl_s > 0 && cache_judge(bd->cache, ck->account,
	    -1, cost_account(ck), time(NULL), bd->conf.cache_ttl_s, &why) ==
	    CACHE_PASS ? ASK_USER : ASK_ACCOUNT);
	if (ck->conn == NULL) {		/* the policy answered already */
		check_free_if_done(ck);
		return;
	}
	tv.tv_sec = bd->conf.decision_ms / 1000;
	tv.tv_usec = bd->conf.decision_ms % 1000 * 1000;
	if ((ck->deadline = evtimer_new(bd->base, on_deadline, ck)) == NULL ||
	    evtimer_add(ck->deadline, &tv) != 0)
		log_err("check: cannot arm the decision deadline");
}
