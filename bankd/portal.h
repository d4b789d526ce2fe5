/*
 * portal.h - the myBRC portal's contract: which routes bankd calls and
 * what their answers mean (docs: mybrc-api.md; the server's Swagger).
 * api.c moves bytes; this is the one place that knows the routes, builds
 * their paths and turns each answer into a typed result:
 *
 *	portal_can_submit  GET /can_submit_job/{cost}/{uid}/{account}/
 *			   (the check, check.c)
 *	portal_partitions  GET /partitions/, every page (prices, apiprices.c)
 *	portal_probe	   GET /jobs/?jobstatus=bankd-probe (API health)
 *	portal_job	   GET /jobs/{id}/ (one job's record: backfill.c)
 *	portal_report_*	   POST /jobs/, PUT /jobs/{id}/: a report delivered,
 *			   a duplicate, to retry, refused for the token, or
 *			   refused (portal_report.c, the queue's; it sends
 *			   through the same struct api)
 *
 * Each call answers exactly once, from the event loop, unless it could
 * not start (a return value says so) or portal_free() abandoned it.
 */
#ifndef PORTAL_H
#define PORTAL_H

#include <stdint.h>

#include "answer.h"
#include "pricetab.h"

struct api;
struct portal;

/* base_url: api.url, for the absolute `next` links of a paged list. */
struct portal	*portal_new(struct api *, const char *base_url);
/* Requests still in flight are abandoned: their callbacks never run. */
void		 portal_free(struct portal *);

enum portal_start {
	PORTAL_STARTED,		/* the callback will run */
	PORTAL_BAD_NAME,	/* no path segment can carry the account */
	PORTAL_NOT_STARTED,	/* no HTTP request could be started */
};

/* ---- can_submit_job ------------------------------------------------ */

struct portal_ask_reply {
	struct check_answer	 answer;	/* answer.c's reading */
	long			 status;	/* HTTP status, 0 if none came */
	double			 seconds;	/* the round trip */
	/* ANSWER_UNUSABLE: what came instead, for logs and users. */
	char			 why[512];
};

typedef void	(*portal_ask_cb)(const struct portal_ask_reply *, void *arg);

/* May a job of cost_cents (of uid, in account) be submitted? */
enum portal_start portal_can_submit(struct portal *, const char *account,
		    uint32_t uid, int64_t cost_cents, portal_ask_cb, void *arg);

/* ---- /partitions/ -------------------------------------------------- */

enum portal_parts_result {
	PORTAL_PARTS_OK,	/* every page arrived: prices */
	PORTAL_PARTS_NO_ROUTE,	/* 404: the current myBRC has no such route */
	PORTAL_PARTS_FAILED,	/* no usable list: why */
};

struct portal_parts_reply {
	enum portal_parts_result result;
	/*
	 * PORTAL_PARTS_OK: each listed partition's CPU price (entries that
	 * are not a partition bankd takes are logged and left out).  The
	 * callback may take the list (and zero it); what is left is freed.
	 */
	struct pricetab_list	 prices;
	int			 pages;
	char			 why[512];	/* not OK: for bankctl prices */
};

typedef void	(*portal_parts_cb)(struct portal_parts_reply *, void *arg);

/*
 * Walk the pages (following `next` until it is null); the answer comes
 * once every page has arrived, or at the first that is not a page, so a
 * half-read list is never an answer.  A missing route is logged once
 * until it appears.
 */
enum portal_start portal_partitions(struct portal *, portal_parts_cb,
		    void *arg);

/* ---- the health probe ---------------------------------------------- */

enum portal_health {
	PORTAL_UP,		/* a 200 with the portal's JSON */
	PORTAL_REFUSED,		/* it answers, but refuses bankd's token */
	PORTAL_DOWN,		/* no usable answer */
};

struct portal_probe_reply {
	enum portal_health	 health;
	enum answer_token	 token;		/* PORTAL_REFUSED: which way */
	long			 status;
	double			 seconds;
	/* Not up: what is wrong and, refused, what to do about it. */
	char			 why[800];
};

typedef void	(*portal_probe_cb)(const struct portal_probe_reply *,
		    void *arg);

/*
 * What every version of the portal answers (the current server has no
 * /partitions/): GET /jobs/ with a filter that matches nothing, so it
 * costs the portal next to nothing.
 */
enum portal_start portal_probe(struct portal *, portal_probe_cb, void *arg);

/* ---- one job's record --------------------------------------------- */

enum portal_job_result {
	PORTAL_JOB_FOUND,	/* the portal's record of the job */
	PORTAL_JOB_MISSING,	/* 404: the portal has no such job */
	PORTAL_JOB_FAILED,	/* no usable answer: why */
};

struct portal_job_reply {
	enum portal_job_result	 result;
	int64_t			 cents;		/* FOUND: its amount */
	int64_t			 submit;	/* FOUND: submitdate, -1 none */
	int			 has_end;	/* FOUND: an enddate is stored */
	long			 status;
	char			 why[512];
};

typedef void	(*portal_job_cb)(const struct portal_job_reply *, void *arg);

/*
 * GET /jobs/{id}/: whether the portal holds job_id, and at what amount.
 * A 200 counts only when it is the record of that job with an amount the
 * API could have written (2 places, within LIM_AMOUNT_CENTS).
 */
enum portal_start portal_job(struct portal *, uint32_t job_id, portal_job_cb,
		    void *arg);

#endif /* PORTAL_H */
