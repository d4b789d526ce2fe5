/*
 * listen.c - the Unix socket the plugins and bankctl talk to: the socket
 * file, accept(2), and who the caller is (SO_PEERCRED, which the kernel
 * vouches for).  What follows an accepted descriptor is the connection's
 * (conn.c), the same for any listener.
 *
 * When accept(2) runs out of descriptors, the listener rests for a moment
 * instead of spinning, and says so once (docs/reliability.md).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "bankd.h"
#include "bankproto.h"
#include "conn.h"
#include "counters.h"
#include "listen.h"
#include "listen_tcp.h"
#include "log.h"
#include "peer.h"
#include "rate.h"

/* After EMFILE, not accepting: 10 ms, doubling while it lasts, to 500. */
#define REST_MIN_MS	10
#define REST_MAX_MS	500

struct listen {
	struct bankd		*bd;
	struct evconnlistener	*lev;
	struct event		*rest_ev;	/* resting after EMFILE */
	int			 rest_ms;
	struct rate		 rate_emfile;
	struct rate		 rate_relay;	/* peer_uid refused */
};

/* Who is calling decides what they may do (peer.h). */
static void
peer_of(int fd, struct peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	memset(p, 0, sizeof(*p));
	p->how = PEER_UNIX_CRED;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		p->uid = (uid_t)-1;
		p->gid = (gid_t)-1;
		return;
	}
	p->uid = cred.uid;
	p->gid = cred.gid;
	p->pid = cred.pid;
}

/*
 * Every frame: the relay rule (peer.h).  Root or slurm_user may speak for
 * another uid with peer_uid/peer_gid (a tool of theirs relaying its
 * client); the connection is then that uid's.  Anyone else is refused.
 */
static int
on_frame(void *arg, struct conn *c, struct bp_msg *m)
{
	struct listen *ls = arg;
	struct peer p = *conn_peer(c);
	unsigned long held;
	char msg[256];

	if (peer_take_relayed(m, &p, ls->bd->slurm_uid, msg, sizeof(msg)) ==
	    0 && conn_set_peer(c, &p, msg, sizeof(msg)) == 0)
		return CONN_GATE_PASS;
	counters_add(&ls->bd->counters, CNT_REFUSED, 1);
	if (rate_due(&ls->rate_relay, &held))
		log_warn("refused a %s request from uid %ld pid %ld: %s (%lu "
		    "more such since the last line)", bp_type_name(m->type),
		    (long)conn_peer(c)->uid, (long)conn_peer(c)->pid, msg, held);
	conn_reply_status(c, m->type, m->id, "error", msg);
	return CONN_GATE_DROP;
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listen *ls = arg;
	struct conn_gate gate = { on_frame, NULL, ls };
	struct peer p;

	(void)l;
	(void)sa;
	(void)salen;
	ls->rest_ms = REST_MIN_MS;	/* descriptors again */
	peer_of(fd, &p);
	conn_open_gated(ls->bd, fd, &p, &gate);
}

static void
on_rested(evutil_socket_t fd, short what, void *arg)
{
	struct listen *ls = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(ls->lev);
}

/*
 * accept(2) failed for want of descriptors (or memory): retrying at once
 * would spin, the socket staying readable, and libevent would log every
 * failure.  Rest a moment, longer while it lasts, so that connections
 * closing free descriptors for the ones waiting; say so once per
 * RATE_EVERY_S.
 */
static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	struct listen *ls = arg;
	struct timeval tv = { 0, ls->rest_ms * 1000 };
	unsigned long held;
	int err = errno;

	evconnlistener_disable(l);
	if (ls->rest_ev == NULL || event_add(ls->rest_ev, &tv) != 0)
		evconnlistener_enable(l);
	if (rate_due(&ls->rate_emfile, &held))
		log_err("accept: %s with %zu connections open: not accepting "
		    "for %d ms, longer while it lasts (%lu more such pauses "
		    "since the last line); see LimitNOFILE and "
		    "limits.connections", strerror(err),
		    (size_t)counters_get(&ls->bd->counters, CNT_CLIENTS),
		    ls->rest_ms, held);
	if ((ls->rest_ms *= 2) > REST_MAX_MS)
		ls->rest_ms = REST_MAX_MS;
}

/* The socket file, bound and open to every local user; -1 if not. */
static int
socket_at(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_err("socket path %s is too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_err("socket: %s", strerror(errno));
		return -1;
	}
	/* A socket file left by a previous bankd would make bind fail. */
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("cannot remove old socket %s: %s", path,
		    strerror(errno));
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0666) == -1) {
		log_err("cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
listen_start(struct bankd *bd)
{
	const char *path = bd->conf.socket;
	struct listen *ls;
	int fd;

	if ((ls = calloc(1, sizeof(*ls))) == NULL)
		return -1;
	ls->bd = bd;
	ls->rest_ms = REST_MIN_MS;
	bd->listen = ls;
	if ((fd = socket_at(path)) == -1)
		return -1;
	ls->lev = evconnlistener_new(bd->base, on_accept, ls,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 512, fd);
	if (ls->lev == NULL) {
		log_err("cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(ls->lev, on_accept_error);
	if ((ls->rest_ev = evtimer_new(bd->base, on_rested, ls)) == NULL) {
		log_err("cannot schedule the listener's rest");
		return -1;
	}
	log_info("listening on %s", path);
	return listen_tcp_start(bd);
}

void
listen_stop(struct bankd *bd)
{
	struct listen *ls = bd->listen;

	listen_tcp_stop(bd);
	if (ls == NULL)
		return;
	if (ls->rest_ev != NULL)
		event_free(ls->rest_ev);
	if (ls->lev != NULL) {
		evconnlistener_free(ls->lev);
		unlink(bd->conf.socket);
	}
	free(ls);
	bd->listen = NULL;
}
