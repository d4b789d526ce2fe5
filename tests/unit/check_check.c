/*
 * check_check.c: unit tests of the submit decision (bankd/check.c and
 * the files checkint.h lists) without slurmctld: a struct bankd made as
 * main.c makes it, connections from one end of a socketpair (as in
 * check_edge.c) going through dispatch.c, and the portal's
 * can_submit_job answered by a scripted HTTP server in the test's own
 * event loop (as in check_portal.c) that keeps a small bank: each
 * account's allocation and balance, and optionally one user's.  It can
 * also keep its requests unanswered until the test lets them go.
 *
 * What is asserted is what a submitter and the API see: each reply's
 * status, source and words, the holds placed, and every request the
 * server was sent (how many, for what cost).
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "api.h"
#include "bankd.h"
#include "cache.h"
#include "checks.h"
#include "conn.h"
#include "dispatch.h"
#include "health.h"
#include "holds.h"
#include "money.h"
#include "peer.h"
#include "portal.h"

#define SLURM_UID	4242
#define USER_UID	1000
#define OTHER_UID	1001
#define MAX_SEEN	64
#define MAX_STASH	64
#define MAX_BANK	8
#define TOP		"999999999.99"	/* the most the API can check */

static struct bankd bd;
static struct evhttp *http;
static char url[64];
static char state_dir[64];

/* ---- the scripted portal ---------------------------------------------- */

/* An account (uid 0: the account's own limit) or a user's share of it. */
struct bank_row {
	char		 account[32];
	uint32_t	 uid;
	int64_t		 alloc;
	int64_t		 balance;
};

static struct {
	struct bank_row		 rows[MAX_BANK];
	int			 nrows;
	int			 stash;		/* keep requests unanswered */
	struct evhttp_request	*held[MAX_STASH];
	int			 nheld;
	char			 seen[MAX_SEEN][128];	/* "cost/uid/account" */
	int			 nseen;
} srv;

static void
bank(const char *account, uint32_t uid, int64_t alloc, int64_t balance)
{
	struct bank_row *r = &srv.rows[srv.nrows++];

	ck_assert_int_le(srv.nrows, MAX_BANK);
	snprintf(r->account, sizeof(r->account), "%s", account);
	r->uid = uid;
	r->alloc = alloc;
	r->balance = balance;
}

static const struct bank_row *
row(const char *account, uint32_t uid)
{
	int i;

	for (i = 0; i < srv.nrows; i++)
		if (strcmp(srv.rows[i].account, account) == 0 &&
		    srv.rows[i].uid == uid)
			return &srv.rows[i];
	return NULL;
}

/* What myBRC answers can_submit_job/{cost}/{uid}/{account}/. */
static void
answer(struct evhttp_request *req)
{
	const char *uri = evhttp_request_get_uri(req);
	const struct bank_row *a, *u;
	char cost_s[32], account[64], msg[300], c[MONEY_FMT_LEN];
	char b[MONEY_FMT_LEN], al[MONEY_FMT_LEN];
	struct evbuffer *body = evbuffer_new();
	const char *why;
	int64_t cost = 0;
	unsigned uid;
	int status = 200;

	if (sscanf(uri, "/api/can_submit_job/%31[^/]/%u/%63[^/]/", cost_s,
	    &uid, account) != 3 || money_parse(cost_s, 2, &cost, &why) != 0)
		status = 404;
	money_format(cost, c);
	if (status != 200)
		snprintf(msg, sizeof(msg), "{\"detail\": \"Not found.\"}");
	else if ((a = row(account, 0)) == NULL) {
		status = 400;
		snprintf(msg, sizeof(msg), "{\"success\": false, \"message\": "
		    "\"No account exists with name %s.\"}", account);
	} else if (cost + a->balance > a->alloc)
		snprintf(msg, sizeof(msg), "{\"success\": false, \"message\": "
		    "\"Adding job_cost %s to account balance %s would exceed "
		    "account allocation %s.\"}", c, money_format(a->balance, b),
		    money_format(a->alloc, al));
	else if ((u = row(account, uid)) != NULL &&
	    cost + u->balance > u->alloc)
		snprintf(msg, sizeof(msg), "{\"success\": false, \"message\": "
		    "\"Adding job_cost %s to user balance %s would exceed user "
		    "allocation %s.\"}", c, money_format(u->balance, b),
		    money_format(u->alloc, al));
	else
		snprintf(msg, sizeof(msg), "{\"success\": true, \"message\": "
		    "\"A job with job_cost %s can be submitted.\"}", c);
	evbuffer_add(body, msg, strlen(msg));
	evhttp_send_reply(req, status, "Scripted", body);
	evbuffer_free(body);
}

static void
on_http(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	const char *p = "/api/can_submit_job/";

	(void)arg;
	if (srv.nseen < MAX_SEEN)
		snprintf(srv.seen[srv.nseen++], sizeof(srv.seen[0]), "%s",
		    strncmp(uri, p, strlen(p)) == 0 ? uri + strlen(p) : uri);
	if (srv.stash && srv.nheld < MAX_STASH) {
		srv.held[srv.nheld++] = req;
		return;
	}
	answer(req);
}

/* The requests kept so far are answered (from the bank as it is now). */
static void
release(void)
{
	int i;

	for (i = 0; i < srv.nheld; i++)
		answer(srv.held[i]);
	srv.nheld = 0;
	srv.stash = 0;
}

/* How many requests the server saw that asked for cost (NULL: any). */
static int
asked(const char *cost)
{
	int i, n = 0;

	for (i = 0; i < srv.nseen; i++)
		if (cost == NULL || (strncmp(srv.seen[i], cost, strlen(cost)) ==
		    0 && srv.seen[i][strlen(cost)] == '/'))
			n++;
	return n;
}

/* ---- the loop and the clients ----------------------------------------- */

static void
spin_ms(int ms)
{
	struct timeval tv = { ms / 1000, ms % 1000 * 1000 };

	event_base_loopexit(bd.base, &tv);
	event_base_dispatch(bd.base);
}

struct client {
	int		 fd;
	struct event	*ev;
	uint8_t		 buf[65536];
	size_t		 len;
};

static struct client clients[4];
static int nclients;

static void
on_client(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	ssize_t n;

	(void)what;
	if ((n = read(fd, c->buf + c->len, sizeof(c->buf) - c->len)) > 0)
		c->len += (size_t)n;
}

/* A connection of uid, as a listener hands it over. */
static struct client *
open_as(uid_t uid)
{
	struct peer p = { .uid = uid, .gid = uid, .pid = 1, .how =
	    PEER_UNIX_CRED };
	struct client *c = &clients[nclients++];
	int sv[2];

	ck_assert_int_le(nclients, 4);
	memset(c, 0, sizeof(*c));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	c->fd = sv[1];
	ck_assert_ptr_nonnull(conn_open(&bd, sv[0], &p));
	ck_assert_ptr_nonnull(c->ev = event_new(bd.base, c->fd, EV_READ |
	    EV_PERSIST, on_client, c));
	event_add(c->ev, NULL);
	return c;
}

/* A CHECK: pairs of key, value, then NULL. */
static void
send_check(struct client *c, uint32_t id, ...)
{
	struct bp_msg m;
	const char *k, *v;
	uint8_t *frame;
	va_list ap;
	long len;

	bp_init(&m, BP_T_CHECK, id);
	va_start(ap, id);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		ck_assert_int_eq(bp_add(&m, k, v), 0);
	}
	va_end(ap);
	ck_assert_int_gt(len = bp_encode(&m, &frame), 0);
	ck_assert_int_eq(write(c->fd, frame, (size_t)len), (ssize_t)len);
	free(frame);
	bp_free(&m);
}

/* The next reply on c, if one came; 1 if so. */
static int
poll_reply(struct client *c, struct bp_msg *rep)
{
	size_t used;

	if (c->len == 0 || bp_parse(c->buf, c->len, rep, &used) != BP_OK)
		return 0;
	memmove(c->buf, c->buf + used, c->len - used);
	c->len -= used;
	return 1;
}

/* The next reply on c, waiting for it up to 10 s. */
static void
next_reply(struct client *c, struct bp_msg *rep)
{
	time_t end = time(NULL) + 10;

	while (!poll_reply(c, rep)) {
		ck_assert_msg(time(NULL) < end, "no reply in 10 s");
		spin_ms(5);
	}
}

static const char *
field(const struct bp_msg *rep, const char *key)
{
	const char *v = bp_get(rep, key);

	return v != NULL ? v : "";
}

/* The next reply is id's, with this status, source and message. */
static void
expect(struct client *c, uint32_t id, const char *status, const char *source,
    const char *message)
{
	struct bp_msg rep;

	next_reply(c, &rep);
	ck_assert_uint_eq(rep.id, id);
	ck_assert_str_eq(field(&rep, "status"), status);
	if (source != NULL)
		ck_assert_str_eq(field(&rep, "source"), source);
	if (message != NULL)
		ck_assert_str_eq(field(&rep, "message"), message);
	bp_free(&rep);
}

/* ---- the daemon -------------------------------------------------------- */

static void
write_conf(const char *path)
{
	FILE *f;

	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "state_dir: %s\napi:\n  url: %s\n  token: \"Token t\"\n"
	    "  timeout_ms: 5000\nplugins:\n  job_submit: true\n"
	    "prices:\n  default: 1\n", state_dir, url);
	fclose(f);
}

static void
setup(void)
{
	struct evhttp_bound_socket *sock;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char path[96], err[512];

	memset(&bd, 0, sizeof(bd));
	memset(&srv, 0, sizeof(srv));
	nclients = 0;
	snprintf(state_dir, sizeof(state_dir), "/tmp/check_check.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(state_dir));
	ck_assert_ptr_nonnull(bd.base = event_base_new());
	ck_assert_ptr_nonnull(http = evhttp_new(bd.base));
	evhttp_set_gencb(http, on_http, NULL);
	sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(sock);
	ck_assert_int_eq(getsockname(evhttp_bound_socket_get_fd(sock),
	    (struct sockaddr *)&sin, &len), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api",
	    ntohs(sin.sin_port));
	snprintf(path, sizeof(path), "%s/bank.yaml", state_dir);
	write_conf(path);
	ck_assert_msg(conf_load(path, &bd.conf, err, sizeof(err)) == 0, "%s",
	    err);
	unlink(path);
	/* What each test changes: the budget off, waits long, 1x probes. */
	bd.conf.submit_budget_ms = 0;
	bd.conf.decision_ms = 3000;
	bd.conf.on_api_unavailable = POLICY_DENY;
	bd.conf.probe_factor = 1;
	bd.slurm_uid = SLURM_UID;
	ck_assert_ptr_nonnull(bd.api = api_new(bd.base, url, "Token t", 5000,
	    16));
	ck_assert_ptr_nonnull(bd.portal = portal_new(bd.api, url));
	ck_assert_ptr_nonnull(bd.cache = cache_new());
	ck_assert_int_eq(health_init(&bd), 0);
	ck_assert_int_eq(check_init(&bd), 0);
	ck_assert_ptr_nonnull(bd.holds = holds_open(bd.base, state_dir, 0, err,
	    sizeof(err)));
	ck_assert_int_eq(conn_init(&bd, dispatch_request, &bd), 0);
}

/* The settings of the budget apply from check_init(): start it anew. */
static void
restart_checks(void)
{
	check_fini(&bd);
	ck_assert_int_eq(check_init(&bd), 0);
}

static void
teardown(void)
{
	struct dirent *e;
	char path[400];
	DIR *d;
	int i;

	release();		/* no request is left to the server */
	for (i = 0; i < nclients; i++) {
		event_free(clients[i].ev);
		close(clients[i].fd);
	}
	/* main.c's order. */
	conn_fini(&bd);
	holds_close(bd.holds);
	cache_free(bd.cache);
	portal_free(bd.portal);
	api_free(bd.api);
	health_fini(&bd);
	check_fini(&bd);
	evhttp_free(http);
	event_base_free(bd.base);
	conf_free(&bd.conf);
	if ((d = opendir(state_dir)) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", state_dir,
				    e->d_name);
				unlink(path);
			}
		closedir(d);
	}
	rmdir(state_dir);
}

static size_t
held_in(const char *account, int64_t *cents)
{
	int64_t user;
	size_t jobs;

	holds_sum(bd.holds, account, 0, cents, &user, &jobs);
	return jobs;
}

/* ---- the tests ---------------------------------------------------------- */

/* What the cache knows to pass decides: no request, and a hold. */
START_TEST(test_cached_pass_no_api)
{
	struct client *root = open_as(0);
	struct bp_msg rep;
	int64_t held;

	cache_learn(bd.cache, "fc_a", -1, 50000, 1, "ok", time(NULL));
	cache_learn(bd.cache, "fc_a", USER_UID, 50000, 1, "ok", time(NULL));
	send_check(root, 1, "uid", "1000", "account", "fc_a", "cost", "1250",
	    NULL);
	next_reply(root, &rep);
	ck_assert_str_eq(field(&rep, "status"), "allow");
	ck_assert_str_eq(field(&rep, "source"), "cache");
	ck_assert_str_eq(field(&rep, "message"),
	    "within what the API last allowed");
	ck_assert_str_eq(field(&rep, "estimate"), "12.50");
	ck_assert_str_ne(field(&rep, "hold"), "");
	bp_free(&rep);
	ck_assert_int_eq(srv.nseen, 0);
	ck_assert_uint_eq(held_in("fc_a", &held), 1);
	ck_assert_int_eq(held, 1250);
	/* Past what is known: asked, for the cost and what is held. */
	bank("fc_a", 0, 100000, 0);
	send_check(root, 2, "uid", "1000", "account", "fc_a", "cost", "49000",
	    NULL);
	expect(root, 2, "allow", "api", NULL);
	ck_assert_int_eq(srv.nseen, 1);
	ck_assert_str_eq(srv.seen[0], "502.50/1000/fc_a/");
}
END_TEST

/*
 * Ca = estimate + every user's holds: a job that fits alone is refused
 * when the holds fill the room, in words that name all three.
 */
START_TEST(test_holds_fill_the_room)
{
	struct client *root = open_as(0);
	int64_t held;

	bank("fc_a", 0, 100000, 99000);		/* 10.00 SU left */
	/* Alone, 2.00 SU fits. */
	send_check(root, 1, "uid", "1000", "account", "fc_a", "cost", "200",
	    "dry_run", "1", NULL);
	expect(root, 1, "allow", "api", NULL);
	ck_assert_str_eq(srv.seen[0], "2.00/1000/fc_a/");
	/* Another user's queued job holds 9.00 SU. */
	ck_assert(hold_place(bd.holds, OTHER_UID, "fc_a", 900, 0, 0) != 0);
	bd.conf.cache_ttl_s = 0;	/* the API is asked, not the cache */
	send_check(root, 2, "uid", "1000", "account", "fc_a", "cost", "200",
	    NULL);
	expect(root, 2, "deny", "api", "job refused: account fc_a has 10.00 SU "
	    "left, 9.00 SU of it held for 1 queued job(s); this job's "
	    "estimate is 2.00 SU");
	ck_assert_int_eq(srv.nseen, 2);
	ck_assert_str_eq(srv.seen[1], "11.00/1000/fc_a/");
	/* Refused: no hold placed. */
	ck_assert_uint_eq(held_in("fc_a", &held), 1);
	ck_assert_int_eq(held, 900);
}
END_TEST

/* A user's limit counts that user's holds, not the account's others. */
START_TEST(test_user_limit_counts_own_holds)
{
	struct client *root = open_as(0);
	struct bp_msg rep;

	bank("fc_a", 0, 100000, 0);
	bank("fc_a", USER_UID, 500, 0);		/* 5.00 SU for uid 1000 */
	ck_assert(hold_place(bd.holds, OTHER_UID, "fc_a", 900, 0, 0) != 0);
	ck_assert(hold_place(bd.holds, USER_UID, "fc_a", 100, 0, 0) != 0);
	/* Cu = 3.00 + 1.00 fits the user's 5.00; Ca = 13.00 would not. */
	send_check(root, 1, "uid", "1000", "account", "fc_a", "cost", "300",
	    NULL);
	next_reply(root, &rep);
	ck_assert_str_eq(field(&rep, "status"), "allow");
	ck_assert_str_eq(field(&rep, "held_account"), "10.00");
	ck_assert_str_eq(field(&rep, "held_user"), "1.00");
	bp_free(&rep);
	ck_assert_int_eq(srv.nseen, 2);
	ck_assert_str_eq(srv.seen[0], "13.00/1000/fc_a/");
	ck_assert_str_eq(srv.seen[1], "4.00/1000/fc_a/");
	/* Now 4.00 SU of the user's is held: 1.50 more is past 5.00. */
	send_check(root, 2, "uid", "1000", "account", "fc_a", "cost", "150",
	    NULL);
	expect(root, 2, "deny", "cache", "job refused: uid 1000's share of "
	    "account fc_a has 5.00 SU left, 4.00 SU of it held for their "
	    "queued jobs; this job's estimate is 1.50 SU");
	ck_assert_int_eq(srv.nseen, 2);
	/* Another user is not refused for uid 1000's share: Ca is asked. */
	send_check(root, 3, "uid", "1001", "account", "fc_a", "cost", "150",
	    NULL);
	expect(root, 3, "allow", "api", NULL);
	ck_assert_int_eq(srv.nseen, 3);
	ck_assert_str_eq(srv.seen[2], "14.50/1001/fc_a/");
}
END_TEST

/* Ten identical checks at once: one request, ten answers. */
START_TEST(test_identical_checks_share_one_ask)
{
	struct client *root = open_as(0);
	struct bp_msg rep;
	int64_t held;
	uint32_t id;
	int seen[11] = { 0 };

	bank("fc_a", 0, 100000, 0);
	bd.conf.probe_factor = 10;	/* a pass covers the ten */
	srv.stash = 1;
	for (id = 1; id <= 10; id++)
		send_check(root, id, "uid", "1000", "account", "fc_a", "cost",
		    "100", NULL);
	spin_ms(200);
	ck_assert_int_eq(srv.nseen, 1);
	ck_assert_str_eq(srv.seen[0], "10.00/1000/fc_a/");
	ck_assert(!poll_reply(root, &rep));
	release();
	for (id = 1; id <= 10; id++) {
		next_reply(root, &rep);
		ck_assert_str_eq(field(&rep, "status"), "allow");
		ck_assert_uint_le(rep.id, 10);
		seen[rep.id]++;
		bp_free(&rep);
	}
	for (id = 1; id <= 10; id++)
		ck_assert_int_eq(seen[id], 1);
	ck_assert_int_eq(srv.nseen, 1);
	ck_assert_uint_eq(held_in("fc_a", &held), 10);
	ck_assert_int_eq(held, 1000);
}
END_TEST

/* A user's check is a dry run about themselves. */
START_TEST(test_user_check_is_dry_run)
{
	struct client *user = open_as(USER_UID);
	struct bp_msg rep;
	int64_t held;

	bank("fc_a", 0, 100000, 0);
	send_check(user, 1, "uid", "1001", "account", "fc_a", "cost", "100",
	    NULL);
	expect(user, 1, "error", NULL, "a user may only ask about their own "
	    "jobs: the uid in the request is not the caller's");
	ck_assert_int_eq(srv.nseen, 0);
	send_check(user, 2, "account", "fc_a", "cost", "100", NULL);
	next_reply(user, &rep);
	ck_assert_str_eq(field(&rep, "status"), "allow");
	ck_assert_str_eq(field(&rep, "source"), "api");
	ck_assert_ptr_null(bp_get(&rep, "hold"));
	bp_free(&rep);
	ck_assert_int_eq(srv.nseen, 1);
	ck_assert_str_eq(srv.seen[0], "1.00/1000/fc_a/");
	ck_assert_uint_eq(held_in("fc_a", &held), 0);
	ck_assert_uint_eq(holds_count(bd.holds), 0);
}
END_TEST

/* Past decision_ms, on_api_unavailable decides, and says so. */
START_TEST(test_decision_ms_policy)
{
	struct client *root = open_as(0);

	bd.conf.decision_ms = 100;
	bd.conf.cache_ttl_s = 0;
	srv.stash = 1;
	bd.conf.on_api_unavailable = POLICY_ALLOW;
	send_check(root, 1, "uid", "1000", "account", "fc_a", "cost", "100",
	    NULL);
	expect(root, 1, "allow", "policy", "the accounting API could not "
	    "answer (no answer within decision_ms=100 ms); policy "
	    "on_api_unavailable=allow");
	ck_assert_uint_eq(holds_count(bd.holds), 1);
	bd.conf.on_api_unavailable = POLICY_DENY;
	send_check(root, 2, "uid", "1001", "account", "fc_a", "cost", "100",
	    NULL);
	expect(root, 2, "deny", "policy", "job refused: the accounting API "
	    "could not answer (no answer within decision_ms=100 ms); policy "
	    "on_api_unavailable=deny");
	bd.conf.on_api_unavailable = POLICY_CACHED;
	bd.conf.on_unknown = POLICY_DENY;
	send_check(root, 3, "uid", "1000", "account", "fc_b", "cost", "100",
	    NULL);
	expect(root, 3, "deny", "policy", "job refused: the accounting API "
	    "could not answer (no answer within decision_ms=100 ms) and "
	    "nothing is known of account fc_b yet; policy on_unknown=deny "
	    "(on_api_unavailable=cached)");
	/* Cached, and something known, of any age: it decides. */
	cache_learn(bd.cache, "fc_c", -1, 50000, 1, "ok", 1);
	cache_learn(bd.cache, "fc_c", USER_UID, 50000, 1, "ok", 1);
	send_check(root, 4, "uid", "1000", "account", "fc_c", "cost", "100",
	    NULL);
	expect(root, 4, "allow", "cache (API unavailable)", "within what the "
	    "API last allowed (the API could not answer: no answer within "
	    "decision_ms=100 ms; decided from what it said before)");
	ck_assert_int_eq(srv.nseen, 4);
}
END_TEST

/* An answer after the policy decided is learned: the next is cached. */
START_TEST(test_late_answer_is_learned)
{
	struct client *root = open_as(0);

	bank("fc_a", 0, 100000, 0);
	bd.conf.decision_ms = 100;
	srv.stash = 1;
	send_check(root, 1, "uid", "1000", "account", "fc_a", "cost", "100",
	    "dry_run", "1", NULL);
	expect(root, 1, "deny", "policy", NULL);
	ck_assert_int_eq(srv.nseen, 1);
	release();
	spin_ms(100);
	send_check(root, 2, "uid", "1000", "account", "fc_a", "cost", "100",
	    NULL);
	expect(root, 2, "allow", "cache", "within what the API last allowed");
	ck_assert_int_eq(srv.nseen, 1);
}
END_TEST

/*
 * The submit budget: once submissions have waited submit_budget_ms in
 * 10 s, the next is decided at once and the API asked in the background;
 * its answer decides the ones after.
 */
START_TEST(test_submit_budget)
{
	struct client *root = open_as(0);
	struct bp_msg rep;
	struct timespec t0, t1;
	long ms;

	bank("fc_a", 0, 100000, 0);
	bd.conf.submit_budget_ms = 100;
	bd.conf.decision_ms = 1000;
	restart_checks();
	srv.stash = 1;
	/* The first waits what the budget has: 100 ms, not 1000. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	send_check(root, 1, "uid", "1000", "account", "fc_a", "cost", "100",
	    NULL);
	expect(root, 1, "deny", "policy", "job refused: the accounting API "
	    "could not answer (no answer within the 100 ms the submit budget "
	    "had left (deadlines.submit_budget_ms=100)); policy "
	    "on_api_unavailable=deny");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) /
	    1000000;
	ck_assert_int_lt(ms, 900);
	/* Its own ask and the room ask. */
	ck_assert_int_eq(srv.nseen, 2);
	ck_assert_int_eq(asked("1.00"), 1);
	ck_assert_int_eq(asked(TOP), 1);
	/* The budget is spent: decided at once, and the API asked. */
	send_check(root, 2, "uid", "1001", "account", "fc_a", "cost", "100",
	    NULL);
	next_reply(root, &rep);
	ck_assert_str_eq(field(&rep, "status"), "deny");
	ck_assert_str_eq(field(&rep, "source"), "policy");
	ck_assert_str_eq(field(&rep, "message"), "job refused: the accounting "
	    "API could not answer (not waiting: submissions have waited "
	    "deadlines.submit_budget_ms=100 for the API already); policy "
	    "on_api_unavailable=deny");
	bp_free(&rep);
	spin_ms(50);
	ck_assert_int_eq(srv.nseen, 3);
	ck_assert_str_eq(srv.seen[2], TOP "/1001/fc_a/");
	/* The late answers are learned: the next is decided from them. */
	release();
	spin_ms(200);
	send_check(root, 3, "uid", "1000", "account", "fc_a", "cost", "100",
	    "dry_run", "1", NULL);
	expect(root, 3, "allow", "cache", "within what the API last allowed");
	ck_assert_int_eq(srv.nseen, 3);
	/*
	 * Past the cache's TTL (0 here), still at once: what is known, of
	 * any age, decides; and its key is asked again in the background,
	 * for the room the account is known to have.
	 */
	bd.conf.cache_ttl_s = 0;
	send_check(root, 4, "uid", "1000", "account", "fc_a", "cost", "100",
	    NULL);
	expect(root, 4, "allow", "cache (submit budget)", "within what the API "
	    "last allowed (not waiting: submissions have waited "
	    "deadlines.submit_budget_ms=100 for the API already)");
	ck_assert_uint_eq(holds_count(bd.holds), 1);
	spin_ms(100);
	ck_assert_int_eq(srv.nseen, 4);
	ck_assert_str_eq(srv.seen[3], "1000.00/1000/fc_a/");
}
END_TEST

/* The room ask: once per account nothing is known of, for job_submit. */
START_TEST(test_room_ask_once_per_account)
{
	struct client *root = open_as(0), *user = open_as(USER_UID);

	bank("fc_a", 0, 100000, 0);
	bank("fc_b", 0, 100000, 0);
	bank("fc_c", 0, 100000, 0);
	bd.conf.submit_budget_ms = 5000;
	restart_checks();
	send_check(root, 1, "uid", "1000", "account", "fc_a", "cost", "100",
	    NULL);
	expect(root, 1, "allow", "api", NULL);
	spin_ms(100);
	ck_assert_int_eq(srv.nseen, 2);
	ck_assert_int_eq(asked("1.00"), 1);
	ck_assert_int_eq(asked(TOP), 1);
	/* The account is known now: no second room ask for it. */
	send_check(root, 2, "uid", "1001", "account", "fc_a", "cost", "100",
	    NULL);
	expect(root, 2, "allow", "api", NULL);
	spin_ms(100);
	ck_assert_int_eq(srv.nseen, 3);
	ck_assert_int_eq(asked(TOP), 1);
	/* Another account: its own, once. */
	send_check(root, 3, "uid", "1000", "account", "fc_b", "cost", "100",
	    NULL);
	expect(root, 3, "allow", "api", NULL);
	spin_ms(100);
	ck_assert_int_eq(asked(TOP), 2);
	ck_assert_int_eq(srv.nseen, 5);
	/* A user's check (a dry run) asks no room. */
	send_check(user, 4, "account", "fc_c", "cost", "100", NULL);
	expect(user, 4, "allow", "api", NULL);
	spin_ms(100);
	ck_assert_int_eq(asked(TOP), 2);
	ck_assert_int_eq(srv.nseen, 6);
}
END_TEST

/*
 * A heterogeneous job: each component is checked against the holds the
 * earlier ones placed (their sum must fit); one refused ends those holds
 * at once, its words say why, and holds not the submission's stay.
 */
START_TEST(test_het_components_add_up)
{
	struct client *root = open_as(0), *user = open_as(USER_UID);
	struct bp_msg rep;
	char tok[32], list[96];
	uint64_t other;
	int64_t held;

	bank("fc_a", 0, 700, 0);		/* 7.00 SU */
	send_check(root, 1, "uid", "1000", "account", "fc_a", "cost", "600",
	    "het_offset", "0", NULL);
	next_reply(root, &rep);
	ck_assert_str_eq(field(&rep, "status"), "allow");
	snprintf(tok, sizeof(tok), "%s", field(&rep, "hold"));
	bp_free(&rep);
	ck_assert_str_ne(tok, "");
	/* Another user's hold, named by a hostile list: not ended. */
	ck_assert((other = hold_place(bd.holds, OTHER_UID, "fc_a", 50, 0, 0)) !=
	    0);
	snprintf(list, sizeof(list), "%s,%llu", tok, (unsigned long long)other);
	/* A user's dry run naming them ends nothing. */
	send_check(user, 2, "account", "fc_a", "cost", "200", "het_offset", "1",
	    "het_holds", list, NULL);
	next_reply(user, &rep);
	ck_assert_str_eq(field(&rep, "status"), "deny");
	bp_free(&rep);
	ck_assert_uint_eq(held_in("fc_a", &held), 2);
	/* 2.00 fits alone; 6.00 + 0.50 + 2.00 does not. */
	send_check(root, 3, "uid", "1000", "account", "fc_a", "cost", "200",
	    "het_offset", "1", "het_holds", list, NULL);
	next_reply(root, &rep);
	ck_assert_str_eq(field(&rep, "status"), "deny");
	ck_assert_msg(strstr(field(&rep, "message"), "this job's estimate is "
	    "2.00 SU (component 1 of a heterogeneous job, checked with its "
	    "earlier components, which hold 6.00 SU of that: the whole job is "
	    "refused)") != NULL, "%s", field(&rep, "message"));
	bp_free(&rep);
	ck_assert_uint_eq(held_in("fc_a", &held), 1);
	ck_assert_int_eq(held, 50);
	/* A list that is not one is refused, naming the field. */
	send_check(root, 4, "uid", "1000", "account", "fc_a", "cost", "200",
	    "het_offset", "1", "het_holds", "1,,2", NULL);
	next_reply(root, &rep);
	ck_assert_str_eq(field(&rep, "status"), "error");
	ck_assert_str_eq(field(&rep, "message"), "field 'het_holds' must be a "
	    "comma list of whole numbers, at most 127 of them");
	bp_free(&rep);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("check");
	TCase *tc = tcase_create("decision");
	SRunner *sr;
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_cached_pass_no_api);
	tcase_add_test(tc, test_holds_fill_the_room);
	tcase_add_test(tc, test_user_limit_counts_own_holds);
	tcase_add_test(tc, test_identical_checks_share_one_ask);
	tcase_add_test(tc, test_user_check_is_dry_run);
	tcase_add_test(tc, test_decision_ms_policy);
	tcase_add_test(tc, test_late_answer_is_learned);
	tcase_add_test(tc, test_submit_budget);
	tcase_add_test(tc, test_room_ask_once_per_account);
	tcase_add_test(tc, test_het_components_add_up);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
