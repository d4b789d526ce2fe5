/*
 * failpoint.c - an LD_PRELOAD shim that kills its process at the Nth
 * write point, for tests/crash/crash_points.py.
 *
 * A write point is a call that changes what survives the process or
 * what another process sees: write, writev, pwrite, ftruncate, fsync,
 * fdatasync on a file or directory; write, writev, send, sendmsg, sendto
 * on a socket (bankd's replies to the plugins, its requests to the API);
 * rename, renameat, renameat2, unlink, unlinkat.  Writes to pipes,
 * eventfds and character devices are not points: nothing outside the
 * process keeps them, so a kill there is the same as a kill at the next
 * point.  Descriptors 1 and 2 (the log) are not points either.
 *
 *	FAILPOINT_AT=N		0: count only; N > 0: kill at point N.
 *				Unset: the shim does nothing at all.
 *	FAILPOINT_MODE=before	SIGKILL before point N's call (default)
 *	FAILPOINT_MODE=after	SIGKILL once point N's call has returned
 *	FAILPOINT_COUNT_FILE=F	point n's kind is written at line n of F
 *				as it happens (fixed-width lines), so the
 *				count survives the kill: lines = points.
 *
 * Points are counted across threads with one atomic counter; a call's
 * number is taken before the call, so "before" and "after" name the same
 * call.  The real functions come from dlsym(RTLD_NEXT).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FP_LINE		64	/* bytes per line of the count file */

enum fp_op {
	FP_WRITE, FP_WRITEV, FP_PWRITE, FP_FTRUNCATE, FP_FSYNC,
	FP_FDATASYNC, FP_SEND, FP_SENDMSG, FP_SENDTO, FP_RENAME, FP_UNLINK,
	FP_NOPS
};

static const char *const fp_op_names[FP_NOPS] = {
	"write", "writev", "pwrite", "ftruncate", "fsync", "fdatasync",
	"send", "sendmsg", "sendto", "rename", "unlink"
};

static atomic_ulong	 fp_count;
static unsigned long	 fp_at;
static int		 fp_on;		/* FAILPOINT_AT was set */
static int		 fp_after;
static int		 fp_rec = -1;	/* the count file */

static ssize_t	(*real_write)(int, const void *, size_t);
static ssize_t	(*real_writev)(int, const struct iovec *, int);
static ssize_t	(*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t	(*real_pwrite64)(int, const void *, size_t, off_t);
static int	(*real_ftruncate)(int, off_t);
static int	(*real_fsync)(int);
static int	(*real_fdatasync)(int);
static ssize_t	(*real_send)(int, const void *, size_t, int);
static ssize_t	(*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t	(*real_sendto)(int, const void *, size_t, int,
		    const struct sockaddr *, socklen_t);
static int	(*real_rename)(const char *, const char *);
static int	(*real_renameat)(int, const char *, int, const char *);
static int	(*real_renameat2)(int, const char *, int, const char *,
		    unsigned int);
static int	(*real_unlink)(const char *);
static int	(*real_unlinkat)(int, const char *, int);

static void *
fp_sym(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

__attribute__((constructor)) static void
fp_init(void)
{
	const char *at = getenv("FAILPOINT_AT"), *mode, *file;

	*(void **)&real_write = fp_sym("write");
	*(void **)&real_writev = fp_sym("writev");
	*(void **)&real_pwrite = fp_sym("pwrite");
	*(void **)&real_pwrite64 = fp_sym("pwrite64");
	*(void **)&real_ftruncate = fp_sym("ftruncate");
	*(void **)&real_fsync = fp_sym("fsync");
	*(void **)&real_fdatasync = fp_sym("fdatasync");
	*(void **)&real_send = fp_sym("send");
	*(void **)&real_sendmsg = fp_sym("sendmsg");
	*(void **)&real_sendto = fp_sym("sendto");
	*(void **)&real_rename = fp_sym("rename");
	*(void **)&real_renameat = fp_sym("renameat");
	*(void **)&real_renameat2 = fp_sym("renameat2");
	*(void **)&real_unlink = fp_sym("unlink");
	*(void **)&real_unlinkat = fp_sym("unlinkat");
	if (at == NULL || *at == '\0')
		return;
	fp_at = strtoul(at, NULL, 10);
	fp_on = 1;
	mode = getenv("FAILPOINT_MODE");
	fp_after = mode != NULL && strcmp(mode, "after") == 0;
	if ((file = getenv("FAILPOINT_COUNT_FILE")) != NULL && *file != '\0')
		fp_rec = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0644);
	/* A child (none expected) must not count on into the same file. */
	unsetenv("FAILPOINT_AT");
}

/* What a descriptor is, as the count file names it; NULL: not a point. */
static const char *
fp_fd_kind(int fd, char *name, size_t namelen)
{
	char link[64], target[PATH_MAX];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct stat st;
	const char *base;
	ssize_t n;

	if (fd == 1 || fd == 2 || fstat(fd, &st) != 0)
		return NULL;
	if (S_ISSOCK(st.st_mode)) {
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
			return NULL;
		snprintf(name, namelen, "%s", ss.ss_family == AF_UNIX ?
		    "unix" : "tcp");
		return name;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return NULL;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, target, sizeof(target) - 1)) < 0)
		n = 0;
	target[n] = '\0';
	base = strrchr(target, '/');
	snprintf(name, namelen, "%s%s", S_ISDIR(st.st_mode) ? "dir:" : "",
	    base != NULL && base[1] != '\0' ? base + 1 : target);
	return name;
}

static const char *
fp_path_kind(const char *path, char *name, size_t namelen)
{
	const char *base = path != NULL ? strrchr(path, '/') : NULL;

	snprintf(name, namelen, "%s", base != NULL ? base + 1 :
	    path != NULL ? path : "?");
	return name;
}

static void
fp_kill(void)
{
	kill(getpid(), SIGKILL);
	for (;;)
		pause();
}

/*
 * Number a point (0: not one) and record it; at point fp_at in "before"
 * mode, the process dies here.
 */
static unsigned long
fp_enter(enum fp_op op, const char *what)
{
	char line[FP_LINE + 1];
	unsigned long n;
	int len;

	if (!fp_on || what == NULL)
		return 0;
	n = atomic_fetch_add(&fp_count, 1) + 1;
	if (fp_rec != -1) {
		len = snprintf(line, sizeof(line), "%-9s %-*.*s", fp_op_names[op],
		    FP_LINE - 11, FP_LINE - 11, what);
		if (len > 0) {
			line[FP_LINE - 1] = '\n';
			if (real_pwrite(fp_rec, line, FP_LINE,
			    (off_t)((n - 1) * FP_LINE)) != FP_LINE)
				fp_rec = -1;
		}
	}
	if (n == fp_at && !fp_after)
		fp_kill();
	return n;
}

static void
fp_leave(unsigned long n, int saved_errno)
{
	if (n != 0 && n == fp_at)
		fp_kill();
	errno = saved_errno;
}

#define FP_FD(op, fd)	fp_enter((op), fp_on ? fp_fd_kind((fd), nm, \
			    sizeof(nm)) : NULL)
#define FP_PATH(op, p)	fp_enter((op), fp_on ? fp_path_kind((p), nm, \
			    sizeof(nm)) : NULL)

ssize_t
write(int fd, const void *buf, size_t len)
{
	char nm[FP_LINE];
	unsigned long n = FP_FD(FP_WRITE, fd);
	ssize_t rc = real_write(fd, buf, len);

	fp_leave(n, errno);
	return rc;
}

ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	char nm[FP_LINE];
	unsigned long n = FP_FD(FP_WRITEV, fd);
	ssize_t rc = real_writev(fd, iov, cnt);

	fp_leave(n, errno);
	return rc;
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	char nm[FP_LINE];
	unsigned long n = FP_FD(FP_PWRITE, fd);
	ssize_t rc = real_pwrite(fd, buf, len, off);

	fp_leave(n, errno);
	return rc;
}

ssize_t
pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	char nm[FP_LINE];
	unsigned long n = FP_FD(FP_PWRITE, fd);
	ssize_t rc = real_pwrite64(fd, buf, len, off);

	fp_leave(n, errno);
	return rc;
}

int
ftruncate(int fd, off_t len)
{
	char nm[FP_LINE];
	unsigned long n = FP_FD(FP_FTRUNCATE, fd);
	int rc = real_ftruncate(fd, len);

	fp_leave(n, errno);
	return rc;
}

int
fsync(int fd)
{
	char nm[FP_LINE];
	unsigned long n = FP_FD(FP_FSYNC, fd);
	int rc = real_fsync(fd);

	fp_leave(n, errno);
	return rc;
}

int
fdatasync(int fd)
{
	char nm[FP_LINE];
	unsigned long n = FP_FD(FP_FDATASYNC, fd);
	int rc = real_fdatasync(fd);

	fp_leave(n, errno);
	return rc;
}

ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
	char nm[FP_LINE];
	unsigned long n = FP_FD(FP_SEND, fd);
	ssize_t rc = real_send(fd, buf, len, flags);

	fp_leave(n, errno);
	return rc;
}

ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	char nm[FP_LINE];
	unsigned long n = FP_FD(FP_SENDMSG, fd);
	ssize_t rc = real_sendmsg(fd, msg, flags);

	fp_leave(n, errno);
	return rc;
}

ssize_t
sendto(int fd, const void *buf, size_t len, int flags,
    const struct sockaddr *to, socklen_t tolen)
{
	char nm[FP_LINE];
	unsigned long n = FP_FD(FP_SENDTO, fd);
	ssize_t rc = real_sendto(fd, buf, len, flags, to, tolen);

	fp_leave(n, errno);
	return rc;
}

int
rename(const char *from, const char *to)
{
	char nm[FP_LINE];
	unsigned long n = FP_PATH(FP_RENAME, to);
	int rc = real_rename(from, to);

	fp_leave(n, errno);
	return rc;
}

int
renameat(int fromfd, const char *from, int tofd, const char *to)
{
	char nm[FP_LINE];
	unsigned long n = FP_PATH(FP_RENAME, to);
	int rc = real_renameat(fromfd, from, tofd, to);

	fp_leave(n, errno);
	return rc;
}

int
renameat2(int fromfd, const char *from, int tofd, const char *to,
    unsigned int flags)
{
	char nm[FP_LINE];
	unsigned long n = FP_PATH(FP_RENAME, to);
	int rc = real_renameat2(fromfd, from, tofd, to, flags);

	fp_leave(n, errno);
	return rc;
}

int
unlink(const char *path)
{
	char nm[FP_LINE];
	unsigned long n = FP_PATH(FP_UNLINK, path);
	int rc = real_unlink(path);

	fp_leave(n, errno);
	return rc;
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	char nm[FP_LINE];
	unsigned long n = FP_PATH(FP_UNLINK, path);
	int rc = real_unlinkat(dirfd, path, flags);

	fp_leave(n, errno);
	return rc;
}
