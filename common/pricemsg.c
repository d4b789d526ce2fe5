/*
 * pricemsg.c - price a job as a request describes it (pricemsg.h): the
 * estimate of a CHECK or ESTIMATE, the cost of a START or END, from the
 * decoded fields (req.c).  The rules are in price.c and docs/pricing.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "price.h"
#include "pricemsg.h"
#include "req.h"

struct part_info {
	uint32_t	 cpus;		/* CPUs per node, 0 unknown */
	uint64_t	 mem_mb;	/* MiB per node, 0 unknown */
	int		 exclusive;	/* OverSubscribe=EXCLUSIVE */
};

static uint64_t
sat_mul(uint64_t a, uint64_t b)
{
	unsigned __int128 p = (unsigned __int128)a * b;

	return p > UINT64_MAX ? UINT64_MAX : (uint64_t)p;
}

/* "normal:32:192000:0,gpu:64:512000:1": the entry for `name`. */
static void
part_info_of(const char *p, const char *name, struct part_info *pi)
{
	const char *e;
	size_t len = strlen(name);
	unsigned long long cpus, mem;
	int excl;

	memset(pi, 0, sizeof(*pi));
	for (; p != NULL && *p != '\0'; p = *e ? e + 1 : e) {
		e = p + strcspn(p, ",");
		if ((size_t)(e - p) <= len || strncmp(p, name, len) != 0 ||
		    p[len] != ':')
			continue;
		if (sscanf(p + len + 1, "%llu:%llu:%d", &cpus, &mem, &excl)
		    == 3) {
			pi->cpus = cpus > UINT32_MAX ? UINT32_MAX :
			    (uint32_t)cpus;
			pi->mem_mb = mem;
			pi->exclusive = excl != 0;
		}
		return;
	}
}

static void
gpus_of(const struct price_gres *g, uint64_t nodes, uint64_t tasks,
    struct price_use *u)
{
	price_parse_gpus(g->per_job, 1, u);
	price_parse_gpus(g->per_node, nodes, u);
	price_parse_gpus(g->per_task, tasks, u);
	/* Sockets per node are not known at submission: one per node. */
	price_parse_gpus(g->per_socket, nodes, u);
}

static uint64_t
gpus_total(const struct price_use *u)
{
	uint64_t t = 0;
	size_t i;

	for (i = 0; i < u->ngpu; i++)
		t = t + u->gpu[i].n < t ? UINT64_MAX : t + u->gpu[i].n;
	return t;
}

/* One partition: what the job holds there and what that costs. */
static int64_t
price_in(const struct bank_conf *cf, const struct price_job *j,
    const char *name, uint32_t base_cpus, uint64_t seconds,
    struct price_use *u, uint32_t *billed)
{
	const struct job_shape *js = &j->shape;
	struct part_info pi;
	uint64_t nodes = js->min_nodes ? js->min_nodes : 1, tasks, v;

	part_info_of(j->part_info, name, &pi);
	memset(u, 0, sizeof(*u));
	u->cpus = base_cpus;
	u->node_cpus = pi.cpus;
	u->node_mem_mb = pi.mem_mb;
	u->qos = j->qos;
	/* Whole nodes: the job holds every CPU of each node it gets. */
	if ((j->exclusive || pi.exclusive) && pi.cpus != 0) {
		uint64_t need = (base_cpus + (uint64_t)pi.cpus - 1) / pi.cpus;

		nodes = need > nodes ? need : nodes;
		v = sat_mul(nodes, pi.cpus);
		u->cpus = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	}
	if (j->has_mem_per_cpu)
		u->mem_mb = sat_mul(j->mem_per_cpu, u->cpus);
	else if (j->has_mem_per_node)
		u->mem_mb = sat_mul(j->mem_per_node != 0 ? j->mem_per_node :
		    pi.mem_mb, nodes);
	if ((j->exclusive || pi.exclusive) && sat_mul(pi.mem_mb, nodes) >
	    u->mem_mb)
		u->mem_mb = sat_mul(pi.mem_mb, nodes);
	tasks = js->num_tasks ? js->num_tasks : js->ntasks_per_node ?
	    sat_mul(js->ntasks_per_node, nodes) : nodes;
	gpus_of(&j->gres, nodes, tasks, u);
	return price_use_cost(cf, name[0] ? name : NULL, u, seconds, billed);
}

void
pricemsg_estimate(const struct bank_conf *cf, const struct price_job *j,
    struct estimate *est)
{
	const char *p = j->partitions != NULL ? j->partitions : "", *comma;
	uint32_t base = price_infer_cpus(&j->shape), tl = j->time_limit;
	uint32_t tasks = j->array_tasks, billed;
	struct price_use u;
	char name[64];
	int64_t price, cents, total;
	size_t len;
	int first = 1;

	memset(est, 0, sizeof(*est));
	est->minutes = tl ? tl : cf->default_time_limit;
	est->tasks = tasks > 1 ? tasks : 1;
	est->qos_micro = conf_qos_multiplier(cf, j->qos);
	do {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		cents = price_in(cf, j, name, base,
		    (uint64_t)est->minutes * 60, &u, &billed);
		conf_price(cf, name[0] ? name : NULL, &price);
		if (first || cents > est->task_cents ||
		    (cents == est->task_cents && price > est->price)) {
			est->task_cents = cents;
			est->price = price;
			est->cpus = u.cpus;
			est->billed_cpus = billed;
			est->billing_max = billed != u.cpus;
			est->mem_mb = u.mem_mb;
			est->gpus = gpus_total(&u);
			snprintf(est->partition, sizeof(est->partition), "%s",
			    name);
			first = 0;
		}
		p = comma ? comma + 1 : NULL;
	} while (p != NULL);
	total = est->task_cents;
	if (est->tasks > 1)
		total = est->task_cents > INT64_MAX / est->tasks ? INT64_MAX :
		    est->task_cents * est->tasks;
	est->cents = total;
}

int64_t
pricemsg_usage(const struct bank_conf *cf, const struct price_ran *r,
    uint64_t elapsed_s)
{
	struct price_use u;
	struct part_info pi;

	memset(&u, 0, sizeof(u));
	u.cpus = r->cpus;
	u.qos = r->qos;
	/* What Slurm charges the QoS's usage, where slurmdbd tells it. */
	u.has_usage_factor = r->has_usage_factor;
	u.usage_factor = r->usage_factor;
	u.mem_mb = r->has_mem_mb ? r->mem_mb : price_parse_mem(r->tres_alloc);
	price_parse_gpus(r->tres_alloc, 1, &u);
	price_parse_gpus(r->gpus, 1, &u);
	/*
	 * Without gres/gpu in AccountingStorageTRES (no slurmdbd) the
	 * allocation lists no GPUs: what the job requested is what it got.
	 */
	if (gpus_total(&u) == 0)
		gpus_of(&r->gres, r->num_nodes ? r->num_nodes : 1,
		    r->num_tasks, &u);
	u.node_cpus = r->node_cpus;
	u.node_mem_mb = r->node_mem_mb;
	if (r->partition != NULL && (u.node_cpus == 0 ||
	    u.node_mem_mb == 0)) {
		part_info_of(r->part_info, r->partition, &pi);
		if (u.node_cpus == 0)
			u.node_cpus = pi.cpus;
		if (u.node_mem_mb == 0)
			u.node_mem_mb = pi.mem_mb;
	}
	return price_use_cost(cf, r->partition && *r->partition ?
	    r->partition : NULL, &u, elapsed_s, NULL);
}

/* report.c's: a START or END as it came, decoded here (req.c). */
int64_t
price_usage(const struct bank_conf *cf, const struct bp_msg *m,
    uint64_t elapsed_s)
{
	struct price_ran r;

	req_ran(m, &r);
	return pricemsg_usage(cf, &r, elapsed_s);
}

void
price_describe(const struct estimate *est, char *buf, size_t len)
{
	char price[MONEY_FMT_LEN], extra[160] = "", mult[MONEY_FMT_LEN];
	size_t off = 0;

	if (est->gpus != 0)
		off += snprintf(extra + off, sizeof(extra) - off, " + %" PRIu64
		    " GPU%s", est->gpus, est->gpus == 1 ? "" : "s");
	if (est->mem_mb != 0 && off < sizeof(extra))
		off += snprintf(extra + off, sizeof(extra) - off, " + %" PRIu64
		    " MiB", est->mem_mb);
	snprintf(buf, len, "%" PRIu32 " CPUs%s x %" PRIu32 "h%02" PRIu32
	    "m on %s at %s SU/CPU-hour", est->cpus, extra, est->minutes / 60,
	    est->minutes % 60, est->partition[0] ? est->partition :
	    "the default partition", money_format_price(est->price, price));
	off = strlen(buf);
	if (est->billing_max && off < len)
		off += snprintf(buf + off, len - off, ", billed as %" PRIu32
		    " CPUs (memory share)", est->billed_cpus);
	if (est->qos_micro != 0 && est->qos_micro != 1000000 && off < len)
		off += snprintf(buf + off, len - off, ", QoS x%s",
		    money_format_price(est->qos_micro, mult));
	if (est->tasks > 1 && off < len)
		snprintf(buf + off, len - off, ", %" PRIu32 " array tasks",
		    est->tasks);
}
