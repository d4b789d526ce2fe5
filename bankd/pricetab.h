/*
 * pricetab.h - the prices bankd charges by: bank.yaml's own (a loaded
 * configuration's `local`) merged with the CPU prices the API's
 * /partitions/ listed, bank.yaml winning.
 *
 * The configuration is what bank.yaml says and is never written to; the
 * API's prices live here.  A table is built whole from one configuration
 * and one API list, then takes the place of the running one in one step
 * (pricetab_swap), so a request is never priced by a half-made table,
 * nor at the default price between a reload and the API's prices.
 */
#ifndef PRICETAB_H
#define PRICETAB_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/* One CPU price the API listed: micro-SU per CPU-hour. */
struct pricetab_api {
	char		*name;
	int64_t		 micro;
};

/* The API's list, in its order; a name listed twice keeps the last. */
struct pricetab_list {
	struct pricetab_api *v;
	size_t		 n, cap;
};

int		 pricetab_list_put(struct pricetab_list *, const char *name,
		    int64_t micro);
const struct pricetab_api *pricetab_list_get(const struct pricetab_list *,
		    const char *name);
void		 pricetab_list_clear(struct pricetab_list *);

struct pricetab;

/*
 * The table for cf: a copy of each of cf->local, in bank.yaml's
 * order, then, when cf->prices_from_api, the API's price of each
 * partition cf does not list (PRICE_API: a CPU price, no GPU or memory
 * price).  api may be NULL (nothing fetched yet).  NULL: out of memory.
 */
struct pricetab	*pricetab_build(const struct bank_conf *cf,
		    const struct pricetab_list *api);
void		 pricetab_free(struct pricetab *);

/* Partitions the API prices in it. */
size_t		 pricetab_from_api(const struct pricetab *);

/*
 * Make t the prices cf charges by (cf->prices and cf->nprices show it)
 * in place of *cur, which is freed, and log what the API's part changed.
 * It cannot fail: a reload builds first and swaps last.
 */
void		 pricetab_swap(struct pricetab **cur, struct pricetab *t,
		    struct bank_conf *cf);

#endif /* PRICETAB_H */
