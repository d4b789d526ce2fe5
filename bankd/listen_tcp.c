/*
 * listen_tcp.c - bank.yaml's listen_tcp: ADDRESS:PORT, for the hosts of
 * the cluster (issue 13).  A TCP connection is a connection as any other
 * (conn.c) whose peer is not known at accept: every request carries a
 * MUNGE credential (bankproto.h, BP_CRED_KEY) that tcpauth.c checks once
 * munged has decoded it.  The first good credential names the
 * connection's peer (PEER_MUNGE; the same rules then as SO_PEERCRED's),
 * every later one must name the same uid and gid.  Until then the
 * connection is capped and timed out as a user's.  A credential of root
 * or slurm_user may speak for another uid (peer_uid, peer_gid: a relay,
 * peer.h); the connection is then that uid's, PEER_RELAYED.
 *
 * munge_decode() waits on munged, so it runs in credq.c's threads, never
 * on the loop, with a deadline (CRED_DEADLINE_MS: then status=later).
 * A relay pipelines up to 64 reports on one connection, each with its
 * own credential: every frame of a connection is taken in (a tcpjob, in
 * arrival order), its decode started at once, and the frames go on to
 * dispatch strictly in arrival order as the head's verdict is known.  So
 * several decodes are in flight while the replies keep the order of the
 * requests.  A connection with TCP_WINDOW frames waiting is not read.
 *
 * Bounded: at most limits.tcp_connections TCP connections (beyond, an
 * accepted one is closed at once, logged now and then); TCP_WINDOW frames
 * per connection, CRED_JOBS credentials out in all; a refused credential
 * gets status=error (later: munged unavailable) with what was wrong and
 * one log line per RATE_EVERY_S per kind.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <munge.h>

#include "bankd.h"
#include "conn.h"
#include "counters.h"
#include "credq.h"
#include "listen_tcp.h"
#include "log.h"
#include "peer.h"
#include "rate.h"
#include "tcpauth.h"

#define TCP_WINDOW		64	/* a connection's frames in hand */
#define CRED_THREADS		2
#define CRED_JOBS		512	/* 8 relays' windows */
#define CRED_DEADLINE_MS	2000

struct tcpconn;

/* A frame in hand: its credential being decoded, or its verdict known. */
struct tcpjob {
	TAILQ_ENTRY(tcpjob)	 link;
	struct tcpconn		*tc;
	struct bp_msg		 m;
	struct credq_job	*cj;		/* NULL: decided */
	struct tcpauth_decoded	 d;
};

/* A TCP connection's side of the gate. */
struct tcpconn {
	struct listen_tcp	*lt;
	struct conn		*c;
	TAILQ_HEAD(, tcpjob)	 jobs;		/* arrival order */
	size_t			 njobs;
	int			 turning;	/* in turn(): free after */
	int			 closed;
};

struct listen_tcp {
	struct bankd		*bd;
	struct evconnlistener	*lev;
	munge_ctx_t		 munge;		/* copied by each decode */
	struct credq		*cq;
	int			 open;		/* TCP connections */
	struct rate		 rate_full;
	struct rate		 rate_cred[TA_NOMEM + 1];	/* per kind */
	unsigned long		 refused;	/* credentials, since start */
	int			 stopped;	/* freed with the last one */
};

static void
lt_free(struct listen_tcp *lt)
{
	credq_free(lt->cq);
	if (lt->munge != NULL)
		munge_ctx_destroy(lt->munge);
	lt->bd->listen_tcp = NULL;
	free(lt);
}

/*
 * munged's verdict on cred (tcpauth_decode_fn), in a decoder thread.  A
 * munge context is not for two threads at once: each decode has a copy
 * of lt's (which holds munge_socket and is only read).
 */
static enum tcpauth_rc
munge_decoder(void *arg, const char *cred, uint8_t *payload, size_t cap,
    size_t *plen, uid_t *uid, gid_t *gid, char *why, size_t whylen)
{
	struct listen_tcp *lt = arg;
	munge_ctx_t ctx;
	void *buf = NULL;
	int len = 0;
	munge_err_t e;

	if ((ctx = munge_ctx_copy(lt->munge)) == NULL)
		return TA_NOMEM;
	e = munge_decode(cred, ctx, &buf, &len, uid, gid);
	if (buf != NULL && len > 0) {
		*plen = (size_t)len;
		memcpy(payload, buf, (size_t)len < cap ? (size_t)len : cap);
	}
	free(buf);
	if (e != EMUNGE_SUCCESS)
		snprintf(why, whylen, "%s", munge_ctx_strerror(ctx) ?
		    munge_ctx_strerror(ctx) : munge_strerror(e));
	munge_ctx_destroy(ctx);
	switch (e) {
	case EMUNGE_SUCCESS:		return TA_OK;
	case EMUNGE_CRED_REPLAYED:	return TA_REPLAYED;
	case EMUNGE_CRED_EXPIRED:
	case EMUNGE_CRED_REWOUND:	return TA_EXPIRED;
	case EMUNGE_SOCKET:
	case EMUNGE_TIMEOUT:
	case EMUNGE_SNAFU:		return TA_UNAVAILABLE;
	case EMUNGE_NO_MEMORY:		return TA_NOMEM;
	default:			return TA_BAD;
	}
}

/* ---- a frame's turn --------------------------------------------------- */

/* A refusal: counted, logged per kind now and then, answered. */
static void
refuse(struct tcpconn *tc, const struct bp_msg *m, enum tcpauth_rc rc,
    const struct peer *p, const char *msg)
{
	struct listen_tcp *lt = tc->lt;
	unsigned long held;
	char who[32] = "";

	lt->refused++;
	counters_add(&lt->bd->counters, CNT_REFUSED, 1);
	/* A line per kind of refusal per RATE_EVERY_S: a replay shows. */
	if (rate_due(&lt->rate_cred[rc], &held)) {
		if (rc == TA_OK)
			snprintf(who, sizeof(who), " from uid %ld",
			    (long)p->uid);
		log_warn("tcp: %s: refused the %s request%s: %s (%lu more "
		    "such since the last line)", rc == TA_OK ? "not served" :
		    tcpauth_name(rc), bp_type_name(m->type), who, msg, held);
	}
	conn_reply_status(tc->c, m->type, m->id, rc == TA_UNAVAILABLE ||
	    rc == TA_NOMEM ? "later" : "error", msg);
}

/* tj's verdict: on to dispatch as its peer, or refused. */
static void
apply(struct tcpconn *tc, struct tcpjob *tj)
{
	struct bankd *bd = tc->lt->bd;
	enum tcpauth_rc rc;
	struct peer p;
	char msg[256];

	rc = tcpauth_judge(&tj->m, &tj->d, &p, msg, sizeof(msg));
	if (rc == TA_OK && peer_take_relayed(&tj->m, &p, bd->slurm_uid, msg,
	    sizeof(msg)) == 0 && conn_set_peer(tc->c, &p, msg,
	    sizeof(msg)) == 0) {
		conn_pass(tc->c, &tj->m);
		return;
	}
	refuse(tc, &tj->m, rc, &p, msg);
}

/* The connection closed: no decode is wanted any more. */
static void
tc_cancel(struct tcpconn *tc)
{
	struct tcpjob *tj;

	TAILQ_FOREACH(tj, &tc->jobs, link)
		if (tj->cj != NULL) {
			credq_cancel(tc->lt->cq, tj->cj);
			tj->cj = NULL;
		}
}

static void
tc_free(struct tcpconn *tc)
{
	struct tcpjob *tj;

	while ((tj = TAILQ_FIRST(&tc->jobs)) != NULL) {
		TAILQ_REMOVE(&tc->jobs, tj, link);
		bp_free(&tj->m);
		free(tj);
	}
	free(tc);
}

/* Every frame at the head whose verdict is known goes, in order. */
static void
turn(struct tcpconn *tc)
{
	struct conn *c = tc->c;
	struct tcpjob *tj;

	conn_hold(c);			/* a handler may close it */
	tc->turning++;
	while (!tc->closed && (tj = TAILQ_FIRST(&tc->jobs)) != NULL &&
	    tj->cj == NULL) {
		TAILQ_REMOVE(&tc->jobs, tj, link);
		tc->njobs--;
		conn_wait_end(tc->c);
		apply(tc, tj);		/* may close the connection */
		bp_free(&tj->m);
		free(tj);
	}
	if (--tc->turning == 0 && tc->closed)
		tc_free(tc);
	else if (!tc->closed && tc->njobs < TCP_WINDOW)
		conn_resume(c);
	conn_release(c);
}

/* credq_done_fn: tj's credential decoded (or its deadline passed). */
static void
on_decoded(void *arg, const struct tcpauth_decoded *d)
{
	struct tcpjob *tj = arg;

	tj->d = *d;
	tj->cj = NULL;
	turn(tj->tc);
}

/* Every frame on a TCP connection: taken in, its credential decoded. */
static int
on_frame(void *arg, struct conn *c, struct bp_msg *m)
{
	struct tcpconn *tc = arg;
	struct listen_tcp *lt = tc->lt;
	struct tcpjob *tj;
	const char *cred;

	if ((tj = calloc(1, sizeof(*tj))) == NULL) {
		log_err("tcp: out of memory for a request: closing its "
		    "connection");
		return CONN_GATE_CLOSE;
	}
	tj->tc = tc;
	tj->m = *m;
	bp_init(m, 0, 0);
	TAILQ_INSERT_TAIL(&tc->jobs, tj, link);
	tc->njobs++;
	conn_wait_begin(c);
	cred = tcpauth_cred(&tj->m);
	tj->d.rc = TA_NOCRED;		/* tcpauth_judge() says which */
	if (cred != NULL && *cred != '\0' && tj->m.owned == 0 &&
	    (tj->cj = credq_submit(lt->cq, cred, on_decoded, tj)) == NULL) {
		tj->d.rc = TA_UNAVAILABLE;
		snprintf(tj->d.why, sizeof(tj->d.why), "%zu credentials wait "
		    "for munged already, the most bankd keeps",
		    credq_jobs(lt->cq));
	}
	if (tc->njobs >= TCP_WINDOW)
		conn_pause(c);
	turn(tc);
	return CONN_GATE_TAKEN;
}

static void
on_closed(void *arg, struct conn *c)
{
	struct tcpconn *tc = arg;
	struct listen_tcp *lt = tc->lt;

	(void)c;
	tc->closed = 1;
	tc_cancel(tc);			/* before lt (and its credq) may go */
	if (tc->turning == 0)
		tc_free(tc);
	if (--lt->open == 0 && lt->stopped)
		lt_free(lt);
}

/* ---- the listener ----------------------------------------------------- */

int
listen_tcp_take(struct listen_tcp *lt, int fd)
{
	struct conn_gate gate = { on_frame, on_closed, NULL };
	struct peer p = { .uid = (uid_t)-1, .gid = (gid_t)-1, .pid = 0,
	    .how = PEER_MUNGE };
	struct tcpconn *tc;
	unsigned long held;

	if (lt->open >= lt->bd->conf.tcp_connections) {
		if (rate_due(&lt->rate_full, &held))
			log_warn("tcp: refused a connection: %d open, the "
			    "most limits.tcp_connections allows (%lu more "
			    "refused since)", lt->open, held);
		close(fd);
		return -1;
	}
	if ((tc = calloc(1, sizeof(*tc))) == NULL) {
		log_err("tcp: out of memory for a connection");
		close(fd);
		return -1;
	}
	tc->lt = lt;
	TAILQ_INIT(&tc->jobs);
	gate.arg = tc;
	if ((tc->c = conn_open_gated(lt->bd, fd, &p, &gate)) == NULL) {
		free(tc);
		return -1;
	}
	lt->open++;
	return 0;
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	int one = 1;

	(void)l;
	(void)sa;
	(void)salen;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	listen_tcp_take(arg, fd);
}

static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	struct listen_tcp *lt = arg;
	unsigned long held;
	int err = errno;

	(void)l;
	if (rate_due(&lt->rate_full, &held))
		log_err("tcp accept: %s (%lu more since)", strerror(err), held);
}

struct listen_tcp *
listen_tcp_new(struct bankd *bd, tcpauth_decode_fn decode, void *arg)
{
	struct credq_settings set = { CRED_THREADS, CRED_JOBS,
	    CRED_DEADLINE_MS };
	struct listen_tcp *lt;

	if ((lt = calloc(1, sizeof(*lt))) == NULL) {
		log_err("listen_tcp: out of memory");
		return NULL;
	}
	lt->bd = bd;
	bd->listen_tcp = lt;
	if ((lt->cq = credq_new(bd->base, &set, decode != NULL ? decode :
	    munge_decoder, decode != NULL ? arg : lt)) == NULL)
		return NULL;		/* freed by listen_tcp_stop */
	return lt;
}

int
listen_tcp_start(struct bankd *bd)
{
	const char *addr = bd->conf.listen_tcp;
	struct sockaddr_storage ss;
	struct listen_tcp *lt;
	unsigned salen;
	int fd, one = 1;

	if (addr == NULL)
		return 0;
	if (bp_hostport(addr, &ss, &salen) != 0) {
		log_err("listen_tcp: '%s' is not ADDRESS:PORT", addr);
		return -1;
	}
	if ((lt = listen_tcp_new(bd, NULL, NULL)) == NULL)
		return -1;
	if ((lt->munge = munge_ctx_create()) == NULL) {
		log_err("listen_tcp: out of memory");
		return -1;
	}
	if (bd->conf.munge_socket != NULL && munge_ctx_set(lt->munge,
	    MUNGE_OPT_SOCKET, bd->conf.munge_socket) != EMUNGE_SUCCESS) {
		log_err("listen_tcp: munge_socket %s: %s",
		    bd->conf.munge_socket, munge_ctx_strerror(lt->munge));
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) != 0 || bind(fd, (struct sockaddr *)&ss, salen) != 0) {
		log_err("cannot listen on tcp %s: %s", addr, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	lt->lev = evconnlistener_new(bd->base, on_accept, lt,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 512, fd);
	if (lt->lev == NULL) {
		log_err("cannot listen on tcp %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(lt->lev, on_accept_error);
	log_info("listening on tcp %s (MUNGE credentials decoded by %d "
	    "threads within %d ms, at most %d connections)", addr,
	    CRED_THREADS, CRED_DEADLINE_MS, bd->conf.tcp_connections);
	return 0;
}

void
listen_tcp_stop(struct bankd *bd)
{
	struct listen_tcp *lt = bd->listen_tcp;

	if (lt == NULL)
		return;
	if (lt->lev != NULL)
		evconnlistener_free(lt->lev);
	lt->lev = NULL;
	/* Open connections still point here: freed with the last. */
	lt->stopped = 1;
	if (lt->open == 0)
		lt_free(lt);
}
