/*
 * accept.h - a start or completion report taken in, from the socket or
 * from the spool: checked and priced (report.c), bound to its hold, and
 * handed to the queue, which answers once the report is durable.
 */
#ifndef ACCEPT_H
#define ACCEPT_H

struct bankd;
struct conn;
struct req;
struct req_report;

enum accept_result {
	ACCEPT_OK,		/* journaled (or nothing to charge) */
	ACCEPT_DUP,		/* durable already, or superseded: drop it */
	ACCEPT_LATER,		/* not stored: the sender keeps it */
	ACCEPT_ERROR,		/* the report is wrong: sending again won't help */
};

/*
 * How it went: message NULL or why, amount the report's SU ("12.50")
 * when it was priced, else NULL.  Called once, maybe before
 * accept_report returns.
 */
typedef void	 (*accept_fn)(void *arg, enum accept_result,
		    const char *message, const char *amount);

void		 accept_report(struct bankd *, const struct req_report *,
		    accept_fn, void *arg);
/*
 * The same for a completion the portal lacks or holds at another amount
 * (backfill.c): queued even if the same completion was delivered, so
 * that its PUT sets the portal right; one still queued is a dup.
 */
void		 accept_repair(struct bankd *, const struct req_report *,
		    accept_fn, void *arg);

/*
 * Where accept_report() hands a report instead of pricing and queueing
 * it (bd->report_sink): a relay's queue (relay.c), which knows no
 * price.  NULL on a controller.
 */
typedef void	 (*accept_sink_fn)(struct bankd *, const struct req_report *,
		    accept_fn, void *arg);
/* The wire's word: ok, dup, later, error. */
const char	*accept_result_name(enum accept_result);

/* BP_T_START, BP_T_END from a connection: root's and slurm_user's. */
void		 accept_request(struct bankd *, struct conn *,
		    const struct req *);

#endif /* ACCEPT_H */
