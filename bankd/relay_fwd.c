/*
 * relay_fwd.c - the relay's forwarder (relay_fwd.h).
 *
 * Two halves.  The loop's half owns the queue (relayq.c): it picks the
 * reports to send, in seq order, at most `window` unanswered, and acts on
 * each answer.  A thread's half owns the TCP connection: it makes each
 * frame's MUNGE credential, connects, writes and reads, all with poll()
 * and deadlines, and hands every answer back through a pipe the loop
 * watches (as jwatch.c watches a journal's sync thread).
 *
 * Why a thread, and not non-blocking sockets on the loop: munge_encode()
 * is a blocking round trip to munged (its own socket, its own retries,
 * seconds when munged is slow), made once per frame; on the loop it
 * would stall every client of the relay.  With the credential on a
 * thread, the connection might as well be there too: one owner, no
 * hand-over per frame, and the loop never touches a TCP socket.
 *
 * Generations: each run of attempts on one connection has a number.  When
 * the connection fails the thread says so once, for its generation, and
 * drops whatever else of that generation it still holds; the loop puts
 * that generation's reports back in the queue and moves to the next
 * upstream with a new generation.  So a late answer of an old connection
 * can never be taken for a new one's.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bankproto.h"
#include "log.h"
#include "relay_fwd.h"
#include "relayq.h"

/* The first retry after every upstream failed; doubles up to the cap. */
#define FWD_BACKOFF_MS		200

/* The loop's order: send this frame (encoded without credential). */
struct fwd_cmd {
	STAILQ_ENTRY(fwd_cmd)	 link;
	uint64_t		 gen;
	uint64_t		 seq;
	size_t			 up;
	uint8_t			*frame;
	size_t			 len;
	int64_t			 deadline;	/* thread: sent, answer by */
	uint8_t			 type;
};
STAILQ_HEAD(fwd_cmdq, fwd_cmd);

enum fwd_res_kind {
	FR_REPLY,		/* seq's answer: status, message */
	FR_FAIL,		/* the connection of gen failed: message */
};

struct fwd_res {
	STAILQ_ENTRY(fwd_res)	 link;
	enum fwd_res_kind	 kind;
	uint64_t		 gen;
	uint64_t		 seq;
	char			 status[16];
	char			 message[512];
};
STAILQ_HEAD(fwd_resq, fwd_res);

/* The thread's own: touched by no one else. */
struct fwd_conn {
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
	struct fwd_cmdq		 todo;
	struct fwd_cmdq		 sent;		/* in the order sent */
};

struct relay_fwd {
	struct event_base	*base;
	struct relayq		*q;
	char			**up;
	size_t			 nup;
	int			 timeout_ms;
	int			 window;
	int			 retry_max_ms;
	relaycred_fn		 cred;
	void			*cred_arg;

	/* shared with the thread, under mu */
	pthread_mutex_t		 mu;
	struct fwd_cmdq		 cmds;
	struct fwd_resq		 results;
	int			 stop;

	int			 wake[2];	/* loop -> thread */
	int			 done[2];	/* thread -> loop */
	pthread_t		 thr;
	int			 thr_started;
	struct fwd_conn		 c;		/* the thread's */

	/* the loop's */
	struct event		*done_ev;
	struct event		*timer;
	int			 waiting;	/* backing off */
	uint64_t		 gen;
	size_t			 cur;		/* upstream tried now */
	unsigned		 rounds;	/* of every upstream failing */
	int			 ok;
	uint64_t		 forwarded;
	uint64_t		 failures;
	char			 error[512];
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
post(struct relay_fwd *f, enum fwd_res_kind kind, uint64_t gen, uint64_t seq,
    const char *status, const char *message)
{
	struct fwd_res *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;		/* its report stays in flight: resent at
				   the next failure or start */
	r->kind = kind;
	r->gen = gen;
	r->seq = seq;
	snprintf(r->status, sizeof(r->status), "%s", status ? status : "");
	snprintf(r->message, sizeof(r->message), "%s", message ? message : "");
	pthread_mutex_lock(&f->mu);
	STAILQ_INSERT_TAIL(&f->results, r, link);
	pthread_mutex_unlock(&f->mu);
	poke(f->done[1]);
}

static void
cmd_free(struct fwd_cmd *cmd)
{
	free(cmd->frame);
	free(cmd);
}

static void
free_cmds(struct fwd_cmdq *l)
{
	struct fwd_cmd *cmd;

	while ((cmd = STAILQ_FIRST(l)) != NULL) {
		STAILQ_REMOVE_HEAD(l, link);
		cmd_free(cmd);
	}
}

static void
conn_close(struct fwd_conn *c)
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
static void	 conn_fail(struct relay_fwd *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
conn_fail(struct relay_fwd *f, const char *fmt, ...)
{
	struct fwd_conn *c = &f->c;
	char msg[512], what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s: %s", f->up[c->up], what);
	conn_close(c);
	if (c->gen > c->dead_gen) {
		c->dead_gen = c->gen;
		post(f, FR_FAIL, c->gen, 0, NULL, msg);
	}
}

static int
conn_open(struct relay_fwd *f, size_t up, uint64_t gen)
{
	struct fwd_conn *c = &f->c;
	struct sockaddr_storage ss;
	unsigned salen;
	int one = 1;

	c->up = up;
	c->gen = gen;
	if (bp_hostport(f->up[up], &ss, &salen) != 0) {
		conn_fail(f, "not ADDRESS:PORT");
		return -1;
	}
	if ((c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		conn_fail(f, "socket: %s", strerror(errno));
		return -1;
	}
	/* Small frames, pipelined: no Nagle delay between them. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&ss, salen) == 0)
		return 0;
	if (errno != EINPROGRESS) {
		conn_fail(f, "connect: %s", strerror(errno));
		return -1;
	}
	c->connecting = 1;
	c->conn_deadline = now_ms() + f->timeout_ms;
	return 0;
}

/* cmd's frame with a fresh credential onto the output; 0 or -1 (failed). */
static int
queue_frame(struct relay_fwd *f, struct fwd_cmd *cmd)
{
	struct fwd_conn *c = &f->c;
	struct bp_msg *m;
	uint8_t *frame, *o;
	char why[256];
	size_t used, len;
	int rc;

	if ((m = malloc(sizeof(*m))) == NULL)
		return -1;
	if (bp_parse(cmd->frame, cmd->len, m, &used) != BP_OK) {
		free(m);
		conn_fail(f, "a frame of ours does not parse");
		return -1;
	}
	rc = relaycred_frame(m, f->cred, f->cred_arg, &frame, &len, why,
	    sizeof(why));
	bp_free(m);
	free(m);
	if (rc != BP_OK) {
		conn_fail(f, "no credential: %s", rc == BP_ECRED ? why :
		    bp_strerror(rc));
		return -1;
	}
	if ((o = realloc(c->out, c->outlen + len)) == NULL) {
		free(frame);
		conn_fail(f, "out of memory");
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
take_todo(struct relay_fwd *f)
{
	struct fwd_conn *c = &f->c;
	struct fwd_cmd *cmd;

	while ((cmd = STAILQ_FIRST(&c->todo)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->todo, link);
		if (cmd->gen <= c->dead_gen) {
			cmd_free(cmd);
			continue;
		}
		if (c->fd != -1 && (c->up != cmd->up || c->gen != cmd->gen))
			conn_close(c);	/* the loop moved on */
		if (c->fd == -1 && conn_open(f, cmd->up, cmd->gen) != 0) {
			cmd_free(cmd);
			continue;
		}
		if (queue_frame(f, cmd) != 0) {
			cmd_free(cmd);
			continue;
		}
		cmd->deadline = now_ms() + f->timeout_ms;
		STAILQ_INSERT_TAIL(&c->sent, cmd, link);
	}
}

static void
do_write(struct relay_fwd *f)
{
	struct fwd_conn *c = &f->c;
	ssize_t n;

	n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_fail(f, "send: %s", strerror(errno));
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
take_replies(struct relay_fwd *f)
{
	struct fwd_conn *c = &f->c;
	struct fwd_cmd *cmd;
	struct bp_msg *m;
	size_t used;
	int rc;

	if ((m = malloc(sizeof(*m))) == NULL) {
		conn_fail(f, "out of memory");
		return;
	}
	while (c->fd != -1 && c->inlen > 0) {
		if ((rc = bp_parse(c->in, c->inlen, m, &used)) == BP_MORE)
			break;
		if (rc != BP_OK) {
			conn_fail(f, "a reply that does not parse: %s",
			    bp_strerror(rc));
			break;
		}
		STAILQ_FOREACH(cmd, &c->sent, link)
			if (m->id == (uint32_t)cmd->seq &&
			    m->type == (cmd->type | BP_REPLY))
				break;
		if (cmd == NULL) {
			bp_free(m);
			conn_fail(f, "a reply to no frame of ours");
			break;
		}
		STAILQ_REMOVE(&c->sent, cmd, fwd_cmd, link);
		post(f, FR_REPLY, cmd->gen, cmd->seq, bp_get(m, "status"),
		    bp_get(m, "message"));
		cmd_free(cmd);
		bp_free(m);
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
	}
	free(m);
}

static void
do_read(struct relay_fwd *f)
{
	struct fwd_conn *c = &f->c;
	size_t cap = BP_HDR_LEN + BP_MAX_BODY;
	uint8_t *b;
	ssize_t n;

	if (c->in == NULL && (c->in = malloc(cap)) == NULL) {
		conn_fail(f, "out of memory");
		return;
	}
	b = c->in;
	n = recv(c->fd, b + c->inlen, cap - c->inlen, MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_fail(f, "recv: %s", strerror(errno));
		return;
	}
	if (n == 0) {
		/* Closed while idle (a restart, an idle timeout): quietly. */
		if (STAILQ_EMPTY(&c->sent) && c->outlen == 0)
			conn_close(c);
		else
			conn_fail(f, "the connection was closed before "
			    "every report was answered");
		return;
	}
	c->inlen += (size_t)n;
	take_replies(f);
}

static void
check_deadlines(struct relay_fwd *f, int64_t now)
{
	struct fwd_conn *c = &f->c;
	struct fwd_cmd *cmd = STAILQ_FIRST(&c->sent);
	char t[32];

	snprintf(t, sizeof(t), "%d", f->timeout_ms);
	if (c->fd != -1 && c->connecting && now >= c->conn_deadline)
		conn_fail(f, "no connection within %s ms", t);
	else if (c->fd != -1 && cmd != NULL && now >= cmd->deadline)
		conn_fail(f, "no answer within %s ms", t);
}

static int
poll_timeout(const struct fwd_conn *c, int64_t now)
{
	const struct fwd_cmd *cmd = STAILQ_FIRST(&c->sent);
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
on_events(struct relay_fwd *f, short ev)
{
	struct fwd_conn *c = &f->c;
	socklen_t sl = sizeof(int);
	int e = 0;

	if (c->connecting && (ev & (POLLOUT | POLLERR | POLLHUP))) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &sl) != 0)
			e = errno;
		if (e != 0) {
			conn_fail(f, "connect: %s", strerror(e));
			return;
		}
		c->connecting = 0;
	}
	if (!c->connecting && c->outlen > 0 && (ev & POLLOUT))
		do_write(f);
	if (c->fd != -1 && !c->connecting && (ev & (POLLIN | POLLHUP |
	    POLLERR)))
		do_read(f);
}

static void *
fwd_main(void *arg)
{
	struct relay_fwd *f = arg;
	struct fwd_conn *c = &f->c;
	struct pollfd pfd[2];
	int stop, n;

	for (;;) {
		pthread_mutex_lock(&f->mu);
		stop = f->stop;
		STAILQ_CONCAT(&c->todo, &f->cmds);
		pthread_mutex_unlock(&f->mu);
		if (stop)
			break;
		take_todo(f);
		pfd[0].fd = f->wake[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = c->fd;
		pfd[1].events = c->fd == -1 ? 0 : POLLIN |
		    (c->connecting || c->outlen > 0 ? POLLOUT : 0);
		n = poll(pfd, c->fd == -1 ? 1 : 2, poll_timeout(c, now_ms()));
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && (pfd[0].revents & POLLIN))
			drain(f->wake[0]);
		if (n > 0 && c->fd != -1 && pfd[1].revents != 0)
			on_events(f, pfd[1].revents);
		check_deadlines(f, now_ms());
	}
	conn_close(c);
	free_cmds(&c->todo);
	return NULL;
}

/* ---- the loop --------------------------------------------------------- */

static void	 fwd_send(struct relay_fwd *);

static void
backoff(struct relay_fwd *f, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (f->waiting)
		return;
	f->waiting = 1;
	if (event_add(f->timer, &tv) != 0) {
		log_err("relay: cannot schedule the next attempt");
		f->waiting = 0;
	}
}

/* Every upstream failed again: wait longer, up to retry_max_ms. */
static int
round_delay(struct relay_fwd *f)
{
	int64_t d = FWD_BACKOFF_MS;
	unsigned i;

	for (i = 1; i < f->rounds && d < f->retry_max_ms; i++)
		d *= 2;
	if (d > f->retry_max_ms)
		d = f->retry_max_ms;
	/* Jitter: relays that lost the same controller do not come back
	 * at the same instant. */
	return (int)(d / 2 + random() % (d / 2 + 1));
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct relay_fwd *f = arg;

	(void)fd;
	(void)what;
	f->waiting = 0;
	fwd_send(f);
}

/* The connection of generation gen failed: the next upstream, or wait. */
static void
failed(struct relay_fwd *f, const struct fwd_res *r)
{
	size_t back;

	if (r->gen != f->gen)
		return;
	back = relayq_unsend_gen(f->q, r->gen);
	f->gen++;
	f->failures++;
	f->ok = 0;
	snprintf(f->error, sizeof(f->error), "%s", r->message);
	log_warn("relay: %s (%zu report(s) to send again)", r->message, back);
	if (++f->cur < f->nup) {
		backoff(f, 0);
		return;
	}
	f->cur = 0;
	f->rounds++;
	backoff(f, round_delay(f));
}

/*
 * An error that is not the report's: the credential refused (clocks, a
 * key), the relay's uid not privileged there.  Sending again once that
 * is mended helps, so it waits instead of becoming a dead letter.
 */
static int
not_the_reports(const char *msg)
{
	return strstr(msg, "MUNGE credential") != NULL ||
	    strstr(msg, "permission denied") != NULL ||
	    strncmp(msg, "refused: ", 9) == 0;
}

static void
answered(struct relay_fwd *f, const struct fwd_res *r)
{
	struct relayq_entry *e = relayq_find(f->q, r->seq);

	if (e == NULL || e->state != RQ_INFLIGHT || e->gen != r->gen)
		return;		/* of an attempt given up already */
	if (strcmp(r->status, "ok") == 0 || strcmp(r->status, "dup") == 0) {
		log_debug("relay: job %" PRIu32 ": %s report %" PRIu64 " taken "
		    "upstream (%s)", e->job, e->kind == REPORT_START ? "start" :
		    "end", e->seq, r->status);
		relayq_done(f->q, e);
		f->forwarded++;
		f->ok = 1;
		f->rounds = 0;
		f->error[0] = '\0';
		return;
	}
	if (strcmp(r->status, "error") == 0 && !not_the_reports(r->message)) {
		log_err("relay: job %" PRIu32 ": report %" PRIu64 " refused by "
		    "%s, kept as a dead letter: %s", e->job, e->seq,
		    f->up[f->cur], r->message);
		relayq_dead(f->q, e, r->message[0] ? r->message : "refused "
		    "upstream, no reason given");
		f->ok = 1;
		return;
	}
	/* later, or what we cannot act on: again, after a while. */
	relayq_unsend(f->q, e);
	snprintf(f->error, sizeof(f->error), "%s answered %s: %s",
	    f->up[f->cur], r->status[0] ? r->status : "no status",
	    r->message);
	log_warn("relay: job %" PRIu32 ": %s", e->job, f->error);
	f->rounds++;
	backoff(f, round_delay(f));
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct relay_fwd *f = arg;
	struct fwd_resq got;
	struct fwd_res *r;

	(void)fd;
	(void)what;
	drain(f->done[0]);
	STAILQ_INIT(&got);
	pthread_mutex_lock(&f->mu);
	STAILQ_CONCAT(&got, &f->results);
	pthread_mutex_unlock(&f->mu);
	while ((r = STAILQ_FIRST(&got)) != NULL) {
		STAILQ_REMOVE_HEAD(&got, link);
		if (r->kind == FR_FAIL)
			failed(f, r);
		else
			answered(f, r);
		free(r);
	}
	fwd_send(f);
}

/* e's request, encoded without a credential (the thread adds one). */
static struct fwd_cmd *
make_cmd(struct relay_fwd *f, struct relayq_entry *e)
{
	struct fwd_cmd *cmd;

	if ((cmd = calloc(1, sizeof(*cmd))) == NULL)
		return NULL;
	if (relayq_encode(e, &cmd->frame, &cmd->len) != 0) {
		free(cmd);
		relayq_dead(f->q, e, "the report's journal record is damaged: "
		    "it cannot be sent (see the relay's log)");
		return NULL;
	}
	cmd->type = e->kind == REPORT_START ? BP_T_START : BP_T_END;
	cmd->seq = e->seq;
	cmd->gen = f->gen;
	cmd->up = f->cur;
	return cmd;
}

/* As many of the oldest durable reports as the window leaves room for. */
static void
fwd_send(struct relay_fwd *f)
{
	struct fwd_cmdq l;
	struct fwd_cmd *cmd;
	struct relayq_entry *e;
	int n = 0;

	if (f->waiting)
		return;
	STAILQ_INIT(&l);
	while (relayq_inflight(f->q) < (size_t)f->window &&
	    (e = relayq_next(f->q)) != NULL) {
		if ((cmd = make_cmd(f, e)) == NULL) {
			if (e->state == RQ_PENDING)
				break;	/* out of memory: later */
			continue;	/* made a dead letter */
		}
		relayq_sent(f->q, e, f->gen);
		STAILQ_INSERT_TAIL(&l, cmd, link);
		n++;
	}
	if (n == 0)
		return;
	pthread_mutex_lock(&f->mu);
	STAILQ_CONCAT(&f->cmds, &l);
	pthread_mutex_unlock(&f->mu);
	poke(f->wake[1]);
}

void
relay_fwd_kick(struct relay_fwd *f)
{
	if (f != NULL)
		fwd_send(f);
}

static int
pipe_nb(int p[2])
{
	return pipe2(p, O_NONBLOCK | O_CLOEXEC);
}

struct relay_fwd *
relay_fwd_new(struct event_base *base, struct relayq *q,
    const struct relay_fwd_settings *set, char *err, size_t errlen)
{
	struct relay_fwd *f;
	size_t i;

	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->up = calloc(set->nup, sizeof(*f->up))) == NULL) {
		free(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->base = base;
	f->q = q;
	f->nup = set->nup;
	f->timeout_ms = set->timeout_ms;
	f->window = set->window;
	f->retry_max_ms = set->retry_max_ms;
	f->cred = set->cred;
	f->cred_arg = set->cred_arg;
	f->gen = 1;
	f->wake[0] = f->wake[1] = f->done[0] = f->done[1] = -1;
	f->c.fd = -1;
	STAILQ_INIT(&f->cmds);
	STAILQ_INIT(&f->results);
	STAILQ_INIT(&f->c.todo);
	STAILQ_INIT(&f->c.sent);
	pthread_mutex_init(&f->mu, NULL);
	for (i = 0; i < set->nup; i++)
		if ((f->up[i] = strdup(set->up[i])) == NULL)
			goto nomem;
	if (pipe_nb(f->wake) != 0 || pipe_nb(f->done) != 0) {
		snprintf(err, errlen, "relay: pipe: %s", strerror(errno));
		relay_fwd_free(f);
		return NULL;
	}
	if ((f->done_ev = event_new(base, f->done[0], EV_READ | EV_PERSIST,
	    on_done, f)) == NULL || event_add(f->done_ev, NULL) != 0 ||
	    (f->timer = evtimer_new(base, on_timer, f)) == NULL)
		goto nomem;
	if (pthread_create(&f->thr, NULL, fwd_main, f) != 0) {
		snprintf(err, errlen, "relay: cannot start the forwarder's "
		    "thread");
		relay_fwd_free(f);
		return NULL;
	}
	f->thr_started = 1;
	fwd_send(f);
	return f;
nomem:
	snprintf(err, errlen, "out of memory");
	relay_fwd_free(f);
	return NULL;
}

void
relay_fwd_free(struct relay_fwd *f)
{
	struct fwd_res *r;
	size_t i;

	if (f == NULL)
		return;
	if (f->thr_started) {
		pthread_mutex_lock(&f->mu);
		f->stop = 1;
		pthread_mutex_unlock(&f->mu);
		poke(f->wake[1]);
		pthread_join(f->thr, NULL);
	}
	free_cmds(&f->cmds);
	while ((r = STAILQ_FIRST(&f->results)) != NULL) {
		STAILQ_REMOVE_HEAD(&f->results, link);
		free(r);
	}
	if (f->done_ev != NULL)
		event_free(f->done_ev);
	if (f->timer != NULL)
		event_free(f->timer);
	for (i = 0; i < 2; i++) {
		if (f->wake[i] != -1)
			close(f->wake[i]);
		if (f->done[i] != -1)
			close(f->done[i]);
	}
	for (i = 0; i < f->nup; i++)
		free(f->up[i]);
	free(f->up);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

void
relay_fwd_view(const struct relay_fwd *f, struct relay_fwd_view *v)
{
	v->upstream = f->ok ? f->up[f->cur] : "none";
	v->ok = f->ok;
	v->forwarded = f->forwarded;
	v->attempts = f->failures;
	v->error = f->error;
}
