/*
 * balance.h - BP_T_BALANCE: what a user has left in an account (bankctl
 * balance), from the API's can_submit_job answers, the cache and the holds.
 */
#ifndef BALANCE_H
#define BALANCE_H

struct balance_memo;
struct bankd;
struct conn;
struct req;

/* The allocations the API named, kept for later balances (bankd.h). */
struct balance_memo *balance_memo_new(void);
void		 balance_memo_free(struct balance_memo *);

/* Anyone, about their own uid (the peer's): never a field. */
void		 balance_request(struct bankd *, struct conn *,
		    const struct req *);

#endif /* BALANCE_H */
