/*
 * journal.c - the durable report log (see journal.h for the format).
 *
 * Bytes are in one of three places: on disk and durable ([0, size)), in
 * flight on the sync thread (fbuf, the next flen bytes), or buffered (buf,
 * the next len bytes).  The sync thread only reads fbuf and writes the
 * file past `size`; everything else happens on the caller's thread.
 *
 * Replay at open walks the file: at each offset an intact record is taken
 * whole, anything else is damage and skipped one byte at a time.  Taking
 * each header's CRC directly, a file of fake headers (the magic, a length
 * of up to 1 MiB, a wrong CRC) would cost up to 1 MiB of CRC per byte.
 * So from the first damaged byte on, replay keeps the CRCs of the file's
 * prefixes every CK_STEP bytes (4 bytes each, computed as far as needed)
 * and gets a payload's CRC from those of the prefixes before and through
 * it (journal_crc32c_cut): at most CK_STEP bytes of CRC and three
 * multiplications a header, whatever its length.  Headers worth a CRC are
 * 6 bytes apart or more (a length of at most 1 MiB has no room for the next
 * magic before that), so a file of n bytes costs at most
 * 6n + CK_STEP * (n / 6 + 1) bytes of CRC (replay() counts them), under 49
 * a byte.  Until damage is met, and for a run of records after it, records
 * are checked as they always were: one CRC each, no extra pass, no memory.
 */
#include <sys/eventfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "monotime.h"

#define J_MAGIC		0x424b4a31u	/* "BKJ1" */
#define J_HDR		12
#define J_MAX_REC	JOURNAL_MAX_RECORD
#define CK_STEP		256		/* replay's checkpoints, once damaged */
#define ZERO_AHEAD	(1024 * 1024)	/* zeros kept past the records */
#define RETRY_MS	1000		/* after a failed commit */

struct journal {
	char		*dir;
	char		*name;
	char		*path;
	int		 fd;
	int		 do_fsync;
	int		 corrupt;
	int		 rewriting;	/* appends go to a new file, from 0 */
	uint64_t	 replay_work;	/* bytes of CRC the replay computed */
	uint64_t	 size;		/* bytes on disk, durable */
	uint64_t	 zeroed;	/* the file's length: zeros past size */
	int64_t		 retry_at;	/* after a failed commit: not before */
	char		*buf;		/* appended, not yet handed over */
	size_t		 len;
	size_t		 cap;
	char		*fbuf;		/* in flight (or left by a failure) */
	size_t		 flen;
	size_t		 fcap;

	/* The sync thread; the fields below `mu` are shared with it. */
	int		 has_thread;
	int		 busy;		/* handed over, not yet reaped */
	int		 efd;		/* readable: a commit is over */
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 job;		/* the thread has work */
	int		 quit;
	int		 job_fd;
	int		 job_sync;
	uint64_t	 job_off;
	uint64_t	 job_zeroed;
	int		 job_rc;
	int		 job_errno;
	const char	*job_what;
};

struct replay_cb {
	journal_replay_fn	 fn;
	journal_replay_at_fn	 at;
	void			*arg;
};

#define CRC_POLY	0x82f63b78u	/* CRC-32C, reflected */

static uint32_t crc_table[256];
static uint32_t crc_x8[64];	/* x^(8 * 2^k) modulo the polynomial */
#if defined(__x86_64__) && defined(__GNUC__)
static int crc_hw;		/* the CPU has CRC-32C */
#endif

static uint32_t	crc_mul(uint32_t, uint32_t);

static void
crc_init(void)
{
	uint32_t c;
	int i, k;

	if (crc_table[1] != 0)
		return;
#if defined(__x86_64__) && defined(__GNUC__)
	crc_hw = __builtin_cpu_supports("sse4.2");
#endif
	crc_x8[0] = 0x80000000u >> 8;		/* x^8 */
	for (k = 1; k < 64; k++)
		crc_x8[k] = crc_mul(crc_x8[k - 1], crc_x8[k - 1]);
	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ CRC_POLY : c >> 1;
		crc_table[i] = c;
	}
}

/*
 * The CRC of A || p[0..n), given crc, the CRC of A (0 for nothing): the
 * register is the CRC's complement, so a CRC can be taken up again.
 */
static uint32_t
crc32c_table(uint32_t crc, const unsigned char *p, size_t n)
{
	uint32_t c = ~crc;

	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* SSE 4.2 has CRC-32C itself: about ten times the table's speed. */
__attribute__((target("sse4.2"))) static uint32_t
crc32c_sse42(uint32_t crc, const unsigned char *p, size_t n)
{
	uint64_t c = ~crc, w;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
	}
	while (n--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

static uint32_t
crc32c_more(uint32_t crc, const unsigned char *p, size_t n)
{
	return crc_hw ? crc32c_sse42(crc, p, n) : crc32c_table(crc, p, n);
}
#else
#define crc32c_more	crc32c_table
#endif

static uint32_t
crc32c(const unsigned char *p, size_t n)
{
	return crc32c_more(0, p, n);
}

/*
 * CRC arithmetic, for replaying a damaged file (see replay()).  A 32-bit
 * word in the reflected form is a polynomial over GF(2) of degree < 32:
 * bit 31 holds the coefficient of x^0, bit 0 that of x^31.  Feeding byte
 * d to the register r gives (r + d) * x^8 modulo P, the CRC-32C
 * polynomial (x^32 is P's other terms, CRC_POLY): affine in r.  Feeding
 * the n bytes of B thus gives r * x^(8n) + z(B), z(B) being what B gives
 * from a zero register.  With the complements at both ends that works out
 * to, modulo P (`+` is exclusive or),
 *
 *	crc(A || B) = crc(A) * x^(8 |B|) + crc(B)
 *
 * so the CRC of any range of a file follows from the CRCs of two of its
 * prefixes and one multiplication by a power of x.
 */

/* a * b modulo P. */
static uint32_t
crc_mul(uint32_t a, uint32_t b)
{
	uint32_t p = 0;
	int k;

	/* a's terms from x^0 up, b running through b * x^k meanwhile. */
	for (k = 0; k < 32; k++, a <<= 1) {
		p ^= b & -(a >> 31);
		b = (b >> 1) ^ (CRC_POLY & -(b & 1));
	}
	return p;
}

/*
 * x^(8n) for each byte of n's three low bytes: crc_x8n[d][v] for
 * n = v << 8d.  Made (768 multiplications) once a file is damaged.
 */
static uint32_t crc_x8n[3][256];

static void
crc_shift_init(void)
{
	int d, v;

	crc_init();
	if (crc_x8n[2][255] != 0)
		return;
	for (d = 0; d < 3; d++) {
		crc_x8n[d][0] = 0x80000000u;		/* x^0 */
		for (v = 1; v < 256; v++)
			crc_x8n[d][v] = crc_mul(crc_x8n[d][v - 1],
			    crc_x8[8 * d]);
	}
}

/*
 * crc * x^(8n) modulo P: a multiplication per byte of n below 2^24 (a
 * record's length), and per bit above.
 */
static uint32_t
crc_shift(uint32_t crc, uint64_t n)
{
	int k;

	for (k = 0; k < 3; k++, n >>= 8)
		if (n & 0xff)
			crc = crc_mul(crc, crc_x8n[k][n & 0xff]);
	for (k = 24; n != 0; k++, n >>= 1)
		if (n & 1)
			crc = crc_mul(crc, crc_x8[k]);
	return crc;
}

uint32_t
journal_crc32c_cut(uint32_t crc_ab, uint32_t crc_a, uint64_t len_b)
{
	crc_shift_init();
	return crc_ab ^ crc_shift(crc_a, len_b);
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

/*
 * The replay scan over buf[0..len).  Until damage is met each record's
 * CRC is taken directly.  From the first damaged byte on (`base`), ck[i]
 * is the CRC of buf[base, base + i * CK_STEP), computed as far as a check
 * has needed; and at_crc is the CRC of buf[base, at), `at` being the last
 * payload start checked through the checkpoints.  The last record taken
 * ends at `next` and is `last` bytes long.
 */
struct scan {
	const unsigned char	*buf;
	size_t			 len;
	uint64_t		 work;		/* bytes of CRC computed */
	uint32_t		*ck;		/* NULL: no damage met yet */
	size_t			 nck;
	size_t			 base;
	size_t			 at;
	uint32_t		 at_crc;
	size_t			 next;
	size_t			 last;
};

/* The CRC of what precedes buf[from] (crc) and buf[from, to). */
static uint32_t
scan_crc(struct scan *s, uint32_t crc, size_t from, size_t to)
{
	s->work += to - from;
	return crc32c_more(crc, s->buf + from, to - from);
}

/*
 * Damage at off: checkpoints from there on, 4 bytes per CK_STEP bytes.
 * Without the memory, the direct CRCs go on (slowly, on a hostile file).
 */
static void
scan_damaged(struct scan *s, size_t off)
{
	if ((s->ck = malloc(((s->len - off) / CK_STEP + 1) *
	    sizeof(*s->ck))) == NULL) {
		log_err("journal: out of memory for replay's checkpoints");
		return;
	}
	crc_shift_init();
	s->ck[0] = 0;
	s->nck = 1;
	s->base = off;
	s->at = off;
	s->at_crc = 0;
}

/* The CRC of buf[base, pos), from the checkpoint below pos. */
static uint32_t
scan_prefix(struct scan *s, size_t pos)
{
	size_t i = (pos - s->base) / CK_STEP, from;

	for (; s->nck <= i; s->nck++) {
		from = s->base + (s->nck - 1) * CK_STEP;
		s->ck[s->nck] = scan_crc(s, s->ck[s->nck - 1], from,
		    from + CK_STEP);
	}
	return scan_crc(s, s->ck[i], s->base + i * CK_STEP, pos);
}

/*
 * The same for a payload start: those only grow, so when the last one
 * is in the same block, it goes on from there (each byte once).
 */
static uint32_t
scan_start(struct scan *s, size_t pos)
{
	size_t blk = pos - (pos - s->base) % CK_STEP;

	if (s->at >= blk && s->at <= pos)
		s->at_crc = scan_crc(s, s->at_crc, s->at, pos);
	else
		s->at_crc = scan_prefix(s, pos);
	s->at = pos;
	return s->at_crc;
}

/*
 * The CRC of buf[off, off + n).  Directly if the file is undamaged so
 * far, if n is short, or if the header is right after a record taken and
 * n at most twice its size: the records after a torn one cost what they
 * did, and a failed check of that kind costs no more than twice the record
 * before it.  Else from the prefixes through off + n and before off: at
 * most CK_STEP bytes past its block's checkpoint for the one and three
 * multiplications, whatever n is.
 */
static uint32_t
scan_range(struct scan *s, size_t off, size_t n)
{
	uint32_t start;

	if (s->ck == NULL || n <= CK_STEP ||
	    (off == s->next + J_HDR && n <= 2 * s->last))
		return scan_crc(s, 0, off, off + n);
	start = scan_start(s, off);
	return journal_crc32c_cut(scan_prefix(s, off + n), start, n);
}

/* Is there a whole, intact record at off?  Its length, or 0. */
static size_t
record_at(struct scan *s, size_t off)
{
	const unsigned char *p = s->buf + off;
	size_t left = s->len - off;
	uint32_t len;

	if (left < J_HDR || get32(p) != J_MAGIC)
		return 0;
	len = get32(p + 4);
	if (len == 0 || len > J_MAX_REC || len > left - J_HDR)
		return 0;
	if (scan_range(s, off + J_HDR, len) != get32(p + 8))
		return 0;
	s->next = off + J_HDR + len;
	s->last = J_HDR + len;
	return J_HDR + len;
}

static int
pread_all(int fd, void *p, size_t len, uint64_t off, size_t *got)
{
	ssize_t n;

	*got = 0;
	while (*got < len) {
		n = pread(fd, (char *)p + *got, len - *got,
		    (off_t)(off + *got));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;		/* end of file */
		*got += n;
	}
	return 0;
}

static int
read_all(int fd, unsigned char **out, size_t *outlen)
{
	struct stat st;
	unsigned char *buf;

	if (fstat(fd, &st) == -1)
		return -1;
	if ((buf = malloc(st.st_size ? (size_t)st.st_size : 1)) == NULL)
		return -1;
	if (pread_all(fd, buf, st.st_size, 0, outlen) != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}

static void
replay_one(const unsigned char *p, size_t len, const struct replay_cb *cb,
    size_t off)
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
	if (cb->at != NULL)
		cb->at(rec, off, (uint32_t)(J_HDR + len), cb->arg);
	else
		cb->fn(rec, cb->arg);
	json_decref(rec);
}

/*
 * Replay every intact record; skip damage one byte at a time.  The work,
 * for a file of n bytes: the records taken directly (at most n in all);
 * the failed check that finds the damage (at most n); failed checks right
 * after a record taken (at most twice its size: 2n); the checkpoints (at
 * most n); the payload starts (at most n: they only grow, and each is
 * reached from the last one in its block); and at most CK_STEP bytes per
 * other header checked (a short payload directly, else the end from its
 * block's checkpoint).
 */
static void
replay(struct journal *j, const unsigned char *buf, size_t len,
    const struct replay_cb *cb)
{
	struct scan s = { buf, len, 0, NULL, 0, 0, 0, 0, 0, 0 };
	size_t off = 0, n, bad_from = 0;
	int in_bad = 0;

	while (off < len) {
		if ((n = record_at(&s, off)) == 0) {
			if (!in_bad) {
				if (!j->corrupt)
					scan_damaged(&s, off);
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
		replay_one(buf + off + J_HDR, n - J_HDR, cb, off);
		off += n;
	}
	if (in_bad)
		log_err("journal: torn or corrupt tail of %zu bytes at offset "
		    "%zu skipped (a crash mid-write?)", len - bad_from,
		    bad_from);
	free(s.ck);
	j->replay_work = s.work;
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

static void
journal_free(struct journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	free(j->buf);
	free(j->fbuf);
	free(j->dir);
	free(j->name);
	free(j->path);
	free(j);
}

static struct journal *
open_cb(const char *dir, const char *name, int do_fsync,
    const struct replay_cb *cb, char *err, size_t errlen)
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
	j->efd = -1;
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
	/* Not O_APPEND: records go at known positions (journal_read). */
	j->fd = open(j->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
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
	/* The zeros written ahead of the records (zero_ahead) are no data. */
	j->zeroed = len;
	while (len > 0 && buf[len - 1] == 0)
		len--;
	replay(j, buf, len, cb);
	free(buf);
	j->size = len;
	return j;
fail:
	journal_free(j);
	return NULL;
}

struct journal *
journal_open(const char *dir, int do_fsync, journal_replay_fn fn, void *arg,
    char *err, size_t errlen)
{
	return journal_open_named(dir, "journal", do_fsync, fn, arg, err,
	    errlen);
}

struct journal *
journal_open_at(const char *dir, int do_fsync, journal_replay_at_fn at,
    void *arg, char *err, size_t errlen)
{
	struct replay_cb cb = { NULL, at, arg };

	return open_cb(dir, "journal", do_fsync, &cb, err, errlen);
}

struct journal *
journal_open_named(const char *dir, const char *name, int do_fsync,
    journal_replay_fn fn, void *arg, char *err, size_t errlen)
{
	struct replay_cb cb = { fn, NULL, arg };

	return open_cb(dir, name, do_fsync, &cb, err, errlen);
}

static void
thread_stop(struct journal *j)
{
	if (!j->has_thread)
		return;
	pthread_mutex_lock(&j->mu);
	j->quit = 1;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	pthread_join(j->thread, NULL);
	pthread_cond_destroy(&j->cv);
	pthread_mutex_destroy(&j->mu);
	close(j->efd);
	j->efd = -1;
	j->has_thread = 0;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->busy || j->len > 0 || j->flen > 0)
		journal_commit(j);
	thread_stop(j);
	journal_free(j);
}

/* Room for `more` bytes in the buffer. */
static int
reserve(struct journal *j, size_t more)
{
	size_t need = j->len + more, cap;
	char *nb;

	if (need <= j->cap)
		return 0;
	cap = need * 2 > 65536 ? need * 2 : 65536;
	if ((nb = realloc(j->buf, cap)) == NULL)
		return -1;
	j->buf = nb;
	j->cap = cap;
	return 0;
}

/* Where the buffer's first byte goes in the file. */
static uint64_t
buf_base(const struct journal *j)
{
	return j->rewriting ? 0 : j->size + j->flen;
}

long
journal_append_raw(struct journal *j, const char *s, size_t n,
    uint64_t *pos)
{
	unsigned char *p;

	if (n == 0 || n > J_MAX_REC || reserve(j, J_HDR + n) != 0)
		return -1;
	if (pos != NULL)
		*pos = buf_base(j) + j->len;
	p = (unsigned char *)j->buf + j->len;
	put32(p, J_MAGIC);
	put32(p + 4, (uint32_t)n);
	put32(p + 8, crc32c((const unsigned char *)s, n));
	memcpy(p + J_HDR, s, n);
	j->len += J_HDR + n;
	return (long)(J_HDR + n);
}

long
journal_append(struct journal *j, json_t *rec)
{
	char *s;
	long n;

	if ((s = json_dumps(rec, JSON_COMPACT)) == NULL)
		return -1;
	n = journal_append_raw(j, s, strlen(s), NULL);
	free(s);
	return n;
}

int
journal_pending(const struct journal *j)
{
	return j->len > 0 || j->flen > 0;
}

static int
pwrite_all(int fd, const char *p, size_t len, uint64_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, p, len, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * With fsync on, the file is kept zero-filled some way past its records:
 * a sync of data written over blocks that exist already need not commit
 * the file system's own journal (a new length, new blocks), which halves
 * what fdatasync costs here (docs/delivery.md).  A record never ends in
 * a zero byte (its payload is JSON), so replay tells the zeros from data.
 * Best effort: if the zeros cannot be written, records are appended as
 * before.
 */
static void
zero_ahead(int fd, uint64_t *zeroed, uint64_t from, uint64_t need)
{
	static const char zeros[64 * 1024];
	uint64_t to;
	size_t n;

	/* Never below the records: a file written without sync is shorter. */
	if (*zeroed < from)
		*zeroed = from;
	if (need <= *zeroed)
		return;
	to = (need + ZERO_AHEAD + ZERO_AHEAD - 1) / ZERO_AHEAD * ZERO_AHEAD;
	while (*zeroed < to) {
		n = to - *zeroed < sizeof(zeros) ? (size_t)(to - *zeroed) :
		    sizeof(zeros);
		if (pwrite_all(fd, zeros, n, *zeroed) != 0)
			return;
		*zeroed += n;
	}
}

/*
 * A failed commit keeps its records buffered for the next one; cut what
 * did reach the file, so that a crash before the retry replays no torn
 * record (the retry writes at the same position anyway).
 */

/*
 * A disk that failed a commit (full, or broken) is not asked again for
 * RETRY_MS: asking at once would spin the loop and flood the log.  The
 * records stay buffered meanwhile.
 */
static int
held_off(const struct journal *j)
{
	if (j->retry_at == 0 || monotime_ms() >= j->retry_at)
		return 0;
	errno = EAGAIN;
	return 1;
}

static int
commit_failed(struct journal *j, const char *what, int err)
{
	j->retry_at = monotime_ms() + RETRY_MS;
	log_err("journal %s: %s failed: %s", j->path, what, strerror(err));
	if (ftruncate(j->fd, (off_t)j->size) != 0)
		log_err("journal %s: cannot cut back the failed commit: %s "
		    "(replay skips a torn record)", j->path, strerror(errno));
	else
		j->zeroed = j->size;
	return -1;
}

static int
reap(struct journal *j);

static int
commit(struct journal *j, int sync)
{
	if (j->busy)
		(void)reap(j);		/* logged there */
	if (j->len == 0 && j->flen == 0)
		return 0;
	if (sync)
		zero_ahead(j->fd, &j->zeroed, j->size,
		    j->size + j->flen + j->len);
	/* fbuf holds a batch whose commit failed: it goes first. */
	if (pwrite_all(j->fd, j->fbuf, j->flen, j->size) != 0 ||
	    pwrite_all(j->fd, j->buf, j->len, j->size + j->flen) != 0)
		return commit_failed(j, "write", errno);
	if (sync && fdatasync(j->fd) != 0)
		return commit_failed(j, "fdatasync", errno);
	j->size += j->flen + j->len;
	if (j->zeroed < j->size)
		j->zeroed = j->size;
	j->flen = 0;
	j->len = 0;
	return 0;
}

int
journal_commit(struct journal *j)
{
	if (held_off(j))
		return -1;
	return commit(j, j->do_fsync);
}

int
journal_write(struct journal *j)
{
	if (held_off(j))
		return -1;
	return commit(j, 0);
}

/* ---- the sync thread ------------------------------------------------ */

static void
do_job(struct journal *j)
{
	j->job_what = NULL;
	if (j->job_sync)
		zero_ahead(j->job_fd, &j->job_zeroed, j->job_off,
		    j->job_off + j->flen);
	if (pwrite_all(j->job_fd, j->fbuf, j->flen, j->job_off) != 0)
		j->job_what = "write";
	else if (j->job_sync && fdatasync(j->job_fd) != 0)
		j->job_what = "fdatasync";
	j->job_errno = j->job_what != NULL ? errno : 0;
	j->job_rc = j->job_what != NULL ? -1 : 0;
}

static void *
sync_main(void *arg)
{
	struct journal *j = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&j->mu);
	for (;;) {
		while (!j->job && !j->quit)
			pthread_cond_wait(&j->cv, &j->mu);
		if (!j->job)
			break;
		pthread_mutex_unlock(&j->mu);
		do_job(j);
		pthread_mutex_lock(&j->mu);
		j->job = 0;
		pthread_cond_broadcast(&j->cv);
		/* Cannot fail but for a full counter: it is read each time. */
		(void)!write(j->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

int
journal_commit_fd(struct journal *j)
{
	sigset_t all, old;
	int rc;

	if (j->has_thread)
		return j->efd;
	if ((j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		log_err("journal: eventfd: %s; committing on the main thread",
		    strerror(errno));
		return -1;
	}
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	/* Signals are the event loop's business: the thread blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&j->thread, NULL, sync_main, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_err("journal: cannot start the sync thread: %s; "
		    "committing on the main thread", strerror(rc));
		pthread_cond_destroy(&j->cv);
		pthread_mutex_destroy(&j->mu);
		close(j->efd);
		j->efd = -1;
		return -1;
	}
	j->has_thread = 1;
	return j->efd;
}

static void
swap_bufs(struct journal *j)
{
	char *b = j->buf;
	size_t c = j->cap;

	j->buf = j->fbuf;
	j->cap = j->fcap;
	j->fbuf = b;
	j->fcap = c;
	j->flen = j->len;
	j->len = 0;
}

int
journal_commit_begin(struct journal *j)
{
	if (j->busy)
		return 1;
	if (!j->has_thread || j->rewriting || j->flen > 0 || held_off(j))
		return -1;
	if (j->len == 0)
		return 1;
	swap_bufs(j);
	pthread_mutex_lock(&j->mu);
	j->job_fd = j->fd;
	j->job_off = j->size;
	j->job_zeroed = j->zeroed;
	j->job_sync = j->do_fsync;
	j->job = 1;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
	j->busy = 1;
	return 0;
}

/*
 * A failed batch goes back in front of the buffer, where its records'
 * positions already are.  Without memory for that, it stays in fbuf and
 * journal_commit() writes both.
 */
static void
requeue(struct journal *j)
{
	char *nb;
	size_t c;

	if (j->flen + j->len > j->fcap) {
		if ((nb = realloc(j->fbuf, j->flen + j->len)) == NULL)
			return;
		j->fbuf = nb;
		j->fcap = j->flen + j->len;
	}
	if (j->len > 0)
		memcpy(j->fbuf + j->flen, j->buf, j->len);
	j->len += j->flen;
	j->flen = 0;
	nb = j->buf;
	c = j->cap;
	j->buf = j->fbuf;
	j->cap = j->fcap;
	j->fbuf = nb;
	j->fcap = c;
}

/* Wait for the thread, then account for its commit. */
static int
reap(struct journal *j)
{
	uint64_t n;
	int rc, err;
	const char *what;

	if (!j->busy)
		return 1;
	pthread_mutex_lock(&j->mu);
	while (j->job)
		pthread_cond_wait(&j->cv, &j->mu);
	rc = j->job_rc;
	err = j->job_errno;
	what = j->job_what;
	j->zeroed = j->job_zeroed;
	pthread_mutex_unlock(&j->mu);
	(void)!read(j->efd, &n, sizeof(n));
	j->busy = 0;
	if (rc == 0) {
		j->size += j->flen;
		if (j->zeroed < j->size)
			j->zeroed = j->size;
		j->flen = 0;
		return 0;
	}
	commit_failed(j, what, err);
	requeue(j);
	return -1;
}

int
journal_commit_end(struct journal *j)
{
	return reap(j);
}

int
journal_busy(const struct journal *j)
{
	return j->busy;
}

/* ---- reading a record back ------------------------------------------ */

static int
check_record(const unsigned char *p, uint32_t size, uint64_t pos, char *err,
    size_t errlen)
{
	const char *why = NULL;

	if (size < J_HDR + 1 || get32(p) != J_MAGIC)
		why = "no record header";
	else if (get32(p + 4) != size - J_HDR)
		why = "a record of another length";
	else if (crc32c(p + J_HDR, size - J_HDR) != get32(p + 8))
		why = "a CRC mismatch";
	if (why == NULL)
		return 0;
	snprintf(err, errlen, "journal offset %llu: %s",
	    (unsigned long long)pos, why);
	return -2;
}

/* Copy [pos, pos + size) from wherever those bytes are now. */
static int
fetch(struct journal *j, uint64_t pos, uint32_t size, unsigned char *p,
    char *err, size_t errlen)
{
	uint64_t base = buf_base(j);
	size_t got;

	if (!j->rewriting && pos >= base) {
		if (pos - base + size > j->len)
			goto past_end;
		memcpy(p, j->buf + (pos - base), size);
		return 0;
	}
	if (!j->rewriting && pos >= j->size) {
		if (pos - j->size + size > j->flen)
			goto past_end;
		memcpy(p, j->fbuf + (pos - j->size), size);
		return 0;
	}
	if (pread_all(j->fd, p, size, pos, &got) != 0) {
		snprintf(err, errlen, "journal %s offset %llu: %s", j->path,
		    (unsigned long long)pos, strerror(errno));
		return -1;
	}
	if (got == size)
		return 0;
past_end:
	snprintf(err, errlen, "journal offset %llu: the journal ends before "
	    "this record", (unsigned long long)pos);
	return -2;
}

int
journal_read(struct journal *j, uint64_t pos, uint32_t size, char **out,
    char *err, size_t errlen)
{
	unsigned char *p;
	int rc;

	*out = NULL;
	if (size < J_HDR + 1 || size > J_HDR + J_MAX_REC) {
		snprintf(err, errlen, "journal offset %llu: impossible record "
		    "size %u", (unsigned long long)pos, size);
		return -2;
	}
	if ((p = malloc(size + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((rc = fetch(j, pos, size, p, err, errlen)) != 0 ||
	    (rc = check_record(p, size, pos, err, errlen)) != 0) {
		free(p);
		return rc;
	}
	memmove(p, p + J_HDR, size - J_HDR);
	p[size - J_HDR] = '\0';
	*out = (char *)p;
	return 0;
}

/* ---- compaction ------------------------------------------------------ */

/* Write the emitted records to fd and put that file in place. */
static const char *
install(struct journal *j, int fd, const char *tmp)
{
	if (pwrite_all(fd, j->buf, j->len, 0) != 0)
		return "write";
	if (fdatasync(fd) != 0)
		return "fdatasync";
	if (rename(tmp, j->path) != 0)
		return "rename";
	return NULL;
}

int
journal_rewrite(struct journal *j, journal_emit_fn emit, void *arg)
{
	char *tmp = NULL;
	const char *what;
	int fd;

	if (journal_commit(j) != 0)
		return -1;
	if (asprintf(&tmp, "%s.new", j->path) == -1)
		return -1;
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1) {
		log_err("journal: cannot compact into %s: %s", tmp,
		    strerror(errno));
		free(tmp);
		return -1;
	}
	/* emit() appends the live records to our buffer, reading the old. */
	j->rewriting = 1;
	errno = 0;
	if (emit(j, arg) != 0)
		what = "collecting the live records";
	else
		what = install(j, fd, tmp);
	j->rewriting = 0;
	if (what != NULL) {
		log_err("journal: compaction failed at %s (%s); keeping the "
		    "old file", what, errno ? strerror(errno) : "no detail");
		close(fd);
		unlink(tmp);
		j->len = 0;
		free(tmp);
		return -1;
	}
	close(j->fd);
	j->fd = fd;
	j->size = j->len;
	j->zeroed = j->len;
	j->len = 0;
	fsync_dir(j->dir);
	free(tmp);
	j->corrupt = 0;
	return 0;
}

size_t
journal_size(const struct journal *j)
{
	return j->rewriting ? j->size : j->size + j->flen + j->len;
}

int
journal_corrupt(const struct journal *j)
{
	return j->corrupt;
}

uint64_t
journal_replay_work(const struct journal *j)
{
	return j->replay_work;
}

void
journal_set_fsync(struct journal *j, int on)
{
	j->do_fsync = on;
}

int
journal_fsync(const struct journal *j)
{
	return j->do_fsync;
}

uint64_t
journal_durable(const struct journal *j)
{
	return j->rewriting ? 0 : j->size;
}

uint64_t
journal_inflight_end(const struct journal *j)
{
	return j->busy ? j->size + j->flen : j->size;
}
