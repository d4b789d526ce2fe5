/*
 * journal.c - the durable report log (see journal.h for the format).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"

#define J_MAGIC		0x424b4a31u	/* "BKJ1" */
#define J_HDR		12
#define J_MAX_REC	(1024 * 1024)

struct journal {
	char		*dir;
	char		*name;
	char		*path;
	int		 fd;
	int		 do_fsync;
	int		 corrupt;
	size_t		 size;		/* bytes on disk */
	char		*buf;		/* appended, not yet written */
	size_t		 len;
	size_t		 cap;
};

static uint32_t crc_table[256];

static void
crc_init(void)
{
	uint32_t c;
	int i, k;

	if (crc_table[1] != 0)
		return;
	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t
crc32c(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Is there a whole, intact record at p?  Its length, or 0. */
static size_t
record_at(const unsigned char *p, size_t left)
{
	uint32_t len;

	if (left < J_HDR || get32(p) != J_MAGIC)
		return 0;
	len = get32(p + 4);
	if (len == 0 || len > J_MAX_REC || len > left - J_HDR)
		return 0;
	if (crc32c(p + J_HDR, len) != get32(p + 8))
		return 0;
	return J_HDR + len;
}

static int
read_all(int fd, unsigned char **out, size_t *outlen)
{
	struct stat st;
	unsigned char *buf;
	size_t off = 0;
	ssize_t n;

	if (fstat(fd, &st) == -1)
		return -1;
	if ((buf = malloc(st.st_size ? (size_t)st.st_size : 1)) == NULL)
		return -1;
	while (off < (size_t)st.st_size) {
		n = pread(fd, buf + off, st.st_size - off, off);
		if (n <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			free(buf);
			return -1;
		}
		off += n;
	}
	*out = buf;
	*outlen = off;
	return 0;
}

static void
replay_one(const unsigned char *p, size_t len, journal_replay_fn fn,
    void *arg, size_t off)
{
	json_error_t jerr;
	json_t *rec;

	rec = json_loadb((const char *)p, len, 0, &jerr);
	if (rec == NULL || !json_is_object(rec)) {
		log_err("journal: record at offset %zu passes its checksum "
		    "but is not a JSON object; skipped", off);
		json_decref(rec);
		return;
	}
	fn(rec, arg);
	json_decref(rec);
}

/* Replay every intact record; skip damage one byte at a time. */
static void
replay(struct journal *j, const unsigned char *buf, size_t len,
    journal_replay_fn fn, void *arg)
{
	size_t off = 0, n, bad_from = 0;
	int in_bad = 0;

	while (off < len) {
		if ((n = record_at(buf + off, len - off)) == 0) {
			if (!in_bad) {
				bad_from = off;
				in_bad = 1;
				j->corrupt = 1;
			}
			off++;
			continue;
		}
		if (in_bad) {
			log_err("journal: %zu damaged bytes at offset %zu "
			    "skipped; resuming at the next intact record",
			    off - bad_from, bad_from);
			in_bad = 0;
		}
		replay_one(buf + off + J_HDR, n - J_HDR, fn, arg, off);
		off += n;
	}
	if (in_bad)
		log_err("journal: torn or corrupt tail of %zu bytes at offset "
		    "%zu skipped (a crash mid-write?)", len - bad_from,
		    bad_from);
}

static int
fsync_dir(const char *dir)
{
	int fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

struct journal *
journal_open(const char *dir, int do_fsync, journal_replay_fn fn, void *arg,
    char *err, size_t errlen)
{
	return journal_open_named(dir, "journal", do_fsync, fn, arg, err,
	    errlen);
}

struct journal *
journal_open_named(const char *dir, const char *name, int do_fsync,
    journal_replay_fn fn, void *arg, char *err, size_t errlen)
{
	struct journal *j;
	unsigned char *buf;
	size_t len;

	crc_init();
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		snprintf(err, errlen, "journal: out of memory");
		return NULL;
	}
	j->fd = -1;
	if ((j->dir = strdup(dir)) == NULL ||
	    asprintf(&j->path, "%s/%s", dir, name) == -1 ||
	    (j->name = strdup(name)) == NULL) {
		snprintf(err, errlen, "journal: out of memory");
		goto fail;
	}
	j->do_fsync = do_fsync;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "state_dir %s: %s", dir, strerror(errno));
		goto fail;
	}
	j->fd = open(j->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd == -1) {
		snprintf(err, errlen, "journal %s: %s", j->path,
		    strerror(errno));
		goto fail;
	}
	if (read_all(j->fd, &buf, &len) == -1) {
		snprintf(err, errlen, "journal %s: cannot read: %s", j->path,
		    strerror(errno));
		goto fail;
	}
	replay(j, buf, len, fn, arg);
	free(buf);
	j->size = len;
	return j;
fail:
	if (j != NULL && j->fd >= 0)
		close(j->fd);
	if (j != NULL) {
		free(j->dir);
		free(j->name);
		free(j->path);
		free(j);
	}
	return NULL;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->len > 0)
		journal_commit(j);
	close(j->fd);
	free(j->buf);
	free(j->dir);
	free(j->name);
	free(j->path);
	free(j);
}

long
journal_append(struct journal *j, json_t *rec)
{
	char *s;
	size_t n, need;
	char *nb;

	if ((s = json_dumps(rec, JSON_COMPACT)) == NULL)
		return -1;
	n = strlen(s);
	need = j->len + J_HDR + n;
	if (n > J_MAX_REC) {
		free(s);
		return -1;
	}
	if (need > j->cap) {
		size_t cap = need * 2 > 65536 ? need * 2 : 65536;

		if ((nb = realloc(j->buf, cap)) == NULL) {
			free(s);
			return -1;
		}
		j->buf = nb;
		j->cap = cap;
	}
	put32((unsigned char *)j->buf + j->len, J_MAGIC);
	put32((unsigned char *)j->buf + j->len + 4, (uint32_t)n);
	put32((unsigned char *)j->buf + j->len + 8,
	    crc32c((unsigned char *)s, n));
	memcpy(j->buf + j->len + J_HDR, s, n);
	j->len = need;
	free(s);
	return (long)(J_HDR + n);
}

int
journal_pending(const struct journal *j)
{
	return j->len > 0;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * A failed commit keeps its records buffered for the next one; cut what
 * did reach the file, or the retry would write those records twice.
 */
static int
commit_failed(struct journal *j, const char *what)
{
	log_err("journal %s: %s failed: %s", j->path, what, strerror(errno));
	if (ftruncate(j->fd, (off_t)j->size) != 0)
		log_err("journal %s: cannot cut back the failed commit: %s "
		    "(replay ignores repeated records)", j->path,
		    strerror(errno));
	return -1;
}

int
journal_commit(struct journal *j)
{
	if (j->len == 0)
		return 0;
	if (write_all(j->fd, j->buf, j->len) != 0)
		return commit_failed(j, "write");
	if (j->do_fsync && fdatasync(j->fd) != 0)
		return commit_failed(j, "fdatasync");
	j->size += j->len;
	j->len = 0;
	return 0;
}

int
journal_rewrite(struct journal *j, journal_emit_fn emit, void *arg)
{
	char *tmp = NULL;
	const char *what;
	int fd = -1, oldfd = j->fd;
	size_t oldsize = j->size;

	if (journal_commit(j) != 0)
		return -1;
	if (asprintf(&tmp, "%s.new", j->path) == -1)
		return -1;
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		log_err("journal: cannot compact into %s: %s", tmp,
		    strerror(errno));
		free(tmp);
		return -1;
	}
	/* emit() appends the live records to our buffer; write them there. */
	j->fd = fd;
	j->size = 0;
	errno = 0;
	what = NULL;
	if (emit(j, arg) != 0)
		what = "collecting the live records";
	else if (write_all(fd, j->buf, j->len) != 0)
		what = "write";
	else if (fdatasync(fd) != 0)
		what = "fdatasync";
	else if (rename(tmp, j->path) != 0)
		what = "rename";
	if (what != NULL) {
		log_err("journal: compaction failed at %s (%s); keeping the old "
		    "file", what, errno ? strerror(errno) : "no detail");
		close(fd);
		unlink(tmp);
		j->fd = oldfd;
		j->size = oldsize;
		j->len = 0;
		free(tmp);
		return -1;
	}
	j->size = j->len;
	j->len = 0;
	fsync_dir(j->dir);
	close(oldfd);
	free(tmp);
	j->corrupt = 0;
	return 0;
}

size_t
journal_size(const struct journal *j)
{
	return j->size + j->len;
}

int
journal_corrupt(const struct journal *j)
{
	return j->corrupt;
}

void
journal_set_fsync(struct journal *j, int on)
{
	j->do_fsync = on;
}
