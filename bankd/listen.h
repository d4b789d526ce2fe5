/*
 * listen.h - the Unix socket the plugins and bankctl connect to.
 */
#ifndef LISTEN_H
#define LISTEN_H

struct bankd;

/* Listen on bank.yaml's socket; connections go to conn.c (conn_init). */
int		 listen_start(struct bankd *);
/* No new connections (the socket file is removed); again is harmless. */
void		 listen_stop(struct bankd *);

#endif /* LISTEN_H */
