/*
 * handle.c - what bankd does with each request.
 *
 *	check	  price the job; free partitions pass at once, priced ones
 *		  ask the API's can_submit_job; no answer means the
 *		  configured policy (allow or deny), logged with the job
 *	estimate  price only (bankctl), with the breakdown
 *	prices	  the effective price table and where each price came from
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

#include "answer.h"
#include "api.h"
#include "apiprices.h"
#include "bankd.h"
#include "cache.h"
#include "holds.h"
#include "idmap.h"
#include "deliver.h"
#include "fields.h"
#include "log.h"
#include "money.h"
#include "price.h"
#include "report.h"

#define PROBE_INTERVAL_S	30

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

void
estimate_of(struct bankd *bd, const struct bp_msg *m, struct estimate *est)
{
	price_request(&bd->conf, m, est);
}

/*
 * The estimate and its breakdown: what each part of the price rule took
 * (docs/pricing.md), so that `bankctl estimate` shows how the amount
 * was reached.
 */
static void
handle_estimate(struct bankd *bd, struct conn *c, const struct bp_msg *m)
{
	struct estimate est;
	struct bp_msg rep;
	const struct conf_price *pr;
	char buf[MONEY_FMT_LEN], why[512];

	estimate_of(bd, m, &est);
	bp_init(&rep, m->type | BP_REPLY, m->id);
	bp_add(&rep, "status", "ok");
	bp_addf(&rep, "estimate", "%s", money_format(est.cents, buf));
	bp_addf(&rep, "partition", "%s", est.partition);
	bp_addf(&rep, "cpus", "%" PRIu32, est.cpus);
	bp_addf(&rep, "minutes", "%" PRIu32, est.minutes);
	bp_addf(&rep, "price", "%s", money_format_price(est.price, buf));
	pr = conf_price_entry(&bd->conf, est.partition[0] ? est.partition :
	    NULL);
	bp_add(&rep, "price_source", pr == NULL ? "default" :
	    pr->source == PRICE_API ? "api" : "local");
	bp_addf(&rep, "gpus", "%" PRIu64, est.gpus);
	bp_addf(&rep, "mem_mb", "%" PRIu64, est.mem_mb);
	bp_addf(&rep, "billed_cpus", "%" PRIu32, est.billing_max ?
	    est.billed_cpus : est.cpus);
	bp_addf(&rep, "qos", "%s", bp_get(m, "qos") ? bp_get(m, "qos") : "");
	bp_addf(&rep, "qos_multiplier", "%s", money_format_price(
	    est.qos_micro ? est.qos_micro : 1000000, buf));
	bp_addf(&rep, "tasks", "%" PRIu32, est.tasks ? est.tasks : 1);
	bp_addf(&rep, "task_estimate", "%s", money_format(est.task_cents,
	    buf));
	price_describe(&est, why, sizeof(why));
	bp_addf(&rep, "message", "%s", why);
	conn_reply(c, &rep);
	bp_free(&rep);
}

/*
 * BP_T_PRICES: the effective price table, one partition per "p<i>"
 * (tab-separated: partition, cpu, gpu, gpu types "a100=8,v100=6", mem_gb,
 * billing, source), BP_QUEUE_PAGE at a time from `offset`; the QoS
 * multipliers as "qos" ("high=1.5,low=0.5"); where API prices stand.
 */
static void
handle_prices(struct bankd *bd, struct conn *c, const struct bp_msg *m)
{
	const struct bank_conf *cf = &bd->conf;
	struct bp_msg rep;
	uint64_t off = 0;
	size_t i, j, k, n = 0;
	char cpu[MONEY_FMT_LEN], gpu[MONEY_FMT_LEN], mem[MONEY_FMT_LEN];
	char types[512], qos[1024], t[MONEY_FMT_LEN], key[8];
	size_t o;
	time_t fetched;
	const char *err;

	bp_get_u64(m, "offset", &off);
	bp_init(&rep, m->type | BP_REPLY, m->id);
	bp_add(&rep, "status", "ok");
	bp_addf(&rep, "default", "%s", money_format_price(cf->default_price,
	    cpu));
	bp_add(&rep, "billing", cf->billing == BILLING_MAX ? "max" : "sum");
	bp_add(&rep, "from_api", cf->prices_from_api ? "1" : "0");
	bp_addf(&rep, "refresh_s", "%d", cf->prices_refresh_s);
	apiprices_state(&fetched, &err);
	bp_addf(&rep, "api_age", "%lld", fetched ? (long long)(time(NULL) -
	    fetched) : -1LL);
	if (err != NULL && *err != '\0')
		bp_addf(&rep, "api_error", "%s", err);
	for (i = 0, o = 0, qos[0] = '\0'; i < cf->nqos && o < sizeof(qos);
	    i++)
		o += snprintf(qos + o, sizeof(qos) - o, "%s%s=%s", i ? "," : "",
		    cf->qos[i].name, money_format_price(cf->qos[i].micro, t));
	bp_addf(&rep, "qos", "%s", qos);
	bp_addf(&rep, "total", "%zu", cf->nprices);
	for (i = off; i < cf->nprices && n < BP_QUEUE_PAGE; i++) {
		const struct conf_price *pr = &cf->prices[i];

		for (j = 0, o = 0, types[0] = '\0'; j < pr->ngpu_types &&
		    o < sizeof(types); j++)
			o += snprintf(types + o, sizeof(types) - o, "%s%s=%s",
			    j ? "," : "", pr->gpu_types[j].type,
			    money_format_price(pr->gpu_types[j].micro, t));
		k = ++n;
		snprintf(key, sizeof(key), "p%zu", k);
		bp_addf(&rep, key, "%s\t%s\t%s\t%s\t%s\t%s\t%s",
		    pr->partition, money_format_price(pr->micro, cpu),
		    money_format_price(pr->gpu, gpu), types[0] ? types : "-",
		    money_format_price(pr->mem_gb, mem), pr->billing_max < 0 ?
		    (cf->billing == BILLING_MAX ? "max" : "sum") :
		    pr->billing_max ? "max" : "sum", pr->source == PRICE_API ?
		    "api" : pr->source == PRICE_DEFAULT ? "default" : "local");
	}
	conn_reply(c, &rep);
	bp_free(&rep);
}

/* "2 CPUs x 1h30m on normal at 1.5 SU/CPU-hour" */
void
describe_estimate(const struct estimate *est, char *buf, size_t len)
{
	price_describe(est, buf, len);
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

	p->fn(p->arg, ok ? "ok" : "later", ok ? NULL : "bankd could not "
	    "store the report durably (see its log)", p->amount);
	free(p);
}

int
report_accept(struct bankd *bd, int kind, const struct bp_msg *m,
    accept_fn fn, void *arg)
{
	struct pending_report *p;
	struct report r;
	char err[256], account[sizeof(r.account)];
	const char *what;
	uint32_t job;

	switch (report_build(&bd->conf, kind, m, &r, err, sizeof(err))) {
	case 0:
		break;
	case 1:
		log_debug("job %" PRIu32 ": free partition: nothing to report",
		    r.job_id);
		fn(arg, "ok", "free partition: nothing to charge", "0.00");
		return 0;
	default:
		log_warn("refused a %s report: %s", kind == REPORT_START ?
		    "start" : "completion", err);
		fn(arg, "error", err, NULL);
		return 0;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		report_clear(&r);
		fn(arg, "later", "bankd is out of memory", NULL);
		return 0;
	}
	p->fn = fn;
	p->arg = arg;
	money_format(r.cents, p->amount);
	if (r.hold != 0 && bd->holds != NULL)
		hold_bind(bd->holds, r.hold, r.job_id);
	/* deliver_take() clears r once it holds the report. */
	job = r.job_id;
	what = kind == REPORT_START ? "start" : "completion";
	snprintf(account, sizeof(account), "%s", r.account);
	switch (deliver_take(bd->dq, &r, on_durable, p)) {
	case TAKE_QUEUED:
		log_info("job %" PRIu32 ": %s report accepted: account %s, %s "
		    "SU", job, what, account, p->amount);
		return 0;
	case TAKE_JOINED:
		log_info("job %" PRIu32 ": the same %s report is queued, not yet "
		    "on disk: this one waits for it", job, what);
		break;
	case TAKE_DUP:
	case TAKE_SUPERSEDED:
		log_debug("job %" PRIu32 ": %s", job, kind ==
		    REPORT_START ? "start already reported, or the job "
		    "completed" : "the same completion is journaled already");
		fn(arg, "dup", NULL, NULL);
		free(p);
		break;
	case TAKE_LATER:
		fn(arg, "later", "bankd could not queue the report", NULL);
		free(p);
		break;
	case TAKE_TOO_BIG:
		fn(arg, "error", "the report is too large for bankd's journal "
		    "(see bankd's log)", NULL);
		free(p);
		break;
	}
	report_clear(&r);
	return 0;
}

/*
 * A report reached the API: the job's hold ends (the API counts the job
 * now), and the API's usage moved by what this report added, which
 * shifts what the cache knows.  A completion after a delivered start
 * adds only the difference (the server applies new - stored).
 */
void
ledger_delivered(struct bankd *bd, const struct report *r)
{
	int64_t *prev, delta = r->cents;

	if (bd->holds != NULL)
		hold_delivered(bd->holds, r->hold, r->job_id);
	prev = idmap_get(bd->charged, r->job_id);
	if (r->kind == REPORT_START) {
		if (prev == NULL && (prev = malloc(sizeof(*prev))) != NULL &&
		    idmap_put(bd->charged, r->job_id, prev) != 0) {
			free(prev);
			prev = NULL;
		}
		if (prev != NULL)
			*prev = r->cents;
	} else if (prev != NULL) {
		delta = r->cents - *prev;
		free(idmap_del(bd->charged, r->job_id));
	}
	if (bd->cache != NULL)
		cache_charged(bd->cache, r->account, r->uid, delta);
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
	(void)bd;
	return conn_privileged(c);
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
	/* Of them, answered "later": on disk at the next good commit. */
	bp_addf(&rep, "not_durable", "%zu", st.unsynced);
	bp_addf(&rep, "inflight", "%zu", st.inflight);
	bp_addf(&rep, "dead", "%zu", st.dead);
	bp_addf(&rep, "delivered", "%" PRIu64, st.delivered);
	bp_addf(&rep, "retries", "%" PRIu64, st.retries);
	bp_add(&rep, "delivery", st.paused ? "paused by an operator" :
	    st.auth_blocked ? "blocked: the API refuses our token" : "running");
	bp_addf(&rep, "journal_bytes", "%zu", st.journal_bytes);
	bp_addf(&rep, "spool", "%zu", intake_pending(bd));
	bp_addf(&rep, "holds", "%zu", bd->holds ? holds_count(bd->holds) : 0);
	bp_addf(&rep, "cache_entries", "%zu", bd->cache ?
	    cache_entries(bd->cache) : 0);
	/* job_submit keeps one open; bankctl's own is counted too. */
	bp_addf(&rep, "clients", "%zu", bd->clients);
	conn_reply(c, &rep);
	bp_free(&rep);
}

void
handle_request(struct bankd *bd, struct conn *c, struct bp_msg *m)
{
	char err[256], fixed[256];

	log_debug("request %s id %" PRIu32 " from uid %ld",
	    bp_type_name(m->type), m->id, (long)conn_uid(c));
	/* Decoded once, here: handlers read only values that are valid. */
	if (fields_check(m, err, sizeof(err), fixed, sizeof(fixed)) != 0) {
		log_warn("refused a %s request from uid %ld: %s",
		    bp_type_name(m->type), (long)conn_uid(c), err);
		reply_simple(c, m, "error", err);
		return;
	}
	if (fixed[0] != '\0')
		log_warn("%s report of job %s: field(s) %s were not printable "
		    "UTF-8; taken with '?' for each bad byte",
		    bp_type_name(m->type), bp_get(m, "job_id") ?
		    bp_get(m, "job_id") : "?", fixed);
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
	case BP_T_PRICES:
		handle_prices(bd, c, m);
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

/*
 * Keep `bankctl status` truthful while no jobs come and go, and notice
 * when an outage ends.  The probe asks what every version of the portal
 * answers: GET /jobs/ (the current server has no /partitions/), with a
 * filter that matches nothing, so it costs the portal next to nothing.
 * Every PROBE_INTERVAL_S, or PROBE_DOWN_S while the API does not answer.
 */
#define PROBE_PATH	"/jobs/?jobstatus=bankd-probe"
#define PROBE_DOWN_S	2

static void
probe_again(struct bankd *bd, int seconds)
{
	struct timeval tv = { seconds, 0 };

	if (bd->probe != NULL && event_add(bd->probe, &tv) != 0)
		log_err("cannot schedule the API probe");
}

static void
on_probe_reply(const struct api_reply *rep, void *arg)
{
	struct bankd *bd = arg;
	enum answer_token tok;
	json_t *j = rep->status == 200 ? api_reply_json(rep) : NULL;
	char why[512], what[800];
	int was_ok = bd->api_ok;

	if (json_is_object(j)) {
		json_decref(j);
		api_note(bd, 1, NULL);
		deliver_api_answers(bd->dq);
		probe_again(bd, PROBE_INTERVAL_S);
		return;
	}
	json_decref(j);
	api_describe(rep, why, sizeof(why));
	if ((tok = answer_token(rep->status, rep->body, rep->len)) !=
	    TOKEN_OK) {
		/* It answers, but not to bankd: what to do is the news. */
		snprintf(what, sizeof(what), "%s: %s", why,
		    answer_token_advice(tok));
		if (strcmp(what, bd->api_error) != 0)
			log_err("API probe: %s", what);
		api_note(bd, 1, what);
		probe_again(bd, PROBE_INTERVAL_S);
		return;
	}
	if (rep->status == 404)
		snprintf(what, sizeof(what), "%s: GET /jobs/ is not found, so "
		    "api.url is likely not the API's base URL", why);
	else
		snprintf(what, sizeof(what), "%s", why);
	if (was_ok || bd->api_when == 0)
		log_warn("API probe failed: %s", what);
	api_note(bd, 0, what);
	probe_again(bd, PROBE_DOWN_S);
}

static void
on_probe(evutil_socket_t fd, short what, void *arg)
{
	struct bankd *bd = arg;

	(void)fd;
	(void)what;
	if (api_request(bd->api, "GET", PROBE_PATH, NULL, on_probe_reply,
	    bd) != 0) {
		log_err("cannot start the API probe");
		probe_again(bd, PROBE_INTERVAL_S);
	}
}

void
probe_start(struct bankd *bd)
{
	if ((bd->probe = evtimer_new(bd->base, on_probe, bd)) == NULL) {
		log_err("cannot schedule the API probe");
		return;
	}
	on_probe(-1, 0, bd);
}
