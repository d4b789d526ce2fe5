/*
 * counters.c - the named numbers of counters.h: a table of names and
 * kinds beside an array of values, so that adding one is a line here and
 * a line in the enum, and whoever lists them needs no change.
 */
#include <stddef.h>

#include "counters.h"

static const struct {
	const char		*name;
	enum counter_kind	 kind;
} table[CNT_MAX] = {
	[CNT_CLIENTS] =		{ "clients",		COUNTER_GAUGE },
	[CNT_SPOOL_FILES] =	{ "spool_files",	COUNTER_GAUGE },
	[CNT_REQUESTS] =	{ "requests",		COUNTER_TOTAL },
	[CNT_REFUSED] =		{ "requests_refused",	COUNTER_TOTAL },
	[CNT_SPOOL_TAKEN] =	{ "spool_taken",	COUNTER_TOTAL },
	[CNT_SPOOL_ASIDE] =	{ "spool_set_aside",	COUNTER_TOTAL },
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
