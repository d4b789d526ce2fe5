/*
 * apiprices.c - the prices in force, and the CPU prices from the API.
 *
 * Every prices.refresh_s, while prices.from_api is true, bankd reads the
 * API's partition list (portal_partitions: every page, each partition's
 * su_per_core_hour parsed exactly).  A list counts only once every page
 * has arrived, so a half-read list never changes a price; a failed fetch
 * keeps the last good prices and is logged.
 *
 * Requests are priced by one table (pricetab.c): bank.yaml's prices and
 * the last list merged, local winning.  It is built again, whole, when a
 * list arrives (the running configuration's prices and the new list) and
 * at each reload (the new configuration's prices and the last list,
 * built by main.c's SIGHUP path before it swaps the configuration and
 * installed right after, in the same turn of the loop), so no request is
 * priced at the default price between a reload and the API's prices.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiprices.h"
#include "conf.h"
#include "log.h"
#include "portal.h"
#include "pricetab.h"

#define APIPRICES_OFF_CHECK_S	60	/* from_api off: look again this often */

struct apiprices {
	struct portal		*portal;
	struct bank_conf	*cf;		/* the running configuration */
	struct pricetab		*tab;		/* in force: cf->prices shows it */
	struct event		*timer;		/* the next refresh */
	int			 busy;		/* a fetch is under way */
	struct pricetab_list	 last;		/* the last complete fetch */
	int			 have_last;
	time_t			 fetched;
	char			 error[256];
};

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

/* The next fetch (or look at from_api) in `s` seconds. */
static void
schedule(struct apiprices *a, int s)
{
	struct timeval tv = { s > 0 ? s : 1, 0 };

	if (event_add(a->timer, &tv) != 0)
		log_err("prices: cannot schedule the next refresh");
}

static int
refresh_s(const struct apiprices *a)
{
	return a->cf->prices_from_api ? a->cf->prices_refresh_s :
	    APIPRICES_OFF_CHECK_S;
}

static void
install(struct apiprices *a, struct pricetab *t)
{
	if (t == NULL) {
		log_err("prices: out of memory; the prices in force stay");
		return;
	}
	pricetab_swap(&a->tab, t, a->cf);
}

static void
on_list(struct portal_parts_reply *r, void *arg)
{
	struct apiprices *a = arg;

	a->busy = 0;
	switch (r->result) {
	case PORTAL_PARTS_OK:
		pricetab_list_clear(&a->last);
		a->last = r->prices;
		memset(&r->prices, 0, sizeof(r->prices));
		a->have_last = 1;
		a->fetched = time(NULL);
		a->error[0] = '\0';
		log_debug("prices: %zu partition(s) listed by the API in %d "
		    "page(s)", a->last.n, r->pages);
		install(a, pricetab_build(a->cf, &a->last));
		break;
	case PORTAL_PARTS_NO_ROUTE:	/* portal.c said so, once */
		snprintf(a->error, sizeof(a->error), "%s", r->why);
		break;
	case PORTAL_PARTS_FAILED:
		set_error(a, "%s", r->why);
		break;
	}
	schedule(a, refresh_s(a));
}

static void
fetch(struct apiprices *a)
{
	if (a->busy)
		return;
	if (portal_partitions(a->portal, on_list, a) != PORTAL_STARTED) {
		set_error(a, "%s", "cannot start GET /partitions/");
		schedule(a, refresh_s(a));
		return;
	}
	a->busy = 1;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct apiprices *a = arg;

	(void)fd;
	(void)what;
	if (a->cf->prices_from_api) {
		fetch(a);	/* reschedules when done */
		return;
	}
	/* from_api is off: the reload that said so dropped API prices. */
	schedule(a, refresh_s(a));
}

struct apiprices *
apiprices_start(struct event_base *base, struct portal *portal,
    struct bank_conf *cf)
{
	struct apiprices *a;
	struct pricetab *t = NULL;
	struct timeval now = { 0, 0 };

	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (t = pricetab_build(cf, NULL)) == NULL) {
		log_err("prices: out of memory");
		free(a);
		return NULL;
	}
	a->portal = portal;
	a->cf = cf;
	pricetab_swap(&a->tab, t, cf);
	if ((a->timer = evtimer_new(base, on_timer, a)) == NULL) {
		log_err("prices: cannot schedule the API price refresh");
		apiprices_stop(a);
		return NULL;
	}
	if (cf->prices_from_api) {
		log_info("prices: CPU prices of partitions bank.yaml does not "
		    "list come from the API's /partitions/, every %d s",
		    cf->prices_refresh_s);
		event_add(a->timer, &now);
	} else
		schedule(a, refresh_s(a));
	return a;
}

void
apiprices_stop(struct apiprices *a)
{
	if (a == NULL)
		return;
	if (a->timer != NULL)
		event_free(a->timer);
	/* A fetch under way: portal_free() drops it unanswered. */
	a->cf->prices = a->cf->local;
	a->cf->nprices = a->cf->nlocal;
	pricetab_free(a->tab);
	pricetab_list_clear(&a->last);
	free(a);
}

struct pricetab *
apiprices_build(struct apiprices *a, const struct bank_conf *newcf)
{
	return pricetab_build(newcf, a->have_last ? &a->last : NULL);
}

void
apiprices_reloaded(struct apiprices *a, struct pricetab *t)
{
	const struct bank_conf *cf = a->cf;

	pricetab_swap(&a->tab, t, a->cf);
	if (a->busy)
		return;		/* the fetch under way reschedules */
	if (cf->prices_from_api && (!a->have_last || time(NULL) - a->fetched >=
	    cf->prices_refresh_s)) {
		fetch(a);
		return;
	}
	schedule(a, cf->prices_from_api ? (int)(a->fetched +
	    cf->prices_refresh_s - time(NULL)) : refresh_s(a));
}

void
apiprices_status(const struct apiprices *a, time_t *fetched,
    const char **error)
{
	*fetched = a != NULL ? a->fetched : 0;
	*error = a != NULL ? a->error : NULL;
}
