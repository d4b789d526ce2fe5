/*
 * check_portal.c: unit tests of the portal's contract (bankd/portal.c)
 * through the real client (api.c) against a scripted HTTP server in the
 * same event loop: the paths it builds (escaping, amounts, pages), what
 * each answer means (can_submit_job's verdict and room, a body that is
 * not the portal's, no answer at all; a paged /partitions/ walk, its
 * missing route and bad links; the probe's up, refused and down), that a
 * call abandoned by portal_free() never answers; and the prices in force
 * (apiprices.c) across a reload: the API's prices are there the moment
 * the new configuration is.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <check.h>
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
#include "apiprices.h"
#include "conf.h"
#include "portal.h"
#include "portal_report.h"
#include "pricetab.h"

#define MAX_ROUTES	16
#define MAX_SEEN	32

struct route {
	char		 uri[256];
	int		 status;
	char		 body[1024];
};

static struct event_base *base;
static struct evhttp *http;
static struct api *api;
static struct portal *portal;
static int port;
static char url[64];
static struct route routes[MAX_ROUTES];
static int nroutes;
static char seen[MAX_SEEN][512];
static int nseen;

/*
 * The server answers uri with status and body ("%d" in body: the port);
 * "PUT /api/..." answers that method only.
 */
static void	route(const char *uri, int status, const char *body, ...)
		    __attribute__((format(printf, 3, 4)));

static void
route(const char *uri, int status, const char *body, ...)
{
	struct route *r = &routes[nroutes++];
	va_list ap;

	ck_assert_int_le(nroutes, MAX_ROUTES);
	snprintf(r->uri, sizeof(r->uri), "%s", uri);
	r->status = status;
	va_start(ap, body);
	vsnprintf(r->body, sizeof(r->body), body, ap);
	va_end(ap);
}

static void
on_http(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *b = evbuffer_new();
	int i, status = 404;
	const char *body = "{\"detail\": \"Not found.\"}";
	char with_method[300];

	(void)arg;
	snprintf(with_method, sizeof(with_method), "%s %s",
	    evhttp_request_get_command(req) == EVHTTP_REQ_PUT ? "PUT" :
	    evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" :
	    "GET", uri);
	if (nseen < MAX_SEEN)
		snprintf(seen[nseen++], sizeof(seen[0]), "%s", uri);
	for (i = 0; i < nroutes; i++)
		if (strcmp(routes[i].uri, with_method) == 0 ||
		    strcmp(routes[i].uri, uri) == 0) {
			status = routes[i].status;
			body = routes[i].body;
			break;
		}
	evbuffer_add(b, body, strlen(body));
	evhttp_send_reply(req, status, "Scripted", b);
	evbuffer_free(b);
}

static void
setup(void)
{
	struct evhttp_bound_socket *sock;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	nroutes = nseen = 0;
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_ptr_nonnull(http = evhttp_new(base));
	evhttp_set_gencb(http, on_http, NULL);
	sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(sock);
	ck_assert_int_eq(getsockname(evhttp_bound_socket_get_fd(sock),
	    (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api", port);
	ck_assert_ptr_nonnull(api = api_new(base, url, "Token t", 3000, 4));
	ck_assert_ptr_nonnull(portal = portal_new(api, url));
}

static void
teardown(void)
{
	portal_free(portal);
	api_free(api);
	evhttp_free(http);
	event_base_free(base);
}

/* Turn the loop until *done, or fail after 10 s. */
static void
run_until(const int *done)
{
	time_t end = time(NULL) + 10;

	while (!*done) {
		ck_assert_msg(time(NULL) < end, "no answer in 10 s");
		event_base_loop(base, EVLOOP_ONCE);
	}
}

/* ---- can_submit_job ------------------------------------------------ */

struct ask_seen {
	int			 done;
	struct portal_ask_reply	 r;
};

static void
on_ask(const struct portal_ask_reply *r, void *arg)
{
	struct ask_seen *s = arg;

	s->r = *r;
	s->done++;
}

START_TEST(test_can_submit_refused_with_room)
{
	struct ask_seen s = { 0 };

	route("/api/can_submit_job/12.50/47001/fc_a/", 200, "%s",
	    "{\"success\": false, \"message\": \"Adding job_cost 12.50 to "
	    "account balance 990.00 would exceed account allocation "
	    "1000.00.\"}");
	ck_assert_int_eq(portal_can_submit(portal, "fc_a", 47001, 1250, on_ask,
	    &s), PORTAL_STARTED);
	run_until(&s.done);
	ck_assert_int_eq(s.done, 1);
	ck_assert_int_eq(nseen, 1);
	ck_assert_str_eq(seen[0], "/api/can_submit_job/12.50/47001/fc_a/");
	ck_assert_int_eq(s.r.status, 200);
	ck_assert_int_eq(s.r.answer.kind, ANSWER_REFUSED);
	ck_assert_int_eq(s.r.answer.limit, LIMIT_ACCOUNT);
	ck_assert_int_eq(s.r.answer.room, 1000);
	ck_assert(s.r.seconds > 0);
	ck_assert_str_eq(s.r.why, "");
}
END_TEST

START_TEST(test_can_submit_pass_and_escaping)
{
	struct ask_seen s = { 0 };

	route("/api/can_submit_job/0.05/0/fc%20a%2Fb~c/", 200, "%s",
	    "{\"success\": true, \"message\": \"A job with job_cost 0.05 can "
	    "be submitted.\"}");
	ck_assert_int_eq(portal_can_submit(portal, "fc a/b~c", 0, 5, on_ask,
	    &s), PORTAL_STARTED);
	run_until(&s.done);
	ck_assert_str_eq(seen[0], "/api/can_submit_job/0.05/0/fc%20a%2Fb~c/");
	ck_assert_int_eq(s.r.answer.kind, ANSWER_PASS);
	ck_assert_str_eq(s.r.answer.message,
	    "A job with job_cost 0.05 can be submitted.");
	/* Names no path segment can carry: nothing is sent. */
	ck_assert_int_eq(portal_can_submit(portal, "..", 0, 5, on_ask, &s),
	    PORTAL_BAD_NAME);
	ck_assert_int_eq(portal_can_submit(portal, "", 0, 5, on_ask, &s),
	    PORTAL_BAD_NAME);
	ck_assert_int_eq(s.done, 1);
	ck_assert_int_eq(nseen, 1);
}
END_TEST

START_TEST(test_can_submit_unusable)
{
	struct ask_seen s = { 0 }, u = { 0 };

	/* An unknown user is an answer; an HTML error page is none. */
	route("/api/can_submit_job/1.00/9999/fc_a/", 400, "%s",
	    "{\"success\": false, \"message\": \"No user exists with user_id "
	    "9999.\"}");
	route("/api/can_submit_job/1.00/1/fc_a/", 500, "%s",
	    "<html>Server Error</html>");
	portal_can_submit(portal, "fc_a", 9999, 100, on_ask, &s);
	portal_can_submit(portal, "fc_a", 1, 100, on_ask, &u);
	run_until(&s.done);
	run_until(&u.done);
	ck_assert_int_eq(s.r.answer.kind, ANSWER_UNKNOWN);
	ck_assert_str_eq(s.r.why, "");
	ck_assert_int_eq(u.r.answer.kind, ANSWER_UNUSABLE);
	ck_assert_int_eq(u.r.status, 500);
	ck_assert_str_eq(u.r.why, "API answered HTTP 500 with a non-JSON body "
	    "(\"<html>Server Error</html>\")");
}
END_TEST

START_TEST(test_can_submit_unreachable)
{
	struct ask_seen s = { 0 };
	struct api *gone;
	struct portal *p;

	/* Port 1 on the loopback: nothing listens there. */
	ck_assert_ptr_nonnull(gone = api_new(base, "http://127.0.0.1:1/api",
	    "Token t", 3000, 4));
	ck_assert_ptr_nonnull(p = portal_new(gone, "http://127.0.0.1:1/api"));
	ck_assert_int_eq(portal_can_submit(p, "fc_a", 1, 100, on_ask, &s),
	    PORTAL_STARTED);
	run_until(&s.done);
	ck_assert_int_eq(s.r.status, 0);
	ck_assert_int_eq(s.r.answer.kind, ANSWER_UNUSABLE);
	ck_assert_msg(strncmp(s.r.why, "API unreachable: ", 17) == 0, "%s",
	    s.r.why);
	portal_free(p);
	api_free(gone);
}
END_TEST

/* ---- /partitions/ -------------------------------------------------- */

struct parts_seen {
	int			 done;
	enum portal_parts_result result;
	struct pricetab_list	 prices;
	int			 pages;
	char			 why[512];
};

static void
on_parts(struct portal_parts_reply *r, void *arg)
{
	struct parts_seen *s = arg;

	s->done++;
	s->result = r->result;
	s->pages = r->pages;
	snprintf(s->why, sizeof(s->why), "%s", r->why);
	s->prices = r->prices;		/* taken */
	memset(&r->prices, 0, sizeof(r->prices));
}

START_TEST(test_partitions_pages)
{
	struct parts_seen s = { 0 };

	/* `next` absolute under the base URL, then under another host. */
	route("/api/partitions/", 200, "{\"count\": 4, \"next\": "
	    "\"http://127.0.0.1:%d/api/partitions/?page=2\", \"results\": ["
	    "{\"name\": \"a\", \"su_per_core_hour\": \"1.50\"},"
	    "{\"name\": \"bad name\", \"su_per_core_hour\": \"1\"},"
	    "{\"name\": \"b\", \"su_per_core_hour\": 2}]}", port);
	route("/api/partitions/?page=2", 200, "%s", "{\"next\": "
	    "\"https://portal.example.org/x/partitions/?page=3\", \"results\": "
	    "[{\"name\": \"c\", \"su_per_core_hour\": \"7.125\"}]}");
	route("/api/partitions/?page=3", 200, "%s", "{\"next\": null, "
	    "\"results\": [{\"name\": \"a\", \"su_per_core_hour\": \"0.5\"},"
	    "{\"name\": \"d\"}]}");
	ck_assert_int_eq(portal_partitions(portal, on_parts, &s),
	    PORTAL_STARTED);
	run_until(&s.done);
	ck_assert_int_eq(s.result, PORTAL_PARTS_OK);
	ck_assert_int_eq(s.pages, 3);
	ck_assert_int_eq(nseen, 3);
	ck_assert_str_eq(seen[0], "/api/partitions/");
	ck_assert_str_eq(seen[1], "/api/partitions/?page=2");
	ck_assert_str_eq(seen[2], "/api/partitions/?page=3");
	/* Listed twice: the last; what is no partition is left out. */
	ck_assert_uint_eq(s.prices.n, 3);
	ck_assert_int_eq(pricetab_list_get(&s.prices, "a")->micro, 500000);
	ck_assert_int_eq(pricetab_list_get(&s.prices, "b")->micro, 2000000);
	ck_assert_int_eq(pricetab_list_get(&s.prices, "c")->micro, 7125000);
	ck_assert_ptr_null(pricetab_list_get(&s.prices, "bad name"));
	ck_assert_ptr_null(pricetab_list_get(&s.prices, "d"));
	pricetab_list_clear(&s.prices);
}
END_TEST

START_TEST(test_partitions_no_route)
{
	struct parts_seen s = { 0 }, t = { 0 };

	/* The current myBRC: an HTML 404, which is no outage. */
	route("/api/partitions/", 404, "%s", "<h1>Not Found</h1>");
	portal_partitions(portal, on_parts, &s);
	run_until(&s.done);
	ck_assert_int_eq(s.result, PORTAL_PARTS_NO_ROUTE);
	ck_assert_str_eq(s.why, "the API has no /partitions/ (HTTP 404): "
	    "bank.yaml's prices apply");
	ck_assert_uint_eq(s.prices.n, 0);
	portal_partitions(portal, on_parts, &t);
	run_until(&t.done);
	ck_assert_int_eq(t.result, PORTAL_PARTS_NO_ROUTE);
}
END_TEST

START_TEST(test_partitions_failures)
{
	struct parts_seen s = { 0 }, t = { 0 }, u = { 0 };

	/* A page that names itself as the next: a loop, not a list. */
	route("/api/partitions/", 200, "{\"next\": "
	    "\"http://127.0.0.1:%d/api/partitions/\", \"results\": []}", port);
	portal_partitions(portal, on_parts, &s);
	run_until(&s.done);
	ck_assert_int_eq(s.result, PORTAL_PARTS_FAILED);
	ck_assert_msg(strncmp(s.why, "GET /partitions/: bad next page 'http:",
	    37) == 0, "%s", s.why);
	ck_assert_int_eq(nseen, 1);
	/* A second page that is not a page: nothing of the first counts. */
	nroutes = 0;
	route("/api/partitions/", 200, "{\"next\": "
	    "\"http://127.0.0.1:%d/api/partitions/?page=2\", \"results\": "
	    "[{\"name\": \"a\", \"su_per_core_hour\": \"1\"}]}", port);
	route("/api/partitions/?page=2", 200, "%s", "{\"results\": 3}");
	portal_partitions(portal, on_parts, &t);
	run_until(&t.done);
	ck_assert_int_eq(t.result, PORTAL_PARTS_FAILED);
	ck_assert_str_eq(t.why, "GET /partitions/: not a page of partitions");
	ck_assert_uint_eq(t.prices.n, 0);
	/* A 404 past the first page is an error, not a missing route. */
	nroutes = 0;
	route("/api/partitions/", 200, "{\"next\": "
	    "\"http://127.0.0.1:%d/api/partitions/?page=2\", \"results\": "
	    "[]}", port);
	portal_partitions(portal, on_parts, &u);
	run_until(&u.done);
	ck_assert_int_eq(u.result, PORTAL_PARTS_FAILED);
	ck_assert_str_eq(u.why, "GET /partitions/: HTTP 404: Not found.");
}
END_TEST

/* ---- the probe ----------------------------------------------------- */

struct probe_seen {
	int			 done;
	struct portal_probe_reply r;
};

static void
on_probe(const struct portal_probe_reply *r, void *arg)
{
	struct probe_seen *s = arg;

	s->r = *r;
	s->done++;
}

static void
probe(struct probe_seen *s, int status, const char *body)
{
	nroutes = 0;
	route("/api/jobs/?jobstatus=bankd-probe", status, "%s", body);
	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(portal_probe(portal, on_probe, s), PORTAL_STARTED);
	run_until(&s->done);
}

START_TEST(test_probe)
{
	struct probe_seen s;

	probe(&s, 200, "{\"count\": 0, \"next\": null, \"results\": []}");
	ck_assert_str_eq(seen[0], "/api/jobs/?jobstatus=bankd-probe");
	ck_assert_int_eq(s.r.health, PORTAL_UP);
	ck_assert_str_eq(s.r.why, "");
	/* It answers, but not to this token: what to do is said. */
	probe(&s, 401, "{\"detail\": \"Expired token.\"}");
	ck_assert_int_eq(s.r.health, PORTAL_REFUSED);
	ck_assert_int_eq(s.r.token, TOKEN_EXPIRED);
	ck_assert_msg(strstr(s.r.why, "HTTP 401: Expired token.: the API "
	    "token has expired") == s.r.why, "%s", s.r.why);
	probe(&s, 403, "{\"detail\": \"You do not have permission to "
	    "perform this action.\"}");
	ck_assert_int_eq(s.r.health, PORTAL_REFUSED);
	ck_assert_int_eq(s.r.token, TOKEN_NOT_STAFF);
	/* Down: a 404 says api.url is likely wrong; a 200 must be JSON. */
	probe(&s, 404, "<h1>Not Found</h1>");
	ck_assert_int_eq(s.r.health, PORTAL_DOWN);
	ck_assert_str_eq(s.r.why, "API answered HTTP 404 with a non-JSON body "
	    "(\"<h1>Not Found</h1>\"): GET /jobs/ is not found, so api.url is "
	    "likely not the API's base URL");
	probe(&s, 200, "<html>maintenance</html>");
	ck_assert_int_eq(s.r.health, PORTAL_DOWN);
	ck_assert_int_eq(s.r.status, 200);
	probe(&s, 503, "{\"detail\": \"busy\"}");
	ck_assert_int_eq(s.r.health, PORTAL_DOWN);
	ck_assert_str_eq(s.r.why, "HTTP 503: busy");
}
END_TEST

/* ---- one job's record (backfill.c) --------------------------------- */

struct job_seen {
	int			 done;
	struct portal_job_reply	 r;
};

static void
on_job(const struct portal_job_reply *r, void *arg)
{
	struct job_seen *s = arg;

	s->r = *r;
	s->done++;
}

static void
job(struct job_seen *s, int status, const char *body)
{
	nroutes = nseen = 0;
	route("/api/jobs/77/", status, "%s", body);
	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(portal_job(portal, 77, on_job, s), PORTAL_STARTED);
	run_until(&s->done);
	ck_assert_str_eq(seen[0], "/api/jobs/77/");
}

START_TEST(test_job_record)
{
	struct job_seen s;

	job(&s, 200, "{\"jobslurmid\": \"77\", \"amount\": \"12.50\", "
	    "\"submitdate\": \"2026-12-01T10:00:00Z\", \"enddate\": "
	    "\"2026-12-01T11:00:00Z\"}");
	ck_assert_int_eq(s.r.result, PORTAL_JOB_FOUND);
	ck_assert_int_eq(s.r.cents, 1250);
	ck_assert_int_eq(s.r.submit, 1796119200);
	ck_assert_int_eq(s.r.has_end, 1);
	/* A start only: no enddate. */
	job(&s, 200, "{\"jobslurmid\": \"77\", \"amount\": \"3.00\", "
	    "\"enddate\": null}");
	ck_assert_int_eq(s.r.result, PORTAL_JOB_FOUND);
	ck_assert_int_eq(s.r.has_end, 0);
	ck_assert_int_eq(s.r.submit, -1);
	/* The server's 404 is missing; anyone else's is not. */
	job(&s, 404, "{\"detail\": \"No Job matches the given query.\"}");
	ck_assert_int_eq(s.r.result, PORTAL_JOB_MISSING);
	job(&s, 404, "<h1>Not Found</h1>");
	ck_assert_int_eq(s.r.result, PORTAL_JOB_FAILED);
	ck_assert_ptr_nonnull(strstr(s.r.why, "api.url"));
	/* A 200 that is not this job's record, or no amount, is no answer. */
	job(&s, 200, "{\"jobslurmid\": \"78\", \"amount\": \"1.00\"}");
	ck_assert_int_eq(s.r.result, PORTAL_JOB_FAILED);
	ck_assert_ptr_nonnull(strstr(s.r.why, "not the record of job 77"));
	job(&s, 200, "{\"jobslurmid\": \"77\", \"amount\": \"1e3\"}");
	ck_assert_int_eq(s.r.result, PORTAL_JOB_FAILED);
	job(&s, 200, "{\"jobslurmid\": \"77\", \"amount\": "
	    "\"100000000.01\"}");
	ck_assert_int_eq(s.r.result, PORTAL_JOB_FAILED);
	job(&s, 200, "{\"jobslurmid\": \"77\", \"amount\": 12.5}");
	ck_assert_int_eq(s.r.result, PORTAL_JOB_FAILED);
	job(&s, 200, "<html>maintenance</html>");
	ck_assert_int_eq(s.r.result, PORTAL_JOB_FAILED);
	/* Refused, or down: no answer, with the reason. */
	job(&s, 401, "{\"detail\": \"Invalid token.\"}");
	ck_assert_int_eq(s.r.result, PORTAL_JOB_FAILED);
	ck_assert_int_eq(s.r.status, 401);
	job(&s, 503, "{\"detail\": \"busy\"}");
	ck_assert_int_eq(s.r.result, PORTAL_JOB_FAILED);
	ck_assert_str_eq(s.r.why, "GET /jobs/77/: HTTP 503: busy");
}
END_TEST

/* Abandoned with portal_free(): never answered (and nothing leaks). */
START_TEST(test_free_abandons)
{
	struct probe_seen s = { 0 };
	struct parts_seen t = { 0 };
	struct ask_seen u = { 0 };

	route("/api/jobs/?jobstatus=bankd-probe", 200, "%s", "{}");
	ck_assert_int_eq(portal_probe(portal, on_probe, &s), PORTAL_STARTED);
	ck_assert_int_eq(portal_partitions(portal, on_parts, &t),
	    PORTAL_STARTED);
	ck_assert_int_eq(portal_can_submit(portal, "fc_a", 1, 1, on_ask, &u),
	    PORTAL_STARTED);
	portal_free(portal);
	portal = NULL;
	api_free(api);
	api = NULL;
	ck_assert_int_eq(s.done + t.done + u.done, 0);
}
END_TEST

/* ---- the prices in force across a reload ----------------------------- */

static void
load(struct bank_conf *cf, const char *from_api, const char *extra)
{
	char path[] = "/tmp/check_portal.XXXXXX", err[512];
	FILE *f;
	int fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
	fprintf(f, "api:\n  url: %s\n  token: \"Token t\"\nprices:\n"
	    "  from_api: %s\n  refresh_s: 10\n  partitions:\n"
	    "    shr: \"3.00\"\n%s", url, from_api, extra);
	fclose(f);
	ck_assert_msg(conf_load(path, cf, err, sizeof(err)) == 0, "%s", err);
	unlink(path);
}

static const struct conf_price *
entry(const struct bank_conf *cf, const char *part)
{
	return conf_price_entry(cf, part);
}

START_TEST(test_reload_keeps_api_prices)
{
	struct bank_conf cf, next;
	struct apiprices *a;
	struct pricetab *t;
	time_t fetched;
	const char *err;
	time_t end = time(NULL) + 10;

	route("/api/partitions/", 200, "%s", "{\"next\": null, \"results\": ["
	    "{\"name\": \"shr\", \"su_per_core_hour\": \"99\"},"
	    "{\"name\": \"fill007\", \"su_per_core_hour\": \"2\"},"
	    "{\"name\": \"apionly\", \"su_per_core_hour\": \"7.125\"}]}");
	load(&cf, "true", "");
	ck_assert_ptr_nonnull(a = apiprices_start(base, portal, &cf));
	/* Before the first list: bank.yaml's prices alone. */
	ck_assert_uint_eq(cf.nprices, 1);
	while (entry(&cf, "apionly") == NULL) {
		ck_assert_msg(time(NULL) < end, "no prices in 10 s");
		event_base_loop(base, EVLOOP_ONCE);
	}
	ck_assert_int_eq(nseen, 1);
	ck_assert_int_eq(entry(&cf, "apionly")->micro, 7125000);
	ck_assert_int_eq(entry(&cf, "shr")->source, PRICE_LOCAL);
	apiprices_status(a, &fetched, &err);
	ck_assert(fetched > 0);
	ck_assert_str_eq(err, "");
	/* main.c's reload: build, swap the configuration, install. */
	load(&next, "true", "    fill007: \"5.5\"\n");
	ck_assert_ptr_nonnull(t = apiprices_build(a, &next));
	conf_free(&cf);
	cf = next;
	apiprices_reloaded(a, t);
	ck_assert_ptr_nonnull(entry(&cf, "apionly"));
	ck_assert_int_eq(entry(&cf, "apionly")->source, PRICE_API);
	ck_assert_int_eq(entry(&cf, "apionly")->micro, 7125000);
	ck_assert_int_eq(entry(&cf, "fill007")->source, PRICE_LOCAL);
	ck_assert_int_eq(entry(&cf, "fill007")->micro, 5500000);
	/* from_api off: the API's prices go at once. */
	load(&next, "false", "");
	t = apiprices_build(a, &next);
	conf_free(&cf);
	cf = next;
	apiprices_reloaded(a, t);
	ck_assert_ptr_null(entry(&cf, "apionly"));
	ck_assert_uint_eq(cf.nprices, 1);
	apiprices_stop(a);
	conf_free(&cf);
}
END_TEST

START_TEST(test_no_route_is_said_in_status)
{
	struct bank_conf cf;
	struct apiprices *a;
	time_t fetched;
	const char *err = NULL;
	time_t end = time(NULL) + 10;

	route("/api/partitions/", 404, "%s", "<h1>Not Found</h1>");
	load(&cf, "true", "");
	ck_assert_ptr_nonnull(a = apiprices_start(base, portal, &cf));
	while (err == NULL || *err == '\0') {
		ck_assert_msg(time(NULL) < end, "no answer in 10 s");
		event_base_loop(base, EVLOOP_ONCE);
		apiprices_status(a, &fetched, &err);
	}
	ck_assert_int_eq(fetched, 0);
	ck_assert_str_eq(err, "the API has no /partitions/ (HTTP 404): "
	    "bank.yaml's prices apply");
	ck_assert_uint_eq(cf.nprices, 1);
	apiprices_stop(a);
	conf_free(&cf);
}
END_TEST

/* ---- a report's POST meeting "already exists" (portal_report.c) ---- */

struct rep_seen {
	struct portal_report	*r;
	int			 done;
	enum portal_report_result result;
	enum dead_cause		 cause;
	long			 http;
	char			 reason[512];
};

static void
on_rep(const struct portal_report_answer *a, void *arg)
{
	struct rep_seen *s = arg;

	/* The queue frees r before it reads the answer (qsend.c): so here. */
	memset(s->r, 0x5a, sizeof(*s->r));
	s->result = a->result;
	s->cause = a->cause;
	s->http = a->http_status;
	snprintf(s->reason, sizeof(s->reason), "%s", a->reason);
	s->done = 1;
}

static struct rep_seen
send_report(enum report_kind kind, uint32_t job, int verify,
    const char *submitdate)
{
	struct portal_report r;
	struct rep_seen s;
	char *body;

	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	r.kind = kind;
	r.job_id = job;
	r.cents = 3000;
	r.verify = verify;
	r.cb = on_rep;
	r.arg = &s;
	s.r = &r;
	ck_assert_int_ne(asprintf(&body, "{\"accountid\":\"fc_x\",\"amount\":"
	    "\"30.00\",\"jobslurmid\":\"%u\",\"submitdate\":\"%s\"}", job,
	    submitdate), -1);
	ck_assert_int_eq(portal_report_send(api, &r, body), 0);
	run_until(&s.done);
	return s;
}

START_TEST(test_already_exists_is_read_back)
{
	struct rep_seen s;

	route("/api/jobs/", 400, "{\"jobslurmid\":[\"job with this "
	    "jobslurmid already exists.\"]}");
	/* Ours (a retried POST that arrived): the same date, as +00:00. */
	route("/api/jobs/7/", 200, "{\"jobslurmid\":\"7\",\"submitdate\":"
	    "\"2026-11-26T00:18:20+00:00\",\"amount\":\"30.00\"}");
	route("/api/jobs/8/", 200, "{\"jobslurmid\":\"8\",\"submitdate\":"
	    "\"2026-02-01T10:00:00Z\",\"amount\":\"5.00\"}");
	s = send_report(REPORT_START, 7, 0, "2026-11-26T00:18:20Z");
	ck_assert_int_eq(s.result, PR_DUPLICATE);
	s = send_report(REPORT_START, 8, 0, "2026-11-26T00:18:20Z");
	ck_assert_int_eq(s.result, PR_REFUSED);
	ck_assert_str_eq(s.reason, "job id 8 is held by the portal for another "
	    "job submitted at 2026-02-01T10:00:00Z; an id reused after a "
	    "slurmctld cold start: charge this job by hand, then bankctl drop");
	/* A completion that looks first: no job, this job, another job. */
	s = send_report(REPORT_END, 9, 1, "2026-11-26T00:18:20Z");
	ck_assert_int_eq(s.result, PR_VERIFIED);
	s = send_report(REPORT_END, 7, 1, "2026-11-26T00:18:20Z");
	ck_assert_int_eq(s.result, PR_VERIFIED);
	s = send_report(REPORT_END, 8, 1, "2026-11-26T00:18:20Z");
	ck_assert_int_eq(s.result, PR_REFUSED);
	ck_assert(strstr(s.reason, "an id reused") != NULL);
	/* Only GETs for the completions: nothing was PUT. */
	ck_assert_str_eq(seen[nseen - 1], "/api/jobs/8/");
}
END_TEST

/*
 * The read-back of a completion that looks first, refused for the
 * token: the token outage (PR_AUTH, delivery blocked until a reload),
 * not a retry that never ends (CI: test_promises under ASan, where the
 * completion replaced its start and looked first).
 */
START_TEST(test_read_back_refused_token)
{
	struct rep_seen s;

	route("/api/jobs/9/", 401, "{\"detail\": \"Expired token.\"}");
	s = send_report(REPORT_END, 9, 1, "2026-11-26T00:18:20Z");
	ck_assert_int_eq(s.result, PR_AUTH);
	route("/api/jobs/9/", 403, "{\"detail\": \"You do not have "
	    "permission to perform this action.\"}");
	s = send_report(REPORT_END, 9, 1, "2026-11-26T00:18:20Z");
	ck_assert_int_eq(s.result, PR_AUTH);
	ck_assert_str_eq(seen[nseen - 1], "/api/jobs/9/");
}
END_TEST

/*
 * A PUT refused (4xx) is read back: another job's record under the id is
 * a reused id (its own cause, whatever words the portal used: seen on
 * chaos, "The user does not match the Job's user."); the job's own
 * record, none, or a read-back that fails keep the portal's refusal.
 */
START_TEST(test_put_refused_is_read_back)
{
	static const char mismatch[] = "{\"non_field_errors\":[\"The user "
	    "does not match the Job's user.\"]}";
	static const char *const ids[] = { "11", "12", "13", "14" };
	struct rep_seen s;
	char uri[64];
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		snprintf(uri, sizeof(uri), "PUT /api/jobs/%s/", ids[i]);
		route(uri, 400, "%s", mismatch);
	}
	route("/api/jobs/11/", 200, "{\"jobslurmid\":\"11\",\"submitdate\":"
	    "\"2026-02-01T10:00:00Z\",\"amount\":\"5.00\"}");
	route("/api/jobs/12/", 200, "{\"jobslurmid\":\"12\",\"submitdate\":"
	    "\"2026-11-26T00:18:20Z\",\"amount\":\"5.00\"}");
	/* 13: no such job (404); 14: the token refused on the GET. */
	route("/api/jobs/14/", 401, "{\"detail\": \"Expired token.\"}");
	s = send_report(REPORT_END, 11, 0, "2026-11-26T00:18:20Z");
	ck_assert_int_eq(s.result, PR_REFUSED);
	ck_assert_int_eq(s.cause, DEAD_REUSED_ID);
	ck_assert_int_eq(s.http, 400);		/* the PUT's, not the GET's */
	ck_assert_msg(strstr(s.reason, "job id 11 is held by the portal for "
	    "another job submitted at 2026-02-01T10:00:00Z") != NULL, "%s",
	    s.reason);
	ck_assert_str_eq(seen[nseen - 1], "/api/jobs/11/");
	ck_assert_str_eq(seen[nseen - 2], "/api/jobs/11/");
	s = send_report(REPORT_END, 12, 0, "2026-11-26T00:18:20Z");
	ck_assert_int_eq(s.result, PR_REFUSED);
	ck_assert_int_eq(s.cause, DEAD_REFUSED);
	ck_assert_int_eq(s.http, 400);
	ck_assert_msg(strstr(s.reason, "does not match the Job's user") !=
	    NULL, "%s", s.reason);
	s = send_report(REPORT_END, 13, 0, "2026-11-26T00:18:20Z");
	ck_assert_int_eq(s.result, PR_REFUSED);
	ck_assert_int_eq(s.cause, DEAD_REFUSED);
	ck_assert(strstr(s.reason, "does not match the Job's user") != NULL);
	s = send_report(REPORT_END, 14, 0, "2026-11-26T00:18:20Z");
	ck_assert_int_eq(s.result, PR_AUTH);
	ck_assert_int_eq(s.http, 401);
	/* A refused POST is not read back: nothing but the POST went. */
	route("/api/jobs/", 400, "{\"accountid\":[\"Invalid\"]}");
	i = (size_t)nseen;
	s = send_report(REPORT_START, 15, 0, "2026-11-26T00:18:20Z");
	ck_assert_int_eq(s.result, PR_REFUSED);
	ck_assert_int_eq(s.cause, DEAD_REFUSED);
	ck_assert_int_eq(nseen, (int)i + 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("portal");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_can_submit_refused_with_room);
	tcase_add_test(tc, test_can_submit_pass_and_escaping);
	tcase_add_test(tc, test_can_submit_unusable);
	tcase_add_test(tc, test_can_submit_unreachable);
	tcase_add_test(tc, test_partitions_pages);
	tcase_add_test(tc, test_partitions_no_route);
	tcase_add_test(tc, test_partitions_failures);
	tcase_add_test(tc, test_probe);
	tcase_add_test(tc, test_free_abandons);
	tcase_add_test(tc, test_reload_keeps_api_prices);
	tcase_add_test(tc, test_no_route_is_said_in_status);
	tcase_add_test(tc, test_already_exists_is_read_back);
	tcase_add_test(tc, test_read_back_refused_token);
	tcase_add_test(tc, test_put_refused_is_read_back);
	tcase_add_test(tc, test_job_record);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
