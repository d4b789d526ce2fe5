/*
 * handle.c - what bankd does with each request.
 *
 *	check	  price the job; free partitions pass at once, priced ones
 *		  ask the API's can_submit_job; no answer means the
 *		  configured policy (allow or deny), logged with the job
 *	estimate  price only (bankctl)
 *	start	  once per job: queue POST /jobs/ with the estimate
 *	end	  queue PUT /jobs/{id}/ with the actual cost
 *	status	  how bankd, the API and the queue are doing
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api.h"
#include "bankd.h"
#include "deliver.h"
#include "log.h"
#include "money.h"
#include "price.h"
#include "report.h"

#define PROBE_INTERVAL_S	30

/*
 * A submit check in progress.  It is answered once: by the API, or by the
 * policy when the API has not answered within decision_ms; the API request
 * goes on in the background either way, and the check is freed when both
 * the answer and the API are done with it.
 */
struct check {
	struct bankd		*bd;
	struct conn		*conn;		/* NULL once answered */
	struct event		*deadline;
	int			 api_pending;
	uint32_t		 id;
	uint64_t		 uid;
	char			 account[128];
	char			 partitions[128];
	struct estimate		 est;
};

static void
check_free_if_done(struct check *ck)
{
	if (ck->conn != NULL || ck->api_pending)
		return;
	if (ck->deadline != NULL)
		event_free(ck->deadline);
	free(ck);
}

void
reply_simple(struct conn *c, const struct bp_msg *req, const char *status,
    const char *message)
{
	struct bp_msg rep;

	bp_init(&rep, req->type | BP_REPLY, req->id);
	bp_add(&rep, "status", status);
	if (message != NULL)
		bp_add(&rep, "message", message);
	conn_reply(c, &rep);
	bp_free(&rep);
}

void
api_note(struct bankd *bd, int ok, const char *error)
{
	bd->api_ok = ok;
	bd->api_when = time(NULL);
	snprintf(bd->api_error, sizeof(bd->api_error), "%s",
	    error ? error : "");
}

static void
estimate_of(struct bankd *bd, const struct bp_msg *m, struct estimate *est)
{
	price_request(&bd->conf, m, est);
}

static void
reply_decision(struct conn *c, uint8_t type, uint32_t id, const char *status,
    const struct estimate *est, const char *message)
{
	struct bp_msg rep;
	char amount[MONEY_FMT_LEN];

	bp_init(&rep, type | BP_REPLY, id);
	bp_add(&rep, "status", status);
	bp_add(&rep, "estimate", money_format(est->cents, amount));
	bp_add(&rep, "partition", est->partition);
	bp_addf(&rep, "cpus", "%" PRIu32, est->cpus);
	bp_addf(&rep, "minutes", "%" PRIu32, est->minutes);
	if (message != NULL)
		bp_add(&rep, "message", message);
	conn_reply(c, &rep);
	bp_free(&rep);
}

static void
handle_estimate(struct bankd *bd, struct conn *c, const struct bp_msg *m)
{
	struct estimate est;

	estimate_of(bd, m, &est);
	reply_decision(c, m->type, m->id, "ok", &est, NULL);
}

/* "2 CPUs x 1h30m on normal at 1.5 SU/CPU-hour" */
static void
describe_estimate(const struct estimate *est, char *buf, size_t len)
{
	price_describe(est, buf, len);
}

static void
check_finish(struct check *ck, int allow, const char *reason)
{
	char msg[1024], what[160], amount[MONEY_FMT_LEN];

	money_format(ck->est.cents, amount);
	describe_estimate(&ck->est, what, sizeof(what));
	if (allow)
		snprintf(msg, sizeof(msg), "account %s: estimated %s SU (%s): "
		    "%s", ck->account, amount, what, reason);
	else
		snprintf(msg, sizeof(msg), "job refused: account %s cannot be "
		    "charged the estimated %s SU (%s): %s", ck->account, amount,
		    what, reason);
	log_info("check uid %" PRIu64 " account %s partitions %s: %s (%s SU): "
	    "%s", ck->uid, ck->account, ck->partitions, allow ? "allow" :
	    "deny", amount, reason);
	reply_decision(ck->conn, BP_T_CHECK, ck->id, allow ? "allow" : "deny",
	    &ck->est, msg);
	conn_release(ck->conn);
	ck->conn = NULL;
	if (ck->deadline != NULL)
		event_del(ck->deadline);
	check_free_if_done(ck);
}

/* The API could not decide: apply the site's policy and say so. */
static void
check_policy(struct check *ck, const char *why)
{
	char reason[512], amount[MONEY_FMT_LEN];
	int allow = ck->bd->conf.on_api_unavailable == POLICY_ALLOW;

	snprintf(reason, sizeof(reason), "the accounting API could not "
	    "answer (%s); policy on_api_unavailable=%s", why,
	    conf_policy_name(ck->bd->conf.on_api_unavailable));
	log_warn("check uid %" PRIu64 " account %s (%s SU): %s", ck->uid,
	    ck->account, money_format(ck->est.cents, amount), reason);
	check_finish(ck, allow, reason);
}

static void
on_decision_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct check *ck = arg;
	char why[128];

	(void)fd;
	(void)what;
	snprintf(why, sizeof(why), "no answer within decision_ms=%d ms",
	    ck->bd->conf.decision_ms);
	check_policy(ck, why);
}

static void
on_can_submit(const struct api_reply *rep, void *arg)
{
	struct check *ck = arg;
	json_t *j = api_reply_json(rep), *ok, *msg;
	char why[512];

	ck->api_pending = 0;
	if (ck->conn == NULL) {
		/* Decided by policy already; the late answer is only news. */
		api_describe(rep, why, sizeof(why));
		log_info("check uid %" PRIu64 " account %s: the API answered "
		    "after the decision deadline (%.0f ms): %s", ck->uid,
		    ck->account, rep->seconds * 1000, why);
		api_note(ck->bd, rep->status != 0 && rep->status < 500, NULL);
		json_decref(j);
		check_free_if_done(ck);
		return;
	}
	ok = json_object_get(j, "success");
	msg = json_object_get(j, "message");
	if ((rep->status == 200 || rep->status == 400) && json_is_boolean(ok) &&
	    json_is_string(msg)) {
		/* 400 means unknown user or account: it cannot be charged. */
		api_note(ck->bd, 1, NULL);
		check_finish(ck, rep->status == 200 && json_is_true(ok),
		    json_string_value(msg));
	} else {
		api_describe(rep, why, sizeof(why));
		api_note(ck->bd, 0, why);
		check_policy(ck, why);
	}
	json_decref(j);
}

/* Account names go into a URL path: keep to what Slurm accounts use. */
static int
account_valid(const char *a)
{
	return strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_.-") == strlen(a);
}

static void
handle_check(struct bankd *bd, struct conn *c, const struct bp_msg *m)
{
	struct check *ck;
	const char *acct = bp_get(m, "account");
	const char *parts = bp_get(m, "partitions");
	char path[512], amount[MONEY_FMT_LEN], why[256];
	struct timeval tv;

	if ((ck = calloc(1, sizeof(*ck))) == NULL) {
		reply_simple(c, m, "error", "bankd is out of memory");
		return;
	}
	ck->bd = bd;
	ck->conn = c;
	ck->id = m->id;
	conn_hold(c);
	bp_get_u64(m, "uid", &ck->uid);
	snprintf(ck->account, sizeof(ck->account), "%s", acct ? acct : "");
	snprintf(ck->partitions, sizeof(ck->partitions), "%s", parts && *parts ?
	    parts : "(default)");
	estimate_of(bd, m, &ck->est);
	if (!bd->conf.job_submit_enabled) {
		check_finish(ck, 1, "submission checks are disabled");
		return;
	}
	if (ck->est.cents == 0 && ck->est.price == 0) {
		check_finish(ck, 1, "free partition, no charge");
		return;
	}
	if (ck->account[0] == '\0' || !account_valid(ck->account)) {
		snprintf(why, sizeof(why), "%s", ck->account[0] == '\0' ?
		    "partition is priced and no account was given: submit "
		    "with -A/--account <project>" : "account name is invalid");
		check_finish(ck, 0, why);
		return;
	}
	snprintf(path, sizeof(path), "/can_submit_job/%s/%" PRIu64 "/%s/",
	    money_format(ck->est.cents, amount), ck->uid, ck->account);
	if (api_request(bd->api, "GET", path, NULL, on_can_submit, ck) != 0) {
		check_policy(ck, "cannot start an HTTP request");
		return;
	}
	ck->api_pending = 1;
	tv.tv_sec = bd->conf.decision_ms / 1000;
	tv.tv_usec = bd->conf.decision_ms % 1000 * 1000;
	if ((ck->deadline = evtimer_new(bd->base, on_decision_deadline, ck))
	    == NULL || evtimer_add(ck->deadline, &tv) != 0)
		log_err("check: cannot arm the decision deadline");
}

struct pending_report {
	struct conn		*conn;
	uint8_t			 type;
	uint32_t		 id;
	char			 amount[MONEY_FMT_LEN];
	accept_fn		 fn;
	void			*arg;
};

/* Journaled (or not): now the plugin may be told. */
static void
on_durable(void *arg, int ok)
{
	struct pending_report *p = arg;

	p->fn(p->arg, ok ? "ok" : "error", ok ? NULL : "bankd could not "
	    "store the report durably (see its log)", p->amount);
	free(p);
}

int
report_accept(struct bankd *bd, int kind, const struct bp_msg *m,
    accept_fn fn, void *arg)
{
	struct pending_report *p;
	struct report r;
	char err[256];

	switch (report_build(&bd->conf, kind, m, &r, err, sizeof(err))) {
	case 0:
		break;
	case 1:
		log_debug("job %" PRIu32 ": free partition, no account: "
		    "nothing to report", r.job_id);
		fn(arg, "ok", "free partition: nothing to charge", "0.00");
		return 0;
	default:
		log_warn("refused a %s report: %s", kind == REPORT_START ?
		    "start" : "completion", err);
		fn(arg, "error", err, NULL);
		return 0;
	}
	if (kind == REPORT_START && deliver_seen_start(bd->dq, r.job_id)) {
		log_debug("job %" PRIu32 ": start already reported", r.job_id);
		report_clear(&r);
		fn(arg, "dup", NULL, NULL);
		return 0;
	}
	if (kind == REPORT_END)
		deliver_seen_start(bd->dq, r.job_id);
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		report_clear(&r);
		fn(arg, "error", "bankd is out of memory", NULL);
		return 0;
	}
	p->fn = fn;
	p->arg = arg;
	money_format(r.cents, p->amount);
	log_info("job %" PRIu32 ": %s report accepted: account %s, %s SU",
	    r.job_id, kind == REPORT_START ? "start" : "completion",
	    r.account, p->amount);
	if (deliver_enqueue(bd->dq, &r, on_durable, p) != 0) {
		report_clear(&r);
		free(p);
		fn(arg, "error", "bankd could not queue the report", NULL);
	}
	return 0;
}

struct report_reply {
	struct conn		*conn;
	uint8_t			 type;
	uint32_t		 id;
};

static void
reply_report(void *arg, const char *status, const char *message,
    const char *amount)
{
	struct report_reply *rr = arg;
	struct bp_msg rep;

	bp_init(&rep, rr->type | BP_REPLY, rr->id);
	bp_add(&rep, "status", status);
	if (amount != NULL)
		bp_add(&rep, rr->type == BP_T_START ? "estimate" : "amount",
		    amount);
	if (message != NULL)
		bp_add(&rep, "message", message);
	conn_reply(rr->conn, &rep);
	bp_free(&rep);
	conn_release(rr->conn);
	free(rr);
}

int
conn_may_write(struct bankd *bd, struct conn *c)
{
	return conn_uid(c) == 0 || conn_uid(c) == bd->slurm_uid;
}

static void
handle_report(struct bankd *bd, struct conn *c, const struct bp_msg *m,
    enum report_kind kind)
{
	struct report_reply *rr;

	if (!conn_may_write(bd, c)) {
		log_warn("refused a %s report from uid %ld: only root and the "
		    "SlurmUser may report jobs", bp_type_name(m->type),
		    (long)conn_uid(c));
		reply_simple(c, m, "error", "permission denied: only root and "
		    "the SlurmUser may report jobs");
		return;
	}
	if ((rr = calloc(1, sizeof(*rr))) == NULL) {
		reply_simple(c, m, "error", "bankd is out of memory");
		return;
	}
	rr->conn = c;
	rr->type = m->type;
	rr->id = m->id;
	conn_hold(c);
	report_accept(bd, kind, m, reply_report, rr);
}

static void
handle_status(struct bankd *bd, struct conn *c, const struct bp_msg *m)
{
	struct deliver_stats st;
	struct bp_msg rep;
	time_t now = time(NULL);

	deliver_stats(bd->dq, &st);
	bp_init(&rep, m->type | BP_REPLY, m->id);
	bp_add(&rep, "status", "ok");
	bp_add(&rep, "version", "0.1.0");
	bp_addf(&rep, "uptime", "%lld", (long long)(now - bd->started));
	bp_add(&rep, "api_url", bd->conf.api_url);
	bp_add(&rep, "api", bd->api_when == 0 ? "unknown" :
	    bd->api_ok ? "reachable" : "unreachable");
	bp_addf(&rep, "api_age", "%lld", (long long)(bd->api_when ?
	    now - bd->api_when : -1));
	if (bd->api_error[0] != '\0')
		bp_add(&rep, "api_error", bd->api_error);
	bp_addf(&rep, "queue", "%zu", st.queued);
	bp_addf(&rep, "inflight", "%zu", st.inflight);
	bp_addf(&rep, "dead", "%zu", st.dead);
	bp_addf(&rep, "delivered", "%" PRIu64, st.delivered);
	bp_addf(&rep, "retries", "%" PRIu64, st.retries);
	bp_add(&rep, "delivery", st.paused ? "paused by an operator" :
	    st.auth_blocked ? "blocked: the API refuses our token" : "running");
	bp_addf(&rep, "journal_bytes", "%zu", st.journal_bytes);
	bp_addf(&rep, "spool", "%zu", intake_pending(bd));
	conn_reply(c, &rep);
	bp_free(&rep);
}

void
handle_request(struct bankd *bd, struct conn *c, struct bp_msg *m)
{
	log_debug("request %s id %" PRIu32 " from uid %ld",
	    bp_type_name(m->type), m->id, (long)conn_uid(c));
	switch (m->type) {
	case BP_T_STATUS:
		handle_status(bd, c, m);
		break;
	case BP_T_CHECK:
		handle_check(bd, c, m);
		break;
	case BP_T_ESTIMATE:
		handle_estimate(bd, c, m);
		break;
	case BP_T_START:
		handle_report(bd, c, m, REPORT_START);
		break;
	case BP_T_END:
		handle_report(bd, c, m, REPORT_END);
		break;
	default:
		if (admin_request(bd, c, m) == 0)
			break;
		log_warn("unknown request type %u from uid %ld", m->type,
		    (long)conn_uid(c));
		reply_simple(c, m, "error", "unknown request type");
	}
}

/* Keep `bankctl status` truthful while no jobs come and go. */
static void
on_probe_reply(const struct api_reply *rep, void *arg)
{
	struct bankd *bd = arg;
	char why[512];

	if (rep->status == 200) {
		api_note(bd, 1, NULL);
		return;
	}
	api_describe(rep, why, sizeof(why));
	api_note(bd, 0, why);
	log_warn("API probe failed: %s", why);
}

static void
on_probe(evutil_socket_t fd, short what, void *arg)
{
	struct bankd *bd = arg;

	(void)fd;
	(void)what;
	if (api_request(bd->api, "GET", "/partitions/", NULL, on_probe_reply,
	    bd) != 0)
		log_err("cannot start the API probe");
}

void
probe_start(struct bankd *bd)
{
	struct timeval tv = { PROBE_INTERVAL_S, 0 };

	bd->probe = event_new(bd->base, -1, EV_PERSIST, on_probe, bd);
	if (bd->probe == NULL || event_add(bd->probe, &tv) != 0) {
		log_err("cannot schedule the API probe");
		return;
	}
	on_probe(-1, 0, bd);
}
