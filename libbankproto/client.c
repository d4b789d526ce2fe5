/*
 * client.c - one request and its reply, under a hard deadline.
 *
 * Used inside slurmctld (job_submit, jobcomp) and slurmstepd (spank), so it
 * creates no threads, installs no signal handlers and never blocks past the
 * deadline: the socket is non-blocking and every wait is a poll(2) bounded
 * by what is left of the deadline.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bankproto.h"

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for `events` on fd until the deadline; 0 when ready. */
static int
wait_fd(int fd, short events, int64_t deadline, int timeout_rc)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return timeout_rc;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return timeout_rc;
		if (errno != EINTR)
			return BP_EIO;
	}
}

int
bp_hostport(const char *s, struct sockaddr_storage *ss, unsigned *salen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[64];
	const char *colon, *h = s, *p;
	size_t hl;
	unsigned long port = 0;

	if (s == NULL)
		return -1;
	if (*s == '[') {
		if ((colon = strchr(s, ']')) == NULL || colon[1] != ':')
			return -1;
		h = s + 1;
		hl = (size_t)(colon - h);
		p = colon + 2;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		hl = (size_t)(colon - s);
		p = colon + 1;
	}
	if (hl == 0 || hl >= sizeof(host) || *p == '\0' || strlen(p) > 5)
		return -1;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (port == 0 || port > 65535)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (*s != '[' && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*salen = sizeof(*sin);
		return 0;
	}
	if (*s == '[' && inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*salen = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* A TCP connection to ADDRESS:PORT within the deadline. */
static int
connect_tcp(const char *hostport, int64_t deadline, int *fdp)
{
	struct sockaddr_storage ss;
	unsigned salen;
	socklen_t len;
	int fd, err, one = 1;

	if (bp_hostport(hostport, &ss, &salen) != 0)
		return BP_EADDR;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return BP_ECONNECT;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (connect(fd, (struct sockaddr *)&ss, salen) == -1) {
		if (errno == EINTR)
			continue;
		if (errno != EINPROGRESS)
			goto fail;
		if (wait_fd(fd, POLLOUT, deadline, BP_ECONNECT) != 0)
			goto fail;
		len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
		    err != 0)
			goto fail;
		break;
	}
	*fdp = fd;
	return BP_OK;
fail:
	close(fd);
	return BP_ECONNECT;
}

static int
connect_unix(const char *path, int64_t deadline, int *fdp)
{
	struct sockaddr_un sun;
	socklen_t len;
	int fd, err;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return BP_ECONNECT;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return BP_ECONNECT;
	/*
	 * A Unix socket connect either completes at once or, with a full
	 * listen backlog, fails with EAGAIN: retry until the deadline.
	 */
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EINPROGRESS) {
			if (wait_fd(fd, POLLOUT, deadline, BP_ECONNECT) != 0)
				goto fail;
			len = sizeof(err);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
			    &len) == -1 || err != 0)
				goto fail;
			break;
		}
		if (errno != EAGAIN || now_ms() >= deadline)
			goto fail;
		poll(NULL, 0, 1);
	}
	*fdp = fd;
	return BP_OK;
fail:
	close(fd);
	return BP_ECONNECT;
}

/* *sent: how many bytes went out, so a caller knows if bankd saw any. */
static int
send_all(int fd, const uint8_t *p, size_t len, int64_t deadline,
    size_t *sent)
{
	ssize_t n;
	int rc;

	*sent = 0;
	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= n;
			*sent += n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN)
			return BP_EIO;
		if ((rc = wait_fd(fd, POLLOUT, deadline, BP_ETIMEOUT)) != 0)
			return rc;
	}
	return BP_OK;
}

/* Most replies fit on the stack; a larger one gets a buffer its size. */
#define RECV_STACK	4096

static int
recv_reply(int fd, int64_t deadline, struct bp_msg *rep)
{
	uint8_t stack[RECV_STACK], *buf = stack, *big;
	size_t cap = sizeof(stack), len = 0, used;
	ssize_t n;
	int rc, wait = 1;

	for (;;) {
		rc = bp_parse(buf, len, rep, &used);
		if (rc != BP_MORE)
			break;
		if (len == cap) {
			/* Full, so the header is in and names the size. */
			cap = BP_HDR_LEN + ((size_t)buf[8] << 24 |
			    (size_t)buf[9] << 16 | (size_t)buf[10] << 8 |
			    buf[11]);
			if ((big = malloc(cap)) == NULL) {
				rc = BP_ENOMEM;
				break;
			}
			memcpy(big, buf, len);
			buf = big;
		}
		/* bankd takes some microseconds: wait, then read. */
		if (wait && (rc = wait_fd(fd, POLLIN, deadline,
		    BP_ETIMEOUT)) != 0)
			break;
		n = recv(fd, buf + len, cap - len, 0);
		wait = n == -1 && errno == EAGAIN;
		if (n > 0) {
			len += n;
			continue;
		}
		if (n == 0) {
			rc = BP_EIO;
			break;
		}
		if (errno != EINTR && errno != EAGAIN) {
			rc = BP_EIO;
			break;
		}
	}
	if (buf != stack)
		free(buf);
	return rc;
}

/* One request and its reply on a connected socket. */
static int
exchange(int fd, const uint8_t *frame, size_t len, int64_t deadline,
    const struct bp_msg *req, struct bp_msg *rep, size_t *sent)
{
	int rc;

	if ((rc = send_all(fd, frame, len, deadline, sent)) != BP_OK)
		return rc;
	if ((rc = recv_reply(fd, deadline, rep)) != BP_OK)
		return rc;
	if (rep->id != req->id || rep->type != (req->type | BP_REPLY)) {
		bp_free(rep);
		return BP_EREPLY;
	}
	return BP_OK;
}

static int64_t
deadline_of(int deadline_ms)
{
	return now_ms() + (deadline_ms > 0 ? deadline_ms : 1);
}

/*
 * bankd refuses a TCP request without a MUNGE credential; refused here
 * instead, where the caller learns why (bp_call_tcp() adds one).
 */
static int
needs_cred(const char *addr, const struct bp_msg *req)
{
	return strncmp(addr, "tcp:", 4) == 0 && bp_get(req, BP_CRED_KEY) ==
	    NULL;
}

/* A socket path, or tcp:ADDRESS:PORT. */
static int
connect_by(const char *addr, int64_t deadline, int *fdp)
{
	if (strncmp(addr, "tcp:", 4) == 0)
		return connect_tcp(addr + 4, deadline, fdp);
	return connect_unix(addr, deadline, fdp);
}

int
bp_call_frame(const char *addr, int deadline_ms, const uint8_t *frame,
    size_t len, const struct bp_msg *req, struct bp_msg *rep)
{
	int64_t deadline = deadline_of(deadline_ms);
	size_t sent;
	int fd, rc;

	if ((rc = connect_by(addr, deadline, &fd)) != BP_OK)
		return rc;
	rc = exchange(fd, frame, len, deadline, req, rep, &sent);
	close(fd);
	return rc;
}

int
bp_call(const char *path, int deadline_ms, const struct bp_msg *req,
    struct bp_msg *rep)
{
	int64_t deadline = deadline_of(deadline_ms);
	uint8_t *frame;
	size_t sent;
	long len;
	int fd, rc;

	if (needs_cred(path, req))
		return BP_ENOCRED;
	if ((len = bp_encode(req, &frame)) < 0)
		return (int)len;
	if ((rc = connect_by(path, deadline, &fd)) == BP_OK) {
		rc = exchange(fd, frame, (size_t)len, deadline, req, rep,
		    &sent);
		close(fd);
	}
	free(frame);
	return rc;
}

void
bp_conn_init(struct bp_conn *bc, const char *addr)
{
	/* A path that does not fit fails at connect, as in bp_call(). */
	bc->addr = strdup(addr);
	bc->fd = -1;
}

/* The connection only: the next call reconnects. */
static void
conn_drop(struct bp_conn *bc)
{
	if (bc->fd != -1)
		close(bc->fd);
	bc->fd = -1;
}

void
bp_conn_close(struct bp_conn *bc)
{
	conn_drop(bc);
	free(bc->addr);
	bc->addr = NULL;
}

int
bp_conn_call(struct bp_conn *bc, int deadline_ms, const struct bp_msg *req,
    struct bp_msg *rep)
{
	int64_t deadline = deadline_of(deadline_ms);
	uint8_t *frame;
	size_t sent;
	long len;
	int rc, reused;

	if (bc->addr == NULL)
		return BP_ENOMEM;
	if (needs_cred(bc->addr, req))
		return BP_ENOCRED;
	if ((len = bp_encode(req, &frame)) < 0)
		return (int)len;
	for (;;) {
		reused = bc->fd != -1;
		if (!reused && (rc = connect_by(bc->addr, deadline,
		    &bc->fd)) != BP_OK) {
			bc->fd = -1;
			break;
		}
		rc = exchange(bc->fd, frame, (size_t)len, deadline, req, rep,
		    &sent);
		if (rc == BP_OK)
			break;
		conn_drop(bc);
		/* bankd closed the kept connection and saw nothing: again. */
		if (!(reused && sent == 0 && rc == BP_EIO))
			break;
	}
	free(frame);
	return rc;
}
