/*
 * reconcile.c - check the holds against slurmctld's job list on a timer,
 * so a hold whose job vanished (rejected after job_submit, purged, or
 * whose report never came) cannot block an account forever.
 *
 * libslurm's calls block, and slurm_load_jobs() leaks about 50 bytes per
 * job listed per call (libslurm 22.05; docs/reliability.md), so the list
 * is fetched by a short-lived child process: bankd itself, re-executed as
 * `bankd --list-jobs` (listjobs.c) with posix_spawn, which writes the
 * (job id, hold token) pairs to a pipe as joblist.h's stream and exits;
 * what libslurm leaks dies with it.  The loop reads the pipe without
 * blocking, reaps the child on SIGCHLD, kills it at a deadline, and only a
 * whole stream reaches holds.c.  One fetch at a time.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bankd.h"
#include "holds.h"
#include "joblist.h"
#include "log.h"

extern char **environ;

/* A child that has not answered in this long (or reconcile_s) is killed. */
#define RECONCILE_DEADLINE_S	30
#define READ_CHUNK		65536

struct fetch {
	pid_t		 pid;		/* 0: none running */
	int		 fd;		/* the pipe's read end; -1 at EOF */
	int		 reaped;
	int		 broken;	/* killed, overflowed or a read error */
	int		 status;
	time_t		 taken;
	uint8_t		*buf;
	size_t		 len, cap;
	struct event	*rd, *deadline;
	char		 why[64];
};

static struct fetch	 cur = { .fd = -1 };
static struct event	*chld_ev;
static char		 self_exe[PATH_MAX];

static void
fetch_close_pipe(void)
{
	if (cur.rd != NULL)
		event_free(cur.rd);
	cur.rd = NULL;
	if (cur.fd >= 0)
		close(cur.fd);
	cur.fd = -1;
}

static void
fetch_clear(struct bankd *bd)
{
	fetch_close_pipe();
	if (cur.deadline != NULL)
		event_free(cur.deadline);
	free(cur.buf);
	memset(&cur, 0, sizeof(cur));
	cur.fd = -1;
	bd->reconcile_busy = 0;
}

static void
fetch_break(const char *why)
{
	if (!cur.broken)
		snprintf(cur.why, sizeof(cur.why), "%s", why);
	cur.broken = 1;
	if (!cur.reaped)
		kill(cur.pid, SIGKILL);
	fetch_close_pipe();
}

/* The pipe at EOF and the child reaped: judge the stream, once. */
static void
fetch_done(struct bankd *bd)
{
	struct live_job *jobs;
	char err[256];
	size_t n;

	if (cur.pid <= 0 || cur.fd >= 0 || !cur.reaped)
		return;
	if (cur.broken)
		snprintf(err, sizeof(err), "%s", cur.why);
	else if (joblist_decode(cur.buf, cur.len, JOBLIST_MAX_JOBS, &jobs, &n,
	    err, sizeof(err)) == JOBLIST_OK) {
		holds_reconcile(bd->holds, jobs, n, cur.taken,
		    bd->conf.hold_grace_s);
		free(jobs);
		fetch_clear(bd);
		return;
	}
	if (WIFSIGNALED(cur.status) && !cur.broken)
		snprintf(err + strlen(err), sizeof(err) - strlen(err),
		    "; bankd --list-jobs died of signal %d",
		    WTERMSIG(cur.status));
	log_warn("holds: cannot list slurmctld's jobs (%s); holds kept "
	    "until the next try", err);
	fetch_clear(bd);
}

/* Reap the child if it has exited (never waiting), then try to end. */
static void
fetch_poll(struct bankd *bd)
{
	if (cur.pid <= 0)
		return;
	if (!cur.reaped && waitpid(cur.pid, &cur.status, WNOHANG) == cur.pid)
		cur.reaped = 1;
	fetch_done(bd);
}

static void
on_child(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	fetch_poll(arg);
}

static int
fetch_grow(void)
{
	size_t cap = cur.cap ? cur.cap * 2 : READ_CHUNK;
	uint8_t *p;

	if (cap > JOBLIST_MAX_BYTES + 1)
		cap = JOBLIST_MAX_BYTES + 1;
	if (cap <= cur.cap || (p = realloc(cur.buf, cap)) == NULL)
		return -1;
	cur.buf = p;
	cur.cap = cap;
	return 0;
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	ssize_t r;

	(void)what;
	for (;;) {
		if (cur.len == cur.cap && fetch_grow() != 0) {
			fetch_break(cur.len > JOBLIST_MAX_BYTES ?
			    "bankd --list-jobs wrote too much" : "out of memory");
			break;
		}
		if ((r = read(fd, cur.buf + cur.len, cur.cap - cur.len)) > 0) {
			cur.len += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r < 0)
			fetch_break("cannot read bankd --list-jobs");
		fetch_close_pipe();	/* EOF */
		break;
	}
	/* SIGCHLD may have come first: it found the pipe still open. */
	fetch_poll(arg);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fetch_break("bankd --list-jobs did not answer in time: killed");
	fetch_poll(arg);	/* else reaped on its SIGCHLD */
}

static int
fetch_spawn(int wfd, pid_t *pid)
{
	char *argv[] = { self_exe, "--list-jobs", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int rc;

	sigemptyset(&none);
	sigfillset(&all);
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		return rc;
	if ((rc = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return rc;
	}
	/* stdin /dev/null, stdout the pipe, stderr bankd's; nothing else. */
	if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
	    O_RDONLY, 0)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, wfd, 1)) == 0 &&
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) == 0 &&
	    (rc = posix_spawnattr_setsigmask(&at, &none)) == 0 &&
	    (rc = posix_spawnattr_setsigdefault(&at, &all)) == 0 &&
	    (rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF)) == 0)
		rc = posix_spawn(pid, self_exe, &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

static int
fetch_start(struct bankd *bd)
{
	struct timeval tv = { RECONCILE_DEADLINE_S, 0 };
	int p[2], rc;

	if (bd->conf.reconcile_s > RECONCILE_DEADLINE_S)
		tv.tv_sec = bd->conf.reconcile_s;
	if (pipe2(p, O_CLOEXEC) != 0) {
		log_err("holds: pipe: %s", strerror(errno));
		return -1;
	}
	/* The read end only: the child's stdout stays blocking. */
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) != 0 ||
	    (cur.rd = event_new(bd->base, p[0], EV_READ | EV_PERSIST, on_read,
	    bd)) == NULL || (cur.deadline = evtimer_new(bd->base, on_deadline,
	    bd)) == NULL) {
		log_err("holds: cannot watch bankd --list-jobs");
		goto fail;
	}
	cur.fd = p[0];
	cur.taken = time(NULL);
	if ((rc = fetch_spawn(p[1], &cur.pid)) != 0) {
		log_err("holds: cannot start %s --list-jobs: %s", self_exe,
		    strerror(rc));
		cur.pid = 0;
		goto fail;
	}
	close(p[1]);
	bd->reconcile_busy = 1;
	if (event_add(cur.rd, NULL) != 0 || event_add(cur.deadline, &tv) != 0) {
		fetch_break("cannot watch bankd --list-jobs");
		fetch_poll(bd);		/* else reaped on its SIGCHLD */
	}
	return 0;
fail:
	if (cur.fd < 0)
		close(p[0]);
	close(p[1]);
	fetch_clear(bd);
	return -1;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct bankd *bd = arg;

	(void)fd;
	(void)what;
	if (bd->reconcile_busy || holds_count(bd->holds) == 0)
		return;
	fetch_start(bd);
}

int
reconcile_start(struct bankd *bd)
{
	struct timeval tv = { bd->conf.reconcile_s, 0 };
	ssize_t n;

	if (!bd->conf.holds_enabled || bd->conf.reconcile_s == 0)
		return 0;
	if (!listjobs_slurm_conf_present()) {
		log_warn("holds: no slurm.conf here (SLURM_CONF): holds are "
		    "not reconciled with slurmctld's jobs");
		return 0;
	}
	/* Resolved now: the binary that runs, wherever the cwd goes. */
	if ((n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1))
	    <= 0) {
		log_err("holds: readlink /proc/self/exe: %s", strerror(errno));
		return -1;
	}
	self_exe[n] = '\0';
	chld_ev = evsignal_new(bd->base, SIGCHLD, on_child, bd);
	bd->reconcile = event_new(bd->base, -1, EV_PERSIST, on_timer, bd);
	if (chld_ev == NULL || bd->reconcile == NULL ||
	    evsignal_add(chld_ev, NULL) != 0 || event_add(bd->reconcile, &tv)
	    != 0) {
		log_err("holds: cannot schedule reconciliation");
		return -1;
	}
	return 0;
}

void
reconcile_stop(struct bankd *bd)
{
	/* Once, at exit: a SIGKILLed child is gone at once. */
	if (cur.pid > 0 && !cur.reaped) {
		kill(cur.pid, SIGKILL);
		while (waitpid(cur.pid, &cur.status, 0) < 0 && errno == EINTR)
			;
	}
	fetch_clear(bd);
	if (chld_ev != NULL)
		event_free(chld_ev);
	if (bd->reconcile != NULL)
		event_free(bd->reconcile);
	chld_ev = NULL;
	bd->reconcile = NULL;
}
