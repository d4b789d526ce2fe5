/*
 * apiprices.h - CPU prices from the API's /partitions/ (su_per_core_hour),
 * refreshed every prices.refresh_s while prices.from_api is true.  Local
 * prices (bank.yaml) win; API prices fill the partitions bank.yaml does
 * not list and are marked PRICE_API in the running configuration.
 */
#ifndef APIPRICES_H
#define APIPRICES_H

#include <time.h>

struct bankd;

/* Schedule the first fetch at once; 0, or -1 (logged). */
int	 apiprices_start(struct bankd *);
void	 apiprices_stop(struct bankd *);

/*
 * When the last complete fetch succeeded (0: never) and the last error
 * ("" or NULL: none), for `bankctl prices`.
 */
void	 apiprices_state(time_t *fetched, const char **error);

#endif /* APIPRICES_H */
