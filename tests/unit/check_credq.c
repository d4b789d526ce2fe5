/*
 * check_credq.c: unit tests of MUNGE credentials decoded off the event
 * loop (bankd/credq.c) and of what a TCP connection does with them
 * (bankd/listen_tcp.c over conn.c), with a fake decoder in munged's
 * place: a credential "UID:GID:HEX" decodes to that uid, gid and payload
 * (HEX, the request's digest), and one that starts "wait:" blocks until
 * the test lets it go.  So a test holds one decode while the others
 * finish, and sees what the loop does meanwhile.
 *
 * The rules: a decode that outlives the deadline is answered "later"
 * with munged's silence named, once, and its late result is dropped; the
 * jobs out are bounded; a decoder stuck at exit does not stop the exit;
 * pipelined frames of one connection are dispatched, and answered, in
 * the order they came, while their decodes run at once; peer_uid and
 * peer_gid are honoured from root and slurm_user only (PEER_RELAYED),
 * and taken out of the request.
 */
#include <sys/socket.h>

#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bankd.h"
#include "conn.h"
#include "credq.h"
#include "fields.h"
#include "listen_tcp.h"
#include "peer.h"

#define SLURM_UID	4242
#define USER_UID	1000

/* ---- the fake munged --------------------------------------------------- */

static struct {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 open;		/* "wait:" credentials may go */
	int		 calls;
	int		 hang_fd;	/* "hang": read(2) here forever */
} fake = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, -1 };

static int
unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	while (s[0] != '\0' && s[1] != '\0' && n < cap &&
	    sscanf(s, "%2x", &v) == 1) {
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return (int)n;
}

static enum tcpauth_rc
fake_decode(void *arg, const char *cred, uint8_t *payload, size_t cap,
    size_t *plen, uid_t *uid, gid_t *gid, char *why, size_t whylen)
{
	unsigned long u, g;
	char hex[80];
	char b;

	(void)arg;
	pthread_mutex_lock(&fake.mu);
	fake.calls++;
	pthread_cond_broadcast(&fake.cv);
	if (strncmp(cred, "wait:", 5) == 0) {
		while (!fake.open)
			pthread_cond_wait(&fake.cv, &fake.mu);
		cred += 5;
	}
	pthread_mutex_unlock(&fake.mu);
	if (strcmp(cred, "hang") == 0) {
		(void)!read(fake.hang_fd, &b, 1);	/* never written */
		return TA_UNAVAILABLE;
	}
	if (sscanf(cred, "%lu:%lu:%79s", &u, &g, hex) != 3) {
		snprintf(why, whylen, "fake: garbage");
		return TA_BAD;
	}
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	*plen = (size_t)unhex(hex, payload, cap);
	return TA_OK;
}

static void
fake_reset(void)
{
	pthread_mutex_lock(&fake.mu);
	fake.open = 0;
	fake.calls = 0;
	pthread_mutex_unlock(&fake.mu);
}

static void
fake_release(void)
{
	pthread_mutex_lock(&fake.mu);
	fake.open = 1;
	pthread_cond_broadcast(&fake.cv);
	pthread_mutex_unlock(&fake.mu);
}

/* Until the decoder has been called n times in all. */
static void
fake_wait_calls(int n)
{
	pthread_mutex_lock(&fake.mu);
	while (fake.calls < n)
		pthread_cond_wait(&fake.cv, &fake.mu);
	pthread_mutex_unlock(&fake.mu);
}

/* The decoder called n times in all, base's loop run meanwhile. */
static void
loop_until_calls(struct event_base *b, int n)
{
	int calls;

	for (;;) {
		pthread_mutex_lock(&fake.mu);
		calls = fake.calls;
		pthread_mutex_unlock(&fake.mu);
		if (calls >= n)
			return;
		event_base_loop(b, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

/* ---- credq alone ------------------------------------------------------- */

static struct event_base *base;
static struct {
	int			 n;
	struct tcpauth_decoded	 d[8];
} got;

static void
on_done(void *arg, const struct tcpauth_decoded *d)
{
	(void)arg;
	if (got.n < 8)
		got.d[got.n] = *d;
	got.n++;
}

static void
q_setup(void)
{
	memset(&got, 0, sizeof(got));
	fake_reset();
	ck_assert_ptr_nonnull(base = event_base_new());
}

static void
q_teardown(void)
{
	event_base_free(base);
}

/* The loop, until `got` has n answers (each turn blocks on an event). */
static void
until_got(int n)
{
	int i;

	for (i = 0; got.n < n && i < 1000; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(got.n, n);
}

START_TEST(decodes_in_threads)
{
	struct credq_settings set = { 2, 8, 60000 };
	struct credq *q = credq_new(base, &set, fake_decode, NULL);

	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_nonnull(credq_submit(q, "1000:1001:00ff", on_done, NULL));
	ck_assert_ptr_nonnull(credq_submit(q, "garbage", on_done, NULL));
	/* Never from within submit: the answers come on the loop. */
	ck_assert_int_eq(got.n, 0);
	until_got(2);
	/* Two threads: either may finish first. */
	if (got.d[0].rc != TA_OK) {
		struct tcpauth_decoded t = got.d[0];

		got.d[0] = got.d[1];
		got.d[1] = t;
	}
	ck_assert_int_eq(got.d[0].rc, TA_OK);
	ck_assert_int_eq(got.d[0].uid, 1000);
	ck_assert_int_eq(got.d[0].gid, 1001);
	ck_assert_uint_eq(got.d[0].plen, 2);
	ck_assert_int_eq(got.d[0].payload[1], 0xff);
	ck_assert_int_eq(got.d[1].rc, TA_BAD);
	ck_assert_str_eq(got.d[1].why, "fake: garbage");
	ck_assert_uint_eq(credq_jobs(q), 0);
	credq_free(q);
}
END_TEST

START_TEST(deadline_answers_later_once)
{
	struct credq_settings set = { 1, 8, 20 };
	struct credq *q = credq_new(base, &set, fake_decode, NULL);
	struct bp_msg m;
	struct peer p;
	char msg[256];

	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_nonnull(credq_submit(q, "wait:0:0:00", on_done, NULL));
	/* Queued behind the stuck one: past its deadline it goes too. */
	ck_assert_ptr_nonnull(credq_submit(q, "0:0:00", on_done, NULL));
	until_got(2);
	ck_assert_int_eq(got.d[0].rc, TA_UNAVAILABLE);
	ck_assert_str_eq(got.d[0].why, "munged did not answer within 20 ms");
	ck_assert_int_eq(got.d[1].rc, TA_UNAVAILABLE);
	/* The stuck decode still counts: memory stays bounded. */
	ck_assert_uint_eq(credq_jobs(q), 1);
	/* What the client reads. */
	bp_init(&m, BP_T_START, 1);
	bp_add(&m, "cred", "x");
	ck_assert_int_eq(tcpauth_judge(&m, &got.d[0], &p, msg, sizeof(msg)),
	    TA_UNAVAILABLE);
	ck_assert_str_eq(msg, "cannot verify the MUNGE credential now: munged "
	    "did not answer within 20 ms");
	bp_free(&m);
	/* munged answers at last: the late result is dropped. */
	fake_release();
	while (credq_jobs(q) > 0)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(got.n, 2);
	credq_free(q);
}
END_TEST

START_TEST(bounded_and_cancelled)
{
	struct credq_settings set = { 1, 2, 60000 };
	struct credq *q = credq_new(base, &set, fake_decode, NULL);
	struct credq_job *a, *b;

	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_nonnull(a = credq_submit(q, "wait:0:0:00", on_done,
	    NULL));
	ck_assert_ptr_nonnull(b = credq_submit(q, "0:0:00", on_done, NULL));
	ck_assert_ptr_null(credq_submit(q, "0:0:00", on_done, NULL));
	fake_wait_calls(1);
	/* One being decoded, one waiting: neither is answered. */
	credq_cancel(q, b);
	credq_cancel(q, a);
	ck_assert_uint_eq(credq_jobs(q), 1);	/* a, until its thread is back */
	fake_release();
	while (credq_jobs(q) > 0)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(got.n, 0);
	credq_free(q);
}
END_TEST

START_TEST(exit_with_munged_stuck)
{
	struct credq_settings set = { 2, 8, 60000 };
	struct credq *q = credq_new(base, &set, fake_decode, NULL);
	int pfd[2];

	ck_assert_int_eq(pipe(pfd), 0);
	fake.hang_fd = pfd[0];
	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_nonnull(credq_submit(q, "hang", on_done, NULL));
	fake_wait_calls(1);
	/* Joined all the same (the stuck one cancelled in read(2)). */
	credq_free(q);
	ck_assert_int_eq(got.n, 0);
	close(pfd[0]);
	close(pfd[1]);
	fake.hang_fd = -1;
}
END_TEST

/* ---- the relay rule ---------------------------------------------------- */

static void
received(struct bp_msg *m, const char *k1, const char *v1, const char *k2,
    const char *v2)
{
	struct bp_msg out;
	uint8_t *frame;
	size_t used;
	long len;

	bp_init(&out, BP_T_ESTIMATE, 7);
	bp_add(&out, "num_tasks", "4");
	if (k1 != NULL)
		bp_add(&out, k1, v1);
	bp_add(&out, "partitions", "normal");
	if (k2 != NULL)
		bp_add(&out, k2, v2);
	ck_assert_int_gt(len = bp_encode(&out, &frame), 0);
	ck_assert_int_eq(bp_parse(frame, (size_t)len, m, &used), BP_OK);
	free(frame);
	bp_free(&out);
}

START_TEST(relayed_from_root_and_slurm_user)
{
	uid_t who[2] = { 0, SLURM_UID };
	struct bp_msg m;
	struct peer p;
	char msg[256];
	int i;

	for (i = 0; i < 2; i++) {
		p = (struct peer){ who[i], who[i], 0, PEER_MUNGE };
		received(&m, "peer_uid", "1000", "peer_gid", "1001");
		ck_assert_int_eq(peer_take_relayed(&m, &p, SLURM_UID, msg,
		    sizeof(msg)), 0);
		ck_assert_int_eq(p.uid, 1000);
		ck_assert_int_eq(p.gid, 1001);
		ck_assert_int_eq(p.how, PEER_RELAYED);
		ck_assert(!peer_privileged(&p, SLURM_UID));
		/* Out of the request: no handler sees them. */
		ck_assert_uint_eq(m.nfields, 2);
		ck_assert_ptr_null(bp_get(&m, "peer_uid"));
		ck_assert_ptr_null(bp_get(&m, "peer_gid"));
		ck_assert_str_eq(bp_get(&m, "num_tasks"), "4");
		ck_assert_str_eq(bp_get(&m, "partitions"), "normal");
		bp_free(&m);
	}
	/* Without the fields: the sender, as it is. */
	p = (struct peer){ 0, 0, 0, PEER_UNIX_CRED };
	received(&m, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(peer_take_relayed(&m, &p, SLURM_UID, msg,
	    sizeof(msg)), 0);
	ck_assert_int_eq(p.uid, 0);
	ck_assert_int_eq(p.how, PEER_UNIX_CRED);
	bp_free(&m);
}
END_TEST

START_TEST(relayed_refused)
{
	static const struct {
		uid_t		 sender;
		const char	*k1, *v1, *k2, *v2, *msg;
	} t[] = {
		{ USER_UID, "peer_uid", "0", "peer_gid", "0", "refused: only "
		    "root or the SlurmUser (a relay) may speak for another "
		    "uid" },
		{ USER_UID, "peer_uid", "1000", "peer_gid", "1000", "refused: "
		    "only root or the SlurmUser (a relay) may speak for "
		    "another uid" },
		{ 0, "peer_uid", "1000", NULL, NULL, "refused: fields "
		    "'peer_uid' and 'peer_gid' go together" },
		{ 0, "peer_gid", "1000", NULL, NULL, "refused: fields "
		    "'peer_uid' and 'peer_gid' go together" },
		{ 0, "peer_uid", "4294967295", "peer_gid", "1", "field "
		    "'peer_uid' must be a whole number from 0 to 4294967294" },
		{ 0, "peer_uid", "1", "peer_gid", "-1", "field 'peer_gid' must "
		    "be a whole number from 0 to 4294967294" },
		{ 0, "peer_uid", "", "peer_gid", "1", "field 'peer_uid' must "
		    "be a whole number from 0 to 4294967294" },
		{ 0, "peer_uid", "99999999999999999999999", "peer_gid", "1",
		    "field 'peer_uid' must be a whole number from 0 to "
		    "4294967294" },
	};
	struct bp_msg m;
	struct peer p;
	char msg[256];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		p = (struct peer){ t[i].sender, t[i].sender, 0, PEER_MUNGE };
		received(&m, t[i].k1, t[i].v1, t[i].k2, t[i].v2);
		ck_assert_int_eq(peer_take_relayed(&m, &p, SLURM_UID, msg,
		    sizeof(msg)), -1);
		ck_assert_str_eq(msg, t[i].msg);
		ck_assert_int_eq(p.uid, t[i].sender);
		bp_free(&m);
	}
}
END_TEST

/* ---- a TCP connection, its frames pipelined ------------------------- */

static struct bankd bd;
static struct {
	uint32_t	 id[80];
	uid_t		 uid[80];
	int		 how[80];
	int		 peer_fields;
	int		 n;
} seen;

static void
recorder(void *arg, struct conn *c, struct bp_msg *m)
{
	(void)arg;
	if (seen.n < 80) {
		seen.id[seen.n] = m->id;
		seen.uid[seen.n] = conn_peer(c)->uid;
		seen.how[seen.n] = conn_peer(c)->how;
	}
	if (bp_get(m, "peer_uid") != NULL || bp_get(m, "cred") != NULL)
		seen.peer_fields++;
	seen.n++;
	conn_reply_status(c, m->type, m->id, "ok", NULL);
}

static struct listen_tcp *lt;

static void
tcp_setup(void)
{
	char err[512];

	memset(&bd, 0, sizeof(bd));
	memset(&seen, 0, sizeof(seen));
	fake_reset();
	ck_assert_int_eq(conf_load(CONF_DIR "/good.yaml", &bd.conf, err,
	    sizeof(err)), 0);
	bd.slurm_uid = SLURM_UID;
	ck_assert_ptr_nonnull(bd.base = event_base_new());
	base = bd.base;
	ck_assert_int_eq(conn_init(&bd, recorder, &bd), 0);
	ck_assert_ptr_nonnull(lt = listen_tcp_new(&bd, fake_decode, NULL));
}

static void
tcp_teardown(void)
{
	listen_tcp_stop(&bd);
	conn_fini(&bd);
	ck_assert_ptr_null(bd.listen_tcp);
	event_base_free(bd.base);
	conf_free(&bd.conf);
}

static int
tcp_client(void)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	ck_assert_int_eq(listen_tcp_take(lt, sv[0]), 0);
	return sv[1];
}

/* A START of job id signed "PREFIXuid:gid:digest"; peer_* if relay. */
static void
send_signed(int fd, uint32_t id, const char *prefix, uid_t uid,
    const char *relay_uid)
{
	uint8_t d[BP_DIGEST_LEN], *frame;
	char cred[160], num[16];
	struct bp_msg m;
	long len;
	int i, o;

	bp_init(&m, BP_T_ESTIMATE, id);
	snprintf(num, sizeof(num), "%u", id);
	bp_add(&m, "num_tasks", num);
	if (relay_uid != NULL) {
		bp_add(&m, "peer_uid", relay_uid);
		bp_add(&m, "peer_gid", relay_uid);
	}
	ck_assert_int_eq(bp_digest(&m, d), BP_OK);
	o = snprintf(cred, sizeof(cred), "%s%ld:%ld:", prefix, (long)uid,
	    (long)uid);
	for (i = 0; i < BP_DIGEST_LEN; i++)
		o += snprintf(cred + o, sizeof(cred) - (size_t)o, "%02x", d[i]);
	bp_add(&m, "cred", cred);
	ck_assert_int_gt(len = bp_encode(&m, &frame), 0);
	ck_assert_int_eq(write(fd, frame, (size_t)len), len);
	free(frame);
	bp_free(&m);
}

/* The next reply on fd, the loop run meanwhile. */
static void
next_reply(int fd, struct bp_msg *rep)
{
	static uint8_t buf[65536];
	static size_t len;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t used;
	ssize_t n;
	int i;

	for (i = 0; i < 1000; i++) {
		if (len > 0 && bp_parse(buf, len, rep, &used) == BP_OK) {
			memmove(buf, buf + used, len - used);
			len -= used;
			return;
		}
		if (poll(&pfd, 1, 0) == 1 && (n = read(fd, buf + len,
		    sizeof(buf) - len)) > 0) {
			len += (size_t)n;
			continue;
		}
		event_base_loop(bd.base, EVLOOP_ONCE);
	}
	ck_abort_msg("no reply");
}

static void
expect(int fd, uint32_t id, const char *status, const char *message)
{
	struct bp_msg rep;
	const char *m;

	next_reply(fd, &rep);
	ck_assert_uint_eq(rep.id, id);
	ck_assert_str_eq(bp_get(&rep, "status"), status);
	m = bp_get(&rep, "message");
	if (message != NULL)
		ck_assert_str_eq(m ? m : "", message);
	bp_free(&rep);
}

START_TEST(pipelined_frames_keep_their_order)
{
	int fd = tcp_client(), i;

	/* The first decode is held; the 63 after it finish meanwhile. */
	send_signed(fd, 1, "wait:", 0, NULL);
	for (i = 2; i <= 64; i++)
		send_signed(fd, (uint32_t)i, "", 0, NULL);
	loop_until_calls(bd.base, 64);
	for (i = 0; i < 200; i++)
		event_base_loop(bd.base, EVLOOP_NONBLOCK);
	/* All 64 are decoding or decoded, none dispatched before the first. */
	ck_assert_int_eq(seen.n, 0);
	fake_release();
	for (i = 1; i <= 64; i++)
		expect(fd, (uint32_t)i, "ok", NULL);
	ck_assert_int_eq(seen.n, 64);
	for (i = 0; i < 64; i++) {
		ck_assert_uint_eq(seen.id[i], (uint32_t)i + 1);
		ck_assert_int_eq(seen.uid[i], 0);
		ck_assert_int_eq(seen.how[i], PEER_MUNGE);
	}
	ck_assert_int_eq(seen.peer_fields, 0);
	close(fd);
}
END_TEST

START_TEST(window_full_stops_reading)
{
	int fd = tcp_client(), i;

	/* 70 frames behind a held one: 64 taken in, the rest wait unread. */
	send_signed(fd, 1, "wait:", 0, NULL);
	for (i = 2; i <= 70; i++)
		send_signed(fd, (uint32_t)i, "", 0, NULL);
	loop_until_calls(bd.base, 64);
	for (i = 0; i < 200; i++)
		event_base_loop(bd.base, EVLOOP_NONBLOCK);
	pthread_mutex_lock(&fake.mu);
	ck_assert_int_eq(fake.calls, 64);
	pthread_mutex_unlock(&fake.mu);
	fake_release();
	for (i = 1; i <= 70; i++)
		expect(fd, (uint32_t)i, "ok", NULL);
	ck_assert_int_eq(seen.n, 70);
	close(fd);
}
END_TEST

START_TEST(refusal_keeps_its_place)
{
	int fd = tcp_client();
	struct bp_msg m;
	uint8_t *frame;
	long len;

	/* Held, then one without a credential, then a good one. */
	send_signed(fd, 1, "wait:", 0, NULL);
	bp_init(&m, BP_T_ESTIMATE, 2);
	bp_add(&m, "num_tasks", "2");
	ck_assert_int_gt(len = bp_encode(&m, &frame), 0);
	ck_assert_int_eq(write(fd, frame, (size_t)len), len);
	free(frame);
	bp_free(&m);
	send_signed(fd, 3, "", 0, NULL);
	loop_until_calls(bd.base, 2);
	fake_release();
	expect(fd, 1, "ok", NULL);
	expect(fd, 2, "error", "refused: a request over TCP must carry a "
	    "MUNGE credential (field cred)");
	expect(fd, 3, "ok", NULL);
	close(fd);
}
END_TEST

START_TEST(relay_speaks_for_a_user)
{
	int fd = tcp_client(), fd2 = tcp_client(), fd3 = tcp_client();

	send_signed(fd, 1, "", 0, "1000");
	expect(fd, 1, "ok", NULL);
	ck_assert_int_eq(seen.n, 1);
	ck_assert_int_eq(seen.uid[0], 1000);
	ck_assert_int_eq(seen.how[0], PEER_RELAYED);
	ck_assert_int_eq(seen.peer_fields, 0);
	/* The connection is the user's now: root's own request is not. */
	send_signed(fd, 2, "", 0, NULL);
	expect(fd, 2, "error", "refused: this connection is uid 1000's "
	    "(relayed); a request of uid 0 needs a connection of its own");
	/* slurm_user may relay too. */
	send_signed(fd2, 3, "", SLURM_UID, "1000");
	expect(fd2, 3, "ok", NULL);
	ck_assert_int_eq(seen.uid[1], 1000);
	/* A user may not. */
	send_signed(fd3, 4, "", USER_UID, "0");
	expect(fd3, 4, "error", "refused: only root or the SlurmUser (a "
	    "relay) may speak for another uid");
	ck_assert_int_eq(seen.n, 2);
	close(fd);
	close(fd2);
	close(fd3);
}
END_TEST

START_TEST(close_with_decodes_out)
{
	int fd = tcp_client(), i;

	send_signed(fd, 1, "wait:", 0, NULL);
	send_signed(fd, 2, "", 0, NULL);
	loop_until_calls(bd.base, 2);
	close(fd);
	for (i = 0; i < 50; i++)
		event_base_loop(bd.base, EVLOOP_NONBLOCK);
	fake_release();
	for (i = 0; i < 50; i++)
		event_base_loop(bd.base, EVLOOP_NONBLOCK);
	/* Closed first: nothing dispatched, nothing leaked (ASan). */
	ck_assert_int_eq(seen.n, 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("credq");
	TCase *tq = tcase_create("credq"), *tr = tcase_create("relay"),
	    *tt = tcase_create("tcp");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tq, q_setup, q_teardown);
	tcase_add_test(tq, decodes_in_threads);
	tcase_add_test(tq, deadline_answers_later_once);
	tcase_add_test(tq, bounded_and_cancelled);
	tcase_add_test(tq, exit_with_munged_stuck);
	tcase_set_timeout(tq, 30);
	suite_add_tcase(s, tq);
	tcase_add_test(tr, relayed_from_root_and_slurm_user);
	tcase_add_test(tr, relayed_refused);
	suite_add_tcase(s, tr);
	tcase_add_checked_fixture(tt, tcp_setup, tcp_teardown);
	tcase_add_test(tt, pipelined_frames_keep_their_order);
	tcase_add_test(tt, window_full_stops_reading);
	tcase_add_test(tt, refusal_keeps_its_place);
	tcase_add_test(tt, relay_speaks_for_a_user);
	tcase_add_test(tt, close_with_decodes_out);
	tcase_set_timeout(tt, 30);
	suite_add_tcase(s, tt);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
