/*
 * relay.c - bankd as a relay (relay.h): start and stop, and what each
 * request does on a relay.
 *
 *	START, END	journaled, answered once durable (accept.c's
 *			accept_request, whose accept_report comes here)
 *	STATUS		answered here: the upstream, the backlog
 *	QUEUE		the reports held, as a controller lists its queue
 *	RETRY, DROP	the relay's own dead letters
 *	CHECK, ESTIMATE, PRICES, BALANCE, HOLDS
 *			asked upstream for the caller (relay_ask.c), with
 *			peer_uid and peer_gid: the caller's SO_PEERCRED
 *	PAUSE, RESUME, SHOW
 *			refused: a controller's
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accept.h"
#include "bankd.h"
#include "conn.h"
#include "counters.h"
#include "fields.h"
#include "intake.h"
#include "listen.h"
#include "log.h"
#include "logkv.h"
#include "peer.h"
#include "relay.h"
#include "relay_ask.h"
#include "relay_fwd.h"
#include "relaycred.h"
#include "relayq.h"
#include "req.h"

#ifndef BANK_VERSION
#error "BANK_VERSION comes from CMake's project(VERSION)"
#endif

struct relay {
	struct relayq		*q;
	struct relay_fwd	*fwd;
	struct relay_ask	*ask;
	char			 queued_msg[160];
};

void
relay_view(struct bankd *bd, struct relayq_stats *st,
    struct relay_fwd_view *v)
{
	relayq_stats(bd->relay->q, st);
	relay_fwd_view(bd->relay->fwd, v);
}

/* ---- reports ---------------------------------------------------------- */

struct taking {
	struct relay		*r;
	accept_fn		 fn;
	void			*arg;
	int			 dup;
};

static void
on_taken(void *arg, int ok)
{
	struct taking *t = arg;

	if (!ok)
		t->fn(t->arg, ACCEPT_LATER, "the relay could not store the "
		    "report durably (see its log)", NULL);
	else if (t->dup)
		t->fn(t->arg, ACCEPT_DUP, NULL, NULL);
	else
		t->fn(t->arg, ACCEPT_OK, t->r->queued_msg, NULL);
	free(t);
}

/* A report the relay took: job first; it goes on to the controller. */
static void
relay_line(enum log_level level, uint32_t job, enum report_kind kind,
    const char *outcome)
{
	struct logkv kv;

	if (!log_enabled(level))
		return;
	logkv_init(&kv);
	logkv_u64(&kv, "job", job);
	logkv_str(&kv, "event", "accept");
	logkv_str(&kv, "kind", kind == REPORT_START ? "start" : "end");
	logkv_str(&kv, "outcome", outcome);
	logkv_str(&kv, "to", "controller");
	log_kv(level, &kv);
}

void
relay_accept(struct bankd *bd, const struct req_report *rq, accept_fn fn,
    void *arg)
{
	struct taking *t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		fn(arg, ACCEPT_LATER, "the relay is out of memory", NULL);
		return;
	}
	t->r = bd->relay;
	t->fn = fn;
	t->arg = arg;
	switch (relayq_take(bd->relay->q, rq->msg, on_taken, t)) {
	case RQT_QUEUED:
		relay_line(LOG_LEVEL_INFO, rq->job_id, rq->kind, "queued");
		return;
	case RQT_DUP:
		relay_line(LOG_LEVEL_DEBUG, rq->job_id, rq->kind, "dup");
		t->dup = 1;
		return;
	case RQT_LATER:
		fn(arg, ACCEPT_LATER, "the relay cannot queue the report now "
		    "(full, or out of memory: see its log)", NULL);
		break;
	case RQT_NO_JOB:
		fn(arg, ACCEPT_ERROR, "the report has no job_id", NULL);
		break;
	case RQT_TOO_BIG:
		fn(arg, ACCEPT_ERROR, "the report is too large for the relay's "
		    "journal", NULL);
		break;
	}
	free(t);
}

static void
on_durable(void *arg)
{
	struct bankd *bd = arg;

	if (bd->relay != NULL)
		relay_fwd_kick(bd->relay->fwd);
}

/* ---- local answers ---------------------------------------------------- */

static void
do_status(struct bankd *bd, struct conn *c, const struct req *rq)
{
	struct relayq_stats st;
	struct relay_fwd_view v;
	struct bp_msg rep;
	time_t now = time(NULL);

	relayq_stats(bd->relay->q, &st);
	relay_fwd_view(bd->relay->fwd, &v);
	bp_init(&rep, rq->type | BP_REPLY, rq->id);
	bp_add(&rep, "status", "ok");
	bp_add(&rep, "role", "relay");
	bp_add(&rep, "version", BANK_VERSION);
	bp_addf(&rep, "uptime", "%lld", (long long)(now - bd->started));
	bp_add(&rep, "upstream", v.upstream);
	bp_addf(&rep, "upstream_ok", "%d", v.ok);
	if (v.error[0] != '\0')
		bp_add(&rep, "upstream_error", v.error);
	bp_addf(&rep, "backlog", "%zu", st.backlog);
	bp_addf(&rep, "inflight", "%zu", st.inflight);
	bp_addf(&rep, "dead", "%zu", st.dead);
	bp_addf(&rep, "oldest_s", "%lld", (long long)(st.oldest == 0 ? 0 :
	    now > st.oldest ? now - st.oldest : 0));
	bp_addf(&rep, "forwarded", "%" PRIu64, v.forwarded);
	bp_addf(&rep, "journal_bytes", "%zu", st.journal_bytes);
	bp_addf(&rep, "not_durable", "%zu", st.not_durable);
	bp_addf(&rep, "spool", "%" PRIu64, counters_get(&bd->counters,
	    CNT_SPOOL_FILES));
	bp_addf(&rep, "clients", "%" PRIu64, counters_get(&bd->counters,
	    CNT_CLIENTS));
	conn_reply(c, &rep);
	bp_free(&rep);
}

struct page {
	struct bp_msg		*rep;
	uint64_t		 skip;
	uint64_t		 left;
	int			 n;
};

/* A value for one tab-separated column: no tab, no line break. */
static void
flatten(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\t' || *s == '\n' || *s == '\r')
			*s = ' ';
}

/* As the controller's QUEUE rows: seq job kind amount state attempts
 * next account error; a relay prices nothing ("-"). */
static void
add_row(const struct relayq_entry *e, void *arg)
{
	struct page *pg = arg;
	char key[8], acct[160], err[256];

	if (pg->skip > 0) {
		pg->skip--;
		return;
	}
	if (pg->left == 0)
		return;
	pg->left--;
	snprintf(key, sizeof(key), "e%d", ++pg->n);
	if (relayq_field(e, "account", acct, sizeof(acct)) != 0 ||
	    acct[0] == '\0')
		snprintf(acct, sizeof(acct), "-");
	snprintf(err, sizeof(err), "%s", e->error ? e->error : "");
	flatten(acct);
	flatten(err);
	bp_addf(pg->rep, key, "%" PRIu64 "\t%" PRIu32 "\t%s\t-\t%s\t%u\t0\t%s"
	    "\t%s", e->seq, e->job, e->kind == REPORT_START ? "start" : "end",
	    e->state == RQ_DEAD ? "dead" : e->state == RQ_INFLIGHT ?
	    "sending" : "queued", e->attempts, acct, err);
}

static void
do_queue(struct bankd *bd, struct conn *c, const struct req *rq)
{
	const struct req_queue *q = &rq->u.queue;
	struct relayq_stats st;
	struct bp_msg rep;
	struct page pg = { &rep, q->offset, q->limit < BP_QUEUE_PAGE ?
	    q->limit : BP_QUEUE_PAGE, 0 };

	relayq_stats(bd->relay->q, &st);
	bp_init(&rep, rq->type | BP_REPLY, rq->id);
	bp_add(&rep, "status", "ok");
	bp_addf(&rep, "total", "%zu", q->dead ? st.dead : st.backlog);
	relayq_each(bd->relay->q, q->dead, add_row, &pg);
	conn_reply(c, &rep);
	bp_free(&rep);
}

static void
do_steer(struct bankd *bd, struct conn *c, const struct req *rq)
{
	struct bp_msg rep;
	size_t n;

	bp_init(&rep, rq->type | BP_REPLY, rq->id);
	if (rq->type == BP_T_RETRY) {
		n = relayq_retry(bd->relay->q, rq->u.seq.seq);
		bp_add(&rep, "status", "ok");
		bp_addf(&rep, "count", "%zu", n);
		log_info("relay: %zu dead letter(s) to send again, by uid %ld",
		    n, (long)conn_peer(c)->uid);
	} else if (relayq_drop(bd->relay->q, rq->u.seq.seq) == 0) {
		bp_add(&rep, "status", "ok");
		bp_add(&rep, "message", "dropped from the relay: charge the job "
		    "by hand if it is owed");
		log_warn("relay: dead letter %" PRIu64 " dropped by uid %ld",
		    rq->u.seq.seq, (long)conn_peer(c)->uid);
	} else {
		bp_add(&rep, "status", "error");
		bp_add(&rep, "message", "no such dead letter on this relay");
	}
	conn_reply(c, &rep);
	bp_free(&rep);
}

/* ---- queries, asked upstream ------------------------------------------ */

struct asking {
	struct bankd		*bd;
	struct conn		*conn;
	uid_t			 uid;
	int			 counted;	/* one of the user's waiting */
};

static void
on_answer(void *arg, struct bp_msg *rep)
{
	struct asking *a = arg;

	if (rep != NULL)
		conn_reply(a->conn, rep);
	if (a->counted)
		conn_check_end(a->bd, a->uid);
	conn_wait_end(a->conn);
	conn_release(a->conn);
	free(a);
}

/*
 * The caller's request for the upstream: its fields and who asks.  Only
 * root and slurm_user may name another uid (a relay's own rule, as the
 * controller's listener has it for relays).
 */
static void
ask_upstream(struct bankd *bd, struct conn *c, const struct bp_msg *m)
{
	const struct peer *p = conn_peer(c);
	struct bp_msg *q;
	struct asking *a;
	size_t i;
	int counted;

	/*
	 * peer_uid/peer_gid never reach here: listen.c took them out of a
	 * privileged caller's request (p is then the uid they name) and
	 * refused anyone else's (peer_take_relayed), as on a controller.
	 *
	 * A user's queries wait on a controller as a user's checks wait on
	 * the API on a controller: limits.user_checks_per_s a second, and
	 * at most limits.user_checks waiting at once (the user's
	 * connections are not read meanwhile: conn.c), so that one user
	 * cannot fill the relay's RELAY_ASK_MAX places for everyone while
	 * the controllers are slow.
	 */
	counted = !peer_privileged(p, bd->slurm_uid);
	if (counted && !conn_take_api_check(c)) {
		conn_reply_status(c, m->type, m->id, "error", "too many queries: "
		    "a user may make limits.user_checks_per_s a second; try "
		    "again in a moment");
		return;
	}
	if ((q = malloc(sizeof(*q))) == NULL ||
	    (a = calloc(1, sizeof(*a))) == NULL) {
		free(q);
		conn_reply_status(c, m->type, m->id, "error", "the relay is out "
		    "of memory");
		return;
	}
	bp_init(q, m->type, m->id);
	for (i = 0; i < m->nfields; i++)
		if (strcmp(m->fields[i].key, BP_CRED_KEY) != 0)
			bp_add(q, m->fields[i].key, m->fields[i].val);
	bp_add_u64(q, "peer_uid", (uint64_t)p->uid);
	bp_add_u64(q, "peer_gid", (uint64_t)p->gid);
	a->bd = bd;
	a->conn = c;
	a->uid = p->uid;
	a->counted = counted;
	if (counted)
		conn_check_begin(c);
	conn_hold(c);
	conn_wait_begin(c);
	relay_ask(bd->relay->ask, q, on_answer, a);
	bp_free(q);
	free(q);
}

/* ---- dispatch --------------------------------------------------------- */

static void
refuse(struct bankd *bd, struct conn *c, const struct bp_msg *m,
    const char *why)
{
	counters_add(&bd->counters, CNT_REFUSED, 1);
	conn_reply_status(c, m->type, m->id, "error", why);
}

void
relay_dispatch(void *arg, struct conn *c, struct bp_msg *m)
{
	struct bankd *bd = arg;
	const struct peer *p = conn_peer(c);
	char err[256], fixed[256];
	struct req rq;

	if (fields_check(m, err, sizeof(err), fixed, sizeof(fixed)) != 0) {
		log_warn("refused a %s request from uid %ld: %s",
		    bp_type_name(m->type), (long)p->uid, err);
		refuse(bd, c, m, err);
		return;
	}
	req_decode(m, &rq);
	counters_add(&bd->counters, CNT_REQUESTS, 1);
	switch (m->type) {
	case BP_T_STATUS:
		do_status(bd, c, &rq);
		break;
	case BP_T_START:
	case BP_T_END:
		accept_request(bd, c, &rq);
		break;
	case BP_T_CHECK:
	case BP_T_ESTIMATE:
	case BP_T_PRICES:
	case BP_T_BALANCE:
	case BP_T_HOLDS:
		ask_upstream(bd, c, m);
		break;
	case BP_T_QUEUE:
		if (!peer_may_see_queue(p, bd->slurm_uid))
			refuse(bd, c, m, "permission denied: only root and the "
			    "SlurmUser may list the queue");
		else
			do_queue(bd, c, &rq);
		break;
	case BP_T_RETRY:
	case BP_T_DROP:
		if (!peer_may_steer(p, bd->slurm_uid))
			refuse(bd, c, m, "permission denied: only root and the "
			    "SlurmUser may steer the queue");
		else {
			do_steer(bd, c, &rq);
			relay_fwd_kick(bd->relay->fwd);
		}
		break;
	case BP_T_SHOW:
	case BP_T_PAUSE:
	case BP_T_RESUME:
	case BP_T_BACKFILL:
		refuse(bd, c, m, "not on a relay: ask the controller's bankd "
		    "(bankctl -S tcp:ADDRESS:PORT)");
		break;
	default:
		refuse(bd, c, m, "unknown request type");
		break;
	}
}

/* ---- start, stop ------------------------------------------------------ */

int
relay_start(struct bankd *bd)
{
	struct relayq_hooks hooks = { on_durable, bd };
	struct relay_fwd_settings set = { bd->conf.relay_up,
	    bd->conf.nrelay_up, bd->conf.relay_timeout_ms,
	    bd->conf.relay_window, bd->conf.relay_retry_max_ms,
	    relaycred_munge, bd->conf.munge_socket };
	char err[512], host[64] = "?";
	struct relay *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_err("out of memory");
		return -1;
	}
	bd->relay = r;
	bd->report_sink = relay_accept;
	gethostname(host, sizeof(host) - 1);
	snprintf(r->queued_msg, sizeof(r->queued_msg), "queued on relay %s "
	    "for the controller", host);
	if ((r->q = relayq_open(bd->base, bd->conf.state_dir, bd->conf.fsync,
	    &hooks, err, sizeof(err))) == NULL ||
	    (r->fwd = relay_fwd_new(bd->base, r->q, &set, err,
	    sizeof(err))) == NULL ||
	    (r->ask = relay_ask_new(bd->base, bd->conf.relay_up,
	    bd->conf.nrelay_up, bd->conf.relay_timeout_ms, relaycred_munge,
	    bd->conf.munge_socket, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		return -1;
	}
	if (conn_init(bd, relay_dispatch, bd) != 0 || listen_start(bd) != 0 ||
	    intake_start(bd) != 0)
		return -1;
	log_info("started as a relay: socket %s, %zu upstream(s), first %s",
	    bd->conf.socket, bd->conf.nrelay_up, bd->conf.relay_up[0]);
	return 0;
}

void
relay_stop(struct bankd *bd)
{
	struct relay *r = bd->relay;

	listen_stop(bd);
	if (r != NULL)
		relay_ask_free(r->ask);	/* releases the connections it held */
	conn_fini(bd);
	intake_stop(bd);
	if (r != NULL) {
		relay_fwd_free(r->fwd);
		r->fwd = NULL;		/* closing commits: nothing to kick */
		relayq_close(r->q);	/* answers whatever waits */
	}
	intake_free(bd);
	free(r);
	bd->relay = NULL;
	bd->report_sink = NULL;
	conf_free(&bd->conf);
}

void
relay_reload(struct bankd *bd)
{
	log_warn("reload: a relay takes new settings (%s) only at restart; "
	    "keeping the running ones", bd->conf.path);
}
