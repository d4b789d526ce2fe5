/*
 * listen.c - the Unix socket the plugins and bankctl talk to.  Each
 * connection buffers bytes until whole frames arrive; a frame that cannot
 * be parsed ends the connection (the stream is no longer trustworthy).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "bankd.h"
#include "log.h"

struct conn {
	struct bankd		*bd;
	struct bufferevent	*bev;		/* NULL once closed */
	uid_t			 uid;
	pid_t			 pid;
	int			 refs;
};

uid_t
conn_uid(const struct conn *c)
{
	return c->uid;
}

int
conn_alive(const struct conn *c)
{
	return c->bev != NULL;
}

void
conn_hold(struct conn *c)
{
	c->refs++;
}

void
conn_release(struct conn *c)
{
	if (--c->refs == 0)
		free(c);
}

static void
conn_close(struct conn *c)
{
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	conn_release(c);
}

void
conn_reply(struct conn *c, struct bp_msg *rep)
{
	uint8_t *frame;
	long len;

	if (c->bev == NULL)
		return;		/* the client gave up; nothing to tell */
	if ((len = bp_encode(rep, &frame)) < 0) {
		log_err("cannot encode %s reply: %s", bp_type_name(rep->type),
		    bp_strerror((int)len));
		return;
	}
	if (bufferevent_write(c->bev, frame, (size_t)len) != 0)
		log_err("cannot queue a reply to pid %ld", (long)c->pid);
	free(frame);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct bp_msg msg;
	size_t len, used;
	uint8_t *p;
	int rc;

	while ((len = evbuffer_get_length(in)) > 0) {
		/* A frame is at most this long; never pull up more. */
		if (len > BP_HDR_LEN + BP_MAX_BODY)
			len = BP_HDR_LEN + BP_MAX_BODY;
		p = evbuffer_pullup(in, (ssize_t)len);
		rc = bp_parse(p, len, &msg, &used);
		if (rc == BP_MORE)
			return;
		if (rc != BP_OK) {
			log_warn("closing connection from uid %ld pid %ld: %s",
			    (long)c->uid, (long)c->pid, bp_strerror(rc));
			conn_close(c);
			return;
		}
		evbuffer_drain(in, used);
		handle_request(c->bd, c, &msg);
		bp_free(&msg);
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_close(c);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct bankd *bd = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct conn *c;

	(void)l;
	(void)sa;
	(void)salen;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_err("accept: out of memory");
		close(fd);
		return;
	}
	/* Who is calling decides what they may do (see handle.c). */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		c->uid = cred.uid;
		c->pid = cred.pid;
	} else
		c->uid = (uid_t)-1;
	c->bd = bd;
	c->refs = 1;
	c->bev = bufferevent_socket_new(bd->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_err("accept: cannot set up the connection");
		close(fd);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ);
}

int
listen_start(struct bankd *bd)
{
	const char *path = bd->conf.socket;
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
	bd->listener = evconnlistener_new(bd->base, on_accept, bd,
	    LEV_OPT_CLOSE_ON_FREE, 512, fd);
	if (bd->listener == NULL) {
		log_err("cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	log_info("listening on %s", path);
	return 0;
}

void
listen_stop(struct bankd *bd)
{
	if (bd->listener == NULL)
		return;
	evconnlistener_free(bd->listener);
	bd->listener = NULL;
	unlink(bd->conf.socket);
}
