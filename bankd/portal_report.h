/*
 * portal_report.h - the portal's REST contract for one job report: a
 * start is POST /jobs/ with the estimate, a completion PUT /jobs/{id}/
 * with the actual cost (report.c makes the bodies), sent through api.c,
 * and what the portal's answer means, as a typed result:
 *
 *  - a 2xx counts only if its body is the portal's record of that job
 *    (answer_job: a proxy's or a maintenance page's "200" is not);
 *  - a POST answered 400 "already exists" was delivered by an earlier try
 *    if the portal's record (GET /jobs/{id}/) has the submit date bankd
 *    sent; another date is another job under a reused id: refused, with
 *    a reason that says so; a completion whose start bankd did not
 *    deliver is checked the same way before its PUT (verify);
 *  - no answer, 408, 429, 5xx, a redirect (api.url is wrong) and a 2xx
 *    that confirms nothing may pass: retried;
 *  - 401/403: the portal refuses bankd's token (answer_token);
 *  - any other 4xx will never succeed.
 *
 * The queue (deliver.c) decides what each result does to the report; it
 * takes the send as a hook, so that its rules can be driven without HTTP.
 */
#ifndef PORTAL_REPORT_H
#define PORTAL_REPORT_H

#include <stdint.h>

#include "dead.h"
#include "report.h"

struct api;

enum portal_report_result {
	PR_DELIVERED,		/* the portal's record of the job came back */
	PR_DUPLICATE,		/* a start the portal has already */
	PR_RETRY,		/* not delivered; a later try may be */
	PR_AUTH,		/* bankd's token is refused */
	PR_REFUSED,		/* never deliverable as it is */
	PR_VERIFIED,		/* r->verify: the PUT may go (send again) */
};

struct portal_report_answer {
	enum portal_report_result result;
	const char		*reason;	/* why not delivered; "" if it was */
	enum dead_cause		 cause;		/* PR_REFUSED: of what kind */
	const char		*advice;	/* PR_AUTH: what to do of the token */
	/* A configuration error to log loudly, once per outage; or NULL. */
	const char		*alarm;
	/* The API's health as this answer shows it (bankctl status). */
	int			 api_ok;
	const char		*api_error;	/* NULL when it is fine */
	long			 http_status;	/* the last answer's; 0: none */
};

/* The answer's strings last as long as the call. */
typedef void	 (*portal_report_cb)(const struct portal_report_answer *,
		    void *arg);

/*
 * One report on its way.  The body travels apart (the queue reads it
 * back from its journal as it sends).  The caller's memory: it must
 * stay until cb runs (cb may free it), so that a call abandoned with the
 * API (api_free: its callback never runs) leaves nothing behind that its
 * owner does not free.
 */
struct portal_report {
	enum report_kind	 kind;
	uint32_t		 job_id;
	int64_t			 cents;		/* what the body charges */
	/* Submit dates bankd sent for this id before (its journal); 0. */
	int64_t			 submit_before[2];
	/*
	 * A completion of a job whose start bankd did not see delivered: ask
	 * GET /jobs/{id}/ first, and send nothing.  PR_VERIFIED when the
	 * portal has no such job or it is this one; PR_REFUSED for a reused
	 * id (a PUT would apply the difference against another job's).
	 */
	int			 verify;
	portal_report_cb	 cb;		/* once, from the event loop */
	void			*arg;
	/* portal_report.c's own, while it asks GET /jobs/{id}/. */
	struct api		*api;
	int64_t			 submit;	/* the body's submitdate */
	long			 status;	/* the last HTTP answer's */
	/* A PUT's refusal, while GET /jobs/{id}/ tells a reused id. */
	char			 refused[512];
};

/*
 * Send r with body (malloc'd; taken, freed even on error).  0, or -1
 * when no request could be started: cb then never runs.
 */
int		 portal_report_send(struct api *, struct portal_report *r,
		    char *body);

/* The same in the shape of the queue's send hook: ctx is the struct api. */
typedef int	 (*portal_report_send_fn)(void *ctx, struct portal_report *,
		    char *body);
int		 portal_report_sender(void *ctx, struct portal_report *r,
		    char *body);

/*
 * An RFC 3339 date as the portal writes it (fractions skipped, Z or an
 * offset) in seconds from 1970, or -1.
 */
int64_t		 portal_report_date(const char *);

#endif /* PORTAL_REPORT_H */
