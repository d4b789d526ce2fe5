/*
 * listen_tcp.c - bank.yaml's listen_tcp: ADDRESS:PORT, for the hosts of
 * the cluster (issue 13).  A TCP connection is a connection as any other
 * (conn.c) whose peer is not known at accept: every request carries a
 * MUNGE credential (bankproto.h, BP_CRED_KEY) that tcpauth.c checks with
 * munged before the request goes on.  The first good credential names the
 * connection's peer (PEER_MUNGE; the same rules then as SO_PEERCRED's),
 * every later one must name the same uid and gid.  Until then the
 * connection is capped and timed out as a user's.
 *
 * Bounded: at most limits.tcp_connections TCP connections (beyond, an
 * accepted one is closed at once, logged now and then); frames and
 * buffers are conn.c's; a refused credential gets status=error with what
 * was wrong and one log line per RATE_EVERY_S.
 *
 * munge_decode() asks munged over its Unix socket and waits for it: some
 * tens of microseconds on the event loop for each TCP request.
 */
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
#include "listen_tcp.h"
#include "log.h"
#include "peer.h"
#include "rate.h"
#include "tcpauth.h"

struct listen_tcp {
	struct bankd		*bd;
	struct evconnlistener	*lev;
	munge_ctx_t		 munge;
	int			 open;		/* TCP connections */
	struct rate		 rate_full;
	struct rate		 rate_cred[TA_NOMEM + 1];	/* per kind */
	unsigned long		 refused;	/* credentials, since start */
	int			 stopped;	/* freed with the last one */
};

static void
lt_free(struct listen_tcp *lt)
{
	if (lt->munge != NULL)
		munge_ctx_destroy(lt->munge);
	lt->bd->listen_tcp = NULL;
	free(lt);
}

/* munged's verdict on cred (tcpauth_decode_fn). */
static enum tcpauth_rc
munge_decoder(void *arg, const char *cred, uint8_t *payload, size_t cap,
    size_t *plen, uid_t *uid, gid_t *gid, char *why, size_t whylen)
{
	struct listen_tcp *lt = arg;
	void *buf = NULL;
	int len = 0;
	munge_err_t e;

	e = munge_decode(cred, lt->munge, &buf, &len, uid, gid);
	if (buf != NULL && len > 0) {
		*plen = (size_t)len;
		memcpy(payload, buf, (size_t)len < cap ? (size_t)len : cap);
	}
	free(buf);
	if (e != EMUNGE_SUCCESS)
		snprintf(why, whylen, "%s", munge_ctx_strerror(lt->munge) ?
		    munge_ctx_strerror(lt->munge) : munge_strerror(e));
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

/* Every frame on a TCP connection: its credential first (conn_gate). */
static int
on_frame(void *arg, struct conn *c, struct bp_msg *m)
{
	struct listen_tcp *lt = arg;
	struct bankd *bd = lt->bd;
	enum tcpauth_rc rc;
	unsigned long held;
	struct peer p;
	char msg[256];

	rc = tcpauth_check(munge_decoder, lt, m, &p, msg, sizeof(msg));
	if (rc == TA_OK && conn_set_peer(c, &p, msg, sizeof(msg)) == 0)
		return 0;
	lt->refused++;
	counters_add(&bd->counters, CNT_REFUSED, 1);
	/* A line per kind of refusal per RATE_EVERY_S: a replay shows. */
	if (rate_due(&lt->rate_cred[rc], &held)) {
		char who[32] = "";

		if (rc == TA_OK)
			snprintf(who, sizeof(who), " from uid %ld",
			    (long)p.uid);
		log_warn("tcp: %s: refused the %s request%s: %s (%lu more "
		    "such since the last line)", rc == TA_OK ? "not served" :
		    tcpauth_name(rc),
		    bp_type_name(m->type), who, msg, held);
	}
	conn_reply_status(c, m->type, m->id, rc == TA_UNAVAILABLE ||
	    rc == TA_NOMEM ? "later" : "error", msg);
	/* The uid's share is full or it is another's: it stays refused. */
	return rc == TA_OK ? -1 : 1;
}

static void
on_closed(void *arg, struct conn *c)
{
	struct listen_tcp *lt = arg;

	(void)c;
	if (--lt->open == 0 && lt->stopped)
		lt_free(lt);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listen_tcp *lt = arg;
	struct conn_gate gate = { on_frame, on_closed, lt };
	struct peer p = { .uid = (uid_t)-1, .gid = (gid_t)-1, .pid = 0,
	    .how = PEER_MUNGE };
	unsigned long held;
	int one = 1;

	(void)l;
	(void)sa;
	(void)salen;
	if (lt->open >= lt->bd->conf.tcp_connections) {
		if (rate_due(&lt->rate_full, &held))
			log_warn("tcp: refused a connection: %d open, the "
			    "most limits.tcp_connections allows (%lu more "
			    "refused since)", lt->open, held);
		close(fd);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (conn_open_gated(lt->bd, fd, &p, &gate) != NULL)
		lt->open++;
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
	if ((lt = calloc(1, sizeof(*lt))) == NULL ||
	    (lt->munge = munge_ctx_create()) == NULL) {
		free(lt);
		log_err("listen_tcp: out of memory");
		return -1;
	}
	lt->bd = bd;
	bd->listen_tcp = lt;
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
	log_info("listening on tcp %s (MUNGE credentials, at most %d "
	    "connections)", addr, bd->conf.tcp_connections);
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
