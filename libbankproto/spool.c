/*
 * spool.c - when bankd cannot be reached, a plugin leaves its report in
 * the spool directory for bankd to take in later: one file per report,
 * the same frame as on the socket, written to a hidden temporary name,
 * synced, then renamed, so bankd never sees half a file.  Names sort in
 * the order the reports were written.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bankproto.h"

int
bp_spool_write(const char *dir, const struct bp_msg *m, char *err,
    size_t errlen)
{
	char tmp[4096], final[4096];
	struct timespec ts;
	uint8_t *frame, *p;
	long len;
	ssize_t n;
	int fd, rc;

	if ((len = bp_encode(m, &frame)) < 0) {
		snprintf(err, errlen, "%s", bp_strerror((int)len));
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(final, sizeof(final), "%s/%020lld.%09ld-%s-%u-%ld", dir,
	    (long long)ts.tv_sec, ts.tv_nsec, bp_type_name(m->type), m->id,
	    (long)getpid());
	snprintf(tmp, sizeof(tmp), "%s/.tmp.%lld.%09ld.%ld", dir,
	    (long long)ts.tv_sec, ts.tv_nsec, (long)getpid());
	/* The spool is made by the first writer, private to root/SlurmUser. */
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "spool %s: %s", dir, strerror(errno));
		free(frame);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1) {
		snprintf(err, errlen, "spool %s: %s", tmp, strerror(errno));
		free(frame);
		return -1;
	}
	for (p = frame; len > 0; p += n, len -= n) {
		n = write(fd, p, (size_t)len);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0)
			break;
	}
	free(frame);
	rc = len == 0 && fsync(fd) == 0 ? 0 : -1;
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, final) != 0)
		rc = -1;
	if (rc != 0) {
		snprintf(err, errlen, "spool %s: %s", final, strerror(errno));
		unlink(tmp);
	}
	return rc;
}
