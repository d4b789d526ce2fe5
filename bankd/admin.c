/*
 * admin.c - bankctl's view of the queue and its levers (the postqueue /
 * postsuper of bankd).  The queue holds every account's charges, so
 * seeing it and changing it need root or the SlurmUser (the peer's
 * identity, peer.h); anyone else may list the holds on their own jobs
 * only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "bankd.h"
#include "conn.h"
#include "deliver.h"
#include "holds.h"
#include "log.h"
#include "money.h"
#include "peer.h"
#include "req.h"

/* Tabs and newlines would break the one-line-per-entry encoding. */
static void
flatten(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\t' || *s == '\n' || *s == '\r')
			*s = ' ';
}

struct page {
	struct bp_msg	*rep;
	int		 n;
};

static void
add_entry(const struct deliver_view *v, void *arg)
{
	struct page *pg = arg;
	char key[8], amount[MONEY_FMT_LEN], err[256], acct[160];

	snprintf(key, sizeof(key), "e%d", ++pg->n);
	snprintf(err, sizeof(err), "%s", v->last_error);
	flatten(err);
	/* Journaled before accounts were checked as they are now. */
	snprintf(acct, sizeof(acct), "%s", v->account);
	flatten(acct);
	/* The cause last: an older bankctl leaves it in its last column. */
	bp_addf(pg->rep, key, "%" PRIu64 "\t%" PRIu32 "\t%s\t%s\t%s\t%u\t%"
	    PRId64 "\t%s\t%s\t%s", v->seq, v->job_id, v->kind,
	    money_format(v->cents, amount), v->state, v->attempts,
	    (v->next_in_ms + 999) / 1000, acct, err, v->cause);
}

static void
do_queue(struct bankd *bd, struct conn *c, const struct req *rq)
{
	const struct req_queue *q = &rq->u.queue;
	struct deliver_stats st;
	struct bp_msg rep;
	struct page pg = { &rep, 0 };
	uint64_t lim = q->limit < BP_QUEUE_PAGE ? q->limit : BP_QUEUE_PAGE;

	deliver_stats(bd->dq, &st);
	bp_init(&rep, rq->type | BP_REPLY, rq->id);
	bp_add(&rep, "status", "ok");
	bp_addf(&rep, "total", "%zu", q->dead ? st.dead : st.queued);
	deliver_list(bd->dq, (size_t)q->offset, (size_t)lim, q->dead,
	    add_entry, &pg);
	conn_reply(c, &rep);
	bp_free(&rep);
}

static void
add_detail(const struct deliver_view *v, void *arg)
{
	struct bp_msg *rep = arg;
	char amount[MONEY_FMT_LEN];

	bp_add(rep, "status", "ok");
	bp_addf(rep, "seq", "%" PRIu64, v->seq);
	bp_addf(rep, "job", "%" PRIu32, v->job_id);
	bp_add(rep, "kind", v->kind);
	bp_addf(rep, "amount", "%s", money_format(v->cents, amount));
	bp_add(rep, "account", v->account);
	bp_add(rep, "state", v->state);
	bp_addf(rep, "attempts", "%u", v->attempts);
	bp_addf(rep, "next_in_ms", "%" PRId64, v->next_in_ms);
	bp_addf(rep, "accepted", "%lld", (long long)v->accepted);
	bp_add(rep, "last_error", v->last_error);
	if (*v->cause != '\0')
		bp_add(rep, "cause", v->cause);
	/* Copied: the body is read from the journal just for this call. */
	bp_addf(rep, "body", "%s", v->body);
}

static void
do_show(struct bankd *bd, struct conn *c, const struct req *rq)
{
	uint64_t seq = rq->u.seq.seq;
	struct bp_msg rep;

	bp_init(&rep, rq->type | BP_REPLY, rq->id);
	if (deliver_show(bd->dq, seq, add_detail, &rep) != 0) {
		bp_add(&rep, "status", "error");
		bp_addf(&rep, "message", "no report %" PRIu64 " in the queue",
		    seq);
	}
	conn_reply(c, &rep);
	bp_free(&rep);
}

static void
do_change(struct bankd *bd, struct conn *c, const struct req *rq)
{
	uint64_t seq = rq->u.seq.seq;
	struct bp_msg rep;
	char err[256];
	long n = 0;

	bp_init(&rep, rq->type | BP_REPLY, rq->id);
	switch (rq->type) {
	case BP_T_RETRY:
		if ((n = deliver_retry(bd->dq, seq)) < 0)
			snprintf(err, sizeof(err), "no report %" PRIu64
			    " in the queue", seq);
		break;
	case BP_T_DROP:
		n = deliver_drop(bd->dq, seq, err, sizeof(err));
		break;
	default:
		deliver_pause(bd->dq, rq->type == BP_T_PAUSE);
		break;
	}
	if (n < 0) {
		bp_add(&rep, "status", "error");
		bp_add(&rep, "message", err);
	} else {
		bp_add(&rep, "status", "ok");
		bp_addf(&rep, "count", "%ld", n);
	}
	conn_reply(c, &rep);
	bp_free(&rep);
}

struct hold_page {
	struct bp_msg	*rep;
	int		 n;
	int64_t		 total;
	time_t		 now;
};

static void
add_hold(const struct hold_view *v, void *arg)
{
	struct hold_page *pg = arg;
	char key[8], amount[MONEY_FMT_LEN], acct[160];

	pg->total += v->cents;
	if (pg->n >= BP_QUEUE_PAGE)
		return;		/* the total still counts every one */
	snprintf(key, sizeof(key), "h%d", ++pg->n);
	snprintf(acct, sizeof(acct), "%s", v->account);
	flatten(acct);
	bp_addf(pg->rep, key, "%" PRIu64 "\t%" PRIu32 "\t%" PRIu32 "\t%s\t%s"
	    "\t%lld", v->token, v->job_id, v->uid, acct,
	    money_format(v->cents, amount), (long long)(pg->now - v->created));
}

/*
 * A user sees their own holds, not other people's figures.  Who is asked
 * about: one uid, or (root and slurm_user only) every one.
 */
void
admin_holds(struct bankd *bd, struct conn *c, const struct req *rq)
{
	const struct req_holds *h = &rq->u.holds;
	const struct peer *p = conn_peer(c);
	struct hold_page pg = { NULL, 0, 0, time(NULL) };
	struct bp_msg rep;
	char amount[MONEY_FMT_LEN];
	int every = !h->has_uid;
	uint32_t uid = h->uid;

	if (!peer_privileged(p, bd->slurm_uid)) {
		if (h->has_uid && uid != (uint32_t)p->uid) {
			conn_reply_status(c, rq->type, rq->id, "error",
			    "permission denied: a user may list only their "
			    "own holds");
			return;
		}
		every = 0;
		uid = (uint32_t)p->uid;
	}
	bp_init(&rep, rq->type | BP_REPLY, rq->id);
	pg.rep = &rep;
	bp_add(&rep, "status", "ok");
	/* holds_list's uid -1: every user's. */
	holds_list(bd->holds, h->account, every ? -1 : (long)uid, add_hold,
	    &pg);
	bp_addf(&rep, "count", "%d", pg.n);
	bp_add(&rep, "total", money_format(pg.total, amount));
	conn_reply(c, &rep);
	bp_free(&rep);
}

/* QUEUE and SHOW: every account's charges, for root and slurm_user. */
void
admin_look(struct bankd *bd, struct conn *c, const struct req *rq)
{
	if (!peer_may_see_queue(conn_peer(c), bd->slurm_uid)) {
		conn_reply_status(c, rq->type, rq->id, "error", "permission "
		    "denied: the queue holds every account's charges; only "
		    "root and the SlurmUser may see it");
		return;
	}
	if (rq->type == BP_T_QUEUE)
		do_queue(bd, c, rq);
	else
		do_show(bd, c, rq);
}

/* RETRY, DROP, PAUSE, RESUME. */
void
admin_steer(struct bankd *bd, struct conn *c, const struct req *rq)
{
	const struct peer *p = conn_peer(c);

	if (!peer_may_steer(p, bd->slurm_uid)) {
		log_warn("refused '%s' from uid %ld: only root and the "
		    "SlurmUser may change the queue", bp_type_name(rq->type),
		    (long)p->uid);
		conn_reply_status(c, rq->type, rq->id, "error", "permission "
		    "denied: only root and the SlurmUser may change the "
		    "queue");
		return;
	}
	do_change(bd, c, rq);
}
