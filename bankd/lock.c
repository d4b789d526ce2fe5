/*
 * lock.c - the state directory's lock (lock.h).  Two controllers may
 * share state_dir (storage both see, as slurmctld's StateSaveLocation);
 * the one that holds state_dir/lock is active, the other waits for it.
 *
 * fcntl(2) record locks, not flock(2): NFS carries them (NLM on v3, the
 * protocol itself on v4), flock is emulated there or local only.  The
 * kernel (or the NFS server's lease) drops the lock when its holder dies,
 * kill -9 included, so a standby takes over without anyone's help.  The
 * "pid host" line in the file is for the logs only: who holds the lock is
 * the lock's business, never the file's text.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bankd.h"
#include "lock.h"
#include "log.h"

#define LOCK_NAME	"lock"
#define LOCK_RETRY_S	1

static void
holder_of(int fd, char *holder, size_t len)
{
	ssize_t n;
	char *nl;

	n = pread(fd, holder, len - 1, 0);
	if (n <= 0) {
		snprintf(holder, len, "?");
		return;
	}
	holder[n] = '\0';
	if ((nl = strchr(holder, '\n')) != NULL)
		*nl = '\0';
}

/* "pid host\n": who holds it, for the standby's log line. */
static void
write_holder(int fd)
{
	char host[256], line[300];
	int n;

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	n = snprintf(line, sizeof(line), "%ld %s\n", (long)getpid(), host);
	if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)n, 0) != n ||
	    fsync(fd) != 0)
		log_warn("state_dir lock: cannot write who holds it: %s "
		    "(the lock itself is taken)", strerror(errno));
}

enum lock_rc
lock_try(const char *dir, int *fdp, char *holder, size_t holderlen,
    char *err, size_t errlen)
{
	struct flock fl;
	char path[4096];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, LOCK_NAME) >=
	    sizeof(path)) {
		snprintf(err, errlen, "state_dir %s: path too long", dir);
		return LOCK_ERROR;
	}
	/* The first start makes state_dir, as the journal would. */
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create state_dir %s: %s", dir,
		    strerror(errno));
		return LOCK_ERROR;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return LOCK_ERROR;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;		/* l_start 0, l_len 0: the whole file */
	if (fcntl(fd, F_SETLK, &fl) == 0) {
		write_holder(fd);
		*fdp = fd;
		return LOCK_TAKEN;
	}
	if (errno != EACCES && errno != EAGAIN) {
		snprintf(err, errlen, "cannot lock %s: %s%s", path,
		    strerror(errno), errno == ENOLCK ? " (on NFS: is the lock "
		    "service running, rpc.statd / lockd?)" : "");
		close(fd);
		return LOCK_ERROR;
	}
	holder_of(fd, holder, holderlen);
	close(fd);
	return LOCK_HELD;
}

/* A second's rest that still hears SIGTERM (main.c's handlers). */
static void
rest(struct bankd *bd)
{
	struct timeval tv = { LOCK_RETRY_S, 0 };

	event_base_loopexit(bd->base, &tv);
	event_base_dispatch(bd->base);
}

static void
on_exit_now(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopexit(arg, NULL);
}

/*
 * SIGHUP while waiting: nothing is loaded yet to reload (main.c's reload
 * swaps in prices and the queue's settings).  Held back, it comes once
 * bankd has started, and reloads then.
 */
static void
hup_blocked(int block)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	(void)sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

static int
wait_loop(struct bankd *bd, void (*notify)(const char *))
{
	const char *dir = bd->conf.state_dir;
	char holder[320], err[512], line[512];
	struct timeval now = { 0, 0 };
	int fd, waited = 0;

	for (;;) {
		switch (lock_try(dir, &fd, holder, sizeof(holder), err,
		    sizeof(err))) {
		case LOCK_TAKEN:
			if (waited) {
				log_info("active: took over state_dir %s", dir);
				if (notify != NULL)
					notify("STATUS=active: took over the "
					    "state directory");
			}
			return 0;
		case LOCK_ERROR:
			log_err("state_dir lock: %s", err);
			return -1;
		case LOCK_HELD:
			break;
		}
		if (!waited) {
			char pid[32] = "?", host[256] = "?";

			(void)sscanf(holder, "%31s %255s", pid, host);
			log_info("standby: state_dir %s is held by bankd pid %s "
			    "on %s; waiting for it", dir, pid, host);
			snprintf(line, sizeof(line), "STATUS=standby: waiting "
			    "for state_dir %s (held by pid %s on %s)", dir, pid,
			    host);
			if (notify != NULL) {
				notify(line);
				notify("READY=1");
			}
			waited = 1;
		}
		rest(bd);
		if (bd->stopping) {
			/* main.c's loop then returns at its first turn. */
			if (event_base_once(bd->base, -1, EV_TIMEOUT,
			    on_exit_now, bd->base, &now) != 0)
				return -1;
			log_info("standby: stopped while waiting for state_dir "
			    "%s", dir);
			return 1;
		}
	}
}

int
lock_wait(struct bankd *bd, void (*notify)(const char *))
{
	int rc;

	hup_blocked(1);
	rc = wait_loop(bd, notify);
	hup_blocked(0);
	return rc;
}
