/*
 * portal_report.c - one report sent to the portal, and its answer read
 * (see portal_report.h).  The rules and their words are those the queue
 * applied itself before; only the decision moved here.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	a.http_status = r->status;
	r->cb(&a, r->arg);
}

/*
 * Never deliverable as it is, for this cause.  why is copied: it may be
 * r->refused, and the callback frees r before it reads the reason.
 */
static void
refuse(struct portal_report *r, enum dead_cause cause, const char *why)
{
	struct portal_report_answer a;
	char reason[sizeof(r->refused)];

	snprintf(reason, sizeof(reason), "%s", why);
	memset(&a, 0, sizeof(a));
	a.result = PR_REFUSED;
	a.reason = reason;
	a.cause = cause;
	a.api_ok = 1;
	a.http_status = r->status;
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
	a.http_status = r->status;
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
	a.http_status = r->status;
	r->cb(&a, r->arg);
}

/*
 * An RFC 3339 date as the portal writes it (fractions skipped, Z or an
 * offset) in seconds from 1970, or -1.
 */
int64_t
portal_report_date(const char *s)
{
	int y, mo, d, h, mi, sec, n = 0, sign, oh, om;
	struct tm tm;
	time_t t;

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d,
	    &h, &mi, &sec, &n) != 6 || y < 1970 || y > 9999 || mo < 1 ||
	    mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	s += n;
	if (*s == '.')
		for (s++; isdigit((unsigned char)*s); s++)
			;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	if (*s == 'Z' && s[1] == '\0')
		return (int64_t)t;
	if ((*s != '+' && *s != '-') || sscanf(s + 1, "%2d:%2d", &oh, &om) != 2
	    || oh > 23 || om > 59)
		return -1;
	sign = *s == '+' ? 1 : -1;
	return (int64_t)t - sign * (oh * 3600 + om * 60);
}

/* The body's submitdate (jsonw's: its first such key is the member). */
static int64_t
body_submit(const char *body)
{
	static const char key[] = "\"submitdate\":\"";
	const char *at = strstr(body, key);
	char date[40];
	size_t n;

	if (at == NULL)
		return -1;
	at += sizeof(key) - 1;
	n = strcspn(at, "\"");
	if (n == 0 || n >= sizeof(date))
		return -1;
	memcpy(date, at, n);
	date[n] = '\0';
	return portal_report_date(date);
}

/*
 * GET /jobs/{id}/ after "already exists": the portal's record is ours
 * (a retried POST whose first try arrived) when its submit date is one
 * bankd sent; else the id was reused, and the start is never delivered
 * as it is: the portal keeps one job per id.
 */
static void
on_stored(const struct api_reply *rep, void *arg)
{
	struct portal_report *r = arg;
	enum answer_token tok;
	char why[512], date[64];
	const char *stored;
	int64_t t;
	json_t *j;

	/* A refused PUT's read-back: the dead letter's HTTP is the PUT's. */
	if (r->refused[0] == '\0')
		r->status = rep->status;
	if (r->verify && rep->status == 404) {
		answer(r, PR_VERIFIED, "", 1, NULL);
		return;
	}
	if (rep->status != 200 || (j = api_reply_json(rep)) == NULL) {
		api_describe(rep, why, sizeof(why));
		/*
		 * A token refused on the read-back is the same outage as on
		 * a POST or PUT: the same advice, the same blocked delivery
		 * (a reload with a new token resumes it).
		 */
		if ((tok = answer_token(rep->status, rep->body, rep->len)) !=
		    TOKEN_OK) {
			r->status = rep->status;
			on_token(r, tok, why);
			return;
		}
		/* A PUT refused, and no record of another job to explain it. */
		if (r->refused[0] != '\0') {
			refuse(r, DEAD_REFUSED, r->refused);
			return;
		}
		snprintf(date, sizeof(date), "%s", why);
		snprintf(why, sizeof(why), "reading job %" PRIu32 " back from "
		    "the portal failed: %s", r->job_id, date);
		answer(r, PR_RETRY, why, rep->status != 0 && rep->status < 500,
		    why);
		return;
	}
	stored = json_string_value(json_object_get(j, "submitdate"));
	snprintf(date, sizeof(date), "%s", stored ? stored : "(none)");
	t = portal_report_date(stored);
	json_decref(j);
	if (t >= 0 && (t == r->submit || (r->submit_before[0] > 0 &&
	    t == r->submit_before[0]) || (r->submit_before[1] > 0 &&
	    t == r->submit_before[1]))) {
		if (r->refused[0] != '\0')	/* ours: refused for itself */
			refuse(r, DEAD_REFUSED, r->refused);
		else
			answer(r, r->verify ? PR_VERIFIED : PR_DUPLICATE, "",
			    1, NULL);
		return;
	}
	snprintf(why, sizeof(why), "job id %" PRIu32 " is held by the portal "
	    "for another job submitted at %s; an id reused after a slurmctld "
	    "cold start: charge this job by hand, then bankctl drop",
	    r->job_id, date);
	refuse(r, DEAD_REUSED_ID, why);
}

static void
check_stored(struct portal_report *r)
{
	char path[64];

	snprintf(path, sizeof(path), "/jobs/%" PRIu32 "/", r->job_id);
	if (r->submit < 0 || api_request(r->api, "GET", path, NULL, on_stored,
	    r) != 0) {
		if (r->refused[0] != '\0')
			refuse(r, DEAD_REFUSED, r->refused);
		else
			answer(r, PR_RETRY, "the job cannot be read back from "
			    "the portal now", 0, NULL);
	}
}

static void
on_reply(const struct api_reply *rep, void *arg)
{
	struct portal_report *r = arg;
	enum answer_token tok;
	char why[512];

	r->status = rep->status;
	if (rep->status >= 200 && rep->status < 300)
		on_2xx(r, rep);
	else if (r->kind == REPORT_START && already_exists(rep))
		check_stored(r);
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
		else if (r->kind == REPORT_END && r->refused[0] == '\0') {
			/*
			 * The portal's words for a PUT against another job's
			 * record ("The user does not match the Job's user")
			 * are not a contract: its record tells a reused id.
			 */
			snprintf(r->refused, sizeof(r->refused), "%s", why);
			check_stored(r);
		} else
			refuse(r, DEAD_REFUSED, why);
	}
}

int
portal_report_send(struct api *api, struct portal_report *r, char *body)
{
	char path[64];

	r->api = api;
	r->submit = body_submit(body);
	r->refused[0] = '\0';
	if (r->verify && r->kind == REPORT_END) {
		/* The body is read again from the journal for the PUT. */
		free(body);
		snprintf(path, sizeof(path), "/jobs/%" PRIu32 "/", r->job_id);
		if (r->submit < 0 || api_request(api, "GET", path, NULL,
		    on_stored, r) != 0)
			return -1;
		return 0;
	}
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
