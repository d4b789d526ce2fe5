/*
 * accept.c - report acceptance (accept.h).  A report is acknowledged "ok"
 * only once its journal record is committed: the queue calls back when
 * it is (deliver_take), and the sender is told then.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "accept.h"
#include "bankd.h"
#include "conn.h"
#include "deliver.h"
#include "holds.h"
#include "log.h"
#include "logkv.h"
#include "money.h"
#include "peer.h"
#include "report.h"
#include "req.h"

/* A report the queue holds until it is durable. */
struct pending {
	char			 amount[MONEY_FMT_LEN];
	accept_fn		 fn;
	void			*arg;
};

const char *
accept_result_name(enum accept_result r)
{
	switch (r) {
	case ACCEPT_OK:
		return "ok";
	case ACCEPT_DUP:
		return "dup";
	case ACCEPT_LATER:
		return "later";
	case ACCEPT_ERROR:
		return "error";
	}
	return "error";
}

/* Journaled (or not): now the sender may be told. */
static void
on_durable(void *arg, int ok)
{
	struct pending *p = arg;

	p->fn(p->arg, ok ? ACCEPT_OK : ACCEPT_LATER, ok ? NULL : "bankd could "
	    "not store the report durably (see its log)", p->amount);
	free(p);
}

/*
 * A report taken in (or not): job first, then what came of it.
 * amount NULL or run < 0: not said.
 */
static void
accept_line(enum log_level level, uint32_t job, enum report_kind kind,
    const char *account, const char *amount, long run, const char *outcome)
{
	struct logkv kv;

	if (!log_enabled(level))
		return;
	logkv_init(&kv);
	logkv_u64(&kv, "job", job);
	logkv_str(&kv, "event", "accept");
	logkv_str(&kv, "kind", kind == REPORT_START ? "start" : "end");
	if (run >= 0)
		logkv_i64(&kv, "run", run);
	logkv_str(&kv, "account", account);
	logkv_str(&kv, "amount", amount);
	logkv_str(&kv, "outcome", outcome);
	log_kv(level, &kv);
}

/* Built: into the queue, whose answer is on_durable's or given here. */
static void
enqueue(struct bankd *bd, struct report *r, struct pending *p)
{
	char account[sizeof(r->account)];
	enum report_kind kind = r->kind;
	uint32_t job = r->job_id;
	uint64_t hold = bd->holds != NULL ? r->hold : 0;
	enum deliver_take took;
	long run = r->run;

	/* deliver_take() clears r once it holds the report. */
	snprintf(account, sizeof(account), "%s", r->account);
	took = deliver_take(bd->dq, r, on_durable, p);
	/*
	 * Only a report the queue holds binds its hold: a duplicate may come
	 * after its job was delivered (a resend after a crash), and binding
	 * then would keep the hold until the reconciler.
	 */
	if (hold != 0 && (took == TAKE_QUEUED || took == TAKE_JOINED ||
	    took == TAKE_FOLDED))
		hold_bind(bd->holds, hold, job);
	switch (took) {
	case TAKE_QUEUED:
		counters_accepted(&bd->counters, kind);
		/* queued: journaled and on its way to the API */
		accept_line(LOG_LEVEL_INFO, job, kind, account, p->amount, run,
		    "queued");
		return;
	case TAKE_JOINED:
		/* the same report is queued, not yet on disk: this one waits */
		accept_line(LOG_LEVEL_INFO, job, kind, account, p->amount, run,
		    "joined");
		return;
	case TAKE_DUP:
	case TAKE_SUPERSEDED:
		/* a start already reported, or the job completed; the same
		 * completion journaled already */
		accept_line(LOG_LEVEL_DEBUG, job, kind, account, NULL, run,
		    "dup");
		p->fn(p->arg, ACCEPT_DUP, NULL, NULL);
		break;
	case TAKE_FOLDED:
		/*
		 * A later run's start: nothing sent, the portal keeps the
		 * charge of its earlier runs until this one completes.
		 */
		accept_line(LOG_LEVEL_INFO, job, kind, account, NULL, run,
		    "folded");
		p->fn(p->arg, ACCEPT_OK, "a later run of the job: charged at its "
		    "completion", NULL);
		break;
	case TAKE_LATER:
		p->fn(p->arg, ACCEPT_LATER, "bankd could not queue the report",
		    NULL);
		break;
	case TAKE_TOO_BIG:
		p->fn(p->arg, ACCEPT_ERROR, "the report is too large for "
		    "bankd's journal (see bankd's log)", NULL);
		break;
	}
	free(p);
}

static void
take(struct bankd *bd, const struct req_report *rq, int repair, accept_fn fn,
    void *arg)
{
	struct pending *p;
	struct report r;
	char err[256];

	/* A relay only journals and forwards: the controller prices. */
	if (bd->report_sink != NULL) {
		bd->report_sink(bd, rq, fn, arg);
		return;
	}
	switch (report_build(&bd->conf, rq->kind, rq->msg, &r, err,
	    sizeof(err))) {
	case 0:
		r.repair = repair;
		break;
	case 1:
		log_debug("job %" PRIu32 ": free partition: nothing to report",
		    r.job_id);
		fn(arg, ACCEPT_OK, "free partition: nothing to charge", "0.00");
		return;
	default:
		log_warn("refused a %s report: %s", rq->kind == REPORT_START ?
		    "start" : "completion", err);
		fn(arg, ACCEPT_ERROR, err, NULL);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		report_clear(&r);
		fn(arg, ACCEPT_LATER, "bankd is out of memory", NULL);
		return;
	}
	p->fn = fn;
	p->arg = arg;
	money_format(r.cents, p->amount);
	enqueue(bd, &r, p);
	report_clear(&r);
}

void
accept_report(struct bankd *bd, const struct req_report *rq, accept_fn fn,
    void *arg)
{
	take(bd, rq, 0, fn, arg);
}

void
accept_repair(struct bankd *bd, const struct req_report *rq, accept_fn fn,
    void *arg)
{
	take(bd, rq, 1, fn, arg);
}

/* ---- from a connection ------------------------------------------------ */

struct reply_to {
	struct conn		*conn;
	uint8_t			 type;
	uint32_t		 id;
};

static void
reply_report(void *arg, enum accept_result res, const char *message,
    const char *amount)
{
	struct reply_to *rt = arg;
	struct bp_msg rep;

	bp_init(&rep, rt->type | BP_REPLY, rt->id);
	bp_add(&rep, "status", accept_result_name(res));
	if (amount != NULL)
		bp_add(&rep, rt->type == BP_T_START ? "estimate" : "amount",
		    amount);
	if (message != NULL)
		bp_add(&rep, "message", message);
	conn_reply(rt->conn, &rep);
	bp_free(&rep);
	conn_release(rt->conn);
	free(rt);
}

void
accept_request(struct bankd *bd, struct conn *c, const struct req *rq)
{
	const struct peer *p = conn_peer(c);
	struct reply_to *rt;

	if (!peer_may_report(p, bd->slurm_uid)) {
		log_warn("refused a %s report from uid %ld: only root and the "
		    "SlurmUser may report jobs", bp_type_name(rq->type),
		    (long)p->uid);
		conn_reply_status(c, rq->type, rq->id, "error", "permission "
		    "denied: only root and the SlurmUser may report jobs");
		return;
	}
	if ((rt = calloc(1, sizeof(*rt))) == NULL) {
		conn_reply_status(c, rq->type, rq->id, "error", "bankd is out "
		    "of memory");
		return;
	}
	rt->conn = c;
	rt->type = rq->type;
	rt->id = rq->id;
	conn_hold(c);
	accept_report(bd, &rq->u.report, reply_report, rt);
}
