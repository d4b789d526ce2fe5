/*
 * estimate.h - what a job would cost, and the prices it is reckoned at:
 * bankctl's estimate and prices, answered from bank.yaml and the API's
 * prices without asking the API anything.
 */
#ifndef ESTIMATE_H
#define ESTIMATE_H

struct bankd;
struct conn;
struct req;

/* BP_T_ESTIMATE: the estimate and its breakdown (docs/pricing.md). */
void		 estimate_request(struct bankd *, struct conn *,
		    const struct req *);
/* BP_T_PRICES: the effective price table, a page at a time. */
void		 estimate_prices(struct bankd *, struct conn *,
		    const struct req *);

#endif /* ESTIMATE_H */
