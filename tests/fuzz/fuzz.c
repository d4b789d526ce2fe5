/*
 * fuzz.c - the harnesses' scratch directory and file helpers (fuzz.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char	 dir[256];

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0)
		fprintf(stderr, "fuzz: cannot remove %s: %s\n", path,
		    strerror(errno));
	return 0;
}

/* A crash skips this: the directory then stays for the post-mortem. */
static void
rm_dir(void)
{
	if (dir[0] != '\0')
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
fuzz_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (dir[0] != '\0')
		return dir;
	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(dir, sizeof(dir), "%s/bank-fuzz.XXXXXX", tmp) >=
	    sizeof(dir) || mkdtemp(dir) == NULL) {
		fprintf(stderr, "fuzz: cannot make a directory in %s: %s\n",
		    tmp, strerror(errno));
		exit(1);
	}
	atexit(rm_dir);
	return dir;
}

char *
fuzz_path(char *buf, size_t len, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", fuzz_dir(), name) >= len) {
		fprintf(stderr, "fuzz: path too long: %s/%s\n", fuzz_dir(),
		    name);
		exit(1);
	}
	return buf;
}

void
fuzz_write(const char *path, const void *data, size_t len, int mode)
{
	const char *p = data;
	ssize_t n;
	int fd;

	/* The mode matters (token files), whatever the umask. */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || fchmod(fd, (mode_t)mode) != 0)
		goto fail;
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) == 0)
		return;
fail:
	fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
	exit(1);
}

void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* CRC-32C (Castagnoli, reflected), bit by bit: slow and plainly right. */
static uint32_t
crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	int k;

	while (n--) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return c ^ 0xffffffffu;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

void
fuzz_journal_record(uint8_t **buf, size_t *len, const uint8_t *p, size_t n)
{
	uint8_t *b;

	if (n == 0)
		return;
	if ((b = realloc(*buf, *len + 12 + n)) == NULL)
		fuzz_fail("out of memory");
	put32(b + *len, 0x424b4a31u);		/* "BKJ1" */
	put32(b + *len + 4, (uint32_t)n);
	put32(b + *len + 8, crc32c(p, n));
	memcpy(b + *len + 12, p, n);
	*buf = b;
	*len += 12 + n;
}
