/*
 * portal_report.c - one report sent to the portal, and its answer read
 * (see portal_report.h).  The rules and their words are those the queue
 * applied itself before; only the decision moved here.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "api.h"
#include "portal_report.h"

/* A POST retried after it reached the server: already recorded. */
static int
already_exists(const struct api_reply *rep)
{
	return rep->status == 400 && strstr(rep->body, "already exists");
}

static void
answer(struct portal_report *r, enum portal_report_result result,
    const char *reason, int api_ok, const char *api_error)
{
	struct portal_report_answer a;

	memset(&a, 0, sizeof(a));
	a.result = result;
	a.reason = reason;
	a.api_ok = api_ok;
	a.api_error = api_error;
	r->cb(&a, r->arg);
}

/* A 2xx: delivered only when the portal's own record confirms it. */
static void
on_2xx(struct portal_report *r, const struct api_reply *rep)
{
	char why[512], detail[300];

	if (answer_job(rep->body, rep->len, r->job_id, r->cents, detail,
	    sizeof(detail)) == 0) {
		answer(r, PR_DELIVERED, "", 1, NULL);
		return;
	}
	snprintf(why, sizeof(why), "HTTP %ld that confirms nothing: %s",
	    rep->status, detail);
	answer(r, PR_RETRY, why, 0, why);
}

/* A redirect is configuration: bankd asks the wrong URL. */
static void
on_3xx(struct portal_report *r, const struct api_reply *rep)
{
	struct portal_report_answer a;
	char detail[300];

	snprintf(detail, sizeof(detail), "the API redirects to %.200s: "
	    "api.url is not the API's own address (a redirected POST or PUT "
	    "loses its body); fix it and restart bankd",
	    rep->location ? rep->location : "(no Location)");
	memset(&a, 0, sizeof(a));
	a.result = PR_RETRY;
	a.reason = detail;
	a.alarm = detail;
	a.api_ok = 0;
	a.api_error = detail;
	r->cb(&a, r->arg);
}

static void
on_token(struct portal_report *r, enum answer_token tok, const char *why)
{
	struct portal_report_answer a;
	char detail[300];

	snprintf(detail, sizeof(detail), "%s: %s", why,
	    answer_token_advice(tok));
	memset(&a, 0, sizeof(a));
	a.result = PR_AUTH;
	a.reason = why;
	a.advice = answer_token_advice(tok);
	a.api_ok = 1;		/* it answers, but not to bankd */
	a.api_error = detail;
	r->cb(&a, r->arg);
}

static void
on_reply(const struct api_reply *rep, void *arg)
{
	struct portal_report *r = arg;
	enum answer_token tok;
	char why[512];

	if (rep->status >= 200 && rep->status < 300)
		on_2xx(r, rep);
	else if (r->kind == REPORT_START && already_exists(rep))
		answer(r, PR_DUPLICATE, "", 1, NULL);
	else if (rep->status >= 300 && rep->status < 400)
		on_3xx(r, rep);
	else {
		/* Only a failure needs its answer summarised (a JSON parse). */
		api_describe(rep, why, sizeof(why));
		if ((tok = answer_token(rep->status, rep->body, rep->len)) !=
		    TOKEN_OK)
			on_token(r, tok, why);
		else if (rep->status == 0 || rep->status >= 500 ||
		    rep->status == 429 || rep->status == 408)
			answer(r, PR_RETRY, why, 0, why);
		else
			answer(r, PR_REFUSED, why, 1, NULL);
	}
}

int
portal_report_send(struct api *api, struct portal_report *r, char *body)
{
	char path[64];

	if (r->kind == REPORT_START)
		snprintf(path, sizeof(path), "/jobs/");
	else
		snprintf(path, sizeof(path), "/jobs/%" PRIu32 "/", r->job_id);
	return api_request_take(api, r->kind == REPORT_START ? "POST" : "PUT",
	    path, body, on_reply, r) != 0 ? -1 : 0;
}

int
portal_report_sender(void *ctx, struct portal_report *r, char *body)
{
	return portal_report_send(ctx, r, body);
}
