/*
 * check_proto.c: unit tests of bankproto: frame encoding and decoding
 * (frame.c) and the deadline-bound client (client.c) against small
 * forked servers on a Unix socket in a private temporary directory.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bankproto.h"

/* A header as it goes on the wire, for hand-made frames. */
static size_t
hdr(uint8_t *p, uint8_t ver, uint8_t type, uint32_t id, uint32_t len)
{
	p[0] = BP_MAGIC0;
	p[1] = BP_MAGIC1;
	p[2] = ver;
	p[3] = type;
	p[4] = id >> 24; p[5] = id >> 16; p[6] = id >> 8; p[7] = id;
	p[8] = len >> 24; p[9] = len >> 16; p[10] = len >> 8; p[11] = len;
	return BP_HDR_LEN;
}

/* Parse a hand-made frame of header + body[0..blen). */
static int
parse_body(const char *body, size_t blen)
{
	uint8_t buf[BP_HDR_LEN + 4096];
	struct bp_msg m;
	size_t used = 0;
	int rc;

	ck_assert_uint_le(blen, sizeof(buf) - BP_HDR_LEN);
	hdr(buf, BP_VERSION, BP_T_CHECK, 1, blen);
	memcpy(buf + BP_HDR_LEN, body, blen);
	rc = bp_parse(buf, BP_HDR_LEN + blen, &m, &used);
	if (rc == BP_OK)
		bp_free(&m);
	return rc;
}

static long
encode_sample(uint8_t **out)
{
	struct bp_msg m;
	long n;

	bp_init(&m, BP_T_START, 0xdeadbeef);
	ck_assert_int_eq(bp_add(&m, "account", "fc_a"), BP_OK);
	ck_assert_int_eq(bp_add(&m, "empty", ""), BP_OK);
	ck_assert_int_eq(bp_add(&m, "expr", "a=b=c"), BP_OK);
	ck_assert_int_eq(bp_addf(&m, "cpus", "%d", 12), BP_OK);
	n = bp_encode(&m, out);
	bp_free(&m);
	return n;
}

#define SAMPLE_BODY	"account=fc_a\nempty=\nexpr=a=b=c\ncpus=12\n"

static void
check_sample(const struct bp_msg *m)
{
	ck_assert_uint_eq(m->type, BP_T_START);
	ck_assert_uint_eq(m->id, 0xdeadbeef);
	ck_assert_uint_eq(m->nfields, 4);
	ck_assert_str_eq(m->fields[0].key, "account");
	ck_assert_str_eq(bp_get(m, "account"), "fc_a");
	ck_assert_str_eq(bp_get(m, "empty"), "");
	/* Only the first '=' separates key from value. */
	ck_assert_str_eq(bp_get(m, "expr"), "a=b=c");
	ck_assert_str_eq(bp_get(m, "cpus"), "12");
	ck_assert_ptr_null(bp_get(m, "missing"));
}

START_TEST(encode_layout)
{
	uint8_t *f, want[BP_HDR_LEN];
	size_t blen = strlen(SAMPLE_BODY);
	long n;

	n = encode_sample(&f);
	ck_assert_int_eq(n, (long)(BP_HDR_LEN + blen));
	hdr(want, BP_VERSION, BP_T_START, 0xdeadbeef, blen);
	ck_assert_mem_eq(f, want, BP_HDR_LEN);
	ck_assert_mem_eq(f + BP_HDR_LEN, SAMPLE_BODY, blen);
	free(f);
}
END_TEST

START_TEST(round_trip)
{
	struct bp_msg m;
	uint8_t *f;
	size_t used = 0;
	long n;

	n = encode_sample(&f);
	ck_assert_int_eq(bp_parse(f, n, &m, &used), BP_OK);
	ck_assert_uint_eq(used, (size_t)n);
	check_sample(&m);
	bp_free(&m);
	free(f);
}
END_TEST

START_TEST(round_trip_empty)
{
	struct bp_msg m, out;
	uint8_t *f;
	size_t used = 0;
	long n;

	bp_init(&m, BP_T_STATUS | BP_REPLY, 0);
	ck_assert_int_eq(n = bp_encode(&m, &f), BP_HDR_LEN);
	ck_assert_int_eq(bp_parse(f, n, &out, &used), BP_OK);
	ck_assert_uint_eq(used, BP_HDR_LEN);
	ck_assert_uint_eq(out.type, BP_T_STATUS | BP_REPLY);
	ck_assert_uint_eq(out.id, 0);
	ck_assert_uint_eq(out.nfields, 0);
	bp_free(&out);
	free(f);
}
END_TEST

/* A reader that gets one byte per read(2) must see MORE until the end. */
START_TEST(partial_bytes)
{
	struct bp_msg m;
	uint8_t *f;
	size_t i, used;
	long n;

	n = encode_sample(&f);
	for (i = 0; i < (size_t)n; i++) {
		used = 4242;
		ck_assert_msg(bp_parse(f, i, &m, &used) == BP_MORE,
		    "not MORE at %zu of %ld bytes", i, n);
		ck_assert_uint_eq(used, 4242);
	}
	ck_assert_int_eq(bp_parse(f, n, &m, &used), BP_OK);
	ck_assert_uint_eq(used, (size_t)n);
	check_sample(&m);
	bp_free(&m);
	free(f);
}
END_TEST

START_TEST(back_to_back)
{
	struct bp_msg m, m2;
	uint8_t *f, *f2, *buf;
	size_t used;
	long n, n2;

	n = encode_sample(&f);
	bp_init(&m2, BP_T_END, 7);
	ck_assert_int_eq(bp_add(&m2, "state", "COMPLETED"), BP_OK);
	n2 = bp_encode(&m2, &f2);
	ck_assert_int_gt(n2, 0);
	ck_assert_ptr_nonnull(buf = malloc(n + n2));
	memcpy(buf, f, n);
	memcpy(buf + n, f2, n2);

	ck_assert_int_eq(bp_parse(buf, n + n2, &m, &used), BP_OK);
	ck_assert_uint_eq(used, (size_t)n);
	check_sample(&m);
	bp_free(&m);
	ck_assert_int_eq(bp_parse(buf + used, n + n2 - used, &m, &used),
	    BP_OK);
	ck_assert_uint_eq(used, (size_t)n2);
	ck_assert_uint_eq(m.type, BP_T_END);
	ck_assert_uint_eq(m.id, 7);
	ck_assert_uint_eq(m.nfields, 1);
	ck_assert_str_eq(bp_get(&m, "state"), "COMPLETED");
	bp_free(&m);
	free(buf);
	free(f);
	free(f2);
}
END_TEST

START_TEST(bad_magic)
{
	uint8_t b[BP_HDR_LEN];
	struct bp_msg m;
	size_t used;

	hdr(b, BP_VERSION, BP_T_STATUS, 1, 0);
	b[0] = 'G';
	/* Refused from the first byte: no waiting for a whole header. */
	ck_assert_int_eq(bp_parse(b, 1, &m, &used), BP_EMAGIC);
	ck_assert_int_eq(bp_parse(b, sizeof(b), &m, &used), BP_EMAGIC);
	b[0] = BP_MAGIC0;
	b[1] = 'X';
	ck_assert_int_eq(bp_parse(b, 1, &m, &used), BP_MORE);
	ck_assert_int_eq(bp_parse(b, 2, &m, &used), BP_EMAGIC);
}
END_TEST

START_TEST(bad_version)
{
	uint8_t b[BP_HDR_LEN];
	struct bp_msg m;
	size_t used;

	hdr(b, BP_VERSION + 1, BP_T_STATUS, 1, 0);
	ck_assert_int_eq(bp_parse(b, 3, &m, &used), BP_EVERSION);
	ck_assert_int_eq(bp_parse(b, sizeof(b), &m, &used), BP_EVERSION);
	hdr(b, 0, BP_T_STATUS, 1, 0);
	ck_assert_int_eq(bp_parse(b, sizeof(b), &m, &used), BP_EVERSION);
}
END_TEST

/* A peer announcing a huge body is refused before it is buffered. */
START_TEST(too_big)
{
	uint8_t b[BP_HDR_LEN];
	struct bp_msg m;
	size_t used;

	hdr(b, BP_VERSION, BP_T_STATUS, 1, BP_MAX_BODY + 1);
	ck_assert_int_eq(bp_parse(b, sizeof(b), &m, &used), BP_ETOOBIG);
	hdr(b, BP_VERSION, BP_T_STATUS, 1, UINT32_MAX);
	ck_assert_int_eq(bp_parse(b, sizeof(b), &m, &used), BP_ETOOBIG);
	/* The limit itself is allowed: wait for the body. */
	hdr(b, BP_VERSION, BP_T_STATUS, 1, BP_MAX_BODY);
	ck_assert_int_eq(bp_parse(b, sizeof(b), &m, &used), BP_MORE);
}
END_TEST

START_TEST(encode_too_big)
{
	struct bp_msg m;
	uint8_t *f = NULL;
	char *big;

	ck_assert_ptr_nonnull(big = malloc(BP_MAX_BODY));
	memset(big, 'x', BP_MAX_BODY - 1);
	big[BP_MAX_BODY - 1] = '\0';
	bp_init(&m, BP_T_CHECK, 1);
	/* "k=" + value + "\n" is BP_MAX_BODY + 2 bytes. */
	ck_assert_int_eq(bp_add(&m, "k", big), BP_OK);
	ck_assert_int_eq(bp_encode(&m, &f), BP_ETOOBIG);
	ck_assert_ptr_null(f);
	free(big);
}
END_TEST

struct body {
	const char	*b;
	size_t		 len;	/* 0: strlen */
};

START_TEST(syntax_errors)
{
	static const struct body t[] = {
		{ "novalue\n", 0 },
		{ "a=1\nnovalue\n", 0 },
		{ "Bad=1\n", 0 },
		{ "a-b=1\n", 0 },
		{ "a b=1\n", 0 },
		{ "=1\n", 0 },
		{ "a=1\na=2\n", 0 },
		{ "a=1\n\n", 0 },
		{ "a=1", 0 },
		{ "a=1\nb=2", 0 },
		{ "a=x\0y\n", 6 },
		{ "\0", 1 },
	};
	size_t i, len;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		len = t[i].len ? t[i].len : strlen(t[i].b);
		ck_assert_msg(parse_body(t[i].b, len) == BP_ESYNTAX,
		    "body %zu '%s' not ESYNTAX", i, t[i].b);
	}
}
END_TEST

START_TEST(key_lengths)
{
	char body[128];

	/* 31 characters is the longest key. */
	snprintf(body, sizeof(body), "%s=1\n",
	    "abcdefghijklmnopqrstuvwxyz_0123");
	ck_assert_int_eq(parse_body(body, strlen(body)), BP_OK);
	/*
	 * bankproto.h lists a long key under BP_ETOOMANY; frame.c answers
	 * BP_ESYNTAX.  Either refuses the frame, which is what matters.
	 */
	snprintf(body, sizeof(body), "%s=1\n",
	    "abcdefghijklmnopqrstuvwxyz_01234");
	ck_assert_int_lt(parse_body(body, strlen(body)), 0);
}
END_TEST

static int
parse_nfields(int n)
{
	char body[2048];
	size_t off = 0;
	int i;

	for (i = 0; i < n; i++)
		off += snprintf(body + off, sizeof(body) - off, "k%d=%d\n",
		    i, i);
	return parse_body(body, off);
}

START_TEST(too_many_fields)
{
	ck_assert_int_eq(parse_nfields(BP_MAX_FIELDS), BP_OK);
	ck_assert_int_eq(parse_nfields(BP_MAX_FIELDS + 1), BP_ETOOMANY);
}
END_TEST

START_TEST(add_rules)
{
	/* bp_add keeps pointers: the keys must outlive the message. */
	static char keys[BP_MAX_FIELDS][8];
	struct bp_msg m;
	int i;

	bp_init(&m, BP_T_CHECK, 1);
	ck_assert_int_eq(bp_add(&m, "msg", "two\nlines"), BP_ESYNTAX);
	ck_assert_int_eq(bp_add(&m, "msg", "trailing\n"), BP_ESYNTAX);
	ck_assert_int_eq(bp_add(&m, "Msg", "x"), BP_ESYNTAX);
	ck_assert_int_eq(bp_add(&m, "", "x"), BP_ESYNTAX);
	ck_assert_int_eq(bp_add(&m, "a=b", "x"), BP_ESYNTAX);
	ck_assert_int_eq(bp_add(&m, "msg", NULL), BP_ESYNTAX);
	ck_assert_int_eq(bp_addf(&m, "msg", "%s\n", "x"), BP_ESYNTAX);
	ck_assert_uint_eq(m.nfields, 0);
	for (i = 0; i < BP_MAX_FIELDS; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		ck_assert_int_eq(bp_addf(&m, keys[i], "%d", i), BP_OK);
	}
	ck_assert_int_eq(bp_add(&m, "one_more", "x"), BP_ETOOMANY);
	ck_assert_int_eq(bp_addf(&m, "one_more", "%d", 1), BP_ETOOMANY);
	ck_assert_str_eq(bp_get(&m, "k63"), "63");
	/* Every bp_addf value is owned, so bp_free releases all 64. */
	ck_assert_uint_eq(m.owned, UINT64_MAX);
	bp_free(&m);
	ck_assert_uint_eq(m.nfields, 0);
}
END_TEST

START_TEST(get_u64)
{
	struct bp_msg m;
	uint64_t v;

	bp_init(&m, BP_T_END, 1);
	bp_add(&m, "a", "12");
	bp_add(&m, "x", "x");
	bp_add(&m, "e", "");
	bp_add(&m, "neg", "-1");
	bp_add(&m, "plus", "+1");
	bp_add(&m, "sp", " 12");
	bp_add(&m, "tail", "12x");
	bp_add(&m, "max", "18446744073709551615");
	bp_add(&m, "over", "18446744073709551616");
	v = 99;
	ck_assert_int_eq(bp_get_u64(&m, "a", &v), 0);
	ck_assert_uint_eq(v, 12);
	ck_assert_int_eq(bp_get_u64(&m, "max", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	v = 99;
	ck_assert_int_eq(bp_get_u64(&m, "x", &v), -1);
	ck_assert_int_eq(bp_get_u64(&m, "e", &v), -1);
	ck_assert_int_eq(bp_get_u64(&m, "neg", &v), -1);
	ck_assert_int_eq(bp_get_u64(&m, "plus", &v), -1);
	ck_assert_int_eq(bp_get_u64(&m, "sp", &v), -1);
	ck_assert_int_eq(bp_get_u64(&m, "tail", &v), -1);
	ck_assert_int_eq(bp_get_u64(&m, "over", &v), -1);
	ck_assert_int_eq(bp_get_u64(&m, "missing", &v), -1);
	ck_assert_uint_eq(v, 99);
	bp_free(&m);
}
END_TEST

START_TEST(add_u64)
{
	struct bp_msg m;
	char buf[BP_NUM_LEN];
	uint64_t v;
	uint8_t *f;
	long n;

	ck_assert_str_eq(bp_u64toa(0, buf), "0");
	ck_assert_str_eq(bp_u64toa(7, buf), "7");
	ck_assert_str_eq(bp_u64toa(1000, buf), "1000");
	ck_assert_str_eq(bp_u64toa(UINT64_MAX, buf), "18446744073709551615");
	bp_init(&m, BP_T_CHECK | BP_REPLY, 1);
	ck_assert_int_eq(bp_add_u64(&m, "cpus", 48), BP_OK);
	ck_assert_int_eq(bp_add_u64(&m, "hold", UINT64_MAX), BP_OK);
	ck_assert_int_eq(bp_add_u64(&m, "Bad", 1), BP_ESYNTAX);
	ck_assert_int_eq(bp_get_u64(&m, "cpus", &v), 0);
	ck_assert_uint_eq(v, 48);
	ck_assert_int_eq(bp_get_u64(&m, "hold", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	/* Each number lives in its own field: the first is intact. */
	ck_assert_int_gt(n = bp_encode(&m, &f), 0);
	ck_assert_int_eq(memcmp(f + BP_HDR_LEN, "cpus=48\nhold="
	    "18446744073709551615\n", (size_t)n - BP_HDR_LEN), 0);
	free(f);
	bp_free(&m);
	bp_init(&m, BP_T_CHECK, 1);
	while (m.nfields < BP_MAX_FIELDS)
		ck_assert_int_eq(bp_add_u64(&m, "k", m.nfields), BP_OK);
	ck_assert_int_eq(bp_add_u64(&m, "k", 1), BP_ETOOMANY);
	bp_free(&m);
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(bp_type_name(BP_T_CHECK), "check");
	ck_assert_str_eq(bp_type_name(BP_T_END | BP_REPLY), "end");
	ck_assert_str_eq(bp_type_name(0x7f), "unknown");
	ck_assert_str_eq(bp_strerror(BP_ETIMEOUT),
	    "bankd did not answer within the deadline");
	ck_assert_str_eq(bp_strerror(-99), "unknown error");
}
END_TEST

/* The client, against servers in forked children. */

static char dir[64], sock[128];

static void
client_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_proto.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/bankd.sock", dir);
}

static void
client_teardown(void)
{
	unlink(sock);
	rmdir(dir);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
listen_at(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_int_ne(fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

enum answer {
	A_OK,		/* a correct reply */
	A_WRONG_ID,
	A_WRONG_TYPE,	/* the request type without BP_REPLY */
	A_SPLIT_HALF,	/* the reply in two writes, 50 ms apart */
	A_SPLIT_HDR,	/* the same, cut inside the header */
	A_GARBAGE,	/* not bankproto at all */
	A_BAD_BODY,	/* a valid header over a broken body */
	A_CLOSE,	/* hang up without answering */
	A_BIG,		/* a reply of 20 KB */
	A_SILENT,	/* read the request, never answer */
};

static void
send_raw(int fd, const void *p, size_t len)
{
	/* The client may have hung up already: no SIGPIPE, no check. */
	(void)send(fd, p, len, MSG_NOSIGNAL);
}

/* Read one request; 0 if it is the one the tests send. */
static int
read_request(int fd, struct bp_msg *req)
{
	uint8_t buf[1024];
	size_t len = 0, used;
	ssize_t n;
	int rc;

	while ((rc = bp_parse(buf, len, req, &used)) == BP_MORE) {
		if ((n = read(fd, buf + len, sizeof(buf) - len)) <= 0)
			return -1;
		len += n;
	}
	if (rc != BP_OK)
		return -1;
	rc = bp_get(req, "account") && strcmp(bp_get(req, "account"),
	    "fc_a") == 0 && req->type == BP_T_CHECK ? 0 : -1;
	return rc;
}

static void
answer(int fd, const struct bp_msg *req, enum answer a)
{
	static const char garbage[] = "HTTP/1.0 400 Bad Request\r\n\r\n";
	struct bp_msg rep;
	uint8_t *f;
	long n;
	size_t cut;
	static char big[20000];

	bp_init(&rep, a == A_WRONG_TYPE ? req->type : req->type | BP_REPLY,
	    a == A_WRONG_ID ? req->id + 1 : req->id);
	bp_add(&rep, "status", "allow");
	bp_add(&rep, "estimate", "12.50");
	if (a == A_BIG) {
		memset(big, 'b', sizeof(big) - 1);
		bp_add(&rep, "message", big);
	}
	if ((n = bp_encode(&rep, &f)) < 0)
		_exit(3);
	switch (a) {
	case A_SPLIT_HALF:
	case A_SPLIT_HDR:
		cut = a == A_SPLIT_HDR ? 5 : (size_t)n / 2;
		send_raw(fd, f, cut);
		usleep(50 * 1000);
		send_raw(fd, f + cut, n - cut);
		break;
	case A_GARBAGE:
		send_raw(fd, garbage, sizeof(garbage) - 1);
		break;
	case A_BAD_BODY:
		f[BP_HDR_LEN] = 'X';	/* an uppercase key */
		send_raw(fd, f, n);
		break;
	case A_CLOSE:
		break;
	case A_SILENT:
		usleep(500 * 1000);
		break;
	default:
		send_raw(fd, f, n);
	}
	free(f);
}

/* Fork a one-shot server; it exits 0 if it got the expected request. */
static pid_t
serve(int lfd, enum answer a)
{
	struct bp_msg req;
	pid_t pid;
	int fd, rc;

	ck_assert_int_ne(pid = fork(), -1);
	if (pid != 0)
		return pid;
	if ((fd = accept(lfd, NULL, NULL)) == -1)
		_exit(4);
	if ((rc = read_request(fd, &req)) == 0) {
		answer(fd, &req, a);
		bp_free(&req);
	}
	close(fd);
	close(lfd);
	_exit(rc == 0 ? 0 : 5);
}

static void
reap(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "server child failed: status %#x", st);
}

static void
request(struct bp_msg *req)
{
	bp_init(req, BP_T_CHECK, 4242);
	bp_add(req, "account", "fc_a");
	bp_add(req, "partitions", "debug,normal");
}

/* Call a server that answers `a`; the result of bp_call. */
static int
call_server(enum answer a, struct bp_msg *rep)
{
	struct bp_msg req;
	pid_t pid;
	int lfd, rc;

	lfd = listen_at(sock);
	pid = serve(lfd, a);
	close(lfd);
	request(&req);
	memset(rep, 0, sizeof(*rep));
	rc = bp_call(sock, 2000, &req, rep);
	reap(pid);
	return rc;
}

START_TEST(call_ok)
{
	struct bp_msg rep;

	ck_assert_int_eq(call_server(A_OK, &rep), BP_OK);
	ck_assert_uint_eq(rep.type, BP_T_CHECK | BP_REPLY);
	ck_assert_uint_eq(rep.id, 4242);
	ck_assert_uint_eq(rep.nfields, 2);
	ck_assert_str_eq(bp_get(&rep, "status"), "allow");
	ck_assert_str_eq(bp_get(&rep, "estimate"), "12.50");
	bp_free(&rep);
}
END_TEST

START_TEST(call_split)
{
	struct bp_msg rep;

	ck_assert_int_eq(call_server(A_SPLIT_HALF, &rep), BP_OK);
	ck_assert_str_eq(bp_get(&rep, "estimate"), "12.50");
	bp_free(&rep);
	unlink(sock);
	ck_assert_int_eq(call_server(A_SPLIT_HDR, &rep), BP_OK);
	ck_assert_str_eq(bp_get(&rep, "estimate"), "12.50");
	bp_free(&rep);
}
END_TEST

START_TEST(call_wrong_id)
{
	struct bp_msg rep;

	ck_assert_int_eq(call_server(A_WRONG_ID, &rep), BP_EREPLY);
	/* bp_call freed what it parsed: nothing is left to leak. */
	ck_assert_ptr_null(rep.body);
	unlink(sock);
	ck_assert_int_eq(call_server(A_WRONG_TYPE, &rep), BP_EREPLY);
	ck_assert_ptr_null(rep.body);
}
END_TEST

START_TEST(call_garbage)
{
	struct bp_msg rep;

	ck_assert_int_eq(call_server(A_GARBAGE, &rep), BP_EMAGIC);
	unlink(sock);
	ck_assert_int_eq(call_server(A_BAD_BODY, &rep), BP_ESYNTAX);
}
END_TEST

START_TEST(call_hangup)
{
	struct bp_msg rep;
	int64_t t0 = now_ms();

	ck_assert_int_eq(call_server(A_CLOSE, &rep), BP_EIO);
	/* A hang-up is noticed at once, not at the 2 s deadline. */
	ck_assert_int_lt(now_ms() - t0, 1000);
}
END_TEST

START_TEST(call_no_listener)
{
	struct bp_msg req, rep;
	int64_t t0;
	int fd;

	request(&req);
	t0 = now_ms();
	ck_assert_int_eq(bp_call(sock, 2000, &req, &rep), BP_ECONNECT);
	ck_assert_int_lt(now_ms() - t0, 100);
	/* A socket file left behind by a dead bankd: refused at once. */
	fd = listen_at(sock);
	close(fd);
	t0 = now_ms();
	ck_assert_int_eq(bp_call(sock, 2000, &req, &rep), BP_ECONNECT);
	ck_assert_int_lt(now_ms() - t0, 100);
	/* A path too long for sun_path. */
	ck_assert_int_eq(bp_call("/tmp/"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    2000, &req, &rep), BP_ECONNECT);
}
END_TEST

/*
 * A tcp: address and no credential: refused here, before connecting
 * (bankd would refuse it, with a message the caller never sees).  The
 * port is one nothing listens on: a connect would say BP_ECONNECT.
 */
START_TEST(call_tcp_needs_cred)
{
	struct bp_msg req, rep;
	struct bp_conn bc;

	request(&req);
	ck_assert_int_eq(bp_call("tcp:127.0.0.1:1", 500, &req, &rep),
	    BP_ENOCRED);
	bp_conn_init(&bc, "tcp:127.0.0.1:1");
	ck_assert_int_eq(bp_conn_call(&bc, 500, &req, &rep), BP_ENOCRED);
	bp_conn_close(&bc);
	ck_assert_ptr_nonnull(strstr(bp_strerror(BP_ENOCRED), "MUNGE"));
	/* With one (not checked here: bankd does), it is sent. */
	ck_assert_int_eq(bp_add(&req, BP_CRED_KEY, "x"), BP_OK);
	ck_assert_int_eq(bp_call("tcp:127.0.0.1:1", 500, &req, &rep),
	    BP_ECONNECT);
	bp_free(&req);
}
END_TEST

/* A bankd that accepted nothing and answers nothing: the deadline holds. */
START_TEST(call_deadline)
{
	struct bp_msg req, rep;
	int64_t t0, dt;
	int lfd;

	lfd = listen_at(sock);
	request(&req);
	t0 = now_ms();
	ck_assert_int_eq(bp_call(sock, 200, &req, &rep), BP_ETIMEOUT);
	dt = now_ms() - t0;
	/* Not early (ms rounding allowed for), and at most 100 ms late. */
	ck_assert_int_ge(dt, 198);
	ck_assert_int_le(dt, 300);
	close(lfd);
}
END_TEST

START_TEST(call_big_reply)
{
	struct bp_msg rep;

	ck_assert_int_eq(call_server(A_BIG, &rep), BP_OK);
	ck_assert_uint_eq(strlen(bp_get(&rep, "message")), 19999);
	bp_free(&rep);
}
END_TEST

/* One accept, n requests answered on it; exits 0 if all were right. */
static pid_t
serve_kept(int lfd, int n)
{
	struct bp_msg req;
	pid_t pid;
	int fd, i;

	ck_assert_int_ne(pid = fork(), -1);
	if (pid != 0)
		return pid;
	if ((fd = accept(lfd, NULL, NULL)) == -1)
		_exit(4);
	for (i = 0; i < n; i++) {
		if (read_request(fd, &req) != 0)
			_exit(5);
		answer(fd, &req, A_OK);
		bp_free(&req);
	}
	close(fd);
	close(lfd);
	_exit(0);
}

static int
conn_call(struct bp_conn *bc, uint32_t id, int deadline_ms)
{
	struct bp_msg req, rep;
	int rc;

	request(&req);
	req.id = id;
	if ((rc = bp_conn_call(bc, deadline_ms, &req, &rep)) == BP_OK) {
		ck_assert_uint_eq(rep.id, id);
		ck_assert_str_eq(bp_get(&rep, "status"), "allow");
		bp_free(&rep);
	}
	return rc;
}

/*
 * Three calls ride one connection (the server accepts once); when that
 * server goes, the next call notices the dead connection and reconnects.
 */
START_TEST(conn_kept_and_renewed)
{
	struct bp_conn bc;
	pid_t pid;
	int lfd;

	lfd = listen_at(sock);
	pid = serve_kept(lfd, 3);
	bp_conn_init(&bc, sock);
	ck_assert_int_eq(conn_call(&bc, 1, 2000), BP_OK);
	ck_assert_int_eq(conn_call(&bc, 2, 2000), BP_OK);
	ck_assert_int_eq(conn_call(&bc, 3, 2000), BP_OK);
	reap(pid);			/* it closed the connection */
	ck_assert_int_ne(bc.fd, -1);	/* we have not noticed yet */
	pid = serve_kept(lfd, 1);
	ck_assert_int_eq(conn_call(&bc, 4, 2000), BP_OK);
	reap(pid);
	bp_conn_close(&bc);
	ck_assert_int_eq(bc.fd, -1);
	close(lfd);
}
END_TEST

/* A call that times out drops the connection: no late reply is misread. */
START_TEST(conn_timeout_drops)
{
	struct bp_msg req;
	struct bp_conn bc;
	pid_t pid;
	int lfd;

	lfd = listen_at(sock);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		int fd = accept(lfd, NULL, NULL);

		if (fd == -1 || read_request(fd, &req) != 0)
			_exit(5);
		answer(fd, &req, A_SILENT);
		_exit(0);
	}
	bp_conn_init(&bc, sock);
	ck_assert_int_eq(conn_call(&bc, 1, 100), BP_ETIMEOUT);
	ck_assert_int_eq(bc.fd, -1);
	reap(pid);
	/* Nobody listens any more: refused at once, no stale fd kept. */
	close(lfd);
	unlink(sock);
	ck_assert_int_eq(conn_call(&bc, 2, 2000), BP_ECONNECT);
	ck_assert_int_eq(bc.fd, -1);
	bp_conn_close(&bc);
	ck_assert_ptr_null(bc.addr);
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc;

	tc = tcase_create("frame");
	tcase_add_test(tc, encode_layout);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, round_trip_empty);
	tcase_add_test(tc, partial_bytes);
	tcase_add_test(tc, back_to_back);
	tcase_add_test(tc, bad_magic);
	tcase_add_test(tc, bad_version);
	tcase_add_test(tc, too_big);
	tcase_add_test(tc, encode_too_big);
	tcase_add_test(tc, syntax_errors);
	tcase_add_test(tc, key_lengths);
	tcase_add_test(tc, too_many_fields);
	tcase_add_test(tc, add_rules);
	tcase_add_test(tc, get_u64);
	tcase_add_test(tc, add_u64);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);

	tc = tcase_create("client");
	tcase_add_checked_fixture(tc, client_setup, client_teardown);
	/* Under valgrind every step is slower; the bounds are per call. */
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, call_ok);
	tcase_add_test(tc, call_split);
	tcase_add_test(tc, call_wrong_id);
	tcase_add_test(tc, call_garbage);
	tcase_add_test(tc, call_hangup);
	tcase_add_test(tc, call_no_listener);
	tcase_add_test(tc, call_tcp_needs_cred);
	tcase_add_test(tc, call_deadline);
	tcase_add_test(tc, call_big_reply);
	tcase_add_test(tc, conn_kept_and_renewed);
	tcase_add_test(tc, conn_timeout_drops);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
