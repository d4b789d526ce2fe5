/*
 * listen.c - the Unix socket the plugins and bankctl talk to.
 *
 * A connection is a read event, an input buffer that collects whole
 * frames, and an output buffer used only when the socket is full.  A reply
 * is written at once with send(2): a decision then costs bankd three
 * system calls (epoll_wait, read, send) instead of the seven a bufferevent
 * spent (docs/performance.md).  A frame that cannot be parsed ends the
 * connection, since the byte stream can no longer be trusted.
 *
 * The socket is open to every local user, so what one user may take is
 * bounded (limits: in bank.yaml, docs/reliability.md).  A "user" here is
 * any uid but root and slurm_user, whose connections (the plugins') are
 * never capped or timed out.  A user has at most user_connections open;
 * one idle for user_idle_s is closed; while user_checks of the user's
 * checks wait on the API, the user's connections are not read (their
 * requests wait in the kernel, nothing grows here).  Connections in all
 * stay below max_connections and the descriptor limit, with room kept
 * for root and slurm_user.  When accept(2) still runs out of descriptors,
 * the listener rests for a moment instead of spinning, and says so once.
 */
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "bankd.h"
#include "idmap.h"
#include "log.h"

#define IN_CHUNK	4096
#define IN_MAX		(BP_HDR_LEN + BP_MAX_BODY)
/* A client that sends without reading is not read until it catches up. */
#define OUT_HIGH	(256 * 1024)
/* Descriptors kept for the journal, the API, the spool, and for root. */
#define FD_RESERVE	64
#define PRIV_RESERVE	64
/* After EMFILE, not accepting: 10 ms, doubling while it lasts, to 500. */
#define REST_MIN_MS	10
#define REST_MAX_MS	500
#define LOG_EVERY_S	10		/* a refusal is logged this often */
#define SWEEP_S		1		/* idle connections are looked at */
#define PEER_FORGET_S	60		/* a user's idle record is dropped */

/* A uid other than root and slurm_user: what it holds of bankd. */
struct peer {
	uid_t			 uid;
	int			 conns;
	int			 checks;	/* waiting on the API */
	TAILQ_HEAD(, conn)	 blocked;	/* not read: checks at the cap */
	int64_t			 tokens;	/* API checks, x 1000 */
	int64_t			 refilled_ms;
	time_t			 last;		/* last activity */
};

struct conn {
	TAILQ_ENTRY(conn)	 link;		/* while open */
	TAILQ_ENTRY(conn)	 idle_link;	/* users': oldest first */
	TAILQ_ENTRY(conn)	 block_link;	/* on peer->blocked */
	struct bankd		*bd;
	struct peer		*peer;		/* NULL: root or slurm_user */
	int			 fd;		/* -1 once closed */
	struct event		*rev;
	struct event		*wev;		/* armed while `out` has bytes */
	uint8_t			*in;
	size_t			 in_len;
	size_t			 in_cap;
	struct evbuffer		*out;
	int			 stalled;	/* not read: `out` too full */
	int			 blocked;	/* not read: checks at the cap */
	int			 waiting;	/* its requests being answered */
	time_t			 active;	/* last request */
	uid_t			 uid;
	pid_t			 pid;
	int			 refs;
};

/* Rate-limited warnings: one line per LOG_EVERY_S, with a count. */
struct rate {
	time_t		 last;
	unsigned long	 held;		/* not logged since */
};

/* Open connections, closed at exit (job_submit's stays open for good). */
static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static TAILQ_HEAD(, conn) idleq = TAILQ_HEAD_INITIALIZER(idleq);
static struct idmap	 peers;		/* uid + 1 -> struct peer */
static size_t		 user_clients;	/* of them, users' */
static size_t		 fd_limit;	/* connections the descriptors allow */
static struct event	*sweep_ev;
static struct event	*rest_ev;	/* the listener rests after EMFILE */
static int		 rest_ms = REST_MIN_MS;
static struct rate	 rate_emfile, rate_capped, rate_busy;

static int	 rate_due(struct rate *, unsigned long *held);
static void	 conn_read_on(struct conn *);

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

int
conn_privileged(const struct conn *c)
{
	return c->uid == 0 || c->uid == c->bd->slurm_uid;
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

/* ---- users ------------------------------------------------------------ */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct peer *
peer_get(struct bankd *bd, uid_t uid)
{
	struct peer *p = idmap_get(&peers, (uint64_t)uid + 1);

	if (p != NULL)
		return p;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->uid = uid;
	TAILQ_INIT(&p->blocked);
	/* A new user starts with a full bucket: a burst of 2 seconds. */
	p->tokens = (int64_t)bd->conf.user_checks_per_s * 2000;
	p->refilled_ms = now_ms();
	p->last = time(NULL);
	if (idmap_put(&peers, (uint64_t)uid + 1, p) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

/* Users with nothing open for a while: a few at each sweep. */
static void
peer_forget_idle(time_t now)
{
	struct peer *p, *gone[64];
	size_t i, n = 0;

	/* Collected first: deleting moves entries about the table. */
	for (i = 0; i < peers.cap && n < 64; i++)
		if ((p = peers.slots[i].val) != NULL && p->conns == 0 &&
		    p->checks == 0 && now - p->last >= PEER_FORGET_S)
			gone[n++] = p;
	for (i = 0; i < n; i++) {
		idmap_del(&peers, (uint64_t)gone[i]->uid + 1);
		free(gone[i]);
	}
}

int
conn_take_api_check(struct conn *c)
{
	struct peer *p = c->peer;
	int64_t now = now_ms(), cap;

	if (p == NULL)
		return 1;
	cap = (int64_t)c->bd->conf.user_checks_per_s * 2000;
	p->tokens += (now - p->refilled_ms) * c->bd->conf.user_checks_per_s;
	p->refilled_ms = now;
	if (p->tokens > cap)
		p->tokens = cap;
	if (p->tokens < 1000)
		return 0;
	p->tokens -= 1000;
	return 1;
}

void
conn_check_begin(struct conn *c)
{
	if (c->peer != NULL)
		c->peer->checks++;
}

/* A user's check no longer waits on the API: read one blocked again. */
void
listen_check_end(struct bankd *bd, uid_t uid)
{
	struct peer *p = idmap_get(&peers, (uint64_t)uid + 1);
	struct conn *c;
	int n;

	if (p == NULL || p->checks == 0)
		return;
	p->checks--;
	/* As many as there are free places; one that finds none waits again. */
	for (n = bd->conf.user_checks - p->checks; n > 0 &&
	    (c = TAILQ_FIRST(&p->blocked)) != NULL; n--) {
		TAILQ_REMOVE(&p->blocked, c, block_link);
		c->blocked = 0;
		conn_read_on(c);
		/* Its buffered requests are read on the next loop turn. */
		if (c->rev != NULL)
			event_active(c->rev, EV_READ, 0);
	}
}

/* ---- connections ------------------------------------------------------ */

static void
conn_read_on(struct conn *c)
{
	if (c->fd != -1 && !c->stalled && !c->blocked &&
	    event_add(c->rev, NULL) != 0)
		log_err("cannot watch the connection of pid %ld", (long)c->pid);
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
	if (c->peer != NULL) {
		TAILQ_REMOVE(&idleq, c, idle_link);
		if (c->blocked)
			TAILQ_REMOVE(&c->peer->blocked, c, block_link);
		c->blocked = 0;
		c->peer->conns--;
		c->peer->last = time(NULL);
		c->peer = NULL;
		user_clients--;
	}
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
		conn_read_on(c);
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

/*
 * A user's check while user_checks of theirs wait on the API: the
 * connection is not read until one is answered (listen_check_end).
 */
static int
must_wait(struct conn *c, const uint8_t *frame)
{
	struct peer *p = c->peer;

	if (p == NULL || frame[3] != BP_T_CHECK ||
	    p->checks < c->bd->conf.user_checks)
		return 0;
	c->blocked = 1;
	event_del(c->rev);
	TAILQ_INSERT_TAIL(&p->blocked, c, block_link);
	return 1;
}

/* Handle every whole frame in the input buffer; 0, or -1 to close. */
static int
take_frames(struct conn *c)
{
	struct bp_msg msg;
	size_t off = 0, used;
	int rc;

	while (c->fd != -1 && !c->blocked && off < c->in_len) {
		rc = bp_parse(c->in + off, c->in_len - off, &msg, &used);
		if (rc == BP_MORE)
			break;
		if (rc != BP_OK) {
			log_warn("closing connection from uid %ld pid %ld: %s",
			    (long)c->uid, (long)c->pid, bp_strerror(rc));
			return -1;
		}
		if (must_wait(c, c->in + off)) {
			bp_free(&msg);
			break;
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
touch(struct conn *c)
{
	c->active = time(NULL);
	if (c->peer == NULL)
		return;
	c->peer->last = c->active;
	TAILQ_REMOVE(&idleq, c, idle_link);
	TAILQ_INSERT_TAIL(&idleq, c, idle_link);
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	ssize_t n = 0;

	(void)what;
	if (in_reserve(c) != 0) {
		log_err("connection from pid %ld: out of memory", (long)c->pid);
		conn_close(c);
		return;
	}
	if (c->in_cap > c->in_len) {
		n = read(fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			conn_close(c);		/* a reset */
			return;
		}
		if (n == 0) {
			conn_close(c);		/* EOF */
			return;
		}
	}
	/* Woken after a block with nothing new: the buffer still counts. */
	if (n <= 0 && c->in_len == 0)
		return;
	if (n > 0) {
		c->in_len += (size_t)n;
		touch(c);
	}
	conn_hold(c);			/* a handler may close it */
	if (take_frames(c) != 0)
		conn_close(c);
	conn_release(c);
}

/* Once a LOG_EVERY_S: 1, with *held the refusals not logged since. */
static int
rate_due(struct rate *r, unsigned long *held)
{
	time_t now = time(NULL);

	if (r->last != 0 && now - r->last < LOG_EVERY_S) {
		r->held++;
		return 0;
	}
	*held = r->held;
	r->held = 0;
	r->last = now;
	return 1;
}

/* Connections in all: bank.yaml's cap, within what descriptors allow. */
static size_t
max_clients(const struct bankd *bd)
{
	size_t m = (size_t)bd->conf.max_connections;

	return fd_limit != 0 && fd_limit < m ? fd_limit : m;
}

/* A user over their share: refused at once, logged now and then. */
static int
user_refused(struct bankd *bd, struct peer *p, uid_t uid)
{
	size_t room = max_clients(bd);
	unsigned long held;

	room = room > PRIV_RESERVE ? room - PRIV_RESERVE : 0;
	if (p != NULL && p->conns < bd->conf.user_connections &&
	    user_clients < room)
		return 0;
	if (p == NULL) {
		if (rate_due(&rate_busy, &held))
			log_err("accept: out of memory for uid %ld's "
			    "connection; refused (%lu more since)", (long)uid,
			    held);
	} else if (p->conns >= bd->conf.user_connections) {
		if (rate_due(&rate_capped, &held))
			log_warn("refused a connection from uid %ld: it has "
			    "%d open, the most limits.user_connections "
			    "allows (%lu more refused since the last such "
			    "line)", (long)uid, p->conns, held);
	} else if (rate_due(&rate_busy, &held))
		log_warn("refused a connection from uid %ld: users hold %zu "
		    "connections, all they may (limits.connections less %d "
		    "kept for root and slurm_user; %lu more refused since)",
		    (long)uid, user_clients, PRIV_RESERVE, held);
	return 1;
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct bankd *bd = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct peer *p = NULL;
	unsigned long held;
	struct conn *c;

	(void)l;
	(void)sa;
	(void)salen;
	rest_ms = REST_MIN_MS;		/* descriptors again */
	/* Who is calling decides what they may do (see handle.c). */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		cred.uid = (uid_t)-1;
		cred.pid = 0;
	}
	if (cred.uid != 0 && cred.uid != bd->slurm_uid) {
		p = peer_get(bd, cred.uid);
		if (user_refused(bd, p, cred.uid)) {
			close(fd);
			return;
		}
	} else if (bd->clients >= max_clients(bd)) {
		close(fd);
		if (rate_due(&rate_busy, &held))
			log_err("refused a connection from uid %ld: %zu "
			    "connections open, limits.connections or the "
			    "descriptor limit (%lu more refused since)",
			    (long)cred.uid, bd->clients, held);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_err("accept: out of memory");
		close(fd);
		return;
	}
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->bd = bd;
	c->refs = 1;
	c->fd = fd;
	c->active = time(NULL);
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
	if (p != NULL) {
		c->peer = p;
		p->conns++;
		p->last = c->active;
		user_clients++;
		TAILQ_INSERT_TAIL(&idleq, c, idle_link);
	}
}

static void
on_rested(evutil_socket_t fd, short what, void *arg)
{
	struct bankd *bd = arg;

	(void)fd;
	(void)what;
	if (bd->listener != NULL)
		evconnlistener_enable(bd->listener);
}

/*
 * accept(2) failed for want of descriptors (or memory): retrying at once
 * would spin, the socket staying readable, and libevent would log every
 * failure.  Rest a moment, longer while it lasts, so that connections
 * closing free descriptors for the ones waiting; say so once per
 * LOG_EVERY_S.
 */
static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	struct bankd *bd = arg;
	struct timeval tv = { 0, rest_ms * 1000 };
	unsigned long held;
	int err = errno;

	evconnlistener_disable(l);
	if (rest_ev == NULL || event_add(rest_ev, &tv) != 0)
		evconnlistener_enable(l);
	if (rate_due(&rate_emfile, &held))
		log_err("accept: %s with %zu connections open: not accepting "
		    "for %d ms, longer while it lasts (%lu more such pauses "
		    "since the last line); see LimitNOFILE and "
		    "limits.connections", strerror(err), bd->clients, rest_ms,
		    held);
	if ((rest_ms *= 2) > REST_MAX_MS)
		rest_ms = REST_MAX_MS;
}

/* Users' connections idle past user_idle_s are closed. */
static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct bankd *bd = arg;
	time_t now = time(NULL), limit = bd->conf.user_idle_s;
	struct conn *c;

	(void)fd;
	(void)what;
	while ((c = TAILQ_FIRST(&idleq)) != NULL && now - c->active >= limit) {
		if (c->waiting > 0 || c->blocked) {
			touch(c);	/* answers still due: not idle */
			if (TAILQ_FIRST(&idleq) == c)
				break;
			continue;
		}
		log_debug("closing uid %ld pid %ld's connection: idle for %lld "
		    "s (limits.user_idle_s)", (long)c->uid, (long)c->pid,
		    (long long)(now - c->active));
		conn_close(c);
	}
	peer_forget_idle(now);
}

void
conn_wait_begin(struct conn *c)
{
	c->waiting++;
}

void
conn_wait_end(struct conn *c)
{
	if (c->waiting > 0)
		c->waiting--;
}

/* What the descriptor limit leaves for connections. */
void
listen_limits(struct bankd *bd)
{
	struct rlimit rl;

	/*
	 * A limit too small to keep FD_RESERVE aside still lets root's and
	 * slurm_user's connections in; accept() then rests on EMFILE.
	 */
	fd_limit = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		fd_limit = rl.rlim_cur > FD_RESERVE + PRIV_RESERVE ?
		    (size_t)rl.rlim_cur - FD_RESERVE : PRIV_RESERVE;
	if (fd_limit != 0 && fd_limit < (size_t)bd->conf.max_connections)
		log_info("connections: at most %zu, for a descriptor limit of "
		    "%llu (LimitNOFILE)", fd_limit,
		    (unsigned long long)rl.rlim_cur);
}

int
listen_start(struct bankd *bd)
{
	const char *path = bd->conf.socket;
	struct timeval sweep = { SWEEP_S, 0 };
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_err("socket path %s is too long", path);
		return -1;
	}
	if (idmap_init(&peers) != 0)
		return -1;
	listen_limits(bd);
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
	evconnlistener_set_error_cb(bd->listener, on_accept_error);
	rest_ev = evtimer_new(bd->base, on_rested, bd);
	sweep_ev = event_new(bd->base, -1, EV_PERSIST, on_sweep, bd);
	if (rest_ev == NULL || sweep_ev == NULL ||
	    event_add(sweep_ev, &sweep) != 0) {
		log_err("cannot schedule the connection sweep");
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
	size_t i;

	(void)bd;
	while (!TAILQ_EMPTY(&conns))
		conn_close(TAILQ_FIRST(&conns));
	if (sweep_ev != NULL)
		event_free(sweep_ev);
	if (rest_ev != NULL)
		event_free(rest_ev);
	sweep_ev = rest_ev = NULL;
	for (i = 0; i < peers.cap; i++)
		free(peers.slots[i].val);
	idmap_free(&peers);
}
