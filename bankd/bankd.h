/*
 * bankd.h - the daemon's shared state and the interfaces between its parts:
 *
 *	listen.c	accepts plugin connections, frames in, frames out
 *	handle.c	one handler per request type: check, estimate,
 *			start, end, status
 *	report.c	turns start/end reports into the API's Job bodies
 *	deliver.c	the delivery queue: order per job, retries
 *	api.c		the myBRC client (libcurl multi on libevent)
 *	price.c		what a job costs; conf.c, bank.yaml
 */
#ifndef BANKD_H
#define BANKD_H

#include <sys/types.h>
#include <time.h>

#include <event2/event.h>

#include "bankproto.h"
#include "conf.h"

struct api;
struct deliver;
struct conn;

struct bankd {
	struct event_base	*base;
	struct bank_conf	 conf;
	struct api		*api;
	struct deliver		*dq;
	struct evconnlistener	*listener;
	time_t			 started;
	uid_t			 slurm_uid;	/* may send reports, with root */
	/* What the last API exchange told us, for `bankctl status`. */
	int			 api_ok;
	time_t			 api_when;
	char			 api_error[256];
	struct event		*probe;
};

/* listen.c */
int	 listen_start(struct bankd *);
void	 listen_stop(struct bankd *);
void	 conn_reply(struct conn *, struct bp_msg *);
uid_t	 conn_uid(const struct conn *);
void	 conn_hold(struct conn *);
void	 conn_release(struct conn *);
int	 conn_alive(const struct conn *);

/* handle.c */
void	 handle_request(struct bankd *, struct conn *, struct bp_msg *);
void	 api_note(struct bankd *, int ok, const char *error);
void	 probe_start(struct bankd *);

#endif /* BANKD_H */
