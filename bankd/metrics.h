/*
 * metrics.h - the Prometheus endpoint (bank.yaml metrics.listen): GET
 * /metrics on bankd's own event loop (evhttp), off when not configured.
 * docs/metrics.md lists what it shows.
 */
#ifndef METRICS_H
#define METRICS_H

struct bankd;

/* 0 (also when metrics are off), or -1 logged: the address is taken. */
int		 metrics_start(struct bankd *);
void		 metrics_stop(struct bankd *);

#endif /* METRICS_H */
