/*
 * backfill.c - BACKFILL (backfill.h).  One job a request: bankctl has
 * read it from sacct and sends it in a completion's keys; the policy is
 * here.  The job is priced by report_build() and deliver_expect(), the
 * path a jobcomp END takes, so the charge is the one its completion
 * report would have made, to the cent.  The portal is asked for its
 * record (portal_job, on the event loop); then
 *
 *	ok	 the portal holds the job's completion at that amount:
 *		 nothing is queued, ever;
 *	missing	 the portal has no such job: its completion is queued
 *		 (accept_repair: the path a jobcomp END takes, journal,
 *		 delivery, retries, dead letters; one still queued is a dup);
 *	wrong	 the portal holds another amount, or no completion: queued
 *		 the same, and its PUT makes the portal apply the
 *		 difference;
 *	skipped	 nothing to compare or charge, with the reason.
 *
 * A dry run stops before queueing.  A job the portal holds for another
 * submit time is another job under a reused id: skipped, never charged.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accept.h"
#include "backfill.h"
#include "bankd.h"
#include "conn.h"
#include "deliver.h"
#include "log.h"
#include "money.h"
#include "peer.h"
#include "portal.h"
#include "report.h"
#include "req.h"

enum verdict {
	V_OK,
	V_MISSING,
	V_WRONG,
	V_SKIPPED,
};

static const char *const verdict_names[] = {
	"ok", "missing", "wrong", "skipped",
};

/* A request waiting on the portal, then maybe on the journal. */
struct bf {
	TAILQ_ENTRY(bf)	 link;		/* pending */
	struct bankd	*bd;
	struct conn	*conn;
	uint8_t		 type;
	uint32_t	 id;
	struct bp_msg	 msg;		/* the request's copy: outlives it */
	int		 has_msg;
	uint32_t	 job_id;
	int64_t		 submit;	/* the job's, as its body says */
	int64_t		 cents;		/* what its completion charges */
	int		 dry_run;
	enum verdict	 verdict;
	int		 has_portal;
	int64_t		 portal_cents;
	char		 account[LIM_ACCOUNT_LEN + 1];
};

/* bankd is one per process: the requests in flight, for backfill_fini. */
static TAILQ_HEAD(, bf) pending = TAILQ_HEAD_INITIALIZER(pending);

static void
bf_free(struct bf *b)
{
	TAILQ_REMOVE(&pending, b, link);
	if (b->has_msg)
		bp_free(&b->msg);
	free(b);
}

/* The answer, and the connection let go. */
static void
bf_reply(struct bf *b, const char *status, const char *queued,
    const char *message)
{
	char amount[MONEY_FMT_LEN];
	struct bp_msg rep;

	bp_init(&rep, b->type | BP_REPLY, b->id);
	bp_add(&rep, "status", status);
	if (strcmp(status, "ok") == 0) {
		bp_add(&rep, "verdict", verdict_names[b->verdict]);
		if (b->verdict != V_SKIPPED)
			bp_addf(&rep, "amount", "%s", money_format(b->cents,
			    amount));
		if (b->has_portal)
			bp_addf(&rep, "portal", "%s", money_format(
			    b->portal_cents, amount));
	}
	bp_add_u64(&rep, "job_id", b->job_id);
	if (queued != NULL)
		bp_add(&rep, "queued", queued);
	if (message != NULL)
		bp_add(&rep, "message", message);
	conn_reply(b->conn, &rep);
	bp_free(&rep);
	conn_release(b->conn);
	bf_free(b);
}

static void
on_accepted(void *arg, enum accept_result res, const char *message,
    const char *amount)
{
	struct bf *b = arg;

	(void)amount;
	log_info("job %" PRIu32 ": backfill: %s, completion report %s",
	    b->job_id, verdict_names[b->verdict], accept_result_name(res));
	bf_reply(b, "ok", accept_result_name(res), message);
}

static void
queue_it(struct bf *b)
{
	struct req_report rr;

	memset(&rr, 0, sizeof(rr));
	rr.kind = REPORT_END;
	rr.has_job_id = 1;
	rr.job_id = b->job_id;
	rr.msg = &b->msg;
	/*
	 * A repair either way: the portal disagrees with what bankd may
	 * have delivered (a wrong amount, or a portal restored from an older
	 * backup), so the delivered-dup rule must not drop it; one still
	 * queued is a dup.  A PUT at the same amount charges nothing twice.
	 */
	accept_repair(b->bd, &rr, on_accepted, b);
}

static void
on_portal(const struct portal_job_reply *pr, void *arg)
{
	struct bf *b = arg;
	char why[640], date[32];

	switch (pr->result) {
	case PORTAL_JOB_FAILED:
		bf_reply(b, "later", NULL, pr->why);
		return;
	case PORTAL_JOB_MISSING:
		b->verdict = V_MISSING;
		break;
	case PORTAL_JOB_FOUND:
		if (pr->submit >= 0 && b->submit > 0 && pr->submit != b->submit) {
			if (report_date(pr->submit, date) != 0)
				snprintf(date, sizeof(date), "%" PRId64,
				    pr->submit);
			snprintf(why, sizeof(why), "the portal holds job id %"
			    PRIu32 " for another job, submitted at %s (an id "
			    "reused after a slurmctld cold start): check by "
			    "hand", b->job_id, date);
			b->verdict = V_SKIPPED;
			bf_reply(b, "ok", NULL, why);
			return;
		}
		b->has_portal = 1;
		b->portal_cents = pr->cents;
		b->verdict = pr->cents == b->cents && pr->has_end ? V_OK :
		    V_WRONG;
		break;
	}
	if (b->verdict == V_OK || b->dry_run) {
		bf_reply(b, "ok", NULL, b->verdict == V_WRONG && !pr->has_end ?
		    "the portal holds no completion of the job (no enddate)" :
		    NULL);
		return;
	}
	queue_it(b);
}

/* The request's numbers of its own (END's are fields.c's): 0 or -1. */
static int
own_fields(const struct bp_msg *m, struct bf *b, uint64_t *runs, char *err,
    size_t errlen)
{
	uint64_t v = 0;

	if (bp_get(m, "dry_run") != NULL && (bp_get_u64(m, "dry_run", &v) !=
	    0 || v > 1)) {
		snprintf(err, errlen, "field 'dry_run' must be 0 or 1");
		return -1;
	}
	b->dry_run = (int)v;
	*runs = 1;
	if (bp_get(m, "runs") != NULL && (bp_get_u64(m, "runs", runs) != 0 ||
	    *runs < 1 || *runs > (uint64_t)LIM_RUNS + 1)) {
		snprintf(err, errlen, "field 'runs' must be a whole number "
		    "from 1 to %" PRIu64, (uint64_t)LIM_RUNS + 1);
		return -1;
	}
	if (bp_get(m, "job_id") == NULL || bp_get(m, "end") == NULL) {
		snprintf(err, errlen, "fields 'job_id' and 'end' are required");
		return -1;
	}
	return 0;
}

/*
 * Priced as its completion report: 0 (b->cents set), or 1 skipped with
 * why, or -1 an error with why.
 */
static int
price(struct bf *b, const struct bp_msg *m, uint64_t runs, char *why,
    size_t len)
{
	struct report r;
	uint64_t end = 0;
	int rc;

	if (bp_get_u64(m, "end", &end) != 0 || end == 0) {
		snprintf(why, len, "not ended (%.32s)", bp_get(m, "state") ?
		    bp_get(m, "state") : "no state");
		return 1;
	}
	if (runs > 1) {
		/*
		 * Each run's completion adds to the job's charge (qrun.c):
		 * what the earlier runs charged is not in one sacct line.
		 */
		snprintf(why, len, "requeued: %" PRIu64 " runs; a requeued "
		    "job is not backfilled, check it by hand", runs);
		return 1;
	}
	if ((rc = report_build(&b->bd->conf, REPORT_END, m, &r, why, len))
	    == 1) {
		snprintf(why, len, "free partition: nothing to charge");
		return 1;
	}
	if (rc != 0)
		return 1;	/* the completion would be refused: why says */
	snprintf(b->account, sizeof(b->account), "%s", r.account);
	b->submit = r.submit;
	rc = deliver_expect(b->bd->dq, &r, &b->cents);
	report_clear(&r);
	if (rc != 0) {
		snprintf(why, len, "bankd's journal holds a later run of this "
		    "job id, or another job under it");
		return 1;
	}
	return 0;
}

/* A copy of the request, for the journal once the portal has answered. */
static int
copy_msg(const struct bp_msg *m, struct bp_msg *out)
{
	uint8_t *buf = NULL;
	size_t used;
	long n;
	int rc;

	if ((n = bp_encode(m, &buf)) < 0)
		return -1;
	rc = bp_parse(buf, (size_t)n, out, &used);
	free(buf);
	return rc == BP_OK ? 0 : -1;
}

void
backfill_request(struct bankd *bd, struct conn *c, const struct req *rq)
{
	const struct peer *p = conn_peer(c);
	const struct bp_msg *m = rq->u.report.msg;
	char why[512];
	uint64_t runs;
	struct bf *b;
	int rc;

	if (!peer_may_steer(p, bd->slurm_uid)) {
		log_warn("refused 'backfill' from uid %ld: only root and the "
		    "SlurmUser may backfill", (long)p->uid);
		conn_reply_status(c, rq->type, rq->id, "error", "permission "
		    "denied: only root and the SlurmUser may backfill (it "
		    "charges accounts)");
		return;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		conn_reply_status(c, rq->type, rq->id, "later", "bankd is out "
		    "of memory");
		return;
	}
	TAILQ_INSERT_TAIL(&pending, b, link);
	b->bd = bd;
	b->conn = c;
	b->type = rq->type;
	b->id = rq->id;
	b->job_id = rq->u.report.job_id;
	conn_hold(c);
	if (own_fields(m, b, &runs, why, sizeof(why)) != 0) {
		bf_reply(b, "error", NULL, why);
		return;
	}
	if ((rc = price(b, m, runs, why, sizeof(why))) != 0) {
		b->verdict = V_SKIPPED;
		bf_reply(b, "ok", NULL, why);
		return;
	}
	if (copy_msg(m, &b->msg) != 0) {
		bf_reply(b, "later", NULL, "bankd is out of memory");
		return;
	}
	b->has_msg = 1;
	if (portal_job(bd->portal, b->job_id, on_portal, b) != PORTAL_STARTED)
		bf_reply(b, "later", NULL, "cannot ask the portal now");
}

void
backfill_fini(void)
{
	struct bf *b;

	while ((b = TAILQ_FIRST(&pending)) != NULL) {
		conn_release(b->conn);
		bf_free(b);
	}
}
