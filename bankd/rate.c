/*
 * rate.c - once a RATE_EVERY_S (rate.h).
 */
#include "rate.h"

int
rate_due(struct rate *r, unsigned long *held)
{
	time_t now = time(NULL);

	if (r->last != 0 && now - r->last < RATE_EVERY_S) {
		r->held++;
		return 0;
	}
	*held = r->held;
	r->held = 0;
	r->last = now;
	return 1;
}
