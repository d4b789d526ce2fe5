/*
 * sim_srv.h: the simulator's server state, shared by the API listener
 * (sim_http.c), the control listener (sim_ctl.c), fault injection
 * (sim_fault.c) and the program's setup (sim_main.c).
 */
#ifndef SIM_SRV_H
#define SIM_SRV_H

#include <stdio.h>
#include <event2/event.h>
#include <event2/http.h>

#include "sim_bank.h"

enum stat_kind {
	ST_CAN_SUBMIT, ST_JOBS_POST, ST_JOBS_PUT, ST_JOBS_GET, ST_PARTITIONS,
	ST_USERS, ST_OTHER, ST_NKINDS
};

struct fault {
	int	active;
	int	latency_ms;
	int	status;		/* 0: none */
	int	garbage;
	int	refuse;
	long	count;		/* matching requests left; -1: no limit */
	char	methods[64];	/* "" or "POST,PUT" */
	char	prefix[256];	/* "" or a path prefix below the base */
	/* With status: the answer's own body, type and Location header. */
	char	body[1024];
	char	ctype[64];
	char	location[256];
};

/* An answer ready to go out, possibly after a delay. */
struct reply {
	int		 status;
	const char	*ctype;
	char		*body;		/* malloc'd */
	char		*location;	/* malloc'd, for 301 */
};

struct srv {
	struct event_base		*base;
	struct evhttp			*api;
	struct evhttp			*ctl;
	struct evhttp_bound_socket	*api_sock;
	char				 api_host[64];
	int				 api_port;
	int				 ctl_port;
	char				 ctl_host[64];
	struct sim_bank			*bank;
	const char			*base_path;
	const char			*state_path;
	FILE				*log;
	struct fault			 fault;
	unsigned long			 stats[ST_NKINDS];
	unsigned long			 saved_gen;
};

extern const char *const stat_names[ST_NKINDS];

void	api_cb(struct evhttp_request *, void *);
void	ctl_cb(struct evhttp_request *, void *);
int	srv_save(struct srv *);
void	srv_log(struct srv *, const char *, const char *, int, double);
double	srv_now(void);

int	fault_set(struct srv *, json_t *, char *, size_t);
void	fault_clear(struct srv *);
json_t	*fault_json(const struct fault *);
int	fault_match(struct srv *, const char *, const char *,
	    struct fault *);
void	reply_send(struct srv *, struct evhttp_request *, struct reply *,
	    int, double);
void	reply_json(struct reply *, int, json_t *);
void	reply_html(struct reply *, int);

#endif /* SIM_SRV_H */
