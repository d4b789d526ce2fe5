/*
 * listen_tcp.h - bank.yaml's listen_tcp: requests over TCP, each with a
 * MUNGE credential (listen_tcp.c).
 */
#ifndef LISTEN_TCP_H
#define LISTEN_TCP_H

struct bankd;

/* Nothing when listen_tcp is not set; 0, or -1 logged. */
int		 listen_tcp_start(struct bankd *);
/* No new connections; again is harmless. */
void		 listen_tcp_stop(struct bankd *);

#endif /* LISTEN_TCP_H */
