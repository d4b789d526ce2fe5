/*
 * backfill.h - BACKFILL (bankctl backfill): a completed job as sacct
 * shows it, priced as its completion report would be, compared with
 * the portal's record of it (GET /jobs/{id}/), and, unless a dry run,
 * queued as that completion when the portal lacks it or holds another
 * amount.  See docs/delivery.md, "Repairing history after an outage".
 */
#ifndef BACKFILL_H
#define BACKFILL_H

struct bankd;
struct conn;
struct req;

/* Root and the SlurmUser only; a relay refuses it (relay.c). */
void	 backfill_request(struct bankd *, struct conn *, const struct req *);
/*
 * At stop, after api_free (whose abandoned calls never answer): the
 * requests still waiting on the portal are freed, unanswered.
 */
void	 backfill_fini(void);

#endif /* BACKFILL_H */
