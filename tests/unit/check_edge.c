/*
 * check_edge.c: unit tests of bankd's request edge without a listener:
 * connections (bankd/conn.c) made straight from one end of a socketpair,
 * as a listener would hand them over, with the event loop run by the
 * test.  Frames reach the frame function whole and in order, a bad frame
 * ends the connection, a user's connections and waiting checks are
 * capped while root's are not; and through dispatch.c, what a request
 * may do is decided by the peer (peer.c), refusals and all.
 */
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bankd.h"
#include "conn.h"
#include "counters.h"
#include "dispatch.h"
#include "peer.h"

#define SLURM_UID	4242
#define USER_UID	1000

static struct bankd bd;

/* What the frame function saw. */
static struct {
	uint32_t	 id[16];
	uint8_t		 type[16];
	uid_t		 uid[16];
	int		 n;
	struct conn	*last;
	int		 check_begin;	/* CHECKs count as waiting on the API */
} seen;

static void
recorder(void *arg, struct conn *c, struct bp_msg *m)
{
	(void)arg;
	if (seen.n < 16) {
		seen.id[seen.n] = m->id;
		seen.type[seen.n] = m->type;
		seen.uid[seen.n] = conn_peer(c)->uid;
	}
	seen.n++;
	seen.last = c;
	if (m->type == BP_T_CHECK && seen.check_begin)
		conn_check_begin(c);
	conn_reply_status(c, m->type, m->id, "ok", NULL);
}

static void
setup_with(conn_frame_fn fn)
{
	char err[512];

	memset(&bd, 0, sizeof(bd));
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(conf_load(CONF_DIR "/good.yaml", &bd.conf, err,
	    sizeof(err)), 0);
	bd.conf.user_connections = 2;
	bd.conf.user_checks = 1;
	bd.slurm_uid = SLURM_UID;
	ck_assert_ptr_nonnull(bd.base = event_base_new());
	ck_assert_int_eq(conn_init(&bd, fn, &bd), 0);
}

static void
setup(void)
{
	setup_with(recorder);
}

static void
setup_dispatch(void)
{
	setup_with(dispatch_request);
}

static void
teardown(void)
{
	conn_fini(&bd);
	event_base_free(bd.base);
	conf_free(&bd.conf);
}

/* The loop, until what is ready has been handled. */
static void
pump(void)
{
	int i;

	for (i = 0; i < 20; i++)
		event_base_loop(bd.base, EVLOOP_NONBLOCK);
}

/* A connection of uid, as a listener hands it over; *client the far end. */
static struct conn *
open_as(uid_t uid, int *client)
{
	struct peer p = { .uid = uid, .gid = uid, .pid = 1, .how =
	    PEER_UNIX_CRED };
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	*client = sv[1];
	return conn_open(&bd, sv[0], &p);
}

static void
send_frame(int fd, uint8_t type, uint32_t id, const char *key,
    const char *val, size_t cut)
{
	struct bp_msg m;
	uint8_t *frame;
	long len;

	bp_init(&m, type, id);
	if (key != NULL)
		ck_assert_int_eq(bp_add(&m, key, val), 0);
	ck_assert_int_gt(len = bp_encode(&m, &frame), 0);
	if (cut == 0 || cut > (size_t)len)
		cut = (size_t)len;
	ck_assert_int_eq(write(fd, frame, cut), (ssize_t)cut);
	free(frame);
	bp_free(&m);
}

static void
send_rest(int fd, uint8_t type, uint32_t id, size_t cut)
{
	struct bp_msg m;
	uint8_t *frame;
	long len;

	bp_init(&m, type, id);
	ck_assert_int_gt(len = bp_encode(&m, &frame), 0);
	ck_assert_int_eq(write(fd, frame + cut, (size_t)len - cut),
	    (ssize_t)((size_t)len - cut));
	free(frame);
	bp_free(&m);
}

/* The next reply on fd; 0, or -1 at EOF. */
static int
read_reply(int fd, struct bp_msg *rep)
{
	static uint8_t buf[8192];
	static size_t len;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t used;
	ssize_t n;

	for (;;) {
		if (len > 0 && bp_parse(buf, len, rep, &used) == BP_OK) {
			memmove(buf, buf + used, len - used);
			len -= used;
			return 0;
		}
		pump();
		if (poll(&pfd, 1, 1000) != 1)
			return -1;
		if ((n = read(fd, buf + len, sizeof(buf) - len)) <= 0) {
			len = 0;
			return -1;
		}
		len += (size_t)n;
	}
}

/* The reply's status and message ("" if none), for id. */
static void
expect(int fd, uint32_t id, const char *status, const char *message)
{
	struct bp_msg rep;
	const char *m;

	ck_assert_int_eq(read_reply(fd, &rep), 0);
	ck_assert_uint_eq(rep.id, id);
	ck_assert_str_eq(bp_get(&rep, "status"), status);
	m = bp_get(&rep, "message");
	if (message != NULL)
		ck_assert_str_eq(m ? m : "", message);
	bp_free(&rep);
}

static int
closed(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char b;

	pump();
	return poll(&pfd, 1, 1000) == 1 && read(fd, &b, 1) == 0;
}

START_TEST(test_frames_in_order)
{
	int fd;

	ck_assert_ptr_nonnull(open_as(0, &fd));
	send_frame(fd, BP_T_STATUS, 1, NULL, NULL, 0);
	send_frame(fd, BP_T_ESTIMATE, 2, "min_cpus", "2", 0);
	send_frame(fd, BP_T_STATUS, 3, NULL, NULL, 0);
	send_frame(fd, BP_T_STATUS, 4, NULL, NULL, 7);	/* half a header */
	pump();
	ck_assert_int_eq(seen.n, 3);
	ck_assert_uint_eq(seen.id[0], 1);
	ck_assert_uint_eq(seen.id[1], 2);
	ck_assert_uint_eq(seen.type[1], BP_T_ESTIMATE);
	ck_assert_uint_eq(seen.id[2], 3);
	ck_assert_uint_eq(seen.uid[0], 0);
	send_rest(fd, BP_T_STATUS, 4, 7);
	pump();
	ck_assert_int_eq(seen.n, 4);
	expect(fd, 1, "ok", NULL);
	expect(fd, 2, "ok", NULL);
	expect(fd, 3, "ok", NULL);
	expect(fd, 4, "ok", NULL);
	ck_assert_uint_eq(counters_get(&bd.counters, CNT_CLIENTS), 1);
	close(fd);
	pump();
	ck_assert_uint_eq(counters_get(&bd.counters, CNT_CLIENTS), 0);
}
END_TEST

START_TEST(test_bad_frame_closes)
{
	static const char junk[] = "GET / HTTP/1.0\r\n\r\n";
	int fd;

	ck_assert_ptr_nonnull(open_as(USER_UID, &fd));
	ck_assert_int_eq(write(fd, junk, sizeof(junk) - 1),
	    (ssize_t)sizeof(junk) - 1);
	ck_assert(closed(fd));
	ck_assert_int_eq(seen.n, 0);
	ck_assert_uint_eq(counters_get(&bd.counters, CNT_CLIENTS), 0);
	close(fd);
}
END_TEST

/* A held connection outlives its client: replies to it go nowhere. */
START_TEST(test_held_outlives_close)
{
	struct conn *c;
	int fd;

	ck_assert_ptr_nonnull(c = open_as(0, &fd));
	conn_hold(c);
	close(fd);
	pump();
	ck_assert_uint_eq(counters_get(&bd.counters, CNT_CLIENTS), 0);
	conn_reply_status(c, BP_T_CHECK, 9, "allow", "late");
	ck_assert_uint_eq(conn_peer(c)->uid, 0);
	conn_release(c);
}
END_TEST

START_TEST(test_user_connections)
{
	int u1, u2, u3, r1, u4;

	ck_assert_ptr_nonnull(open_as(USER_UID, &u1));
	ck_assert_ptr_nonnull(open_as(USER_UID, &u2));
	/* user_connections is 2: the third is refused, closed at once. */
	ck_assert_ptr_null(open_as(USER_UID, &u3));
	ck_assert(closed(u3));
	/* Root's and slurm_user's are not counted against it. */
	ck_assert_ptr_nonnull(open_as(0, &r1));
	ck_assert_ptr_nonnull(open_as(SLURM_UID, &u4));
	close(u4);
	ck_assert_uint_eq(counters_get(&bd.counters, CNT_CLIENTS), 4);
	pump();
	ck_assert_uint_eq(counters_get(&bd.counters, CNT_CLIENTS), 3);
	/* One closes: the user may open another. */
	close(u1);
	pump();
	ck_assert_ptr_nonnull(open_as(USER_UID, &u1));
	ck_assert_uint_eq(counters_get(&bd.counters, CNT_CLIENTS), 3);
	close(u1);
	close(u2);
	close(u3);
	close(r1);
}
END_TEST

/* At user_checks waiting on the API, a user's next CHECK is not read. */
START_TEST(test_user_checks_wait)
{
	int fd, root;

	seen.check_begin = 1;
	ck_assert_ptr_nonnull(open_as(USER_UID, &fd));
	send_frame(fd, BP_T_CHECK, 1, NULL, NULL, 0);
	send_frame(fd, BP_T_CHECK, 2, NULL, NULL, 0);
	pump();
	ck_assert_int_eq(seen.n, 1);
	ck_assert_uint_eq(seen.id[0], 1);
	/* Root's checks are never held back. */
	ck_assert_ptr_nonnull(open_as(0, &root));
	send_frame(root, BP_T_CHECK, 3, NULL, NULL, 0);
	send_frame(root, BP_T_CHECK, 4, NULL, NULL, 0);
	pump();
	ck_assert_int_eq(seen.n, 3);
	ck_assert_uint_eq(seen.id[2], 4);
	/* The first is answered: the second is read. */
	conn_check_end(&bd, USER_UID);
	pump();
	ck_assert_int_eq(seen.n, 4);
	ck_assert_uint_eq(seen.id[3], 2);
	close(fd);
	close(root);
}
END_TEST

START_TEST(test_peer_policy)
{
	struct peer root = { .uid = 0 }, slurm = { .uid = SLURM_UID };
	struct peer user = { .uid = USER_UID };

	ck_assert(peer_privileged(&root, SLURM_UID));
	ck_assert(peer_privileged(&slurm, SLURM_UID));
	ck_assert(!peer_privileged(&user, SLURM_UID));
	ck_assert(peer_may_report(&slurm, SLURM_UID));
	ck_assert(!peer_may_report(&user, SLURM_UID));
	ck_assert(!peer_may_see_queue(&user, SLURM_UID));
	ck_assert(!peer_may_steer(&user, SLURM_UID));
	/* slurm_user unknown (0): only root. */
	ck_assert(!peer_privileged(&slurm, 0));
}
END_TEST

/* Through dispatch.c: the same requests, judged by who the peer is. */
START_TEST(test_dispatch_asks_the_peer)
{
	struct bp_msg rep;
	int user, slurm;

	ck_assert_ptr_nonnull(open_as(USER_UID, &user));
	send_frame(user, BP_T_QUEUE, 1, NULL, NULL, 0);
	expect(user, 1, "error", "permission denied: the queue holds every "
	    "account's charges; only root and the SlurmUser may see it");
	send_frame(user, BP_T_START, 2, "job_id", "5", 0);
	expect(user, 2, "error", "permission denied: only root and the "
	    "SlurmUser may report jobs");
	send_frame(user, BP_T_RETRY, 3, NULL, NULL, 0);
	expect(user, 3, "error", "permission denied: only root and the "
	    "SlurmUser may change the queue");
	send_frame(user, BP_T_HOLDS, 4, "uid", "1", 0);
	expect(user, 4, "error", "permission denied: a user may list only "
	    "their own holds");
	/* Refused at the edge, before any handler. */
	send_frame(user, BP_T_CHECK, 5, "uid", "abc", 0);
	expect(user, 5, "error", "field 'uid' must be a whole number from 0 "
	    "to 4294967294");
	send_frame(user, 99, 6, NULL, NULL, 0);
	expect(user, 6, "error", "unknown request type");
	/* Anyone may price a job: 2 CPUs x 1 h at 12.5 SU. */
	send_frame(user, BP_T_ESTIMATE, 7, "partitions", "gpu", 0);
	ck_assert_int_eq(read_reply(user, &rep), 0);
	ck_assert_str_eq(bp_get(&rep, "status"), "ok");
	ck_assert_str_eq(bp_get(&rep, "partition"), "gpu");
	bp_free(&rep);
	ck_assert_uint_eq(counters_get(&bd.counters, CNT_REFUSED), 2);
	ck_assert_uint_eq(counters_get(&bd.counters, CNT_REQUESTS), 5);
	/*
	 * slurm_user passes the permission check: its report goes on to be
	 * built, and is refused for what it lacks, not for who sent it.
	 */
	ck_assert_ptr_nonnull(open_as(SLURM_UID, &slurm));
	send_frame(slurm, BP_T_START, 8, "job_id", "5", 0);
	ck_assert_int_eq(read_reply(slurm, &rep), 0);
	ck_assert_str_eq(bp_get(&rep, "status"), "error");
	ck_assert_ptr_null(strstr(bp_get(&rep, "message"), "permission"));
	bp_free(&rep);
	close(user);
	close(slurm);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("edge");
	TCase *tc = tcase_create("conn"), *td = tcase_create("dispatch");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_frames_in_order);
	tcase_add_test(tc, test_bad_frame_closes);
	tcase_add_test(tc, test_held_outlives_close);
	tcase_add_test(tc, test_user_connections);
	tcase_add_test(tc, test_user_checks_wait);
	tcase_add_test(tc, test_peer_policy);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(td, setup_dispatch, teardown);
	tcase_add_test(td, test_dispatch_asks_the_peer);
	suite_add_tcase(s, td);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
