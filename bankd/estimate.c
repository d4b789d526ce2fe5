/*
 * estimate.c - estimates and the price table (estimate.h): what each part
 * of the price rule took, so that `bankctl estimate` shows how an amount
 * was reached, and where each price came from (bank.yaml, the API, the
 * default).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "apiprices.h"
#include "bankd.h"
#include "conn.h"
#include "estimate.h"
#include "money.h"
#include "price.h"
#include "pricemsg.h"
#include "req.h"

static const char *
source_name(const struct conf_price *pr)
{
	if (pr == NULL)
		return "default";
	return pr->source == PRICE_API ? "api" : "local";
}

void
estimate_request(struct bankd *bd, struct conn *c, const struct req *rq)
{
	const struct price_job *j = &rq->u.estimate.job;
	struct estimate est;
	struct bp_msg rep;
	char buf[MONEY_FMT_LEN], why[512];

	pricemsg_estimate(&bd->conf, j, &est);
	bp_init(&rep, rq->type | BP_REPLY, rq->id);
	bp_add(&rep, "status", "ok");
	bp_addf(&rep, "estimate", "%s", money_format(est.cents, buf));
	bp_addf(&rep, "partition", "%s", est.partition);
	bp_addf(&rep, "cpus", "%" PRIu32, est.cpus);
	bp_addf(&rep, "minutes", "%" PRIu32, est.minutes);
	bp_addf(&rep, "price", "%s", money_format_price(est.price, buf));
	bp_add(&rep, "price_source", source_name(conf_price_entry(&bd->conf,
	    est.partition[0] ? est.partition : NULL)));
	bp_addf(&rep, "gpus", "%" PRIu64, est.gpus);
	bp_addf(&rep, "mem_mb", "%" PRIu64, est.mem_mb);
	bp_addf(&rep, "billed_cpus", "%" PRIu32, est.billing_max ?
	    est.billed_cpus : est.cpus);
	bp_addf(&rep, "qos", "%s", j->qos ? j->qos : "");
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

/* The QoS multipliers as "high=1.5,low=0.5". */
static void
qos_list(const struct bank_conf *cf, char *out, size_t len)
{
	char t[MONEY_FMT_LEN];
	size_t i, o;

	for (i = 0, o = 0, out[0] = '\0'; i < cf->nqos && o < len; i++)
		o += snprintf(out + o, len - o, "%s%s=%s", i ? "," : "",
		    cf->qos[i].name, money_format_price(cf->qos[i].micro, t));
}

/* One partition, tab-separated: partition, cpu, gpu, gpu types ... */
static void
price_row(const struct bank_conf *cf, const struct conf_price *pr,
    struct bp_msg *rep, size_t k)
{
	char cpu[MONEY_FMT_LEN], gpu[MONEY_FMT_LEN], mem[MONEY_FMT_LEN];
	char types[512], t[MONEY_FMT_LEN], key[8];
	size_t j, o;

	for (j = 0, o = 0, types[0] = '\0'; j < pr->ngpu_types &&
	    o < sizeof(types); j++)
		o += snprintf(types + o, sizeof(types) - o, "%s%s=%s",
		    j ? "," : "", pr->gpu_types[j].type,
		    money_format_price(pr->gpu_types[j].micro, t));
	snprintf(key, sizeof(key), "p%zu", k);
	bp_addf(rep, key, "%s\t%s\t%s\t%s\t%s\t%s\t%s",
	    pr->partition, money_format_price(pr->micro, cpu),
	    money_format_price(pr->gpu, gpu), types[0] ? types : "-",
	    money_format_price(pr->mem_gb, mem), pr->billing_max < 0 ?
	    (cf->billing == BILLING_MAX ? "max" : "sum") :
	    pr->billing_max ? "max" : "sum", pr->source == PRICE_API ?
	    "api" : pr->source == PRICE_DEFAULT ? "default" : "local");
}

/*
 * The effective price table, one partition per "p<i>" (tab-separated:
 * partition, cpu, gpu, gpu types "a100=8,v100=6", mem_gb, billing,
 * source), BP_QUEUE_PAGE at a time from `offset`; the QoS multipliers as
 * "qos"; where API prices stand.
 */
void
estimate_prices(struct bankd *bd, struct conn *c, const struct req *rq)
{
	const struct bank_conf *cf = &bd->conf;
	struct bp_msg rep;
	size_t i, n = 0;
	char cpu[MONEY_FMT_LEN], qos[1024];
	time_t fetched;
	const char *err;

	bp_init(&rep, rq->type | BP_REPLY, rq->id);
	bp_add(&rep, "status", "ok");
	bp_addf(&rep, "default", "%s", money_format_price(cf->default_price,
	    cpu));
	bp_add(&rep, "billing", cf->billing == BILLING_MAX ? "max" : "sum");
	bp_add(&rep, "from_api", cf->prices_from_api ? "1" : "0");
	bp_addf(&rep, "refresh_s", "%d", cf->prices_refresh_s);
	apiprices_status(bd->prices, &fetched, &err);
	bp_addf(&rep, "api_age", "%lld", fetched ? (long long)(time(NULL) -
	    fetched) : -1LL);
	if (err != NULL && *err != '\0')
		bp_addf(&rep, "api_error", "%s", err);
	qos_list(cf, qos, sizeof(qos));
	bp_addf(&rep, "qos", "%s", qos);
	bp_addf(&rep, "total", "%zu", cf->nprices);
	for (i = rq->u.prices.offset; i < cf->nprices && n < BP_QUEUE_PAGE;
	    i++)
		price_row(cf, &cf->prices[i], &rep, ++n);
	conn_reply(c, &rep);
	bp_free(&rep);
}
