/*
 * req.c - decode a request (req.h): the only reader of the key=value bag
 * in bankd, besides report.c's report_build(), which still builds a
 * report's body from the message itself.
 *
 * Numbers saturate at their type rather than wrap: fields_check() has
 * bounded every one a handler reads, and a caller that did not check
 * (a fuzzer, a test) still gets the value the handler would have.
 */
#include <stdlib.h>
#include <string.h>

#include "req.h"

static int
has(const struct bp_msg *m, const char *key)
{
	return bp_get(m, key) != NULL;
}

/* The number given, or dflt when it is absent or not one. */
static uint64_t
num(const struct bp_msg *m, const char *key, uint64_t dflt)
{
	uint64_t v;

	return bp_get_u64(m, key, &v) == 0 ? v : dflt;
}

static uint32_t
num32(const struct bp_msg *m, const char *key)
{
	uint64_t v = num(m, key, 0);

	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* 1 with *v when the number is given. */
static int
given(const struct bp_msg *m, const char *key, uint64_t *v)
{
	return bp_get_u64(m, key, v) == 0;
}

static void
gres_of(const struct bp_msg *m, struct price_gres *g)
{
	g->per_job = bp_get(m, "tres_per_job");
	g->per_node = bp_get(m, "tres_per_node");
	g->per_task = bp_get(m, "tres_per_task");
	g->per_socket = bp_get(m, "tres_per_socket");
}

void
req_job(const struct bp_msg *m, struct price_job *j)
{
	const char *p = bp_get(m, "partitions");
	uint64_t shared;

	memset(j, 0, sizeof(*j));
	j->partitions = p != NULL ? p : "";
	j->shape.min_cpus = num32(m, "min_cpus");
	j->shape.num_tasks = num32(m, "num_tasks");
	j->shape.cpus_per_task = num32(m, "cpus_per_task");
	j->shape.min_nodes = num32(m, "min_nodes");
	j->shape.ntasks_per_node = num32(m, "ntasks_per_node");
	j->shape.pn_min_cpus = num32(m, "pn_min_cpus");
	j->time_limit = num32(m, "time_limit");
	j->array_tasks = num32(m, "array_tasks");
	/* --exclusive is shared=0; a value that is not a number is not it. */
	j->exclusive = given(m, "shared", &shared) && shared == 0;
	j->part_info = bp_get(m, "part_info");
	/* Given at all decides which rule applies; a bad number counts 0. */
	if ((j->has_mem_per_cpu = has(m, "mem_per_cpu")))
		j->mem_per_cpu = num(m, "mem_per_cpu", 0);
	if ((j->has_mem_per_node = has(m, "mem_per_node")))
		j->mem_per_node = num(m, "mem_per_node", 0);
	gres_of(m, &j->gres);
	j->qos = bp_get(m, "qos");
}

void
req_ran(const struct bp_msg *m, struct price_ran *r)
{
	memset(r, 0, sizeof(*r));
	r->partition = bp_get(m, "partition");
	r->cpus = num32(m, "cpus");
	r->qos = bp_get(m, "qos");
	if ((r->has_usage_factor = has(m, "usage_factor")))
		r->usage_factor = (int64_t)num(m, "usage_factor", 0);
	r->tres_alloc = bp_get(m, "tres_alloc");
	r->gpus = bp_get(m, "gpus");
	if ((r->has_mem_mb = has(m, "mem_mb")))
		r->mem_mb = num(m, "mem_mb", 0);
	r->node_cpus = num32(m, "node_cpus");
	r->node_mem_mb = num(m, "node_mem_mb", 0);
	r->num_nodes = num(m, "num_nodes", 1);
	r->num_tasks = num(m, "num_tasks", 1);
	r->part_info = bp_get(m, "part_info");
	gres_of(m, &r->gres);
}

/* "12,7": the tokens, at most LIM_HET_COMPONENTS, 0s (none) skipped. */
static void
het_holds_of(const char *s, struct req_check *c)
{
	uint64_t v;
	char *e;

	c->het_n = 0;
	while (s != NULL && *s >= '0' && *s <= '9' &&
	    c->het_n < LIM_HET_COMPONENTS) {
		v = strtoull(s, &e, 10);
		if (v != 0)
			c->het_holds[c->het_n++] = v;
		if (*e != ',')
			break;
		s = e + 1;
	}
}

static void
check_of(const struct bp_msg *m, struct req_check *c)
{
	const char *a = bp_get(m, "account");
	uint64_t v;

	req_job(m, &c->job);
	c->account = a != NULL ? a : "";
	if ((c->has_uid = given(m, "uid", &v)))
		c->uid = (uint32_t)v;
	c->dry_run = num(m, "dry_run", 0) != 0;
	c->modify = (uint32_t)num(m, "modify", 0);
	c->array_task = num(m, "array_task", 0) != 0;
	c->hold = num(m, "hold", 0);
	if ((c->has_cost = given(m, "cost", &v)))
		c->cost = (int64_t)v;
	if ((c->has_het = given(m, "het_offset", &v)))
		c->het_offset = v > LIM_HET_COMPONENTS ? LIM_HET_COMPONENTS :
		    (uint32_t)v;
	het_holds_of(bp_get(m, "het_holds"), c);
}

static void
report_of(const struct bp_msg *m, struct req_report *r)
{
	uint64_t v;

	r->kind = m->type == BP_T_START ? REPORT_START : REPORT_END;
	if ((r->has_job_id = given(m, "job_id", &v)))
		r->job_id = (uint32_t)v;
	r->msg = m;
}

static void
holds_of(const struct bp_msg *m, struct req_holds *h)
{
	const char *a = bp_get(m, "account");
	uint64_t v;

	h->account = a != NULL && *a != '\0' ? a : NULL;
	if ((h->has_uid = given(m, "uid", &v)))
		h->uid = (uint32_t)v;
}

void
req_decode(const struct bp_msg *m, struct req *r)
{
	memset(r, 0, sizeof(*r));
	r->type = m->type;
	r->id = m->id;
	switch (m->type) {
	case BP_T_CHECK:
		check_of(m, &r->u.check);
		break;
	case BP_T_ESTIMATE:
		req_job(m, &r->u.estimate.job);
		break;
	case BP_T_PRICES:
		r->u.prices.offset = num(m, "offset", 0);
		break;
	case BP_T_START:
	case BP_T_END:
	case BP_T_BACKFILL:	/* a completion, as sacct shows it */
		report_of(m, &r->u.report);
		break;
	case BP_T_QUEUE:
		r->u.queue.offset = num(m, "offset", 0);
		r->u.queue.limit = num(m, "limit", BP_QUEUE_PAGE);
		r->u.queue.dead = num(m, "dead", 0) != 0;
		break;
	case BP_T_SHOW:
	case BP_T_RETRY:
	case BP_T_DROP:
		r->u.seq.seq = num(m, "seq", 0);
		break;
	case BP_T_HOLDS:
		holds_of(m, &r->u.holds);
		break;
	case BP_T_BALANCE:
		r->u.balance.account = bp_get(m, "account");
		if (r->u.balance.account != NULL &&
		    *r->u.balance.account == '\0')
			r->u.balance.account = NULL;
		break;
	}
}
