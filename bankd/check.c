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
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answer.h"
#include "bankd.h"
#include "cache.h"
#include "checks.h"
#include "conn.h"
#include "fields.h"
#include "health.h"
#include "holds.h"
#include "idmap.h"
#include "lim.h"
#include "log.h"
#include "money.h"
#include "peer.h"
#include "portal.h"
#include "price.h"
#include "pricemsg.h"
#include "req.h"

/* cache.h's words: uid -1 is the account's limit; max_age -1 any age. */
#define CACHE_ACCOUNT	(-1L)
#define ANY_AGE		(-1L)

/* What the cache knows decides a check: allow, deny, or nothing yet. */
enum known {
	KNOWN_NOTHING,
	KNOWN_ALLOW,
	KNOWN_DENY,
};

enum stage {
	ASK_ACCOUNT,		/* cost Ca: decides both limits if it passes */
	ASK_USER,		/* cost Cu: the account's limit passed already */
};

/* Where a check that is not answered yet is. */
enum place {
	P_NONE,
	P_ASKING,		/* its own API request is in flight */
	P_WAITING,		/* on another check's request, same key */
	P_QUEUED,		/* for a free API slot */
};

struct ask;

/*
 * A check in progress.  Answered once: by the cache, the API, or the
 * policy at the deadline; its API request runs on in the background and
 * the check is freed when both are done with it.
 */
struct check {
	TAILQ_ENTRY(check)	 link;		/* on an ask or a queue */
	TAILQ_ENTRY(check)	 all_link;	/* every live check */
	struct bankd		*bd;
	struct conn		*conn;		/* NULL once answered */
	struct event		*deadline;
	struct ask		*on;		/* P_ASKING, P_WAITING */
	enum place		 place;
	int			 api_pending;
	enum stage		 stage;
	uint32_t		 id;
	uint32_t		 uid;		/* whose job: see check_new */
	uid_t			 caller;	/* who asks (the peer) */
	int			 privileged;	/* root or slurm_user */
	int			 member;	/* may see the account's figures */
	int			 counted;	/* in the caller's user_checks */
	int			 budget_ms;	/* of submit_budget_ms, reserved */
	/* job_modify: the pending job changed, and its hold until now. */
	uint32_t		 modify;	/* its id; 0: a new submission */
	int			 array_task;	/* one task of an array */
	int			 has_old;
	struct hold_view	 old;
	char			 old_account[LIM_ACCOUNT_LEN + 1];
	int64_t			 asked_at_ms;	/* when it began to wait */
	int			 asked_before;	/* took its API check already */
	int			 dry_run;	/* no hold */
	int			 cost_given;	/* bankctl check: no pricing */
	enum answer_limit	 failed_limit;	/* from_cache's KNOWN_DENY */
	int			 exact;		/* ask the cost itself, no probe */
	int			 refreshing;	/* decided; asks for the next ones */
	int			 room_ask;	/* room_ask's: keyed ROOM_ASK */
	char			 account[LIM_ACCOUNT_LEN + 1];
	char			 partitions[128];
	struct estimate		 est;
	int64_t			 asked;		/* the cost in the request */
	int64_t			 held_account;	/* by every user */
	int64_t			 held_user;
	size_t			 held_jobs;
};

TAILQ_HEAD(checkq, check);

/* The uid of room_ask's key: no user's (uid_t -1 is never one). */
#define ROOM_ASK	UINT32_MAX

/* One can_submit_job in flight for (account, uid), and who waits on it. */
struct ask {
	struct ask		*next;		/* same hash */
	uint64_t		 key;
	uint32_t		 uid;
	char			 account[LIM_ACCOUNT_LEN + 1];
	struct checkq		 waiters;
	/*
	 * Submissions were decided without waiting for this answer (the
	 * submit budget): they come faster than the API answers, so when it
	 * does, the key is asked again at once (a refresh).
	 */
	int			 again;
};

struct checks {
	struct checkq		 all;
	struct idmap		 asks;		/* key -> chain of struct ask */
	struct checkq		 queue[2];	/* [0] root/slurm_user, [1] users */
	int			 inflight;	/* API requests, all */
	int			 user_inflight;	/* of them, users' */
	int64_t			 budget_us;	/* submit_budget_ms left, x 1000 */
	int64_t			 budget_at_ms;	/* its last refill */
};

static void	 ask(struct check *, enum stage);
static void	 refresh(struct check *);
static void	 budget_decide(struct check *);
static void	 start_queued(struct bankd *);
static uint64_t	 modify_hold(struct check *);

static int64_t
cost_account(const struct check *ck)
{
	/* Both bounded (lim.h, LIM_HOLDS): no overflow. */
	return ck->est.cents + ck->held_account;
}

static int64_t
cost_user(const struct check *ck)
{
	return ck->est.cents + ck->held_user;
}

static int64_t
cost_of(const struct check *ck, enum stage stage)
{
	return stage == ASK_ACCOUNT ? cost_account(ck) : cost_user(ck);
}

/* The cache's uid for a limit: the account's, or the job's user's. */
static long
limit_uid(const struct check *ck, enum answer_limit lim)
{
	return lim == LIMIT_USER ? (long)ck->uid : CACHE_ACCOUNT;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The submit budget.  slurmctld calls job_submit one job at a time under
 * its locks, so the waits of a burst add up: 50 submissions waiting
 * 300 ms each are 15 s, past sbatch's own timeout, and jobs bankd
 * allowed were created after sbatch had told their users it failed.  So
 * submissions may wait on the API at most submit_budget_ms in all in any
 * BUDGET_WINDOW_S (a bucket refilled at that rate); past it bankd
 * decides at once from what it knows, and asks the API in the
 * background so that it knows more for the next ones.
 */
#define BUDGET_WINDOW_S	10
#define BUDGET_MIN_MS	20	/* less is not worth a wait */

static void
budget_refill(struct bankd *bd)
{
	struct checks *cs = bd->checks;
	int64_t cap = (int64_t)bd->conf.submit_budget_ms * 1000, now = now_ms();

	cs->budget_us += (now - cs->budget_at_ms) * bd->conf.submit_budget_ms /
	    BUDGET_WINDOW_S;
	cs->budget_at_ms = now;
	if (cs->budget_us > cap)
		cs->budget_us = cap;
}

/* How long this submission may wait on the API: 0 not at all. */
static int
budget_take(struct check *ck)
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
	ck->asked_at_ms = now_ms();
	return (int)want;
}

/* The wait reserved and not spent goes back. */
static void
budget_return(struct check *ck)
{
	int64_t used;

	if (ck->budget_ms == 0)
		return;
	used = now_ms() - ck->asked_at_ms;
	if (used < ck->budget_ms)
		ck->bd->checks->budget_us += (ck->budget_ms - used) * 1000;
	ck->budget_ms = 0;
}

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
	cs->budget_us = (int64_t)bd->conf.submit_budget_ms * 1000;
	cs->budget_at_ms = now_ms();
	bd->checks = cs;
	return 0;
}

/*
 * At exit, after portal_free() and api_free(): the checks still waiting on the API will
 * never hear from it (their connections are closed already).
 */
void
check_fini(struct bankd *bd)
{
	struct checks *cs = bd->checks;
	struct ask *a, *next;
	struct check *ck;
	size_t i;

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
	for (i = 0; i < cs->asks.cap; i++)
		for (a = cs->asks.slots[i].val; a != NULL; a = next) {
			next = a->next;
			free(a);
		}
	idmap_free(&cs->asks);
	free(cs);
	bd->checks = NULL;
}

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

/* ---- answering -------------------------------------------------------- */

/* Out of a queue or off an ask's waiters, if on one. */
static void
unplace(struct check *ck)
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

static void
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
	budget_return(ck);
	conn_wait_end(ck->conn);
	conn_release(ck->conn);
	ck->conn = NULL;
	if (ck->deadline != NULL)
		event_del(ck->deadline);
	unplace(ck);
}

/* Answer the plugin; an accepted job gets its hold. */
static void
finish(struct check *ck, int allow, const char *source, const char *reason)
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
		hold = modify_hold(ck);
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
static void
fail(struct check *ck, const char *why)
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

/* What the job changed by job_modify holds already (a task: its share). */
static int64_t
old_cost(const struct check *ck)
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
static void
take_holds(struct check *ck)
{
	int64_t own = old_cost(ck);

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
static uint64_t
modify_hold(struct check *ck)
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
		hold_resize(h, ck->old.token, ck->old.cents - old_cost(ck),
		    ck->old.tasks, ck->old.task_cents);
	if (ck->est.cents == 0)
		return 0;
	return hold_place(h, ck->uid, ck->account, ck->est.cents,
	    ck->est.tasks, ck->est.task_cents);
}

/* What the cache says of both limits; max_age ANY_AGE: of any age. */
static enum known
from_cache(struct check *ck, long max_age, const char **why)
{
	struct cache *c = ck->bd->cache;
	time_t now = time(NULL);
	enum cache_verdict va, vu;
	const char *msg = NULL;

	/* The cache speaks of the account: to members only. */
	if (!ck->privileged && !ck->member)
		return KNOWN_NOTHING;
	va = cache_judge(c, ck->account, CACHE_ACCOUNT, cost_account(ck), now,
	    max_age, &msg);
	if (va == CACHE_FAIL) {
		*why = msg;
		ck->failed_limit = LIMIT_ACCOUNT;
		return KNOWN_DENY;
	}
	vu = cache_judge(c, ck->account, ck->uid, cost_user(ck), now, max_age,
	    &msg);
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
static void
refusal(const struct check *ck, enum answer_limit lim, const char *words,
    char *out, size_t len)
{
	int64_t room = cache_room(ck->bd->cache, ck->account,
	    limit_uid(ck, lim));
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

static void
deny_money(struct check *ck, const char *source, enum answer_limit lim,
    const char *words)
{
	char msg[1000];

	refusal(ck, lim, words, msg, sizeof(msg));
	finish(ck, 0, source, msg);
}

/* Under "cached", why what is known does not decide. */
static const char *
known_words(const struct check *ck, char *out, size_t len)
{
	char ca[MONEY_FMT_LEN];

	if (!cache_knows(ck->bd->cache, ck->account, CACHE_ACCOUNT) &&
	    !cache_knows(ck->bd->cache, ck->account, (long)ck->uid))
		snprintf(out, len, "nothing is known of account %s yet",
		    ck->account);
	else
		snprintf(out, len, "what is known of account %s does not "
		    "cover %s SU (this job and the holds of queued ones)",
		    ck->account, money_format(cost_account(ck), ca));
	return out;
}

/* The API gave no usable answer: the site's policy decides. */
static void
by_policy(struct check *ck, const char *why)
{
	enum conf_policy p = ck->bd->conf.on_api_unavailable;
	const char *known;
	char reason[1400], words[1000];
	enum known v;

	if (p == POLICY_CACHED && (v = from_cache(ck, ANY_AGE, &known)) !=
	    KNOWN_NOTHING) {
		if (v == KNOWN_ALLOW)
			snprintf(reason, sizeof(reason), "%s (the API could not "
			    "answer: %s; decided from what it said before)",
			    known, why);
		else {
			refusal(ck, ck->failed_limit, known, words,
			    sizeof(words));
			snprintf(reason, sizeof(reason), "%s (the API could not "
			    "answer: %s; decided from what it said before)",
			    words, why);
		}
		finish(ck, v == KNOWN_ALLOW, "cache (API unavailable)", reason);
		return;
	}
	/* Name the setting that decided: on_unknown, under "cached". */
	if (p == POLICY_CACHED)
		snprintf(reason, sizeof(reason), "the accounting API could not "
		    "answer (%s) and %s; policy on_unknown=%s "
		    "(on_api_unavailable=cached)", why, known_words(ck, words,
		    sizeof(words)), conf_policy_name(ck->bd->conf.on_unknown));
	else
		snprintf(reason, sizeof(reason), "the accounting API could not "
		    "answer (%s); policy on_api_unavailable=%s", why,
		    conf_policy_name(p));
	if (p == POLICY_CACHED)
		p = ck->bd->conf.on_unknown;
	log_warn("check uid %" PRIu32 " account %s: %s: %s", ck->uid,
	    ck->account, p == POLICY_ALLOW ? "allowed" : "refused", reason);
	finish(ck, p == POLICY_ALLOW, "policy", reason);
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
		budget_decide(ck);
		check_free_if_done(ck);
		return;
	}
	snprintf(why, sizeof(why), "no answer within decision_ms=%d ms",
	    ck->bd->conf.decision_ms);
	by_policy(ck, why);
	check_free_if_done(ck);
}

/* ---- the API's answer ------------------------------------------------- */

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
	cache_learn(ck->bd->cache, ck->account, limit_uid(ck, lim), room + 1,
	    0, msg, now);
	cache_learn(ck->bd->cache, ck->account, limit_uid(ck, lim), room, 1,
	    msg, now);
}

/* Decide from the cache now that it knows more; 0 when it cannot. */
static int
decide_known(struct check *ck, long max_age)
{
	const char *why;
	enum known v;

	take_holds(ck);
	/* Another check's answer may have shown the caller a member. */
	if (!ck->member)
		ck->member = cache_is_member(ck->bd->cache, ck->account,
		    ck->uid, time(NULL), max_age < 0 ? LONG_MAX : max_age);
	if ((v = from_cache(ck, max_age, &why)) == KNOWN_NOTHING)
		return 0;
	if (v == KNOWN_ALLOW)
		finish(ck, 1, "api", why);
	else
		deny_money(ck, "api", ck->failed_limit, why);
	return 1;
}

/* An answer this fresh (this second) decides what the cache says of it. */
#define FRESH	0

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
		cache_learn(ck->bd->cache, ck->account, limit_uid(ck, a->limit),
		    cost, 0, msg, now);
	/* The account's limit is checked first: it passed. */
	if (a->limit == LIMIT_USER)
		cache_learn(ck->bd->cache, ck->account, CACHE_ACCOUNT, cost, 1,
		    msg, now);
}

static void
learn_and_decide(struct check *ck, int64_t cost, const struct check_answer *a)
{
	const char *msg = a->message;
	int64_t room = a->room;
	enum answer_limit lim = a->limit;
	char words[400];

	learn(ck, cost, a);
	if (a->kind == ANSWER_PASS) {
		/* Holds placed meanwhile may need more than was asked. */
		take_holds(ck);
		if (cost_of(ck, ck->stage) <= cost)
			finish(ck, 1, "api", msg);
		else if (!decide_known(ck, FRESH))
			ask(ck, ck->stage);
		return;
	}
	if (a->limit == LIMIT_NONE) {
		/* Not a member, no allocation: the API's words say it. */
		snprintf(words, sizeof(words), "account %s: %s", ck->account,
		    msg);
		finish(ck, 0, "api", words);
		return;
	}
	/* Asked for more than needed: the room decides, not the refusal. */
	if (room >= 0 && cost > cost_of(ck, ck->stage) &&
	    decide_known(ck, ANY_AGE))
		return;
	if (lim == LIMIT_ACCOUNT && room >= cost_account(ck)) {
		/* The account has room; the user's limit is still open. */
		ask(ck, ASK_USER);
		return;
	}
	if (lim == LIMIT_USER && ck->stage == ASK_ACCOUNT && cost_user(ck) <
	    cost) {
		ask(ck, ASK_USER);
		return;
	}
	if (room < 0 && !ck->exact && cost > cost_of(ck, ck->stage)) {
		/* A refused probe without its numbers: ask the real cost. */
		ck->exact = 1;
		ask(ck, ck->stage);
		return;
	}
	deny_money(ck, "api", lim, msg);
}

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
		if (ck->conn != NULL && !decide_known(ck, age))
			ask(ck, ck->stage);
		check_free_if_done(ck);
	}
}

static void
on_answer(const struct portal_ask_reply *rep, void *arg)
{
	struct check *ck = arg;
	struct bankd *bd = ck->bd;
	struct checks *cs = bd->checks;
	struct checkq waiters;
	struct check_answer a = rep->answer;
	int64_t cost = ck->asked;
	char why[600];
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
	if (a.kind != ANSWER_UNUSABLE) {
		api_note(bd, 1, NULL);
		if (ck->conn == NULL) {	/* decided already: it teaches */
			learn(ck, cost, &a);
			log_info("check uid %" PRIu32 " account %s: %s "
			    "(%.0f ms), learned for the next ones: %s", ck->uid,
			    ck->account, ck->refreshing ? "the refresh was "
			    "answered" : "the API answered after the decision",
			    rep->seconds * 1000, a.message);
		}
		else if (a.kind == ANSWER_UNKNOWN) {
			/* Unknown user or account: it cannot be charged. */
			snprintf(why, sizeof(why), "account %s: %s",
			    ck->account, a.message);
			finish(ck, 0, "api", why);
		}
		else
			learn_and_decide(ck, cost, &a);
	} else {
		snprintf(why, sizeof(why), "%s", rep->why);
		api_note(bd, 0, why);
		if (ck->conn != NULL)
			by_policy(ck, why);
		else
			log_info("check uid %" PRIu32 " account %s: late API "
			    "failure: %s", ck->uid, ck->account, why);
	}
	wake_waiters(bd, &waiters);
	/* Submissions went on without this answer: ask again for them. */
	if (again && a.kind != ANSWER_UNUSABLE && ck->conn == NULL &&
	    !ck->api_pending)
		refresh(ck);
	check_free_if_done(ck);
	start_queued(bd);
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
	int64_t need = cost_of(ck, stage);
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
			by_policy(ck, "bankd is out of memory");
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
			finish(ck, 0, "config", "the account name is not one "
			    "the API takes");
		else
			by_policy(ck, "cannot start an HTTP request");
		return;
	}
	ck->place = P_ASKING;
	ck->api_pending = 1;
	cs->inflight++;
	if (!ck->privileged)
		cs->user_inflight++;
}

static void
ask(struct check *ck, enum stage stage)
{
	struct checks *cs = ck->bd->checks;
	struct ask *a;

	ck->stage = stage;
	ck->asked = probe_cost(ck, stage);
	if (cost_of(ck, stage) > LIM_COST_CENTS) {
		finish(ck, 0, "price", "this job's estimate and what is held for "
		    "the account's queued jobs come to more than the API can "
		    "check (999999999.99 SU)");
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
		fail(ck, "too many checks asking the API: a user may make "
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
static void
start_queued(struct bankd *bd)
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
			if (!decide_known(ck, bd->conf.cache_ttl_s > 0 ?
			    bd->conf.cache_ttl_s : FRESH))
				ask(ck, ck->stage);
			check_free_if_done(ck);
		}
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
		fail(ck, why);
		return 1;
	}
	if (!bd->conf.job_submit_enabled) {
		finish(ck, 1, "config", "submission checks are disabled");
		return 1;
	}
	/* A change that costs no more, on the same account: it passes. */
	if (ck->modify != 0 && ck->has_old && strcmp(ck->old_account,
	    ck->account) == 0 && ck->old.uid == ck->uid &&
	    ck->est.cents <= old_cost(ck)) {
		finish(ck, 1, "modify", "the job costs no more than before");
		return 1;
	}
	if (ck->est.cents == 0 && ck->est.price == 0 && !ck->cost_given) {
		finish(ck, 1, "price", "free partition, no charge");
		return 1;
	}
	if (ck->account[0] == '\0') {
		snprintf(why_buf, sizeof(why_buf), "%s%s is priced and no "
		    "account was given: submit with -A/--account <project> (a "
		    "project you belong to)", ck->est.partition[0] ?
		    "partition " : "the default partition",
		    ck->est.partition);
		finish(ck, 0, "config", why_buf);
		return 1;
	}
	if (!fields_account_ok(ck->account)) {
		finish(ck, 0, "config", "the account name is not one the API "
		    "takes");
		return 1;
	}
	if (ck->est.cents > LIM_COST_CENTS) {
		estimate_words(ck, why_buf, sizeof(why_buf));
		snprintf(why_buf + strlen(why_buf), sizeof(why_buf) -
		    strlen(why_buf), ": this job's estimate is more than the "
		    "API can check (999999999.99 SU); ask for less time or fewer "
		    "resources");
		finish(ck, 0, "price", why_buf);
		return 1;
	}
	return 0;
}

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

	if (cache_room(c, ck->account, CACHE_ACCOUNT) >= cost_account(ck) ||
	    cache_judge(c, ck->account, CACHE_ACCOUNT, LIM_COST_CENTS,
	    time(NULL), ANY_AGE, &msg) == CACHE_PASS)
		return ASK_USER;
	return ASK_ACCOUNT;
}

static int64_t
refresh_cost(const struct check *ck, enum stage stage)
{
	int64_t need = cost_of(ck, stage), room;
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
static void
refresh(struct check *ck)
{
	struct bankd *bd = ck->bd;
	struct ask *a;

	if ((a = ask_find(bd->checks, ck->account, ck->uid)) != NULL) {
		a->again = 1;
		return;
	}
	if (!slot_free(bd, 1))
		return;
	take_holds(ck);
	ck->stage = refresh_stage(ck);
	if (cost_of(ck, ck->stage) > LIM_COST_CENTS)
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
static void
room_ask(const struct check *ck)
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
	check_free_if_done(r);
}

/*
 * Waiting would exceed the submit budget: what bankd knows decides, of
 * any age, even with the cache off (it is the best there is), else the
 * policy; and the API is asked meanwhile, so that the next ones are
 * decided from its answer.
 */
static void
decide_now(struct check *ck)
{
	budget_decide(ck);
	refresh(ck);
}

static void
budget_decide(struct check *ck)
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
	if ((v = from_cache(ck, ANY_AGE, &why)) == KNOWN_ALLOW) {
		snprintf(reason, sizeof(reason), "%s (%s)", why, wait);
		finish(ck, 1, "cache (submit budget)", reason);
	} else if (v == KNOWN_DENY)
		deny_money(ck, "cache (submit budget)", ck->failed_limit, why);
	else
		by_policy(ck, wait);
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
	take_holds(ck);
	if (!ck->privileged)
		ck->member = cache_is_member(bd->cache, ck->account, ck->uid,
		    time(NULL), bd->conf.cache_ttl_s);
	if (bd->conf.cache_ttl_s > 0 &&
	    (v = from_cache(ck, bd->conf.cache_ttl_s, &why)) != KNOWN_NOTHING) {
		if (v == KNOWN_ALLOW)
			finish(ck, 1, "cache", why);
		else
			deny_money(ck, "cache", ck->failed_limit, why);
		check_free_if_done(ck);
		return;
	}
	if ((wait_ms = budget_take(ck)) == 0) {
		decide_now(ck);
		check_free_if_done(ck);
		return;
	}
	/* The account's limit known to pass at Ca: only the user's is open. */
	ask(ck, bd->conf.cache_ttl_s > 0 && (ck->privileged || ck->member) &&
	    cache_judge(bd->cache, ck->account, CACHE_ACCOUNT, cost_account(ck),
	    time(NULL), bd->conf.cache_ttl_s, &why) == CACHE_PASS ? ASK_USER :
	    ASK_ACCOUNT);
	room_ask(ck);
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
