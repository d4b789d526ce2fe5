/*
 * relay_ask.h - a relay's queries (CHECK, ESTIMATE, PRICES, BALANCE,
 * HOLDS) asked of its upstream controllers: each on a new TCP connection
 * with a fresh credential, by a small pool of threads, within
 * relay.timeout_ms in all, the upstreams tried in order (the last that
 * answered first).  The upstream's reply comes back field for field.
 */
#ifndef RELAY_ASK_H
#define RELAY_ASK_H

#include <stddef.h>

#include <event2/event.h>

#include "bankproto.h"
#include "relaycred.h"

/* Queries waiting for a thread at most; past it, "unavailable". */
#define RELAY_ASK_MAX		64
#define RELAY_ASK_THREADS	2

struct relay_ask;

/*
 * The reply to send (type and id of the local request), or NULL when the
 * relay is closing and nothing is to be sent; the callee frees nothing.
 */
typedef void	 (*relay_ask_fn)(void *arg, struct bp_msg *rep);

struct relay_ask *relay_ask_new(struct event_base *, char *const *up,
		    size_t nup, int timeout_ms, relaycred_fn, void *cred_arg,
		    char *err, size_t errlen);
/* Threads joined; what still waits is answered fn(arg, NULL). */
void		 relay_ask_free(struct relay_ask *);

/*
 * q asked upstream; fn called once, on the loop, with the reply: the
 * upstream's, or status=unavailable with why.  q is copied.
 */
void		 relay_ask(struct relay_ask *, const struct bp_msg *q,
		    relay_ask_fn, void *arg);

#endif /* RELAY_ASK_H */
