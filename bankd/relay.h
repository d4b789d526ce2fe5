/*
 * relay.h - bankd in role relay (bank.yaml role: relay): a compute or
 * login node's bankd.  It serves the same Unix socket (and takes in the
 * same spool) as a controller, so that the plugins and bankctl do not
 * change; it journals reports and forwards them to its upstream
 * controllers (relayq.c, relay_fwd.c) and asks them its queries
 * (relay_ask.c).  It starts no API client, prices, holds, cache nor
 * reconciliation: those are the controller's.  docs/delivery.md, Relays.
 */
#ifndef RELAY_H
#define RELAY_H

#include "accept.h"

struct bankd;
struct bp_msg;
struct conn;
struct req_report;

/* After conf_load, slurm_uid and started set: 0, or -1 (logged). */
int		 relay_start(struct bankd *);
/* Everything relay_start made, closed and freed (and the conf). */
void		 relay_stop(struct bankd *);
/* SIGHUP: a relay's settings change only at restart; said so. */
void		 relay_reload(struct bankd *);

/* What a relay's status shows: its queue and where it forwards. */
struct relayq_stats;
struct relay_fwd_view;
void		 relay_view(struct bankd *, struct relayq_stats *,
		    struct relay_fwd_view *);

/* A conn_frame_fn for a relay's connections; arg is the struct bankd. */
void		 relay_dispatch(void *arg, struct conn *, struct bp_msg *);

/* accept_report() on a relay: journaled, answered once durable. */
void		 relay_accept(struct bankd *, const struct req_report *,
		    accept_fn, void *arg);

#endif /* RELAY_H */
