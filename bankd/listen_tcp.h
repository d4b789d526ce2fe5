/*
 * listen_tcp.h - bank.yaml's listen_tcp: requests over TCP, each with a
 * MUNGE credential (listen_tcp.c).
 */
#ifndef LISTEN_TCP_H
#define LISTEN_TCP_H

#include "tcpauth.h"

struct bankd;
struct listen_tcp;

/* Nothing when listen_tcp is not set; 0, or -1 logged. */
int		 listen_tcp_start(struct bankd *);
/*
 * Without a socket (listen_tcp_start's first half, and the unit tests'
 * way in): bd->listen_tcp, its credentials decoded by decode(arg) (NULL:
 * munged) in credq.c's threads; NULL logged (then listen_tcp_stop).
 */
struct listen_tcp *listen_tcp_new(struct bankd *, tcpauth_decode_fn,
		    void *arg);
/* fd, a connected stream socket, as accept hands it: 0, or -1 closed. */
int		 listen_tcp_take(struct listen_tcp *, int fd);
/* No new connections; again is harmless. */
void		 listen_tcp_stop(struct bankd *);

#endif /* LISTEN_TCP_H */
