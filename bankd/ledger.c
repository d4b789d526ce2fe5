/*
 * ledger.c - what a delivery changes (ledger.h).
 *
 * A completion after a delivered start adds only the difference (the
 * server applies new - stored), so the amount a start charged is kept
 * per job until its completion is delivered.
 */
#include <stdint.h>
#include <stdlib.h>

#include "bankd.h"
#include "cache.h"
#include "holds.h"
#include "idmap.h"
#include "ledger.h"
#include "report.h"

struct ledger {
	struct idmap	 charged;	/* job -> cents delivered at start */
};

struct ledger *
ledger_new(void)
{
	struct ledger *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if (idmap_init(&l->charged) != 0) {
		free(l);
		return NULL;
	}
	return l;
}

void
ledger_free(struct ledger *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->charged.cap; i++)
		free(l->charged.slots[i].val);
	idmap_free(&l->charged);
	free(l);
}

/*
 * What r adds to the API's usage: a completion, less its start's, or
 * less what the job's earlier runs left charged (report.h's held).
 */
static int64_t
added(struct ledger *l, const struct report *r)
{
	int64_t *prev = idmap_get(&l->charged, r->job_id), delta = r->cents;

	if (r->kind == REPORT_START) {
		if (prev == NULL && (prev = malloc(sizeof(*prev))) != NULL &&
		    idmap_put(&l->charged, r->job_id, prev) != 0) {
			free(prev);
			prev = NULL;
		}
		if (prev != NULL)
			*prev = r->cents;
	} else if (prev != NULL) {
		delta = r->cents - *prev;
		free(idmap_del(&l->charged, r->job_id));
	} else
		delta = r->cents - r->held;
	return delta;
}

uint64_t
ledger_tick(struct bankd *bd)
{
	return bd->cache != NULL ? cache_tick(bd->cache) : 0;
}

void
ledger_delivered(struct bankd *bd, const struct report *r)
{
	int64_t delta;

	if (bd->holds != NULL)
		hold_delivered(bd->holds, r->hold, r->job_id);
	delta = added(bd->ledger, r);
	if (bd->cache != NULL)
		cache_charged(bd->cache, r->account, r->uid, delta,
		    r->sent_tick);
}
