/*
 * ledger.h - what a delivered report changes in what bankd knows: the
 * job's hold ends (the API counts the job itself now), and the API's
 * usage of the account moved by what the report added, which shifts what
 * the cache knows of its limits.
 */
#ifndef LEDGER_H
#define LEDGER_H

#include <stdint.h>

struct bankd;
struct ledger;
struct report;

struct ledger	*ledger_new(void);
void		 ledger_free(struct ledger *);

/* r reached the API (delivered, or a duplicate of one that did). */
void		 ledger_delivered(struct bankd *, const struct report *r);

/* What a report keeps at its first send: the cache's tick (cache.h). */
uint64_t	 ledger_tick(struct bankd *);

#endif /* LEDGER_H */
