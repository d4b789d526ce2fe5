/*
 * portal.c - the myBRC portal's routes and what their answers mean (see
 * portal.h).  Every request here is one api_request(); a call keeps what
 * its answer needs (the caller's callback, and for a paged list the page
 * being read and the prices so far) and is freed once it has answered.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "lim.h"
#include "log.h"
#include "money.h"
#include "portal.h"
#include "portal_report.h"

#define PORTAL_MAX_PAGES	1000
#define PORTAL_PROBE_PATH	"/jobs/?jobstatus=bankd-probe"
#define PORTAL_PARTS_PATH	"/partitions/"

struct portal_call {
	struct portal		*portal;
	union {
		portal_ask_cb	 ask;
		portal_parts_cb	 parts;
		portal_probe_cb	 probe;
		portal_job_cb	 job;
	}			 cb;
	uint32_t		 job_id;	/* portal_job: the job asked */
	void			*arg;
	/* A paged list: the page asked for, how many, the prices so far. */
	char			 path[1024];
	int			 pages;
	struct pricetab_list	 acc;
	TAILQ_ENTRY(portal_call) link;
};

struct portal {
	struct api		*api;
	char			*base_url;
	int			 no_route;	/* 404 for /partitions/: said */
	TAILQ_HEAD(, portal_call) calls;	/* in flight, for portal_free */
};

struct portal *
portal_new(struct api *api, const char *base_url)
{
	struct portal *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if ((p->base_url = strdup(base_url)) == NULL) {
		free(p);
		return NULL;
	}
	p->api = api;
	TAILQ_INIT(&p->calls);
	return p;
}

static void
call_free(struct portal_call *call)
{
	TAILQ_REMOVE(&call->portal->calls, call, link);
	pricetab_list_clear(&call->acc);
	free(call);
}

void
portal_free(struct portal *p)
{
	if (p == NULL)
		return;
	while (!TAILQ_EMPTY(&p->calls))
		call_free(TAILQ_FIRST(&p->calls));
	free(p->base_url);
	free(p);
}

static struct portal_call *
call_new(struct portal *p, void *arg)
{
	struct portal_call *call;

	if ((call = calloc(1, sizeof(*call))) == NULL)
		return NULL;
	call->portal = p;
	call->arg = arg;
	TAILQ_INSERT_TAIL(&p->calls, call, link);
	return call;
}

/* ---- can_submit_job ------------------------------------------------ */

static void
on_ask(const struct api_reply *rep, void *arg)
{
	struct portal_call *call = arg;
	struct portal_ask_reply r;

	memset(&r, 0, sizeof(r));
	r.status = rep->status;
	r.seconds = rep->seconds;
	answer_check(rep->status, rep->body, rep->len, &r.answer);
	if (r.answer.kind == ANSWER_UNUSABLE)
		api_describe(rep, r.why, sizeof(r.why));
	call->cb.ask(&r, call->arg);
	call_free(call);
}

enum portal_start
portal_can_submit(struct portal *p, const char *account, uint32_t uid,
    int64_t cost_cents, portal_ask_cb cb, void *arg)
{
	struct portal_call *call;
	char path[512], amount[MONEY_FMT_LEN], seg[3 * LIM_ACCOUNT_LEN + 1];

	/* fields.c admits no byte that needs it; the path is safe anyway. */
	if (api_segment(account, seg, sizeof(seg)) != 0)
		return PORTAL_BAD_NAME;
	snprintf(path, sizeof(path), "/can_submit_job/%s/%" PRIu32 "/%s/",
	    money_format(cost_cents, amount), uid, seg);
	if ((call = call_new(p, arg)) == NULL)
		return PORTAL_NOT_STARTED;
	call->cb.ask = cb;
	if (api_request(p->api, "GET", path, NULL, on_ask, call) != 0) {
		call_free(call);
		return PORTAL_NOT_STARTED;
	}
	return PORTAL_STARTED;
}

/* ---- /partitions/ -------------------------------------------------- */

static void	walk_page(const struct api_reply *, void *);

static void	walk_end(struct portal_call *, enum portal_parts_result,
		    const char *, ...) __attribute__((format(printf, 3, 4)));

static void
walk_end(struct portal_call *call, enum portal_parts_result result,
    const char *fmt, ...)
{
	struct portal_parts_reply r;
	va_list ap;

	memset(&r, 0, sizeof(r));
	r.result = result;
	r.pages = call->pages;
	if (result == PORTAL_PARTS_OK) {
		r.prices = call->acc;
		memset(&call->acc, 0, sizeof(call->acc));
	}
	va_start(ap, fmt);
	vsnprintf(r.why, sizeof(r.why), fmt, ap);
	va_end(ap);
	call->cb.parts(&r, call->arg);
	pricetab_list_clear(&r.prices);
	call_free(call);
}

/* `next` as a path under the base URL: "/partitions/?page=2". */
static int
next_path(const struct portal *p, const char *next, char *out, size_t len)
{
	const char *q;
	size_t bl = strlen(p->base_url);

	if (strncmp(next, p->base_url, bl) == 0 && next[bl] == '/')
		return (size_t)snprintf(out, len, "%s", next + bl) < len ? 0 :
		    -1;
	/* Another host name for the same server: keep the query only. */
	if ((q = strchr(next, '?')) == NULL)
		return -1;
	return (size_t)snprintf(out, len, PORTAL_PARTS_PATH "%s", q) < len ?
	    0 : -1;
}

/* One page's results into the prices so far; -1: out of memory. */
static int
walk_take(struct portal_call *call, json_t *results)
{
	const char *name, *why;
	json_t *it;
	int64_t micro;
	size_t i;

	json_array_foreach(results, i, it) {
		if (answer_partition(it, &name, &micro, &why) != 0) {
			log_warn("prices from the API: a partition ignored: %s",
			    why);
			continue;
		}
		if (pricetab_list_put(&call->acc, name, micro) != 0)
			return -1;
	}
	return 0;
}

/* The page after this one, or the answer. */
static void
walk_next(struct portal_call *call, json_t *doc)
{
	json_t *next = json_object_get(doc, "next");
	char path[sizeof(call->path)];

	if (!json_is_string(next)) {
		walk_end(call, PORTAL_PARTS_OK, "%s", "");
		return;
	}
	if (++call->pages > PORTAL_MAX_PAGES || next_path(call->portal,
	    json_string_value(next), path, sizeof(path)) != 0 ||
	    strcmp(path, call->path) == 0) {
		walk_end(call, PORTAL_PARTS_FAILED, "GET /partitions/: bad next "
		    "page '%s'", json_string_value(next));
		return;
	}
	snprintf(call->path, sizeof(call->path), "%s", path);
	if (api_request(call->portal->api, "GET", call->path, NULL, walk_page,
	    call) != 0)
		walk_end(call, PORTAL_PARTS_FAILED, "%s",
		    "cannot start GET /partitions/");
}

static void
walk_page(const struct api_reply *rep, void *arg)
{
	struct portal_call *call = arg;
	struct portal *p = call->portal;
	json_t *doc, *results;
	char why[512];

	if (rep->status == 404 && strcmp(call->path, PORTAL_PARTS_PATH) == 0) {
		/* The current myBRC has no such route: say so, once. */
		if (!p->no_route)
			log_warn("prices from the API: the API has no "
			    "/partitions/ (HTTP 404), so prices.from_api cannot "
			    "take prices from it; bank.yaml's prices apply");
		p->no_route = 1;
		walk_end(call, PORTAL_PARTS_NO_ROUTE, "%s", "the API has no "
		    "/partitions/ (HTTP 404): bank.yaml's prices apply");
		return;
	}
	if (rep->status != 200) {
		api_describe(rep, why, sizeof(why));
		walk_end(call, PORTAL_PARTS_FAILED, "GET /partitions/: %s", why);
		return;
	}
	p->no_route = 0;
	if ((doc = api_reply_json(rep)) == NULL ||
	    !json_is_array(results = json_object_get(doc, "results"))) {
		json_decref(doc);
		walk_end(call, PORTAL_PARTS_FAILED, "%s",
		    "GET /partitions/: not a page of partitions");
		return;
	}
	if (walk_take(call, results) != 0)
		walk_end(call, PORTAL_PARTS_FAILED, "%s", "out of memory");
	else
		walk_next(call, doc);
	json_decref(doc);
}

enum portal_start
portal_partitions(struct portal *p, portal_parts_cb cb, void *arg)
{
	struct portal_call *call;

	if ((call = call_new(p, arg)) == NULL)
		return PORTAL_NOT_STARTED;
	call->cb.parts = cb;
	call->pages = 1;
	snprintf(call->path, sizeof(call->path), PORTAL_PARTS_PATH);
	if (api_request(p->api, "GET", call->path, NULL, walk_page, call) !=
	    0) {
		call_free(call);
		return PORTAL_NOT_STARTED;
	}
	return PORTAL_STARTED;
}

/* ---- the health probe ---------------------------------------------- */

static void
on_probe(const struct api_reply *rep, void *arg)
{
	struct portal_call *call = arg;
	struct portal_probe_reply r;
	json_t *j = rep->status == 200 ? api_reply_json(rep) : NULL;
	char why[512];

	memset(&r, 0, sizeof(r));
	r.status = rep->status;
	r.seconds = rep->seconds;
	r.health = PORTAL_UP;
	if (!json_is_object(j)) {
		api_describe(rep, why, sizeof(why));
		r.token = answer_token(rep->status, rep->body, rep->len);
		if (r.token != TOKEN_OK) {
			/* It answers, but not to bankd: what to do is news. */
			r.health = PORTAL_REFUSED;
			snprintf(r.why, sizeof(r.why), "%s: %s", why,
			    answer_token_advice(r.token));
		} else {
			r.health = PORTAL_DOWN;
			if (rep->status == 404)
				snprintf(r.why, sizeof(r.why), "%s: GET /jobs/ "
				    "is not found, so api.url is likely not the "
				    "API's base URL", why);
			else
				snprintf(r.why, sizeof(r.why), "%s", why);
		}
	}
	json_decref(j);
	call->cb.probe(&r, call->arg);
	call_free(call);
}

enum portal_start
portal_probe(struct portal *p, portal_probe_cb cb, void *arg)
{
	struct portal_call *call;

	if ((call = call_new(p, arg)) == NULL)
		return PORTAL_NOT_STARTED;
	call->cb.probe = cb;
	if (api_request(p->api, "GET", PORTAL_PROBE_PATH, NULL, on_probe,
	    call) != 0) {
		call_free(call);
		return PORTAL_NOT_STARTED;
	}
	return PORTAL_STARTED;
}

/* ---- one job's record ---------------------------------------------- */

/* A 200's body: the record of call->job_id, its amount and dates. */
static void
job_record(const struct portal_call *call, const struct api_reply *rep,
    struct portal_job_reply *r)
{
	json_t *j = api_reply_json(rep), *end;
	const char *id, *amount, *why = NULL;
	char want[16];

	snprintf(want, sizeof(want), "%" PRIu32, call->job_id);
	id = json_string_value(json_object_get(j, "jobslurmid"));
	amount = json_string_value(json_object_get(j, "amount"));
	if (!json_is_object(j))
		snprintf(r->why, sizeof(r->why), "GET /jobs/%s/: the answer is "
		    "not the portal's JSON", want);
	else if (id == NULL || strcmp(id, want) != 0)
		snprintf(r->why, sizeof(r->why), "GET /jobs/%s/: the answer is "
		    "not the record of job %s (jobslurmid %.32s)", want, want,
		    id ? id : "missing");
	else if (amount == NULL || money_parse(amount, 2, &r->cents, &why) !=
	    0 || r->cents > LIM_AMOUNT_CENTS)
		snprintf(r->why, sizeof(r->why), "GET /jobs/%s/: amount %.32s "
		    "is not an amount (%s)", want, amount ? amount : "missing",
		    why ? why : "too large");
	else {
		r->result = PORTAL_JOB_FOUND;
		r->submit = portal_report_date(json_string_value(
		    json_object_get(j, "submitdate")));
		end = json_object_get(j, "enddate");
		r->has_end = json_is_string(end) && json_string_length(end) > 0;
	}
	json_decref(j);
}

static void
on_job(const struct api_reply *rep, void *arg)
{
	struct portal_call *call = arg;
	struct portal_job_reply r;
	char why[512];

	memset(&r, 0, sizeof(r));
	r.result = PORTAL_JOB_FAILED;
	r.status = rep->status;
	r.submit = -1;
	if (rep->status == 200)
		job_record(call, rep, &r);
	else if (rep->status == 404 && (answer_token(rep->status, rep->body,
	    rep->len) == TOKEN_OK)) {
		/* The server's "No Job matches the given query." (JSON). */
		json_t *j = api_reply_json(rep);

		if (json_is_object(j) && json_object_get(j, "detail") != NULL)
			r.result = PORTAL_JOB_MISSING;
		else
			snprintf(r.why, sizeof(r.why), "GET /jobs/%" PRIu32 "/: "
			    "404 without the portal's JSON: is api.url the "
			    "API's base URL?", call->job_id);
		json_decref(j);
	} else {
		api_describe(rep, why, sizeof(why));
		snprintf(r.why, sizeof(r.why), "GET /jobs/%" PRIu32 "/: %s",
		    call->job_id, why);
	}
	call->cb.job(&r, call->arg);
	call_free(call);
}

enum portal_start
portal_job(struct portal *p, uint32_t job_id, portal_job_cb cb, void *arg)
{
	struct portal_call *call;

	if ((call = call_new(p, arg)) == NULL)
		return PORTAL_NOT_STARTED;
	call->cb.job = cb;
	call->job_id = job_id;
	snprintf(call->path, sizeof(call->path), "/jobs/%" PRIu32 "/", job_id);
	if (api_request(p->api, "GET", call->path, NULL, on_job, call) != 0) {
		call_free(call);
		return PORTAL_NOT_STARTED;
	}
	return PORTAL_STARTED;
}
