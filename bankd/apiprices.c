/*
 * apiprices.c - CPU prices from the API's partition list.
 *
 * Every prices.refresh_s, while prices.from_api is true, bankd reads
 * GET /partitions/ page by page (following `next` until it is null) and
 * takes each partition's su_per_core_hour, parsed exactly (6 decimals).
 * A fetch is applied only once every page has arrived, so a half-read
 * list never changes a price.  Then, in the running configuration:
 *
 *	- a partition bank.yaml lists keeps its local price (local wins);
 *	- a partition only the API lists gets the API's CPU price, marked
 *	  PRICE_API (no GPU or memory price: the API has none);
 *	- a partition the API no longer lists falls back to prices.default;
 *	- a partition neither lists keeps prices.default.
 *
 * A failed fetch keeps the last good prices and is logged.  Requests go
 * through api_request(), so the event loop never waits for the API.
 * SIGHUP replaces the configuration (main.c's handler for the same
 * signal); on the next turn of the loop the last fetched prices are
 * applied again to the new one, and a fetch starts at once if from_api
 * was just switched on.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>

#include <jansson.h>

#include "answer.h"
#include "api.h"
#include "apiprices.h"
#include "bankd.h"
#include "log.h"
#include "money.h"

#define APIPRICES_MAX_PAGES	1000
#define APIPRICES_OFF_CHECK_S	60	/* from_api off: look again this often */

struct api_price {
	char		*name;
	int64_t		 micro;
};

struct price_list {
	struct api_price *v;
	size_t		 n, cap;
};

struct apiprices {
	struct bankd	*bd;
	struct event	*timer;		/* next refresh */
	struct event	*sighup;	/* reload: apply again to the new conf */
	struct event	*after_reload;
	int		 busy;		/* a fetch is under way */
	int		 pages;
	char		 path[1024];	/* the page being fetched */
	struct price_list acc;		/* this fetch, so far */
	struct price_list tab;		/* the last complete fetch */
	int		 have_tab;
	time_t		 fetched;
	char		 error[256];
	int		 no_route;	/* 404 for /partitions/: said once */
};

static struct apiprices *ap;

static void	fetch_page(struct apiprices *);

static void
list_clear(struct price_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
list_put(struct price_list *l, const char *name, int64_t micro)
{
	struct api_price *nv;
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

static const struct api_price *
list_get(const struct price_list *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

static void	set_error(struct apiprices *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
set_error(struct apiprices *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->error, sizeof(a->error), fmt, ap);
	va_end(ap);
	log_warn("prices from the API: %s; keeping the last prices",
	    a->error);
}

/*
 * Make the running configuration agree with `tab` (or drop every API
 * price when from_api is off).  Idempotent: run after each fetch and
 * after each reload.  Logs what changed.
 */
static void
apply(struct apiprices *a)
{
	struct bank_conf *cf = &a->bd->conf;
	const struct api_price *p;
	struct conf_price *pr, *nv;
	char was[MONEY_FMT_LEN], now[MONEY_FMT_LEN];
	size_t i, j, added = 0, changed = 0, dropped = 0;
	int use = cf->prices_from_api && a->have_tab;

	/* Partitions no longer priced by the API: the default again. */
	for (i = 0; i < cf->nprices; ) {
		pr = &cf->prices[i];
		if (pr->source != PRICE_API ||
		    (use && list_get(&a->tab, pr->partition) != NULL)) {
			i++;
			continue;
		}
		log_info("prices: partition %s: %s, the default %s SU/CPU-hour "
		    "applies (was %s from the API)", pr->partition,
		    cf->prices_from_api ? "no longer listed by the API" :
		    "prices.from_api is off", money_format_price(
		    cf->default_price, now), money_format_price(pr->micro, was));
		for (j = 0; j < pr->ngpu_types; j++)
			free(pr->gpu_types[j].type);
		free(pr->gpu_types);
		free(pr->partition);
		memmove(pr, pr + 1, (cf->nprices - i - 1) * sizeof(*pr));
		cf->nprices--;
		dropped++;
	}
	for (i = 0; use && i < a->tab.n; i++) {
		p = &a->tab.v[i];
		for (j = 0; j < cf->nprices; j++)
			if (strcmp(cf->prices[j].partition, p->name) == 0)
				break;
		if (j < cf->nprices) {
			pr = &cf->prices[j];
			if (pr->source == PRICE_LOCAL) {
				if (pr->micro != p->micro)
					log_debug("prices: partition %s: the "
					    "local %s wins over the API's %s",
					    p->name, money_format_price(
					    pr->micro, was), money_format_price(
					    p->micro, now));
				continue;
			}
			if (pr->micro != p->micro) {
				log_info("prices: partition %s: %s -> %s "
				    "SU/CPU-hour (from the API)", p->name,
				    money_format_price(pr->micro, was),
				    money_format_price(p->micro, now));
				pr->micro = p->micro;
				changed++;
			}
			continue;
		}
		nv = realloc(cf->prices, (cf->nprices + 1) * sizeof(*nv));
		if (nv == NULL) {
			log_err("prices: out of memory");
			return;
		}
		cf->prices = nv;
		pr = &cf->prices[cf->nprices];
		memset(pr, 0, sizeof(*pr));
		if ((pr->partition = strdup(p->name)) == NULL) {
			log_err("prices: out of memory");
			return;
		}
		pr->micro = p->micro;
		pr->billing_max = -1;
		pr->source = PRICE_API;
		cf->nprices++;
		added++;
		log_info("prices: partition %s: %s SU/CPU-hour from the API "
		    "(was the default %s)", p->name, money_format_price(p->micro,
		    now), money_format_price(cf->default_price, was));
	}
	if (added || changed || dropped)
		log_info("prices: %zu partition(s) priced by the API now, %zu "
		    "changed, %zu back to the default", added, changed, dropped);
}

/* The next fetch (or look at from_api) in `s` seconds. */
static void
schedule(struct apiprices *a, int s)
{
	struct timeval tv = { s > 0 ? s : 1, 0 };

	if (a->timer != NULL && event_add(a->timer, &tv) != 0)
		log_err("prices: cannot schedule the next refresh");
}

static int
refresh_s(const struct apiprices *a)
{
	const struct bank_conf *cf = &a->bd->conf;

	return cf->prices_from_api ? cf->prices_refresh_s :
	    APIPRICES_OFF_CHECK_S;
}

static void
fetch_done(struct apiprices *a, int ok)
{
	a->busy = 0;
	if (ok) {
		list_clear(&a->tab);
		a->tab = a->acc;
		memset(&a->acc, 0, sizeof(a->acc));
		a->have_tab = 1;
		a->fetched = time(NULL);
		a->error[0] = '\0';
		log_debug("prices: %zu partition(s) listed by the API in %d "
		    "page(s)", a->tab.n, a->pages);
		apply(a);
	} else
		list_clear(&a->acc);
	schedule(a, refresh_s(a));
}

/* `next` as a path under the base URL: "/partitions/?page=2". */
static int
next_path(const struct apiprices *a, const char *next, char *out, size_t len)
{
	const char *base = a->bd->conf.api_url, *q;
	size_t bl = strlen(base);

	if (strncmp(next, base, bl) == 0 && next[bl] == '/')
		return (size_t)snprintf(out, len, "%s", next + bl) < len ? 0 :
		    -1;
	/* Another host name for the same server: keep the query only. */
	if ((q = strchr(next, '?')) == NULL)
		return -1;
	return (size_t)snprintf(out, len, "/partitions/%s", q) < len ? 0 : -1;
}

static void
on_page(const struct api_reply *rep, void *arg)
{
	struct apiprices *a = arg;
	json_t *doc, *results, *it, *next;
	const char *name, *why;
	char why_buf[512];
	int64_t micro;
	size_t i;

	if (rep->status == 404 && strcmp(a->path, "/partitions/") == 0) {
		/* The current myBRC has no such route: say so, once. */
		if (!a->no_route)
			log_warn("prices from the API: the API has no "
			    "/partitions/ (HTTP 404), so prices.from_api cannot "
			    "take prices from it; bank.yaml's prices apply");
		a->no_route = 1;
		snprintf(a->error, sizeof(a->error), "the API has no "
		    "/partitions/ (HTTP 404): bank.yaml's prices apply");
		fetch_done(a, 0);
		return;
	}
	if (rep->status != 200) {
		api_describe(rep, why_buf, sizeof(why_buf));
		set_error(a, "GET /partitions/: %s", why_buf);
		fetch_done(a, 0);
		return;
	}
	a->no_route = 0;
	if ((doc = api_reply_json(rep)) == NULL ||
	    !json_is_array(results = json_object_get(doc, "results"))) {
		set_error(a, "%s", "GET /partitions/: not a page of partitions");
		json_decref(doc);
		fetch_done(a, 0);
		return;
	}
	json_array_foreach(results, i, it) {
		if (answer_partition(it, &name, &micro, &why) != 0) {
			log_warn("prices from the API: a partition ignored: %s",
			    why);
			continue;
		}
		if (list_put(&a->acc, name, micro) != 0) {
			json_decref(doc);
			set_error(a, "%s", "out of memory");
			fetch_done(a, 0);
			return;
		}
	}
	next = json_object_get(doc, "next");
	if (!json_is_string(next)) {
		json_decref(doc);
		fetch_done(a, 1);
		return;
	}
	if (++a->pages > APIPRICES_MAX_PAGES ||
	    next_path(a, json_string_value(next), why_buf, sizeof(why_buf))
	    != 0 || strcmp(why_buf, a->path) == 0) {
		set_error(a, "GET /partitions/: bad next page '%s'",
		    json_string_value(next));
		json_decref(doc);
		fetch_done(a, 0);
		return;
	}
	snprintf(a->path, sizeof(a->path), "%s", why_buf);
	json_decref(doc);
	fetch_page(a);
}

static void
fetch_page(struct apiprices *a)
{
	if (api_request(a->bd->api, "GET", a->path, NULL, on_page, a) != 0) {
		set_error(a, "%s", "cannot start GET /partitions/");
		fetch_done(a, 0);
	}
}

static void
fetch(struct apiprices *a)
{
	if (a->busy)
		return;
	a->busy = 1;
	a->pages = 1;
	list_clear(&a->acc);
	snprintf(a->path, sizeof(a->path), "/partitions/");
	fetch_page(a);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct apiprices *a = arg;

	(void)fd;
	(void)what;
	if (a->bd->conf.prices_from_api) {
		fetch(a);	/* reschedules when done */
		return;
	}
	apply(a);		/* from_api switched off: drop API prices */
	schedule(a, refresh_s(a));
}

/* After main.c's reload (same signal, this runs a moment later). */
static void
on_after_reload(evutil_socket_t fd, short what, void *arg)
{
	struct apiprices *a = arg;

	(void)fd;
	(void)what;
	apply(a);
	if (a->busy)
		return;
	if (a->bd->conf.prices_from_api && (!a->have_tab || time(NULL) -
	    a->fetched >= a->bd->conf.prices_refresh_s)) {
		fetch(a);
		return;
	}
	schedule(a, a->bd->conf.prices_from_api && a->have_tab ?
	    (int)(a->fetched + a->bd->conf.prices_refresh_s - time(NULL)) :
	    refresh_s(a));
}

static void
on_sighup(evutil_socket_t fd, short what, void *arg)
{
	struct apiprices *a = arg;
	struct timeval tv = { 0, 0 };	/* the next loop turn */

	(void)fd;
	(void)what;
	if (a->after_reload != NULL)
		event_add(a->after_reload, &tv);
}

int
apiprices_start(struct bankd *bd)
{
	struct timeval now = { 0, 0 };

	if ((ap = calloc(1, sizeof(*ap))) == NULL) {
		log_err("prices: out of memory");
		return -1;
	}
	ap->bd = bd;
	ap->timer = evtimer_new(bd->base, on_timer, ap);
	ap->after_reload = evtimer_new(bd->base, on_after_reload, ap);
	ap->sighup = evsignal_new(bd->base, SIGHUP, on_sighup, ap);
	if (ap->timer == NULL || ap->after_reload == NULL ||
	    ap->sighup == NULL || evsignal_add(ap->sighup, NULL) != 0) {
		log_err("prices: cannot schedule the API price refresh");
		return -1;
	}
	if (bd->conf.prices_from_api) {
		log_info("prices: CPU prices of partitions bank.yaml does not "
		    "list come from the API's /partitions/, every %d s",
		    bd->conf.prices_refresh_s);
		event_add(ap->timer, &now);
	} else
		schedule(ap, refresh_s(ap));
	return 0;
}

void
apiprices_stop(struct bankd *bd)
{
	(void)bd;
	if (ap == NULL)
		return;
	if (ap->timer != NULL)
		event_free(ap->timer);
	if (ap->after_reload != NULL)
		event_free(ap->after_reload);
	if (ap->sighup != NULL)
		event_free(ap->sighup);
	list_clear(&ap->acc);
	list_clear(&ap->tab);
	free(ap);
	ap = NULL;
}

void
apiprices_state(time_t *fetched, const char **error)
{
	*fetched = ap != NULL ? ap->fetched : 0;
	*error = ap != NULL ? ap->error : NULL;
}
