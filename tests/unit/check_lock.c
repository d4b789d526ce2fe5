/*
 * check_lock.c: unit tests of the state directory's lock (bankd/lock.c).
 * fcntl locks belong to a process, so the other holder is a child: while
 * it holds dir/lock a second attempt is LOCK_HELD and names the child's
 * pid and host; once the child closes it, or dies by SIGKILL, the lock is
 * free and the file then names the new holder.
 */
#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lock.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_lock.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void
teardown(void)
{
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/*
 * A child that takes the lock, says so on `ready`, and then waits for a
 * byte on `go` (0: close the lock and wait more; 1: exit) or is killed.
 */
static pid_t
holder(int *ready_rd, int *go_wr)
{
	int ready[2], go[2], fd;
	char holder_line[320], err[256], c;
	pid_t pid;

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);
	if ((pid = fork()) == 0) {
		close(ready[0]);
		close(go[1]);
		c = lock_try(dir, &fd, holder_line, sizeof(holder_line), err,
		    sizeof(err)) == LOCK_TAKEN ? 'T' : 'F';
		(void)!write(ready[1], &c, 1);
		while (read(go[0], &c, 1) == 1) {
			if (c == '0') {
				close(fd);
				c = 'C';
				(void)!write(ready[1], &c, 1);
			} else
				_exit(0);
		}
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	close(ready[1]);
	close(go[0]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	ck_assert_int_eq(c, 'T');
	*ready_rd = ready[0];
	*go_wr = go[1];
	return pid;
}

/* "PID HOST" as the file says it. */
static void
expect_holder(const char *line, pid_t pid)
{
	char want[320], host[256];

	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	snprintf(want, sizeof(want), "%ld %s", (long)pid, host);
	ck_assert_str_eq(line, want);
}

START_TEST(second_waits_until_closed)
{
	char line[320], err[256], c;
	int rd, wr, fd = -1, st;
	pid_t pid = holder(&rd, &wr);

	ck_assert_int_eq(lock_try(dir, &fd, line, sizeof(line), err,
	    sizeof(err)), LOCK_HELD);
	expect_holder(line, pid);
	ck_assert_int_eq(fd, -1);
	/* Asked again: still held, nothing changed by asking. */
	ck_assert_int_eq(lock_try(dir, &fd, line, sizeof(line), err,
	    sizeof(err)), LOCK_HELD);
	c = '0';
	ck_assert_int_eq(write(wr, &c, 1), 1);
	ck_assert_int_eq(read(rd, &c, 1), 1);
	ck_assert_int_eq(c, 'C');
	ck_assert_int_eq(lock_try(dir, &fd, line, sizeof(line), err,
	    sizeof(err)), LOCK_TAKEN);
	ck_assert_int_ge(fd, 0);
	c = '1';
	ck_assert_int_eq(write(wr, &c, 1), 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	close(fd);
	close(rd);
	close(wr);
}
END_TEST

START_TEST(holder_killed_frees_it)
{
	char line[320], err[256], buf[320];
	int rd, wr, fd = -1, st, f;
	pid_t pid = holder(&rd, &wr);
	ssize_t n;

	ck_assert_int_eq(lock_try(dir, &fd, line, sizeof(line), err,
	    sizeof(err)), LOCK_HELD);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st));
	ck_assert_int_eq(lock_try(dir, &fd, line, sizeof(line), err,
	    sizeof(err)), LOCK_TAKEN);
	/* The file now names this process, the dead one's line replaced. */
	snprintf(buf, sizeof(buf), "%s/lock", dir);
	ck_assert_int_ge(f = open(buf, O_RDONLY), 0);
	ck_assert_int_gt(n = read(f, buf, sizeof(buf) - 1), 0);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strchr(buf, '\n'));
	*strchr(buf, '\n') = '\0';
	expect_holder(buf, getpid());
	close(f);
	close(fd);
	close(rd);
	close(wr);
}
END_TEST

START_TEST(missing_dir_is_an_error)
{
	char line[320], err[256];
	int fd = -1;

	ck_assert_int_eq(lock_try("/nonexistent/bankd", &fd, line,
	    sizeof(line), err, sizeof(err)), LOCK_ERROR);
	ck_assert_str_eq(err, "cannot create state_dir /nonexistent/bankd: No "
	    "such file or directory");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("lock");
	TCase *tc = tcase_create("lock");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, second_waits_until_closed);
	tcase_add_test(tc, holder_killed_frees_it);
	tcase_add_test(tc, missing_dir_is_an_error);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	/* The holder is forked by the test itself: no forks by check. */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
