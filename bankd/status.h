/*
 * status.h - how bankd, the API and the queue are doing (`bankctl
 * status`), read from each part: the queue's stats, the API's health,
 * the edge's counters, holds and the cache.
 */
#ifndef STATUS_H
#define STATUS_H

struct bankd;
struct conn;
struct req;

void		 status_request(struct bankd *, struct conn *,
		    const struct req *);

#endif /* STATUS_H */
