/*
 * rate.h - a warning that could repeat at the rate of accept(2) (a user
 * over their share, descriptors gone) logged once a RATE_EVERY_S with how
 * many were held back, so the log stays readable and the loop fast.
 */
#ifndef RATE_H
#define RATE_H

#include <time.h>

#define RATE_EVERY_S	10

struct rate {
	time_t		 last;
	unsigned long	 held;		/* not logged since */
};

/* 1 when due, with *held the ones not logged since; 0 to stay quiet. */
int	 rate_due(struct rate *, unsigned long *held);

#endif /* RATE_H */
