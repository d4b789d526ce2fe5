/*
 * relay_fwd.h - a relay's forwarder: its queue's reports, in order, to
 * the first upstream controller that answers, over one TCP connection,
 * pipelined, each frame with its own fresh credential.  A report leaves
 * the queue only when the upstream answers ok or dup (it has journaled
 * it); error makes it a dead letter; anything else sends it again later,
 * with backoff, on the next upstream in order.
 */
#ifndef RELAY_FWD_H
#define RELAY_FWD_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "relaycred.h"

struct relayq;
struct relay_fwd;

struct relay_fwd_settings {
	char *const	*up;		/* ADDRESS:PORT, in order */
	size_t		 nup;
	int		 timeout_ms;	/* connect; a frame's answer */
	int		 window;	/* frames unanswered at most */
	int		 retry_max_ms;	/* backoff cap */
	relaycred_fn	 cred;
	void		*cred_arg;
};

struct relay_fwd *relay_fwd_new(struct event_base *, struct relayq *,
		    const struct relay_fwd_settings *, char *err,
		    size_t errlen);
/* The queue has reports to send (durable now, retried). */
void		 relay_fwd_kick(struct relay_fwd *);
/* The thread stopped and joined; what is in flight stays queued. */
void		 relay_fwd_free(struct relay_fwd *);

struct relay_fwd_view {
	const char	*upstream;	/* the one answering, or "none" */
	int		 ok;		/* it answered the last exchange */
	uint64_t	 forwarded;	/* acknowledged upstream since start */
	uint64_t	 attempts;	/* connections tried that failed */
	const char	*error;		/* the last failure, "" if none */
};
void		 relay_fwd_view(const struct relay_fwd *,
		    struct relay_fwd_view *);

#endif /* RELAY_FWD_H */
