/*
 * monotime.h - the monotonic clock, for deadlines, pacing and latency:
 * never the wall clock, which an admin or NTP may set back.
 */
#ifndef MONOTIME_H
#define MONOTIME_H

#include <stdint.h>

int64_t	monotime_ms(void);
int64_t	monotime_us(void);

#endif /* MONOTIME_H */
