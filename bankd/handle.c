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

struct check {
	struct bankd		*bd;
	struct conn		*conn;
	uint32_t		 id;
	uint64_t		 uid;
	char			 account[128];
	struct estimate		 est;
};

static void
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

static uint32_t
field_u32(const struct bp_msg *m, const char *key)
{
	uint64_t v;

	if (bp_get_u64(m, key, &v) != 0)
		return 0;
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void
estimate_of(struct bankd *bd, const struct bp_msg *m, struct estimate *est)
{
	struct job_shape js = {
		.min_cpus = field_u32(m, "min_cpus"),
		.num_tasks = field_u32(m, "num_tasks"),
		.cpus_per_task = field_u32(m, "cpus_per_task"),
		.min_nodes = field_u32(m, "min_nodes"),
		.ntasks_per_node = field_u32(m, "ntasks_per_node"),
		.pn_min_cpus = field_u32(m, "pn_min_cpus"),
	};

	price_estimate(&bd->conf, bp_get(m, "partitions"),
	    price_infer_cpus(&js), field_u32(m, "time_limit"), est);
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
	char price[MONEY_FMT_LEN];

	snprintf(buf, len, "%" PRIu32 " CPUs x %" PRIu32 "h%02" PRIu32
	    "m on %s at %s SU/CPU-hour", est->cpus, est->minutes / 60,
	    est->minutes % 60, est->partition[0] ? est->partition :
	    "the default partition", money_format_price(est->price, price));
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
	log_info("check uid %" PRIu64 " account %s: %s (%s SU): %s", ck->uid,
	    ck->account, allow ? "allow" : "deny", amount, reason);
	reply_decision(ck->conn, BP_T_CHECK, ck->id, allow ? "allow" : "deny",
	    &ck->est, msg);
	conn_release(ck->conn);
	free(ck);
}

/* The API could not decide: apply the site's policy and say so. */
static void
check_policy(struct check *ck, const char *why)
{
	char reason[512];
	int allow = ck->bd->conf.on_api_unavailable == POLICY_ALLOW;

	snprintf(reason, sizeof(reason), "the accounting API could not "
	    "answer (%s); policy on_api_unavailable=%s", why,
	    conf_policy_name(ck->bd->conf.on_api_unavailable));
	log_warn("check uid %" PRIu64 " account %s: %s", ck->uid, ck->account,
	    reason);
	check_finish(ck, allow, reason);
}

static void
on_can_submit(const struct api_reply *rep, void *arg)
{
	struct check *ck = arg;
	json_t *j = api_reply_json(rep), *ok, *msg;
	char why[512];

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
	char path[512], amount[MONEY_FMT_LEN], why[256];

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
	if (api_request(bd->api, "GET", path, NULL, on_can_submit, ck) != 0)
		check_policy(ck, "cannot start an HTTP request");
}

static void
handle_report(struct bankd *bd, struct conn *c, const struct bp_msg *m,
    enum report_kind kind)
{
	struct report r;
	struct bp_msg rep;
	char err[256], amount[MONEY_FMT_LEN];

	if (conn_uid(c) != 0 && conn_uid(c) != bd->slurm_uid) {
		log_warn("refused a %s report from uid %ld: only root and the "
		    "SlurmUser may report jobs", bp_type_name(m->type),
		    (long)conn_uid(c));
		reply_simple(c, m, "error", "permission denied: only root and "
		    "the SlurmUser may report jobs");
		return;
	}
	switch (report_build(&bd->conf, kind, m, &r, err, sizeof(err))) {
	case 0:
		break;
	case 1:
		log_debug("job %" PRIu32 ": free partition, no account: "
		    "nothing to report", r.job_id);
		reply_simple(c, m, "ok", "free partition: nothing to charge");
		return;
	default:
		log_warn("refused a %s report: %s", bp_type_name(m->type), err);
		reply_simple(c, m, "error", err);
		return;
	}
	if (kind == REPORT_START && deliver_seen_start(bd->dq, r.job_id)) {
		log_debug("job %" PRIu32 ": start already reported", r.job_id);
		reply_simple(c, m, "dup", NULL);
		report_clear(&r);
		return;
	}
	money_format(r.cents, amount);
	log_info("job %" PRIu32 ": %s report accepted: account %s, %s SU",
	    r.job_id, kind == REPORT_START ? "start" : "completion",
	    r.account, amount);
	if (kind == REPORT_END)
		deliver_seen_start(bd->dq, r.job_id);
	if (deliver_enqueue(bd->dq, &r) != 0) {
		report_clear(&r);
		reply_simple(c, m, "error", "bankd is out of memory");
		return;
	}
	bp_init(&rep, m->type | BP_REPLY, m->id);
	bp_add(&rep, "status", "ok");
	bp_add(&rep, kind == REPORT_START ? "estimate" : "amount", amount);
	conn_reply(c, &rep);
	bp_free(&rep);
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
