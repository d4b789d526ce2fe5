/*
 * dispatch.c - request type -> handler (dispatch.h).  Each handler is in
 * the file of its job and takes the decoded request; who may ask is each
 * handler's own question (peer.h), since the answer differs by request.
 */
#include <inttypes.h>
#include <stdio.h>

#include "accept.h"
#include "backfill.h"
#include "balance.h"
#include "admin.h"
#include "bankd.h"
#include "checks.h"
#include "conn.h"
#include "counters.h"
#include "dispatch.h"
#include "estimate.h"
#include "fields.h"
#include "log.h"
#include "peer.h"
#include "req.h"
#include "status.h"

typedef void	 (*handler_fn)(struct bankd *, struct conn *,
		    const struct req *);

static const struct {
	uint8_t		 type;
	handler_fn	 fn;
} routes[] = {
	{ BP_T_STATUS,		status_request },
	{ BP_T_CHECK,		check_request },
	{ BP_T_ESTIMATE,	estimate_request },
	{ BP_T_PRICES,		estimate_prices },
	{ BP_T_START,		accept_request },
	{ BP_T_END,		accept_request },
	{ BP_T_HOLDS,		admin_holds },
	{ BP_T_QUEUE,		admin_look },
	{ BP_T_SHOW,		admin_look },
	{ BP_T_RETRY,		admin_steer },
	{ BP_T_DROP,		admin_steer },
	{ BP_T_PAUSE,		admin_steer },
	{ BP_T_RESUME,		admin_steer },
	{ BP_T_BALANCE,		balance_request },
	{ BP_T_BACKFILL,	backfill_request },
};

static handler_fn
route(uint8_t type)
{
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (routes[i].type == type)
			return routes[i].fn;
	return NULL;
}

/* A report's text mended (fields.c): charged, and said so. */
static void
log_mended(const struct req *rq, const char *fixed)
{
	char job[16] = "?";

	if ((rq->type == BP_T_START || rq->type == BP_T_END) &&
	    rq->u.report.has_job_id)
		snprintf(job, sizeof(job), "%" PRIu32, rq->u.report.job_id);
	log_warn("%s report of job %s: field(s) %s were not printable UTF-8; "
	    "taken with '?' for each bad byte", bp_type_name(rq->type), job,
	    fixed);
}

void
dispatch_request(void *arg, struct conn *c, struct bp_msg *m)
{
	struct bankd *bd = arg;
	long uid = (long)conn_peer(c)->uid;
	char err[256], fixed[256];
	handler_fn fn;
	struct req rq;

	log_debug("request %s id %" PRIu32 " from uid %ld",
	    bp_type_name(m->type), m->id, uid);
	if (fields_check(m, err, sizeof(err), fixed, sizeof(fixed)) != 0) {
		log_warn("refused a %s request from uid %ld: %s",
		    bp_type_name(m->type), uid, err);
		counters_add(&bd->counters, CNT_REFUSED, 1);
		conn_reply_status(c, m->type, m->id, "error", err);
		return;
	}
	req_decode(m, &rq);
	if (fixed[0] != '\0')
		log_mended(&rq, fixed);
	if ((fn = route(m->type)) == NULL) {
		log_warn("unknown request type %u from uid %ld", m->type, uid);
		counters_add(&bd->counters, CNT_REFUSED, 1);
		conn_reply_status(c, m->type, m->id, "error", "unknown request "
		    "type");
		return;
	}
	counters_add(&bd->counters, CNT_REQUESTS, 1);
	fn(bd, c, &rq);
}
