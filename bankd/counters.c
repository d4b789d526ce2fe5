/*
 * counters.c - the named numbers of counters.h: a table of names and
 * kinds beside an array of values, so that adding one is a line here and
 * a line in the enum, and whoever lists them needs no change.
 */
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "counters.h"
#include "monotime.h"

static const struct {
	const char		*name;
	enum counter_kind	 kind;
	const char		*help;		/* the metrics endpoint's */
} table[CNT_MAX] = {
	[CNT_CLIENTS] =		{ "clients",		COUNTER_GAUGE,
	    "Connections open on bankd's socket (bankctl status: clients)." },
	[CNT_SPOOL_FILES] =	{ "spool_files",	COUNTER_GAUGE,
	    "Spool files at the last scan (bankctl status: spool)." },
	[CNT_REQUESTS] =	{ "requests",		COUNTER_TOTAL,
	    "Requests handed to a handler." },
	[CNT_REFUSED] =		{ "requests_refused",	COUNTER_TOTAL,
	    "Requests or connections refused at the edge." },
	[CNT_SPOOL_TAKEN] =	{ "spool_files_taken",	COUNTER_TOTAL,
	    "Spool files journaled and removed." },
	[CNT_SPOOL_ASIDE] =	{ "spool_files_set_aside", COUNTER_TOTAL,
	    "Spool files set aside as .bad." },
};

void
counters_add(struct counters *c, enum counter k, uint64_t n)
{
	c->v[k] += n;
}

void
counters_sub(struct counters *c, enum counter k, uint64_t n)
{
	c->v[k] = c->v[k] > n ? c->v[k] - n : 0;
}

void
counters_set(struct counters *c, enum counter k, uint64_t v)
{
	c->v[k] = v;
}

uint64_t
counters_get(const struct counters *c, enum counter k)
{
	return c->v[k];
}

const char *
counters_name(enum counter k)
{
	return k < CNT_MAX ? table[k].name : NULL;
}

const char *
counters_help(enum counter k)
{
	return k < CNT_MAX ? table[k].help : NULL;
}

enum counter_kind
counters_kind(enum counter k)
{
	return table[k].kind;
}

void
counters_each(const struct counters *c, counters_fn fn, void *arg)
{
	int k;

	for (k = 0; k < CNT_MAX; k++)
		fn((enum counter)k, table[k].name, table[k].kind, c->v[k], arg);
}

/* Sub-millisecond (a cached answer) to seconds (the API's deadline). */
const uint64_t counters_hist_le_us[CHIST_BUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
	250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

static const char *const source_names[CSRC_MAX] = {
	[CSRC_CONFIG] = "config",	[CSRC_MODIFY] = "modify",
	[CSRC_PRICE] = "price",		[CSRC_CACHE] = "cache",
	[CSRC_API] = "api",		[CSRC_POLICY] = "policy",
	[CSRC_NONE] = "none",
};

static const char *const outcome_names[COUT_MAX] = {
	[COUT_ALLOW] = "allow", [COUT_DENY] = "deny", [COUT_ERROR] = "error",
};

static const char *const route_names[CRT_MAX] = {
	[CRT_CAN_SUBMIT] = "can_submit_job",	[CRT_JOBS_POST] = "jobs_post",
	[CRT_JOBS_PUT] = "jobs_put",		[CRT_JOBS_GET] = "jobs_get",
	[CRT_PROBE] = "probe",			[CRT_PARTITIONS] = "partitions",
	[CRT_OTHER] = "other",
};

int64_t
counters_now_us(void)
{
	return monotime_us();
}

enum counter_source
counters_source(const char *s)
{
	int k;
	size_t n;

	for (k = 0; k < CSRC_NONE; k++) {
		n = strlen(source_names[k]);
		if (strncmp(s, source_names[k], n) == 0 &&
		    (s[n] == '\0' || s[n] == ' '))
			return (enum counter_source)k;
	}
	return CSRC_NONE;
}

const char *
counters_source_name(enum counter_source k)
{
	return k < CSRC_MAX ? source_names[k] : "none";
}

const char *
counters_outcome_name(enum counter_outcome k)
{
	return k < COUT_MAX ? outcome_names[k] : "error";
}

void
counters_hist_add(struct counters_hist *h, uint64_t us)
{
	int i;

	for (i = 0; i < CHIST_BUCKETS && us > counters_hist_le_us[i]; i++)
		;
	h->n[i]++;
	h->count++;
	h->sum_us += us;
}

void
counters_decision(struct counters *c, const char *source,
    enum counter_outcome out, int64_t born_us)
{
	int64_t us = counters_now_us() - born_us;

	if (out >= COUT_MAX)
		out = COUT_ERROR;
	c->decisions[out == COUT_ERROR ? CSRC_NONE :
	    counters_source(source)][out]++;
	counters_hist_add(&c->decision, us > 0 ? (uint64_t)us : 0);
}

enum counter_route
counters_route(const char *method, const char *path)
{
	if (strncmp(path, "/can_submit_job/", 16) == 0)
		return CRT_CAN_SUBMIT;
	if (strncmp(path, "/partitions/", 12) == 0)
		return CRT_PARTITIONS;
	if (strncmp(path, "/jobs/?", 7) == 0)
		return strcmp(method, "GET") == 0 ? CRT_PROBE : CRT_OTHER;
	if (strcmp(path, "/jobs/") == 0)
		return strcmp(method, "POST") == 0 ? CRT_JOBS_POST : CRT_OTHER;
	if (strncmp(path, "/jobs/", 6) == 0)
		return strcmp(method, "PUT") == 0 ? CRT_JOBS_PUT :
		    strcmp(method, "GET") == 0 ? CRT_JOBS_GET : CRT_OTHER;
	return CRT_OTHER;
}

const char *
counters_route_name(enum counter_route k)
{
	return k < CRT_MAX ? route_names[k] : "other";
}

void
counters_api(struct counters *c, enum counter_route r, long status,
    int timed_out)
{
	int slot;

	if (status >= CSTATUS_LO && status <= CSTATUS_HI)
		slot = (int)(status - CSTATUS_LO);
	else
		slot = timed_out ? CSTATUS_TIMEOUT : CSTATUS_ERROR;
	c->api[r < CRT_MAX ? r : CRT_OTHER][slot]++;
}

void
counters_accepted(struct counters *c, int kind)
{
	if (kind == 0 || kind == 1)
		c->accepted[kind]++;
}

void
counters_delivered(struct counters *c, int kind)
{
	if (kind == 0 || kind == 1)
		c->delivered[kind]++;
}
