/*
 * health.h - how the API is doing, as far as bankd can tell: what the
 * last exchange with it said (any exchange: a check, a delivery, the
 * probe), and a probe that asks while nothing else does, so that
 * `bankctl status` stays true and the end of an outage is noticed.
 */
#ifndef HEALTH_H
#define HEALTH_H

#include <time.h>

struct bankd;

enum health_state {
	HEALTH_UNKNOWN,		/* nothing heard yet */
	HEALTH_REACHABLE,	/* it answered (maybe not to our liking) */
	HEALTH_UNREACHABLE,
};

struct health_view {
	enum health_state	 state;
	time_t			 when;		/* of the last note; 0 never */
	const char		*error;		/* "" when it went well */
};

int		 health_init(struct bankd *);
void		 health_fini(struct bankd *);

/*
 * The last exchange with the API: ok (it answered), with what went wrong
 * if anything (an answer that refuses our token is ok and an error).
 */
void		 api_note(struct bankd *, int ok, const char *error);
void		 health_view(const struct bankd *, struct health_view *);
const char	*health_state_name(enum health_state);

/*
 * Start probing: at once, then every 30 s, every 2 s while the API does
 * not answer.  answered(arg) runs whenever the probe is answered well
 * (the queue then sends what waited for the API).
 */
void		 health_probe(struct bankd *, void (*answered)(void *),
		    void *arg);

#endif /* HEALTH_H */
