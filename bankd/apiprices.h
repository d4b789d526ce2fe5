/*
 * apiprices.h - the prices in force in bankd, and the API's part of them:
 * CPU prices from the API's /partitions/ (su_per_core_hour), read every
 * prices.refresh_s while prices.from_api is true.  bank.yaml's prices win;
 * the API's fill the partitions bank.yaml does not list (PRICE_API).
 * The configuration is never written to: both are merged into a price
 * table (pricetab.h) that cf->prices shows.
 */
#ifndef APIPRICES_H
#define APIPRICES_H

#include <time.h>

#include <event2/event.h>

struct apiprices;
struct bank_conf;
struct portal;
struct pricetab;

/*
 * Price by cf's own prices at once, and read the API's (the first fetch
 * at once when prices.from_api is true).  cf is the running
 * configuration, kept at the same address across reloads.  NULL: logged.
 */
struct apiprices *apiprices_start(struct event_base *, struct portal *,
		    struct bank_conf *cf);
/* cf->prices shows bank.yaml's own again; a fetch under way is dropped. */
void		 apiprices_stop(struct apiprices *);

/*
 * A reload, in two steps with the configuration's swap between them, all
 * in one turn of the loop (main.c): the table for the new configuration
 * (its own prices and the last the API listed; NULL: out of memory, the
 * reload is refused), then, once the running configuration is the new
 * one, that table installed, and the refresh set to the new from_api
 * and refresh_s (a fetch at once if the last one is too old).
 */
struct pricetab	*apiprices_build(struct apiprices *,
		    const struct bank_conf *newcf);
void		 apiprices_reloaded(struct apiprices *, struct pricetab *);

/*
 * When the last complete fetch succeeded (0: never) and the last error
 * ("" or NULL: none), for `bankctl prices`.
 */
void		 apiprices_status(const struct apiprices *, time_t *fetched,
		    const char **error);

#endif /* APIPRICES_H */
