/*
 * pricetab.c - the prices in force, bank.yaml's and the API's merged
 * (see pricetab.h).  No I/O but the log: a table is a value, built from
 * a configuration and a list, so the rules are tested without a daemon.
 *
 * The rules, as bank.yaml documents them (docs/pricing.md):
 *	- a partition bank.yaml lists keeps its local price (local wins);
 *	- a partition only the API lists gets the API's CPU price;
 *	- a partition neither lists (or, with prices.from_api off, only
 *	  the API lists) has prices.default.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "money.h"
#include "pricetab.h"

struct pricetab {
	struct conf_price	*v;	/* local ones first, then the API's */
	size_t			 n;
	size_t			 napi;
	/* For each entry, the API's price a local one overrides, or -1. */
	int64_t			*shadowed;
	int			 from_api;	/* cf->prices_from_api */
	int64_t			 default_price;
};

int
pricetab_list_put(struct pricetab_list *l, const char *name, int64_t micro)
{
	struct pricetab_api *nv;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0) {
			l->v[i].micro = micro;	/* listed twice: the last */
			return 0;
		}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		if ((nv = realloc(l->v, cap * sizeof(*nv))) == NULL)
			return -1;
		l->v = nv;
		l->cap = cap;
	}
	if ((l->v[l->n].name = strdup(name)) == NULL)
		return -1;
	l->v[l->n++].micro = micro;
	return 0;
}

const struct pricetab_api *
pricetab_list_get(const struct pricetab_list *l, const char *name)
{
	size_t i;

	for (i = 0; l != NULL && i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

void
pricetab_list_clear(struct pricetab_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void
entry_clear(struct conf_price *pr)
{
	size_t j;

	for (j = 0; j < pr->ngpu_types; j++)
		free(pr->gpu_types[j].type);
	free(pr->gpu_types);
	free(pr->partition);
}

/* A deep copy: the table outlives the configuration it was built from. */
static int
entry_copy(struct conf_price *to, const struct conf_price *from)
{
	size_t j;

	*to = *from;
	to->gpu_types = NULL;
	to->ngpu_types = 0;
	if ((to->partition = strdup(from->partition)) == NULL)
		return -1;
	if (from->ngpu_types == 0)
		return 0;
	if ((to->gpu_types = calloc(from->ngpu_types,
	    sizeof(*to->gpu_types))) == NULL)
		return -1;
	for (j = 0; j < from->ngpu_types; j++) {
		to->gpu_types[j].micro = from->gpu_types[j].micro;
		if ((to->gpu_types[j].type = strdup(from->gpu_types[j].type)) ==
		    NULL)
			return -1;
		to->ngpu_types++;
	}
	return 0;
}

static const struct conf_price *
entry_get(const struct pricetab *t, const char *name)
{
	size_t i;

	for (i = 0; t != NULL && i < t->n; i++)
		if (strcmp(t->v[i].partition, name) == 0)
			return &t->v[i];
	return NULL;
}

void
pricetab_free(struct pricetab *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		entry_clear(&t->v[i]);
	free(t->v);
	free(t->shadowed);
	free(t);
}

static int
add_local(struct pricetab *t, const struct bank_conf *cf,
    const struct pricetab_list *api)
{
	const struct pricetab_api *p;
	size_t i;

	for (i = 0; i < cf->nlocal; i++) {
		if (entry_copy(&t->v[t->n], &cf->local[i]) != 0) {
			entry_clear(&t->v[t->n]);
			return -1;
		}
		t->v[t->n].source = PRICE_LOCAL;
		p = t->from_api ? pricetab_list_get(api, cf->local[i].partition) :
		    NULL;
		t->shadowed[t->n++] = p != NULL ? p->micro : -1;
	}
	return 0;
}

static int
add_api(struct pricetab *t, const struct pricetab_list *api)
{
	struct conf_price *pr;
	size_t i;

	for (i = 0; t->from_api && api != NULL && i < api->n; i++) {
		if (entry_get(t, api->v[i].name) != NULL)
			continue;	/* bank.yaml's: it wins */
		pr = &t->v[t->n];
		memset(pr, 0, sizeof(*pr));
		if ((pr->partition = strdup(api->v[i].name)) == NULL)
			return -1;
		pr->micro = api->v[i].micro;
		pr->billing_max = -1;	/* the site's choice */
		pr->source = PRICE_API;
		t->shadowed[t->n++] = -1;
		t->napi++;
	}
	return 0;
}

struct pricetab *
pricetab_build(const struct bank_conf *cf, const struct pricetab_list *api)
{
	struct pricetab *t;
	size_t max = cf->nlocal + (api != NULL ? api->n : 0);

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->from_api = cf->prices_from_api;
	t->default_price = cf->default_price;
	if ((t->v = calloc(max ? max : 1, sizeof(*t->v))) == NULL ||
	    (t->shadowed = calloc(max ? max : 1, sizeof(*t->shadowed))) ==
	    NULL || add_local(t, cf, api) != 0 || add_api(t, api) != 0) {
		pricetab_free(t);
		return NULL;
	}
	return t;
}

size_t
pricetab_from_api(const struct pricetab *t)
{
	return t != NULL ? t->napi : 0;
}

/* What t says of an API price `was` held in old has gone. */
static void
log_gone(const struct pricetab *t, const struct conf_price *was)
{
	const struct conf_price *now = entry_get(t, was->partition);
	char a[MONEY_FMT_LEN], b[MONEY_FMT_LEN];

	if (now != NULL)
		log_info("prices: partition %s: bank.yaml's %s SU/CPU-hour "
		    "applies (was %s from the API)", was->partition,
		    money_format_price(now->micro, a),
		    money_format_price(was->micro, b));
	else
		log_info("prices: partition %s: %s, the default %s "
		    "SU/CPU-hour applies (was %s from the API)", was->partition,
		    t->from_api ? "no longer listed by the API" :
		    "prices.from_api is off", money_format_price(
		    t->default_price, a), money_format_price(was->micro, b));
}

/* What the API's part of t changed from old; logged, as it is news. */
static void
log_changes(const struct pricetab *old, const struct pricetab *t)
{
	const struct conf_price *pr, *o;
	char a[MONEY_FMT_LEN], b[MONEY_FMT_LEN];
	size_t i, added = 0, changed = 0, dropped = 0;

	for (i = 0; old != NULL && i < old->n; i++) {
		o = &old->v[i];
		pr = entry_get(t, o->partition);
		if (o->source == PRICE_API && (pr == NULL ||
		    pr->source != PRICE_API)) {
			log_gone(t, o);
			dropped += pr == NULL;
		}
	}
	for (i = 0; i < t->n; i++) {
		pr = &t->v[i];
		if (pr->source == PRICE_LOCAL) {
			if (t->shadowed[i] >= 0 && t->shadowed[i] != pr->micro)
				log_debug("prices: partition %s: the local %s "
				    "wins over the API's %s", pr->partition,
				    money_format_price(pr->micro, a),
				    money_format_price(t->shadowed[i], b));
			continue;
		}
		o = entry_get(old, pr->partition);
		if (o != NULL && o->source == PRICE_API) {
			if (o->micro == pr->micro)
				continue;
			log_info("prices: partition %s: %s -> %s SU/CPU-hour "
			    "(from the API)", pr->partition,
			    money_format_price(o->micro, a),
			    money_format_price(pr->micro, b));
			changed++;
			continue;
		}
		if (o != NULL)
			log_info("prices: partition %s: %s SU/CPU-hour from the "
			    "API (was bank.yaml's %s)", pr->partition,
			    money_format_price(pr->micro, a),
			    money_format_price(o->micro, b));
		else
			log_info("prices: partition %s: %s SU/CPU-hour from the "
			    "API (was the default %s)", pr->partition,
			    money_format_price(pr->micro, a),
			    money_format_price(t->default_price, b));
		added++;
	}
	if (added || changed || dropped)
		log_info("prices: %zu partition(s) priced by the API now (%zu "
		    "new), %zu changed, %zu back to the default", t->napi, added,
		    changed, dropped);
}

void
pricetab_swap(struct pricetab **cur, struct pricetab *t, struct bank_conf *cf)
{
	log_changes(*cur, t);
	cf->prices = t->v;
	cf->nprices = t->n;
	pricetab_free(*cur);
	*cur = t;
}
