/*
 * relay_wire.c - the relay forwarder's connection (relay_wire.h): a
 * thread that owns the one TCP connection upstream.  It makes each
 * frame's MUNGE credential, connects, writes and reads, all with poll()
 * and deadlines, and hands every answer back through a pipe the loop
 * watches (as jwatch.c watches a journal's sync thread).  What to send,
 * and to which upstream, is the loop's (relay_fwd.c).
 *
 * Why a thread, and not non-blocking sockets on the loop: munge_encode()
 * is a blocking round trip to munged (its own socket, its own retries,
 * seconds when munged is slow), made once per frame; on the loop it
 * would stall every client of the relay.  With the credential on a
 * thread, the connection might as well be there too: one owner, no
 * hand-over per frame, and the loop never touches a TCP socket.
 *
 * Generations: each run of attempts on one connection has a number, the
 * loop's.  When the connection fails the thread says so once, for its
 * generation, and drops whatever else of that generation it still holds
 * or is yet given.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bankproto.h"
#include "monotime.h"
#include "relay_wire.h"

/* The thread's own: touched by no one else. */
struct wire_conn {
	int			 fd;
	size_t			 up;
	uint64_t		 gen;
	int			 connecting;
	int64_t			 conn_deadline;
	uint64_t		 dead_gen;	/* dropped: this and older */
	uint8_t			*out;
	size_t			 outlen;
	uint8_t			*in;
	size_t			 inlen;
	struct relay_wire_cmdq	 todo;
	struct relay_wire_cmdq	 sent;		/* in the order sent */
};

struct relay_wire {
	char *const		*up;		/* the loop's */
	int			 timeout_ms;
	relaycred_fn		 cred;
	void			*cred_arg;

	/* shared with the loop, under mu */
	pthread_mutex_t		 mu;
	struct relay_wire_cmdq	 cmds;
	struct relay_wire_resq	 results;
	int			 stop;

	int			 wake[2];	/* loop -> thread */
	int			 done[2];	/* thread -> loop */
	pthread_t		 thr;
	int			 thr_started;
	struct wire_conn	 c;		/* the thread's */
};

static void
poke(int fd)
{
	ssize_t n;

	/* A full pipe already says it: EAGAIN is fine. */
	n = write(fd, "x", 1);
	(void)n;
}

static void
drain(int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* ---- the thread ------------------------------------------------------- */

static void
post(struct relay_wire *w, enum relay_wire_kind kind, uint64_t gen,
    uint64_t seq, const char *status, const char *message)
{
	struct relay_wire_res *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;		/* its report stays in flight: resent at
				   the next failure or start */
	r->kind = kind;
	r->gen = gen;
	r->seq = seq;
	snprintf(r->status, sizeof(r->status), "%s", status ? status : "");
	snprintf(r->message, sizeof(r->message), "%s", message ? message : "");
	pthread_mutex_lock(&w->mu);
	STAILQ_INSERT_TAIL(&w->results, r, link);
	pthread_mutex_unlock(&w->mu);
	poke(w->done[1]);
}

static void
cmd_free(struct relay_wire_cmd *cmd)
{
	free(cmd->frame);
	free(cmd);
}

static void
free_cmds(struct relay_wire_cmdq *l)
{
	struct relay_wire_cmd *cmd;

	while ((cmd = STAILQ_FIRST(l)) != NULL) {
		STAILQ_REMOVE_HEAD(l, link);
		cmd_free(cmd);
	}
}

static void
conn_close(struct wire_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->connecting = 0;
	free(c->out);
	c->out = NULL;
	c->outlen = 0;
	free(c->in);
	c->in = NULL;
	c->inlen = 0;
	free_cmds(&c->sent);
}

/* The connection of c->gen failed: said once, its frames dropped. */
static void	 conn_fail(struct relay_wire *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
conn_fail(struct relay_wire *w, const char *fmt, ...)
{
	struct wire_conn *c = &w->c;
	char msg[512], what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s: %s", w->up[c->up], what);
	conn_close(c);
	if (c->gen > c->dead_gen) {
		c->dead_gen = c->gen;
		post(w, RW_FAIL, c->gen, 0, NULL, msg);
	}
}

static int
conn_open(struct relay_wire *w, size_t up, uint64_t gen)
{
	struct wire_conn *c = &w->c;
	struct sockaddr_storage ss;
	unsigned salen;
	int one = 1;

	c->up = up;
	c->gen = gen;
	if (bp_hostport(w->up[up], &ss, &salen) != 0) {
		conn_fail(w, "not ADDRESS:PORT");
		return -1;
	}
	if ((c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		conn_fail(w, "socket: %s", strerror(errno));
		return -1;
	}
	/* Small frames, pipelined: no Nagle delay between them. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&ss, salen) == 0)
		return 0;
	if (errno != EINPROGRESS) {
		conn_fail(w, "connect: %s", strerror(errno));
		return -1;
	}
	c->connecting = 1;
	c->conn_deadline = monotime_ms() + w->timeout_ms;
	return 0;
}

/* cmd's frame with a fresh credential onto the output; 0 or -1 (failed). */
static int
queue_frame(struct relay_wire *w, struct relay_wire_cmd *cmd)
{
	struct wire_conn *c = &w->c;
	struct bp_msg *m;
	uint8_t *frame, *o;
	char why[256];
	size_t used, len;
	int rc;

	if ((m = malloc(sizeof(*m))) == NULL)
		return -1;
	if (bp_parse(cmd->frame, cmd->len, m, &used) != BP_OK) {
		free(m);
		conn_fail(w, "a frame of ours does not parse");
		return -1;
	}
	rc = relaycred_frame(m, w->cred, w->cred_arg, &frame, &len, why,
	    sizeof(why));
	bp_free(m);
	free(m);
	if (rc != BP_OK) {
		conn_fail(w, "no credential: %s", rc == BP_ECRED ? why :
		    bp_strerror(rc));
		return -1;
	}
	if ((o = realloc(c->out, c->outlen + len)) == NULL) {
		free(frame);
		conn_fail(w, "out of memory");
		return -1;
	}
	memcpy(o + c->outlen, frame, len);
	c->out = o;
	c->outlen += len;
	free(frame);
	return 0;
}

/* What the loop handed over: onto the connection, in order. */
static void
take_todo(struct relay_wire *w)
{
	struct wire_conn *c = &w->c;
	struct relay_wire_cmd *cmd;

	while ((cmd = STAILQ_FIRST(&c->todo)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->todo, link);
		if (cmd->gen <= c->dead_gen) {
			cmd_free(cmd);
			continue;
		}
		if (c->fd != -1 && (c->up != cmd->up || c->gen != cmd->gen))
			conn_close(c);	/* the loop moved on */
		if (c->fd == -1 && conn_open(w, cmd->up, cmd->gen) != 0) {
			cmd_free(cmd);
			continue;
		}
		if (queue_frame(w, cmd) != 0) {
			cmd_free(cmd);
			continue;
		}
		cmd->deadline = monotime_ms() + w->timeout_ms;
		STAILQ_INSERT_TAIL(&c->sent, cmd, link);
	}
}

static void
do_write(struct relay_wire *w)
{
	struct wire_conn *c = &w->c;
	ssize_t n;

	n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_fail(w, "send: %s", strerror(errno));
		return;
	}
	memmove(c->out, c->out + n, c->outlen - (size_t)n);
	c->outlen -= (size_t)n;
}

/*
 * Whole replies, each matched to its frame by id: the upstream takes the
 * frames in order but answers each when it can (a repeat at once, a new
 * report once journaled), so replies may pass one another.
 */
static void
take_replies(struct relay_wire *w)
{
	struct wire_conn *c = &w->c;
	struct relay_wire_cmd *cmd;
	struct bp_msg *m;
	size_t used;
	int rc;

	if ((m = malloc(sizeof(*m))) == NULL) {
		conn_fail(w, "out of memory");
		return;
	}
	while (c->fd != -1 && c->inlen > 0) {
		if ((rc = bp_parse(c->in, c->inlen, m, &used)) == BP_MORE)
			break;
		if (rc != BP_OK) {
			conn_fail(w, "a reply that does not parse: %s",
			    bp_strerror(rc));
			break;
		}
		STAILQ_FOREACH(cmd, &c->sent, link)
			if (m->id == (uint32_t)cmd->seq &&
			    m->type == (cmd->type | BP_REPLY))
				break;
		if (cmd == NULL) {
			bp_free(m);
			conn_fail(w, "a reply to no frame of ours");
			break;
		}
		STAILQ_REMOVE(&c->sent, cmd, relay_wire_cmd, link);
		post(w, RW_REPLY, cmd->gen, cmd->seq, bp_get(m, "status"),
		    bp_get(m, "message"));
		cmd_free(cmd);
		bp_free(m);
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
	}
	free(m);
}

static void
do_read(struct relay_wire *w)
{
	struct wire_conn *c = &w->c;
	size_t cap = BP_HDR_LEN + BP_MAX_BODY;
	uint8_t *b;
	ssize_t n;

	if (c->in == NULL && (c->in = malloc(cap)) == NULL) {
		conn_fail(w, "out of memory");
		return;
	}
	b = c->in;
	n = recv(c->fd, b + c->inlen, cap - c->inlen, MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_fail(w, "recv: %s", strerror(errno));
		return;
	}
	if (n == 0) {
		/* Closed while idle (a restart, an idle timeout): quietly. */
		if (STAILQ_EMPTY(&c->sent) && c->outlen == 0)
			conn_close(c);
		else
			conn_fail(w, "the connection was closed before "
			    "every report was answered");
		return;
	}
	c->inlen += (size_t)n;
	take_replies(w);
}

static void
check_deadlines(struct relay_wire *w, int64_t now)
{
	struct wire_conn *c = &w->c;
	struct relay_wire_cmd *cmd = STAILQ_FIRST(&c->sent);
	char t[32];

	snprintf(t, sizeof(t), "%d", w->timeout_ms);
	if (c->fd != -1 && c->connecting && now >= c->conn_deadline)
		conn_fail(w, "no connection within %s ms", t);
	else if (c->fd != -1 && cmd != NULL && now >= cmd->deadline)
		conn_fail(w, "no answer within %s ms", t);
}

static int
poll_timeout(const struct wire_conn *c, int64_t now)
{
	const struct relay_wire_cmd *cmd = STAILQ_FIRST(&c->sent);
	int64_t d = -1;

	if (c->fd != -1 && c->connecting)
		d = c->conn_deadline;
	else if (c->fd != -1 && cmd != NULL)
		d = cmd->deadline;
	if (d < 0)
		return -1;
	return d <= now ? 0 : (int)(d - now);
}

static void
on_events(struct relay_wire *w, short ev)
{
	struct wire_conn *c = &w->c;
	socklen_t sl = sizeof(int);
	int e = 0;

	if (c->connecting && (ev & (POLLOUT | POLLERR | POLLHUP))) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &sl) != 0)
			e = errno;
		if (e != 0) {
			conn_fail(w, "connect: %s", strerror(e));
			return;
		}
		c->connecting = 0;
	}
	if (!c->connecting && c->outlen > 0 && (ev & POLLOUT))
		do_write(w);
	if (c->fd != -1 && !c->connecting && (ev & (POLLIN | POLLHUP |
	    POLLERR)))
		do_read(w);
}

static void *
wire_main(void *arg)
{
	struct relay_wire *w = arg;
	struct wire_conn *c = &w->c;
	struct pollfd pfd[2];
	int stop, n;

	for (;;) {
		pthread_mutex_lock(&w->mu);
		stop = w->stop;
		STAILQ_CONCAT(&c->todo, &w->cmds);
		pthread_mutex_unlock(&w->mu);
		if (stop)
			break;
		take_todo(w);
		pfd[0].fd = w->wake[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = c->fd;
		pfd[1].events = c->fd == -1 ? 0 : POLLIN |
		    (c->connecting || c->outlen > 0 ? POLLOUT : 0);
		n = poll(pfd, c->fd == -1 ? 1 : 2,
		    poll_timeout(c, monotime_ms()));
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && (pfd[0].revents & POLLIN))
			drain(w->wake[0]);
		if (n > 0 && c->fd != -1 && pfd[1].revents != 0)
			on_events(w, pfd[1].revents);
		check_deadlines(w, monotime_ms());
	}
	conn_close(c);
	free_cmds(&c->todo);
	return NULL;
}

/* ---- the loop's side -------------------------------------------------- */

int
relay_wire_fd(const struct relay_wire *w)
{
	return w->done[0];
}

void
relay_wire_send(struct relay_wire *w, struct relay_wire_cmdq *cmds)
{
	pthread_mutex_lock(&w->mu);
	STAILQ_CONCAT(&w->cmds, cmds);
	pthread_mutex_unlock(&w->mu);
	poke(w->wake[1]);
}

void
relay_wire_take_results(struct relay_wire *w, struct relay_wire_resq *got)
{
	drain(w->done[0]);
	STAILQ_INIT(got);
	pthread_mutex_lock(&w->mu);
	STAILQ_CONCAT(got, &w->results);
	pthread_mutex_unlock(&w->mu);
}

static int
pipe_nb(int p[2])
{
	return pipe2(p, O_NONBLOCK | O_CLOEXEC);
}

struct relay_wire *
relay_wire_start(const struct relay_wire_settings *set, char *err,
    size_t errlen)
{
	struct relay_wire *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->up = set->up;
	w->timeout_ms = set->timeout_ms;
	w->cred = set->cred;
	w->cred_arg = set->cred_arg;
	w->wake[0] = w->wake[1] = w->done[0] = w->done[1] = -1;
	w->c.fd = -1;
	STAILQ_INIT(&w->cmds);
	STAILQ_INIT(&w->results);
	STAILQ_INIT(&w->c.todo);
	STAILQ_INIT(&w->c.sent);
	pthread_mutex_init(&w->mu, NULL);
	if (pipe_nb(w->wake) != 0 || pipe_nb(w->done) != 0) {
		snprintf(err, errlen, "relay: pipe: %s", strerror(errno));
		relay_wire_stop(w);
		return NULL;
	}
	if (pthread_create(&w->thr, NULL, wire_main, w) != 0) {
		snprintf(err, errlen, "relay: cannot start the forwarder's "
		    "thread");
		relay_wire_stop(w);
		return NULL;
	}
	w->thr_started = 1;
	return w;
}

void
relay_wire_stop(struct relay_wire *w)
{
	struct relay_wire_res *r;
	size_t i;

	if (w == NULL)
		return;
	if (w->thr_started) {
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_mutex_unlock(&w->mu);
		poke(w->wake[1]);
		pthread_join(w->thr, NULL);
	}
	free_cmds(&w->cmds);
	while ((r = STAILQ_FIRST(&w->results)) != NULL) {
		STAILQ_REMOVE_HEAD(&w->results, link);
		free(r);
	}
	for (i = 0; i < 2; i++) {
		if (w->wake[i] != -1)
			close(w->wake[i]);
		if (w->done[i] != -1)
			close(w->done[i]);
	}
	pthread_mutex_destroy(&w->mu);
	free(w);
}
