/*
 * balance.c - BP_T_BALANCE: what a user has in an account, for bankctl
 * balance, on any host that reaches bankd, unprivileged.
 *
 * The portal has no route that tells a balance; can_submit_job does, in
 * its refusal: "Adding job_cost C to account balance B would exceed
 * account allocation A." (answer.c reads B and A).  So bankd asks it
 * about the largest cost it takes (999999999.99, as the check's room ask
 * does): the account's limit refuses and names the account's figures.
 * Then it asks about exactly the account's room: a pass says the user's
 * share does not bind below the account's, a refusal names the user's
 * figures.  What the answers teach goes to the cache as the check's own
 * answers do (room passes, room + 1 fails), so the next submissions are
 * decided from it; and the allocation is kept here (balance_memo), so a
 * later balance is answered from the cache (which follows every report
 * the API accepted) while the API's answer is younger than cache_ttl_s.
 *
 * Who asks is the peer (SO_PEERCRED), never a field.  An account's figures
 * are shown only to a user the API showed a member of it (a refusal that
 * names a balance is given only to a member; the cache remembers it), as
 * CHECK does.  The portal cannot list a user's accounts (GET /users/ has
 * no memberships), so the account must be named.  A user's asks are
 * counted against limits.user_checks_per_s; the whole answer comes within
 * BALANCE_DEADLINE_MS, with what is known by then.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "balance.h"
#include "bankd.h"
#include "bankproto.h"
#include "cache.h"
#include "conn.h"
#include "holds.h"
#include "lim.h"
#include "log.h"
#include "money.h"
#include "peer.h"
#include "portal.h"
#include "req.h"

/* Within bankctl's own 5 s, with room for the reply. */
#define BALANCE_DEADLINE_MS	4000
/* Allocations remembered; the oldest is forgotten first. */
#define BALANCE_MEMO		1024

enum memo_user {
	USER_UNKNOWN,
	USER_BELOW,		/* the user's share binds: alloc is theirs */
	USER_NONE,		/* it does not bind below the account's room */
};

/*
 * An allocation the API named (uid -1: the account's), or that the
 * account has no limit; what is used of it is the cache's (allocation
 * less the room), which follows every delivered report.
 */
struct memo {
	char		 account[LIM_ACCOUNT_LEN + 1];
	long		 uid;
	int64_t		 alloc;
	int		 unlimited;	/* the API passed 999999999.99 */
	enum memo_user	 user;		/* uid >= 0 */
	time_t		 t;		/* 0: a free slot */
};

/* The daemon's (bankd.h), a linear table: a few accounts are asked of. */
struct balance_memo {
	struct memo	 slot[BALANCE_MEMO];
};

struct balance_memo *
balance_memo_new(void)
{
	return calloc(1, sizeof(struct balance_memo));
}

void
balance_memo_free(struct balance_memo *bm)
{
	free(bm);
}

static struct memo *
memo_find(struct balance_memo *bm, const char *account, long uid)
{
	struct memo *memo = bm->slot;
	size_t i;

	for (i = 0; i < BALANCE_MEMO; i++)
		if (memo[i].t != 0 && memo[i].uid == uid &&
		    strcmp(memo[i].account, account) == 0)
			return &memo[i];
	return NULL;
}

static struct memo *
memo_put(struct balance_memo *bm, const char *account, long uid, time_t now)
{
	struct memo *memo = bm->slot;
	struct memo *m = memo_find(bm, account, uid), *old = &memo[0];
	size_t i;

	if (m == NULL) {
		for (i = 0; i < BALANCE_MEMO && old->t != 0; i++)
			if (memo[i].t < old->t)
				old = &memo[i];
		m = old;
		memset(m, 0, sizeof(*m));
		snprintf(m->account, sizeof(m->account), "%s", account);
		m->uid = uid;
	}
	m->t = now;
	return m;
}

enum stage {
	ASK_ACCOUNT,		/* at 999999999.99: the account's figures */
	ASK_USER,		/* at the account's room: the user's */
	DONE,
};

struct balance {
	struct bankd	*bd;
	struct conn	*conn;		/* NULL once answered */
	uint32_t	 id;
	uint32_t	 uid;
	char		 account[LIM_ACCOUNT_LEN + 1];
	struct event	*deadline;
	enum stage	 stage;
	int		 pending;	/* a portal call will answer */
	int		 asked;		/* the API answered this request */
	char		 note[400];	/* what the answer must also say */
};

static void	ask(struct balance *);

static void
free_if_done(struct balance *b)
{
	if (b->conn != NULL || b->pending)
		return;
	if (b->deadline != NULL)
		event_free(b->deadline);
	free(b);
}

static void
let_go(struct balance *b)
{
	conn_wait_end(b->conn);
	conn_release(b->conn);
	b->conn = NULL;
	if (b->deadline != NULL)
		event_del(b->deadline);
}

static void
answer_status(struct balance *b, const char *status, const char *msg)
{
	conn_reply_status(b->conn, BP_T_BALANCE, b->id, status, msg);
	let_go(b);
}

static void
add_money(struct bp_msg *rep, const char *key, int64_t cents)
{
	char s[MONEY_FMT_LEN];

	/* bp_add keeps the pointer: bp_addf's copy outlives s */
	bp_addf(rep, key, "%s", money_format(cents, s));
}

/*
 * What is known, from the memo, the cache and the holds.  0 when there was
 * something to tell, -1 when nothing of the account is known.
 */
static int
answer_known(struct balance *b)
{
	struct bankd *bd = b->bd;
	struct memo *ma = memo_find(bd->balances, b->account,
	    CACHE_ACCOUNT);
	struct memo *mu = memo_find(bd->balances, b->account,
	    (long)b->uid);
	int64_t ra = -1, ru = -1, held_all = 0, held_mine = 0, left = -1;
	size_t jobs = 0;
	struct bp_msg rep;
	char msg[800], l[MONEY_FMT_LEN];
	time_t now = time(NULL), t;

	if (ma != NULL && !ma->unlimited &&
	    (ra = cache_room(bd->cache, b->account, CACHE_ACCOUNT)) < 0)
		ma = NULL;
	if (mu != NULL && mu->user == USER_BELOW &&
	    (ru = cache_room(bd->cache, b->account, (long)b->uid)) < 0)
		mu = NULL;
	/* only to a user the API showed a member of it */
	if ((ma == NULL && mu == NULL) || !cache_is_member(bd->cache,
	    b->account, (long)b->uid, now, LONG_MAX))
		return -1;
	holds_sum(bd->holds, b->account, b->uid, &held_all, &held_mine,
	    &jobs);
	bp_init(&rep, BP_T_BALANCE | BP_REPLY, b->id);
	bp_add(&rep, "status", "ok");
	bp_add(&rep, "account", b->account);
	bp_add_u64(&rep, "uid", b->uid);
	t = ma != NULL ? ma->t : mu->t;
	if (ma != NULL && ma->unlimited) {
		bp_add(&rep, "unlimited", "1");
		snprintf(msg, sizeof(msg), "account %s has no service-unit "
		    "limit: the API lets any job through", b->account);
	} else {
		if (ma != NULL) {
			add_money(&rep, "alloc", ma->alloc);
			add_money(&rep, "used", ma->alloc > ra ? ma->alloc - ra :
			    0);
			add_money(&rep, "room", ra);
			left = ra - held_all;
		}
		if (mu != NULL && mu->user == USER_BELOW) {
			bp_add(&rep, "user_limit", "below");
			add_money(&rep, "user_alloc", mu->alloc);
			add_money(&rep, "user_used", mu->alloc > ru ?
			    mu->alloc - ru : 0);
			add_money(&rep, "user_room", ru);
			if (left < 0 || ru - held_mine < left)
				left = ru - held_mine;
		} else if (mu != NULL && mu->user == USER_NONE)
			bp_add(&rep, "user_limit", "none");
		if (left < 0)
			left = 0;
		snprintf(msg, sizeof(msg), "%s SU left in account %s once its "
		    "%zu queued job(s) are paid%s%s", money_format(left, l),
		    b->account, jobs, b->note[0] != '\0' ? "; " : "", b->note);
		add_money(&rep, "left", left);
	}
	add_money(&rep, "held_mine", held_mine);
	add_money(&rep, "held_all", held_all);
	bp_add_u64(&rep, "held_jobs", jobs);
	bp_add(&rep, "source", b->asked ? "api" : "cache");
	bp_add_u64(&rep, "age", now > t ? (uint64_t)(now - t) : 0);
	bp_add(&rep, "message", msg);
	conn_reply(b->conn, &rep);
	bp_free(&rep);
	let_go(b);
	return 0;
}

/* The end of the request: what is known, else why nothing is. */
static void
finish(struct balance *b, const char *why)
{
	char msg[600];

	if (b->conn == NULL)
		return;
	if (why != NULL && b->note[0] == '\0')
		snprintf(b->note, sizeof(b->note), "%s", why);
	if (answer_known(b) == 0)
		return;
	snprintf(msg, sizeof(msg), "nothing is known of account %s: %s",
	    b->account, why != NULL ? why : "the API did not say");
	answer_status(b, "error", msg);
}

static void
on_deadline(evutil_socket_t fd, short ev, void *arg)
{
	struct balance *b = arg;

	(void)fd;
	(void)ev;
	b->stage = DONE;
	finish(b, "the API did not answer within 4 s");
	free_if_done(b);
}

/* What the API said, taught to the memo and the cache. */
static void
on_answer(const struct portal_ask_reply *r, void *arg)
{
	struct balance *b = arg;
	const struct check_answer *a = &r->answer;
	struct cache *c = b->bd->cache;
	struct balance_memo *bm = b->bd->balances;
	time_t now = time(NULL);
	struct memo *m;
	int64_t room;

	b->pending = 0;
	if (b->conn == NULL || b->stage == DONE) {
		free_if_done(b);
		return;
	}
	b->asked = 1;
	if (a->kind == ANSWER_UNUSABLE) {
		finish(b, r->why[0] != '\0' ? r->why : "no usable answer from "
		    "the API");
	} else if (a->kind == ANSWER_UNKNOWN || (a->kind == ANSWER_REFUSED &&
	    a->limit == LIMIT_NONE)) {
		/* not a member, no allocation, no such user: nothing shown */
		char msg[400];

		snprintf(msg, sizeof(msg), "the API: %s", a->message);
		answer_status(b, "deny", msg);
	} else if (b->stage == ASK_ACCOUNT && a->kind == ANSWER_PASS) {
		cache_note_member(c, b->account, (long)b->uid, now);
		memo_put(bm, b->account, CACHE_ACCOUNT, now)->unlimited = 1;
		finish(b, NULL);
	} else if (a->kind == ANSWER_PASS) {
		/* the user's share passes the account's room */
		m = memo_put(bm, b->account, (long)b->uid, now);
		m->user = USER_NONE;
		finish(b, NULL);
	} else if (a->room < 0 || a->allocation < 0) {
		finish(b, "the API's refusal named no balance");
	} else {
		cache_note_member(c, b->account, (long)b->uid, now);
		room = a->room;
		cache_learn(c, b->account, a->limit == LIMIT_USER ?
		    (long)b->uid : CACHE_ACCOUNT, room + 1, 0, a->message, now);
		cache_learn(c, b->account, a->limit == LIMIT_USER ?
		    (long)b->uid : CACHE_ACCOUNT, room, 1, a->message, now);
		if (a->limit == LIMIT_USER) {
			m = memo_put(bm, b->account, (long)b->uid, now);
			m->user = USER_BELOW;
			m->alloc = a->allocation;
			finish(b, NULL);
		} else {
			m = memo_put(bm, b->account, CACHE_ACCOUNT, now);
			m->unlimited = 0;
			m->alloc = a->allocation;
			if (b->stage == ASK_ACCOUNT) {
				b->stage = ASK_USER;
				ask(b);
			} else
				finish(b, NULL);
		}
	}
	free_if_done(b);
}

/* Ask the API about this stage's cost. */
static void
ask(struct balance *b)
{
	int64_t cost = LIM_COST_CENTS;
	enum portal_start st;

	if (b->stage == ASK_USER &&
	    (cost = cache_room(b->bd->cache, b->account, CACHE_ACCOUNT)) < 0) {
		finish(b, NULL);
		return;
	}
	st = portal_can_submit(b->bd->portal, b->account, b->uid, cost,
	    on_answer, b);
	if (st != PORTAL_STARTED) {
		finish(b, st == PORTAL_BAD_NAME ? "the account name is not one "
		    "the API takes" : "cannot start an HTTP request");
		return;
	}
	b->pending = 1;
}

/* Is what the memo has of the account younger than cache_ttl_s? */
static int
fresh(struct bankd *bd, const char *account, uint32_t uid, time_t now)
{
	struct memo *ma = memo_find(bd->balances, account,
	    CACHE_ACCOUNT);
	struct memo *mu = memo_find(bd->balances, account, (long)uid);
	long ttl = bd->conf.cache_ttl_s;

	if (ttl <= 0 || ma == NULL || now - ma->t >= ttl ||
	    !cache_is_member(bd->cache, account, (long)uid, now, ttl))
		return 0;
	if (ma->unlimited)
		return 1;
	if (cache_room(bd->cache, account, CACHE_ACCOUNT) < 0)
		return 0;
	/* the user's share: known, and as young */
	return mu != NULL && now - mu->t < ttl && (mu->user == USER_NONE ||
	    (mu->user == USER_BELOW &&
	    cache_room(bd->cache, account, (long)uid) >= 0));
}

/* The accounts of the memo the API has shown uid a member of. */
static void
seen_in(struct bankd *bd, long uid, time_t now, char *out, size_t len)
{
	const struct memo *memo = bd->balances->slot;
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < BALANCE_MEMO; i++) {
		if (memo[i].t == 0 || memo[i].uid != CACHE_ACCOUNT ||
		    !cache_is_member(bd->cache, memo[i].account, uid, now,
		    LONG_MAX))
			continue;
		if (n + strlen(memo[i].account) + 8 >= len) {
			snprintf(out + n, len - n, "%s...", n ? ", " : "");
			return;
		}
		n += (size_t)snprintf(out + n, len - n, "%s%s", n ? ", " : "",
		    memo[i].account);
	}
}

void
balance_request(struct bankd *bd, struct conn *c, const struct req *rq)
{
	const char *account = rq->u.balance.account;
	struct timeval tv = { BALANCE_DEADLINE_MS / 1000,
	    (BALANCE_DEADLINE_MS % 1000) * 1000 };
	struct balance *b;
	time_t now = time(NULL);
	char seen[600], why[800];

	if (account == NULL) {
		seen_in(bd, (long)conn_peer(c)->uid, now, seen, sizeof(seen));
		snprintf(why, sizeof(why), "the portal cannot list a user's "
		    "accounts: name one with -A ACCOUNT%s%s%s", seen[0] != '\0' ?
		    " (the API has shown you a member of " : "", seen,
		    seen[0] != '\0' ? ")" : "");
		conn_reply_status(c, rq->type, rq->id, "error", why);
		return;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		conn_reply_status(c, rq->type, rq->id, "error", "bankd is out "
		    "of memory");
		return;
	}
	b->bd = bd;
	b->conn = c;
	b->id = rq->id;
	b->uid = (uint32_t)conn_peer(c)->uid;
	snprintf(b->account, sizeof(b->account), "%s", account);
	conn_hold(c);
	conn_wait_begin(c);
	if (fresh(bd, b->account, b->uid, now)) {
		finish(b, NULL);
		free_if_done(b);
		return;
	}
	if (!peer_privileged(conn_peer(c), bd->slurm_uid) &&
	    !conn_take_api_check(c)) {
		/* too soon to ask again: what is known, if the caller may */
		if (cache_is_member(bd->cache, b->account, (long)b->uid, now,
		    LONG_MAX))
			finish(b, "too many asks of the API (limits."
			    "user_checks_per_s); figures as last known");
		else
			answer_status(b, "error", "too many asks of the API: a "
			    "user may make limits.user_checks_per_s a second; "
			    "try again in a moment");
		free_if_done(b);
		return;
	}
	if ((b->deadline = evtimer_new(bd->base, on_deadline, b)) != NULL)
		evtimer_add(b->deadline, &tv);
	b->stage = ASK_ACCOUNT;
	ask(b);
	free_if_done(b);
}
