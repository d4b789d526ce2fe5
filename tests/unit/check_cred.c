/*
 * check_cred.c: bp_call_tcp() when munged cannot serve.  Inside
 * slurmctld (plugins.failover) a credential is made under its locks, so
 * a munged that is down must fail the call at once: libmunge itself,
 * finding the socket but refused, retries with growing sleeps for
 * seconds.  Measured against a socket that is bound but not listening
 * (what a munged killed -9 leaves behind), and one that does not exist.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bankproto.h"

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A Unix socket at a fresh path, bound and never listened on. */
static int
dead_socket(char *path, size_t len)
{
	struct sockaddr_un sun;
	int fd;

	snprintf(path, len, "/tmp/check_cred.%ld.sock", (long)getpid());
	unlink(path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

START_TEST(refused_fails_at_once)
{
	struct bp_msg req, rep;
	char path[108], why[256];
	long t0, took;
	int fd, rc;

	fd = dead_socket(path, sizeof(path));
	bp_init(&req, BP_T_STATUS, 1);
	t0 = now_ms();
	/* Port 9 of loopback: no TCP is tried before the credential. */
	rc = bp_call_tcp("127.0.0.1:9", path, 5000, &req, &rep, why,
	    sizeof(why));
	took = now_ms() - t0;
	bp_free(&req);
	close(fd);
	unlink(path);
	ck_assert_int_eq(rc, BP_ECRED);
	/* libmunge alone spends over 2 s here, in its retries */
	ck_assert_msg(took < 500, "took %ld ms", took);
	ck_assert_msg(strstr(why, "munged does not answer at") != NULL &&
	    strstr(why, path) != NULL, "why: %s", why);
}
END_TEST

START_TEST(missing_socket_is_named)
{
	static const uint8_t payload[] = "x";
	char why[256], *cred = (char *)1;
	int rc;

	rc = bp_cred_make("/nonexistent/munge.socket.2", payload,
	    sizeof(payload), &cred, why, sizeof(why));
	ck_assert_int_eq(rc, BP_ECRED);
	ck_assert_ptr_null(cred);
	ck_assert_msg(strstr(why, "/nonexistent/munge.socket.2") != NULL,
	    "why: %s", why);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("cred");
	TCase *tc = tcase_create("cred");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, refused_fails_at_once);
	tcase_add_test(tc, missing_socket_is_named);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
