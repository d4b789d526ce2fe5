/*
 * listen.c - the Unix socket the plugins and bankctl talk to.
 *
 * A connection is a read event, an input buffer that collects whole
 * frames, and an output buffer used only when the socket is full.  A reply
 * is written at once with send(2): a decision then costs bankd three
 * system calls (epoll_wait, read, send) instead of the seven a bufferevent
 * spent (docs/performance.md).  A frame that cannot be parsed ends the
 * connection, since the byte stream can no longer be trusted.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "bankd.h"
#include "log.h"

#define IN_CHUNK	4096
#define IN_MAX		(BP_HDR_LEN + BP_MAX_BODY)
/* A client that sends without reading is not read until it catches up. */
#define OUT_HIGH	(256 * 1024)

struct conn {
	TAILQ_ENTRY(conn)	 link;		/* while open */
	struct bankd		*bd;
	int			 fd;		/* -1 once closed */
	struct event		*rev;
	struct event		*wev;		/* armed while `out` has bytes */
	uint8_t			*in;
	size_t			 in_len;
	size_t			 in_cap;
	struct evbuffer		*out;
	int			 stalled;	/* rev off: `out` too full */
	uid_t			 uid;
	pid_t			 pid;
	int			 refs;
};

/* Open connections, closed at exit (job_submit's stays open for good). */
static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);

uid_t
conn_uid(const struct conn *c)
{
	return c->uid;
}

int
conn_alive(const struct conn *c)
{
	return c->fd != -1;
}

void
conn_hold(struct conn *c)
{
	c->refs++;
}

void
conn_release(struct conn *c)
{
	if (--c->refs > 0)
		return;
	free(c->in);
	if (c->out != NULL)
		evbuffer_free(c->out);
	free(c);
}

static void
conn_close(struct conn *c)
{
	if (c->fd == -1)
		return;
	event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	c->rev = c->wev = NULL;
	close(c->fd);
	c->fd = -1;
	TAILQ_REMOVE(&conns, c, link);
	c->bd->clients--;
	conn_release(c);
}

static void
on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)what;
	if (evbuffer_write(c->out, fd) == -1 && errno != EAGAIN &&
	    errno != EINTR) {
		conn_close(c);		/* the client went away */
		return;
	}
	if (c->stalled && evbuffer_get_length(c->out) < OUT_HIGH / 2) {
		c->stalled = 0;
		if (event_add(c->rev, NULL) != 0) {
			conn_close(c);
			return;
		}
	}
	if (evbuffer_get_length(c->out) == 0)
		event_del(c->wev);
}

/* What send() could not take waits in `out` for the socket to drain. */
static int
queue_rest(struct conn *c, const uint8_t *p, size_t len)
{
	if (c->out == NULL && (c->out = evbuffer_new()) == NULL)
		return -1;
	if (c->wev == NULL && (c->wev = event_new(c->bd->base, c->fd,
	    EV_WRITE | EV_PERSIST, on_writable, c)) == NULL)
		return -1;
	if (evbuffer_add(c->out, p, len) != 0 || event_add(c->wev, NULL) != 0)
		return -1;
	return 0;
}

void
conn_reply(struct conn *c, struct bp_msg *rep)
{
	uint8_t *frame;
	ssize_t n = 0;
	long len;

	if (c->fd == -1)
		return;		/* the client gave up; nothing to tell */
	if ((len = bp_encode(rep, &frame)) < 0) {
		log_err("cannot encode %s reply: %s", bp_type_name(rep->type),
		    bp_strerror((int)len));
		return;
	}
	/* Replies stay in order: nothing jumps bytes already waiting. */
	if (c->out == NULL || evbuffer_get_length(c->out) == 0) {
		n = send(c->fd, frame, (size_t)len, MSG_NOSIGNAL |
		    MSG_DONTWAIT);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			free(frame);
			conn_close(c);	/* the client went away */
			return;
		}
		if (n == -1)
			n = 0;
	}
	if (n < len && queue_rest(c, frame + n, (size_t)(len - n)) != 0) {
		log_err("cannot queue a reply to pid %ld", (long)c->pid);
		conn_close(c);
	} else if (n < len && !c->stalled &&
	    evbuffer_get_length(c->out) > OUT_HIGH) {
		c->stalled = 1;
		event_del(c->rev);
		log_debug("pid %ld has %zu bytes of replies unread; not reading "
		    "its requests until it catches up", (long)c->pid,
		    evbuffer_get_length(c->out));
	}
	free(frame);
}

/* Handle every whole frame in the input buffer; 0, or -1 to close. */
static int
take_frames(struct conn *c)
{
	struct bp_msg msg;
	size_t off = 0, used;
	int rc;

	while (c->fd != -1 && off < c->in_len) {
		rc = bp_parse(c->in + off, c->in_len - off, &msg, &used);
		if (rc == BP_MORE)
			break;
		if (rc != BP_OK) {
			log_warn("closing connection from uid %ld pid %ld: %s",
			    (long)c->uid, (long)c->pid, bp_strerror(rc));
			return -1;
		}
		off += used;
		handle_request(c->bd, c, &msg);
		bp_free(&msg);
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	return 0;
}

/* Room for IN_CHUNK more bytes, but never beyond one whole frame. */
static int
in_reserve(struct conn *c)
{
	size_t want = c->in_len + IN_CHUNK;
	uint8_t *nb;

	if (want > IN_MAX)
		want = IN_MAX;
	if (want <= c->in_cap)
		return 0;
	if ((nb = realloc(c->in, want)) == NULL)
		return -1;
	c->in = nb;
	c->in_cap = want;
	return 0;
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	ssize_t n;

	(void)what;
	if (in_reserve(c) != 0) {
		log_err("connection from pid %ld: out of memory", (long)c->pid);
		conn_close(c);
		return;
	}
	n = read(fd, c->in + c->in_len, c->in_cap - c->in_len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);		/* EOF or a reset */
		return;
	}
	c->in_len += (size_t)n;
	conn_hold(c);			/* a handler may close it */
	if (take_frames(c) != 0)
		conn_close(c);
	conn_release(c);
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
	c->fd = fd;
	c->rev = event_new(bd->base, fd, EV_READ | EV_PERSIST, on_readable, c);
	if (c->rev == NULL || event_add(c->rev, NULL) != 0) {
		log_err("accept: cannot set up the connection");
		if (c->rev != NULL)
			event_free(c->rev);
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&conns, c, link);
	bd->clients++;
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
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 512, fd);
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

void
listen_close_clients(struct bankd *bd)
{
	(void)bd;
	while (!TAILQ_EMPTY(&conns))
		conn_close(TAILQ_FIRST(&conns));
}
