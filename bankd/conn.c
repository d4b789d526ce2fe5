/*
 * conn.c - a client's connection (conn.h), apart from the listener that
 * accepted it.
 *
 * A connection is a read event, an input buffer that collects whole
 * frames, and an output buffer used only when the socket is full.  A reply
 * is written at once with send(2): a decision then costs bankd three
 * system calls (epoll_wait, read, send) instead of the seven a bufferevent
 * spent (docs/performance.md).  A frame that cannot be parsed ends the
 * connection, since the byte stream can no longer be trusted.
 *
 * Anyone may connect, so what one user may take is bounded (limits: in
 * bank.yaml, docs/reliability.md).  A "user" here is any peer but root
 * and slurm_user, whose connections (the plugins') are never capped or
 * timed out.  A user has at most user_connections open; one idle for
 * user_idle_s is closed; while user_checks of the user's checks wait on
 * the API, the user's connections are not read (their requests wait in
 * the kernel, nothing grows here).  Connections in all stay below
 * max_connections and the descriptor limit, with room kept for root and
 * slurm_user.
 */
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "bankd.h"
#include "conn.h"
#include "counters.h"
#include "idmap.h"
#include "log.h"
#include "monotime.h"
#include "peer.h"
#include "rate.h"

#define IN_CHUNK	4096
#define IN_MAX		(BP_HDR_LEN + BP_MAX_BODY)
/* A client that sends without reading is not read until it catches up. */
#define OUT_HIGH	(256 * 1024)
/* Descriptors kept for the journal, the API, the spool, and for root. */
#define FD_RESERVE	64
#define PRIV_RESERVE	64
#define SWEEP_S		1		/* idle connections are looked at */
#define USER_FORGET_S	60		/* a user's idle record is dropped */

/* A uid other than root and slurm_user: what it holds of bankd. */
struct user {
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
	TAILQ_ENTRY(conn)	 block_link;	/* on user->blocked */
	struct bankd		*bd;
	struct peer		 peer;		/* as the listener found it */
	struct user		*user;		/* NULL: root or slurm_user */
	int			 fd;		/* -1 once closed */
	struct event		*rev;
	struct event		*wev;		/* armed while `out` has bytes */
	uint8_t			*in;
	size_t			 in_len;
	size_t			 in_cap;
	struct evbuffer		*out;
	int			 stalled;	/* not read: `out` too full */
	int			 blocked;	/* not read: checks at the cap */
	int			 paused;	/* not read: the gate is full */
	int			 waiting;	/* its requests being answered */
	time_t			 active;	/* last request */
	int			 refs;
	/* On idleq and in user_clients: a user's, or a gate's pending. */
	int			 timed;
	int			 pending;	/* the gate has not named it */
	struct conn_gate	 gate;		/* frame NULL: none */
};

struct conns {
	conn_frame_fn		 frame_fn;
	void			*frame_arg;
	/* Open connections, closed at exit (job_submit's stays open). */
	TAILQ_HEAD(, conn)	 all;
	TAILQ_HEAD(, conn)	 idleq;
	struct idmap		 users;		/* uid + 1 -> struct user */
	size_t			 user_clients;	/* of them, users' */
	size_t			 fd_limit;	/* what descriptors allow */
	struct event		*sweep_ev;
	struct rate		 rate_capped, rate_busy;
};

static void	 conn_read_on(struct conn *);

const struct peer *
conn_peer(const struct conn *c)
{
	return &c->peer;
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

static struct user *
user_get(struct bankd *bd, uid_t uid)
{
	struct conns *cs = bd->conns;
	struct user *u = idmap_get(&cs->users, (uint64_t)uid + 1);

	if (u != NULL)
		return u;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	u->uid = uid;
	TAILQ_INIT(&u->blocked);
	/* A new user starts with a full bucket: a burst of 2 seconds. */
	u->tokens = (int64_t)bd->conf.user_checks_per_s * 2000;
	u->refilled_ms = monotime_ms();
	u->last = time(NULL);
	if (idmap_put(&cs->users, (uint64_t)uid + 1, u) != 0) {
		free(u);
		return NULL;
	}
	return u;
}

/* Users with nothing open for a while: a few at each sweep. */
static void
users_forget_idle(struct conns *cs, time_t now)
{
	struct user *u, *gone[64];
	size_t i, n = 0;

	/* Collected first: deleting moves entries about the table. */
	for (i = 0; i < cs->users.cap && n < 64; i++)
		if ((u = cs->users.slots[i].val) != NULL && u->conns == 0 &&
		    u->checks == 0 && now - u->last >= USER_FORGET_S)
			gone[n++] = u;
	for (i = 0; i < n; i++) {
		idmap_del(&cs->users, (uint64_t)gone[i]->uid + 1);
		free(gone[i]);
	}
}

int
conn_take_api_check(struct conn *c)
{
	struct user *u = c->user;
	int64_t now = monotime_ms(), cap;

	if (u == NULL)
		return 1;
	cap = (int64_t)c->bd->conf.user_checks_per_s * 2000;
	u->tokens += (now - u->refilled_ms) * c->bd->conf.user_checks_per_s;
	u->refilled_ms = now;
	if (u->tokens > cap)
		u->tokens = cap;
	if (u->tokens < 1000)
		return 0;
	u->tokens -= 1000;
	return 1;
}

void
conn_check_begin(struct conn *c)
{
	if (c->user != NULL)
		c->user->checks++;
}

/* A user's check no longer waits on the API: read one blocked again. */
void
conn_check_end(struct bankd *bd, uid_t uid)
{
	struct user *u;
	struct conn *c;
	int n;

	/* At exit the connections go first; a check ends after (check_fini). */
	if (bd->conns == NULL)
		return;
	u = idmap_get(&bd->conns->users, (uint64_t)uid + 1);
	if (u == NULL || u->checks == 0)
		return;
	u->checks--;
	/* As many as there are free places; one that finds none waits again. */
	for (n = bd->conf.user_checks - u->checks; n > 0 &&
	    (c = TAILQ_FIRST(&u->blocked)) != NULL; n--) {
		TAILQ_REMOVE(&u->blocked, c, block_link);
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
	if (c->fd != -1 && !c->stalled && !c->blocked && !c->paused &&
	    event_add(c->rev, NULL) != 0)
		log_err("cannot watch the connection of pid %ld",
		    (long)c->peer.pid);
}

static void
conn_close(struct conn *c)
{
	struct conns *cs = c->bd->conns;

	if (c->fd == -1)
		return;
	event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	c->rev = c->wev = NULL;
	close(c->fd);
	c->fd = -1;
	TAILQ_REMOVE(&cs->all, c, link);
	counters_sub(&c->bd->counters, CNT_CLIENTS, 1);
	if (c->timed) {
		TAILQ_REMOVE(&cs->idleq, c, idle_link);
		cs->user_clients--;
		c->timed = 0;
	}
	if (c->user != NULL) {
		if (c->blocked)
			TAILQ_REMOVE(&c->user->blocked, c, block_link);
		c->blocked = 0;
		c->user->conns--;
		c->user->last = time(NULL);
		c->user = NULL;
	}
	if (c->gate.closed != NULL)
		c->gate.closed(c->gate.arg, c);
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
		log_err("cannot queue a reply to pid %ld", (long)c->peer.pid);
		conn_close(c);
	} else if (n < len && !c->stalled &&
	    evbuffer_get_length(c->out) > OUT_HIGH) {
		c->stalled = 1;
		event_del(c->rev);
		log_debug("pid %ld has %zu bytes of replies unread; not reading "
		    "its requests until it catches up", (long)c->peer.pid,
		    evbuffer_get_length(c->out));
	}
	free(frame);
}

void
conn_reply_status(struct conn *c, uint8_t type, uint32_t id,
    const char *status, const char *message)
{
	struct bp_msg rep;

	bp_init(&rep, type | BP_REPLY, id);
	bp_add(&rep, "status", status);
	if (message != NULL)
		bp_add(&rep, "message", message);
	conn_reply(c, &rep);
	bp_free(&rep);
}

/*
 * The requests that wait on another: a check on the API; on a relay,
 * every query it asks a controller (relay.c).
 */
static int
waits_elsewhere(const struct bankd *bd, uint8_t type)
{
	if (type == BP_T_CHECK)
		return 1;
	return bd->conf.role == ROLE_RELAY && (type == BP_T_ESTIMATE ||
	    type == BP_T_PRICES || type == BP_T_BALANCE || type == BP_T_HOLDS);
}

/*
 * A user's check (or relayed query) while user_checks of theirs wait: the
 * connection is not read until one is answered (conn_check_end).
 */
static int
must_wait(struct conn *c, const uint8_t *frame)
{
	struct user *u = c->user;

	if (u == NULL || !waits_elsewhere(c->bd, frame[3]) ||
	    u->checks < c->bd->conf.user_checks)
		return 0;
	c->blocked = 1;
	event_del(c->rev);
	TAILQ_INSERT_TAIL(&u->blocked, c, block_link);
	return 1;
}

/* Hand every whole frame in the input buffer on; 0, or -1 to close. */
static int
take_frames(struct conn *c)
{
	struct conns *cs = c->bd->conns;
	struct bp_msg msg;
	size_t off = 0, used;
	int rc;

	while (c->fd != -1 && !c->blocked && !c->paused && off < c->in_len) {
		rc = bp_parse(c->in + off, c->in_len - off, &msg, &used);
		if (rc == BP_MORE)
			break;
		if (rc != BP_OK) {
			log_warn("closing connection from uid %ld pid %ld: %s",
			    (long)c->peer.uid, (long)c->peer.pid,
			    bp_strerror(rc));
			return -1;
		}
		if (must_wait(c, c->in + off)) {
			bp_free(&msg);
			break;
		}
		off += used;
		/* CONN_GATE_TAKEN: msg was moved out, to come back by conn_pass. */
		rc = c->gate.frame != NULL ? c->gate.frame(c->gate.arg, c,
		    &msg) : CONN_GATE_PASS;
		if (rc == CONN_GATE_PASS)
			cs->frame_fn(cs->frame_arg, c, &msg);
		bp_free(&msg);
		if (rc < 0)
			return -1;
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
	struct conns *cs = c->bd->conns;

	c->active = time(NULL);
	if (!c->timed)
		return;
	if (c->user != NULL)
		c->user->last = c->active;
	TAILQ_REMOVE(&cs->idleq, c, idle_link);
	TAILQ_INSERT_TAIL(&cs->idleq, c, idle_link);
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	ssize_t n = 0;

	(void)what;
	if (in_reserve(c) != 0) {
		log_err("connection from pid %ld: out of memory",
		    (long)c->peer.pid);
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

/* Connections in all: bank.yaml's cap, within what descriptors allow. */
static size_t
max_clients(const struct bankd *bd)
{
	size_t m = (size_t)bd->conf.max_connections;
	size_t fl = bd->conns->fd_limit;

	return fl != 0 && fl < m ? fl : m;
}

/* A user over their share: refused at once, logged now and then. */
static int
user_refused(struct bankd *bd, struct user *u, uid_t uid, int pending)
{
	struct conns *cs = bd->conns;
	size_t room = max_clients(bd);
	unsigned long held;

	room = room > PRIV_RESERVE ? room - PRIV_RESERVE : 0;
	if (pending && cs->user_clients < room)
		return 0;
	if (u != NULL && u->conns < bd->conf.user_connections &&
	    cs->user_clients < room)
		return 0;
	if (pending) {
		if (rate_due(&cs->rate_busy, &held))
			log_warn("refused a TCP connection: users hold %zu "
			    "connections, all they may (%lu more refused "
			    "since)", cs->user_clients, held);
	} else if (u == NULL) {
		if (rate_due(&cs->rate_busy, &held))
			log_err("accept: out of memory for uid %ld's "
			    "connection; refused (%lu more since)", (long)uid,
			    held);
	} else if (u->conns >= bd->conf.user_connections) {
		if (rate_due(&cs->rate_capped, &held))
			log_warn("refused a connection from uid %ld: it has "
			    "%d open, the most limits.user_connections "
			    "allows (%lu more refused since the last such "
			    "line)", (long)uid, u->conns, held);
	} else if (rate_due(&cs->rate_busy, &held))
		log_warn("refused a connection from uid %ld: users hold %zu "
		    "connections, all they may (limits.connections less %d "
		    "kept for root and slurm_user; %lu more refused since)",
		    (long)uid, cs->user_clients, PRIV_RESERVE, held);
	return 1;
}

/* Whether p may have one more connection; its user record, if a user. */
static int
admit(struct bankd *bd, const struct peer *p, struct user **up)
{
	size_t open = counters_get(&bd->counters, CNT_CLIENTS);
	unsigned long held;

	*up = NULL;
	if (p->uid == (uid_t)-1 && p->how == PEER_MUNGE)
		return !user_refused(bd, NULL, p->uid, 1);
	if (!peer_privileged(p, bd->slurm_uid)) {
		*up = user_get(bd, p->uid);
		return !user_refused(bd, *up, p->uid, 0);
	}
	if (open < max_clients(bd))
		return 1;
	if (rate_due(&bd->conns->rate_busy, &held))
		log_err("refused a connection from uid %ld: %zu connections "
		    "open, limits.connections or the descriptor limit (%lu "
		    "more refused since)", (long)p->uid, open, held);
	return 0;
}

struct conn *
conn_open(struct bankd *bd, int fd, const struct peer *p)
{
	return conn_open_gated(bd, fd, p, NULL);
}

struct conn *
conn_open_gated(struct bankd *bd, int fd, const struct peer *p,
    const struct conn_gate *gate)
{
	struct conns *cs = bd->conns;
	struct user *u;
	struct conn *c;

	if (!admit(bd, p, &u)) {
		close(fd);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_err("accept: out of memory");
		close(fd);
		return NULL;
	}
	c->peer = *p;
	c->bd = bd;
	c->refs = 1;
	c->fd = fd;
	if (gate != NULL)
		c->gate = *gate;
	c->pending = p->how == PEER_MUNGE && p->uid == (uid_t)-1;
	c->active = time(NULL);
	c->rev = event_new(bd->base, fd, EV_READ | EV_PERSIST, on_readable, c);
	if (c->rev == NULL || event_add(c->rev, NULL) != 0) {
		log_err("accept: cannot set up the connection");
		if (c->rev != NULL)
			event_free(c->rev);
		close(fd);
		free(c);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&cs->all, c, link);
	counters_add(&bd->counters, CNT_CLIENTS, 1);
	if (u != NULL || c->pending) {
		if ((c->user = u) != NULL) {
			u->conns++;
			u->last = c->active;
		}
		c->timed = 1;
		cs->user_clients++;
		TAILQ_INSERT_TAIL(&cs->idleq, c, idle_link);
	}
	return c;
}

/* c is user p's from now on: counted, capped and timed as a user's. */
static int
become_user(struct conn *c, const struct peer *p, char *msg, size_t len)
{
	struct conns *cs = c->bd->conns;
	struct user *u;

	if ((u = user_get(c->bd, p->uid)) == NULL) {
		snprintf(msg, len, "bankd is out of memory");
		return -1;
	}
	if (u->conns >= c->bd->conf.user_connections) {
		snprintf(msg, len, "refused: uid %ld has %d connections open, "
		    "the most limits.user_connections allows", (long)p->uid,
		    u->conns);
		return -1;
	}
	c->user = u;
	u->conns++;
	u->last = time(NULL);
	if (!c->timed) {
		c->timed = 1;
		cs->user_clients++;
		TAILQ_INSERT_TAIL(&cs->idleq, c, idle_link);
	}
	return 0;
}

int
conn_set_peer(struct conn *c, const struct peer *p, char *msg, size_t len)
{
	struct conns *cs = c->bd->conns;
	struct bankd *bd = c->bd;

	if (!c->pending) {
		if (p->uid == c->peer.uid && p->gid == c->peer.gid &&
		    (p->how == PEER_RELAYED) == (c->peer.how == PEER_RELAYED))
			return 0;
		/* Root's or slurm_user's own connection, relaying a user. */
		if (p->how == PEER_RELAYED && c->peer.how != PEER_RELAYED &&
		    peer_privileged(&c->peer, bd->slurm_uid)) {
			if (!peer_privileged(p, bd->slurm_uid) &&
			    become_user(c, p, msg, len) != 0)
				return -1;
			c->peer = *p;
			return 0;
		}
		snprintf(msg, len, "refused: this connection is uid %ld's%s; a "
		    "request of uid %ld needs a connection of its own",
		    (long)c->peer.uid, c->peer.how == PEER_RELAYED ?
		    " (relayed)" : "", (long)p->uid);
		return -1;
	}
	if (peer_privileged(p, bd->slurm_uid)) {
		/* Root's and slurm_user's are neither capped nor timed. */
		TAILQ_REMOVE(&cs->idleq, c, idle_link);
		cs->user_clients--;
		c->timed = 0;
	} else if (become_user(c, p, msg, len) != 0)
		return -1;
	c->peer = *p;
	c->pending = 0;
	return 0;
}

void
conn_pass(struct conn *c, struct bp_msg *m)
{
	struct conns *cs = c->bd->conns;

	if (c->fd != -1)
		cs->frame_fn(cs->frame_arg, c, m);
}

void
conn_pause(struct conn *c)
{
	if (c->paused || c->fd == -1)
		return;
	c->paused = 1;
	event_del(c->rev);
}

void
conn_resume(struct conn *c)
{
	if (!c->paused)
		return;
	c->paused = 0;
	conn_read_on(c);
	/* Frames already in the buffer are taken on the next loop turn. */
	if (c->rev != NULL && c->in_len > 0 && !c->stalled && !c->blocked)
		event_active(c->rev, EV_READ, 0);
}

/* Users' connections idle past user_idle_s are closed. */
static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct bankd *bd = arg;
	struct conns *cs = bd->conns;
	time_t now = time(NULL), limit = bd->conf.user_idle_s;
	struct conn *c;

	(void)fd;
	(void)what;
	while ((c = TAILQ_FIRST(&cs->idleq)) != NULL &&
	    now - c->active >= limit) {
		if (c->waiting > 0 || c->blocked) {
			touch(c);	/* answers still due: not idle */
			if (TAILQ_FIRST(&cs->idleq) == c)
				break;
			continue;
		}
		log_debug("closing uid %ld pid %ld's connection: idle for %lld "
		    "s (limits.user_idle_s)", (long)c->peer.uid,
		    (long)c->peer.pid, (long long)(now - c->active));
		conn_close(c);
	}
	users_forget_idle(cs, now);
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

void
conn_limits(struct bankd *bd)
{
	struct conns *cs = bd->conns;
	struct rlimit rl;

	/*
	 * A limit too small to keep FD_RESERVE aside still lets root's and
	 * slurm_user's connections in; accept() then rests on EMFILE.
	 */
	cs->fd_limit = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		cs->fd_limit = rl.rlim_cur > FD_RESERVE + PRIV_RESERVE ?
		    (size_t)rl.rlim_cur - FD_RESERVE : PRIV_RESERVE;
	if (cs->fd_limit != 0 && cs->fd_limit <
	    (size_t)bd->conf.max_connections)
		log_info("connections: at most %zu, for a descriptor limit of "
		    "%llu (LimitNOFILE)", cs->fd_limit,
		    (unsigned long long)rl.rlim_cur);
}

int
conn_init(struct bankd *bd, conn_frame_fn fn, void *arg)
{
	struct timeval sweep = { SWEEP_S, 0 };
	struct conns *cs;

	if ((cs = calloc(1, sizeof(*cs))) == NULL ||
	    idmap_init(&cs->users) != 0) {
		free(cs);
		log_err("connections: out of memory");
		return -1;
	}
	cs->frame_fn = fn;
	cs->frame_arg = arg;
	TAILQ_INIT(&cs->all);
	TAILQ_INIT(&cs->idleq);
	bd->conns = cs;
	conn_limits(bd);
	cs->sweep_ev = event_new(bd->base, -1, EV_PERSIST, on_sweep, bd);
	if (cs->sweep_ev == NULL || event_add(cs->sweep_ev, &sweep) != 0) {
		log_err("cannot schedule the connection sweep");
		return -1;
	}
	return 0;
}

void
conn_fini(struct bankd *bd)
{
	struct conns *cs = bd->conns;
	size_t i;

	if (cs == NULL)
		return;
	while (!TAILQ_EMPTY(&cs->all))
		conn_close(TAILQ_FIRST(&cs->all));
	if (cs->sweep_ev != NULL)
		event_free(cs->sweep_ev);
	for (i = 0; i < cs->users.cap; i++)
		free(cs->users.slots[i].val);
	idmap_free(&cs->users);
	free(cs);
	bd->conns = NULL;
}
