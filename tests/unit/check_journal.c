/*
 * check_journal.c: unit tests of bankd's journal (bankd/journal.c), the
 * append-only log of JSON records ("BKJ1" | u32 length | u32 CRC-32C |
 * payload, big-endian): round trip, group commit, torn tails, corruption
 * and garbage skipped on replay, records with a good CRC but no JSON
 * object, compaction by journal_rewrite, fsync on and off, file modes;
 * reading a record back at its position (buffer, file, after compaction,
 * damaged), and commits on the sync thread, failed ones included; the
 * CRC of a range from the CRCs of two prefixes (journal_crc32c_cut);
 * replay's work on crafted files, and replay against the byte-by-byte
 * scan it replaced on files with random damage.
 *
 * Every test works in its own mkdtemp directory under one top directory
 * that main() creates and removes, so nothing is left behind even when a
 * test fails in a forked child.

 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "journal.h"

#define HDR	12
/*
 * Replay's bound (journal.c): bytes of CRC per byte of any file past a few
 * KiB, 6 + 256 / 6 rounded up.  The scan before checkpoints took up to
 * 1 MiB per header.
 */
#define REPLAY_WORK_PER_BYTE	49

static char topdir[256];

/* A fresh, empty directory for one test. */
static char *
new_dir(void)
{
	char *d;

	ck_assert_int_ne(asprintf(&d, "%s/t.XXXXXX", topdir), -1);
	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

static char *
jpath(const char *dir)
{
	char *p;

	ck_assert_int_ne(asprintf(&p, "%s/journal", dir), -1);
	return p;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void
rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- CRC-32C and hand-made records ------------------------------------ */

/*
 * The CRC of A || buf, given crc, that of A: a byte at a time from a table
 * made a bit at a time here (the reference scan below takes many CRCs).
 */
static uint32_t
crc32c_more(uint32_t crc, const void *buf, size_t n)
{
	static uint32_t tab[256];
	const unsigned char *p = buf;
	uint32_t c;
	int i, k;

	if (tab[1] == 0) {
		for (i = 255; i >= 0; i--) {
			c = (uint32_t)i;
			for (k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
			tab[i] = c;
		}
	}
	c = ~crc;
	while (n--)
		c = tab[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

static uint32_t
crc32c(const void *buf, size_t n)
{
	return crc32c_more(0, buf, n);
}

/* xorshift32: the tests' random numbers, the same on every run. */
static uint32_t
rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
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

/* A whole record around payload; *len is set to its size. */
static unsigned char *
raw_record(const char *payload, size_t plen, size_t *len)
{
	unsigned char *r;

	ck_assert_ptr_nonnull(r = malloc(HDR + plen));
	memcpy(r, "BKJ1", 4);
	put32(r + 4, (uint32_t)plen);
	put32(r + 8, crc32c(payload, plen));
	memcpy(r + HDR, payload, plen);
	*len = HDR + plen;
	return r;
}

/* ---- records and replay --------------------------------------------- */

static json_t *
rec(int seq)
{
	json_t *r = json_pack("{s:s, s:i, s:s}", "op", "add", "seq", seq,
	    "body", "JobId=1234 Account=physics \"quoted\" \\ \xc3\xa9");

	ck_assert_ptr_nonnull(r);
	return r;
}

/* The exact bytes journal_append puts on disk for rec(seq). */
static unsigned char *
rec_bytes(int seq, size_t *len)
{
	json_t *r = rec(seq);
	char *s = json_dumps(r, JSON_COMPACT);
	unsigned char *b;

	ck_assert_ptr_nonnull(s);
	b = raw_record(s, strlen(s), len);
	free(s);
	json_decref(r);
	return b;
}

static size_t
rec_size(int seq)
{
	size_t n;

	free(rec_bytes(seq, &n));
	return n;
}

static void
collect(json_t *r, void *arg)
{
	ck_assert_int_eq(json_array_append(arg, r), 0);
}

/* Append rec(seq); check the size it reports. */
static void
append(struct journal *j, int seq)
{
	json_t *r = rec(seq);

	ck_assert_int_eq(journal_append(j, r), (long)rec_size(seq));
	json_decref(r);
}

static struct journal *
open_j(const char *dir, int do_fsync, json_t **got)
{
	struct journal *j;
	char err[256] = "";

	*got = json_array();
	j = journal_open(dir, do_fsync, collect, *got, err, sizeof(err));
	ck_assert_msg(j != NULL, "journal_open %s: %s", dir, err);
	return j;
}

/* got holds exactly rec(seqs[0]), rec(seqs[1]), ... in order. */
static void
expect_seqs(json_t *got, const int *seqs, size_t n)
{
	size_t i;

	ck_assert_uint_eq(json_array_size(got), n);
	for (i = 0; i < n; i++) {
		json_t *want = rec(seqs[i]);

		ck_assert_msg(json_equal(json_array_get(got, i), want),
		    "record %zu: got seq %lld, want %d", i,
		    (long long)json_integer_value(json_object_get(
		    json_array_get(got, i), "seq")), seqs[i]);
		json_decref(want);
	}
}

static unsigned char *read_file(const char *, size_t *);

/*
 * The journal's data: with fsync on, bankd keeps zeros written ahead of
 * its records (journal.c, zero_ahead), which are not data.
 */
static off_t
data_size(const char *path)
{
	size_t len;
	unsigned char *b = read_file(path, &len);

	while (len > 0 && b[len - 1] == 0)
		len--;
	free(b);
	return (off_t)len;
}

/* Open dir, check the replay and the flags, close. */
static void
reopen_expect(const char *dir, const int *seqs, size_t n, int corrupt)
{
	json_t *got;
	struct journal *j = open_j(dir, 0, &got);
	char *p = jpath(dir);
	struct stat st;

	expect_seqs(got, seqs, n);
	ck_assert_int_eq(journal_corrupt(j), corrupt);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(journal_size(j), (size_t)data_size(p));
	ck_assert_int_eq(journal_pending(j), 0);
	journal_close(j);
	json_decref(got);
	free(p);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

static unsigned char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;
	long n;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	ck_assert_ptr_nonnull(b = malloc(n ? (size_t)n : 1));
	ck_assert_uint_eq(fread(b, 1, n, f), (size_t)n);
	fclose(f);
	*len = n;
	return b;
}

static void
write_file(const char *path, const void *b, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(b, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void
append_file(const char *path, const void *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, b, len), (ssize_t)len);
	close(fd);
}

/* A journal in a new directory holding records 1..n, closed. */
static char *
dir_with(int n)
{
	char *dir = new_dir();
	json_t *got;
	struct journal *j = open_j(dir, 0, &got);
	int i;

	ck_assert_uint_eq(json_array_size(got), 0);
	for (i = 1; i <= n; i++)
		append(j, i);
	ck_assert_int_eq(journal_commit(j), 0);
	journal_close(j);
	json_decref(got);
	return dir;
}

/* ---- tests ------------------------------------------------------------ */

START_TEST(crc_vector)
{
	size_t n;
	unsigned char *r;

	ck_assert_uint_eq(crc32c("123456789", 9), 0xe3069283u);
	ck_assert_uint_eq(crc32c("", 0), 0);
	r = raw_record("{}", 2, &n);
	ck_assert_uint_eq(n, 14);
	ck_assert_mem_eq(r, "BKJ1\0\0\0\2", 8);
	free(r);
}
END_TEST

/*
 * journal_crc32c_cut: the CRC of a range from the CRCs of the prefixes
 * before it and through it, against the CRC of the range itself.
 */
START_TEST(crc_cut)
{
	enum { N = 16384, TRIES = 3000 };
	unsigned char *b;
	uint32_t *pre, x = 0x9e3779b9u, c;
	uint64_t n1, n2;
	size_t i, a, e;

	ck_assert_ptr_nonnull(b = malloc(N));
	ck_assert_ptr_nonnull(pre = malloc((N + 1) * sizeof(*pre)));
	for (i = 0; i < N; i++)
		b[i] = (unsigned char)rnd(&x);
	/* pre[i]: the CRC of b[0..i). */
	pre[0] = 0;
	for (i = 0; i < N; i++)
		pre[i + 1] = crc32c_more(pre[i], b + i, 1);
	ck_assert_uint_eq(pre[N], crc32c(b, N));
	for (i = 0; i < TRIES; i++) {
		a = rnd(&x) % (N + 1);
		e = rnd(&x) % (N + 1);
		if (i % 8 == 0)
			e = a + rnd(&x) % 300;	/* short ranges too */
		if (i % 100 == 1)
			a = 0;			/* A empty */
		if (i % 100 == 2)
			e = a;			/* B empty */
		if (e > N)
			e = N;
		if (e < a) {
			size_t t = a;

			a = e;
			e = t;
		}
		ck_assert_msg(journal_crc32c_cut(pre[e], pre[a], e - a) ==
		    crc32c(b + a, e - a), "range [%zu, %zu)", a, e);
	}
	/*
	 * Lengths past any file: cut(0, c, n) is c * x^(8n), so shifting by
	 * n1 then n2 is shifting by n1 + n2.
	 */
	for (i = 0; i < 200; i++) {
		c = rnd(&x);
		n1 = (uint64_t)rnd(&x) << (rnd(&x) % 30) | rnd(&x) % 7;
		n2 = (uint64_t)rnd(&x) << (rnd(&x) % 30);
		ck_assert_uint_eq(journal_crc32c_cut(0,
		    journal_crc32c_cut(0, c, n1), n2),
		    journal_crc32c_cut(0, c, n1 + n2));
	}
	free(pre);
	free(b);
}
END_TEST

/* 1. Three records, committed, replayed in order; the on-disk bytes. */
START_TEST(round_trip)
{
	static const int seqs[] = { 1, 2, 3 };
	char *dir = new_dir(), *p = jpath(dir);
	json_t *got;
	struct journal *j = open_j(dir, 1, &got);
	unsigned char *disk, *want;
	size_t dlen, wlen, off = 0, total = 0;
	int i;

	ck_assert_uint_eq(journal_size(j), 0);
	ck_assert_int_eq(journal_pending(j), 0);
	ck_assert_int_eq(journal_corrupt(j), 0);
	for (i = 1; i <= 3; i++) {
		append(j, i);
		total += rec_size(i);
		ck_assert_int_eq(journal_pending(j), 1);
		/* journal_size counts what is buffered too. */
		ck_assert_uint_eq(journal_size(j), total);
	}
	ck_assert_int_eq(journal_commit(j), 0);
	ck_assert_int_eq(journal_pending(j), 0);
	ck_assert_uint_eq(journal_size(j), total);
	ck_assert_uint_eq(data_size(p), total);
	/* Nothing pending: a commit is a no-op. */
	ck_assert_int_eq(journal_commit(j), 0);
	ck_assert_uint_eq(data_size(p), total);
	journal_close(j);
	json_decref(got);

	/* Exactly the documented format, record after record. */
	disk = read_file(p, &dlen);
	while (dlen > total && disk[dlen - 1] == 0)
		dlen--;			/* zeros written ahead: no data */
	ck_assert_uint_eq(dlen, total);
	for (i = 1; i <= 3; i++) {
		want = rec_bytes(i, &wlen);
		ck_assert_uint_le(off + wlen, dlen);
		ck_assert_mem_eq(disk + off, want, wlen);
		ck_assert_uint_eq(get32(disk + off + 4), wlen - HDR);
		ck_assert_uint_eq(get32(disk + off + 8),
		    crc32c(disk + off + HDR, wlen - HDR));
		off += wlen;
		free(want);
	}
	free(disk);

	reopen_expect(dir, seqs, 3, 0);
	/* Replay does not change the file. */
	ck_assert_uint_eq(data_size(p), total);
	reopen_expect(dir, seqs, 3, 0);
	free(p);
	free(dir);
}
END_TEST

/* 2. Appended but not committed: not on disk, not in a crash image. */
START_TEST(uncommitted_not_on_disk)
{
	static const int two[] = { 1, 2 }, four[] = { 1, 2, 3, 4 };
	char *dir = new_dir(), *p = jpath(dir), *crash = new_dir();
	char *cp = jpath(crash);
	json_t *got;
	struct journal *j = open_j(dir, 1, &got);
	unsigned char *b;
	size_t len, committed;

	append(j, 1);
	append(j, 2);
	ck_assert_int_eq(journal_commit(j), 0);
	committed = rec_size(1) + rec_size(2);
	append(j, 3);
	ck_assert_int_eq(journal_pending(j), 1);
	ck_assert_uint_eq(data_size(p), committed);
	ck_assert_uint_eq(journal_size(j), committed + rec_size(3));

	/* The file as a crash right now would leave it. */
	b = read_file(p, &len);
	while (len > committed && b[len - 1] == 0)
		len--;			/* zeros written ahead: no data */
	ck_assert_uint_eq(len, committed);
	write_file(cp, b, len);
	free(b);
	reopen_expect(crash, two, 2, 0);

	/* journal_close commits what is still buffered. */
	append(j, 4);
	journal_close(j);
	json_decref(got);
	ck_assert_uint_eq(data_size(p), committed + rec_size(3) +
	    rec_size(4));
	reopen_expect(dir, four, 4, 0);
	free(p);
	free(cp);
	free(dir);
	free(crash);
}
END_TEST

/* 3. A torn tail: half a record at the end. */
START_TEST(torn_tail)
{
	static const int three[] = { 1, 2, 3 }, four[] = { 1, 2, 3, 5 };
	/* Cut inside the magic, the length, the CRC, the payload. */
	size_t cuts[] = { 1, 3, 4, 7, 8, 11, 12, 13, 0, 0 };
	size_t nrec, i;
	unsigned char *r = rec_bytes(4, &nrec);

	cuts[8] = nrec / 2;
	cuts[9] = nrec - 1;
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		char *dir = dir_with(3), *p = jpath(dir);
		off_t before = file_size(p);
		json_t *got;
		struct journal *j;

		append_file(p, r, cuts[i]);
		ck_assert_uint_eq(file_size(p), before + (off_t)cuts[i]);
		reopen_expect(dir, three, 3, 1);

		/* Appends after a torn tail are replayed too. */
		j = open_j(dir, 0, &got);
		append(j, 5);
		ck_assert_int_eq(journal_commit(j), 0);
		journal_close(j);
		json_decref(got);
		reopen_expect(dir, four, 4, 1);
		rm_tree(dir);
		free(p);
		free(dir);
	}
	free(r);
}
END_TEST

/* 4. One flipped byte in record 2 (payload or header): 1 and 3 replayed. */
START_TEST(corrupt_middle)
{
	static const int one_three[] = { 1, 3 };
	size_t n1 = rec_size(1), n2 = rec_size(2);
	/* Offsets inside record 2. */
	size_t where[] = { HDR, HDR + 5, 0, 0, 2, 5, 7, 9, 11 };
	size_t i;

	where[2] = n2 - 1;		/* the closing brace */
	where[3] = HDR + (n2 - HDR) / 2;
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		char *dir = dir_with(3), *p = jpath(dir);
		size_t len;
		unsigned char *b = read_file(p, &len);

		b[n1 + where[i]] ^= 0x20;
		write_file(p, b, len);
		free(b);
		reopen_expect(dir, one_three, 2, 1);
		rm_tree(dir);
		free(p);
		free(dir);
	}
}
END_TEST

/* A length field claiming more than the file holds. */
START_TEST(corrupt_length)
{
	static const int one_three[] = { 1, 3 };
	uint32_t lens[] = { 0, 1, 0xffffffffu, 1024 * 1024 + 1, 0 };
	size_t n1 = rec_size(1), n2 = rec_size(2);
	size_t i;

	lens[4] = (uint32_t)(n2 - HDR + 1);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char *dir = dir_with(3), *p = jpath(dir);
		size_t len;
		unsigned char *b = read_file(p, &len);

		put32(b + n1 + 4, lens[i]);
		write_file(p, b, len);
		free(b);
		reopen_expect(dir, one_three, 2, 1);
		rm_tree(dir);
		free(p);
		free(dir);
	}
}
END_TEST

/* 5. Random garbage between records, and at the start of the file. */
START_TEST(garbage_between)
{
	static const int three[] = { 1, 2, 3 };
	unsigned char junk[37];
	size_t n1 = rec_size(1), i, len;
	char *dir = dir_with(3), *p = jpath(dir);
	unsigned char *b, *nb;
	uint32_t x = 0x2545f491u;

	for (i = 0; i < sizeof(junk); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		junk[i] = (unsigned char)x;
	}
	/* Some of it looks like the start of a record. */
	memcpy(junk + 10, "BKJ1\0\0\0\x05", 8);

	b = read_file(p, &len);
	ck_assert_ptr_nonnull(nb = malloc(len + 2 * sizeof(junk)));
	memcpy(nb, junk, sizeof(junk));
	memcpy(nb + sizeof(junk), b, n1);
	memcpy(nb + sizeof(junk) + n1, junk, sizeof(junk));
	memcpy(nb + 2 * sizeof(junk) + n1, b + n1, len - n1);
	write_file(p, nb, len + 2 * sizeof(junk));
	free(b);
	free(nb);
	reopen_expect(dir, three, 3, 1);
	free(p);
	free(dir);
}
END_TEST

/* 6. A good CRC around something that is not a JSON object. */
START_TEST(valid_crc_not_json)
{
	static const int one_two[] = { 1, 2 };
	static const char *bad[] = {
		"not json {",
		"[1,2,3]",		/* JSON, not an object */
		"42",
		"{\"a\":1} trailing",
		"{\"a\":",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *dir = dir_with(1), *p = jpath(dir);
		size_t n, n2;
		unsigned char *r = raw_record(bad[i], strlen(bad[i]), &n);
		unsigned char *r2 = rec_bytes(2, &n2);

		append_file(p, r, n);
		append_file(p, r2, n2);
		/*
		 * Not damage: the bytes are what was written, so the
		 * journal is not flagged corrupt; the record is skipped.
		 */
		reopen_expect(dir, one_two, 2, 0);
		free(r);
		free(r2);
		rm_tree(dir);
		free(p);
		free(dir);
	}
}
END_TEST

struct emit_arg {
	int	*seqs;
	int	 n;
	int	 calls;
	int	 fail;
};

static int
emit_some(struct journal *j, void *arg)
{
	struct emit_arg *a = arg;
	int i;

	a->calls++;
	for (i = 0; i < a->n; i++)
		append(j, a->seqs[i]);
	return a->fail ? -1 : 0;
}

static int
exists(const char *dir, const char *name)
{
	char *p;
	struct stat st;
	int rc;

	ck_assert_int_ne(asprintf(&p, "%s/%s", dir, name), -1);
	rc = stat(p, &st) == 0;
	free(p);
	return rc;
}

/* 7. Compaction: only what emit() appends survives. */
START_TEST(rewrite_compacts)
{
	static const int two[] = { 2 }, two_four[] = { 2, 4 };
	static const int two_four_five[] = { 2, 4, 5 };
	int keep[] = { 2 };
	struct emit_arg ea = { keep, 1, 0, 0 };
	char *dir = dir_with(3), *p = jpath(dir);
	unsigned char *torn;
	size_t ntorn;
	struct stat before, after;
	json_t *got;
	struct journal *j;

	/* Start from a damaged file, so that the corrupt flag is set. */
	torn = rec_bytes(9, &ntorn);
	append_file(p, torn, ntorn / 2);
	free(torn);
	ck_assert_int_eq(stat(p, &before), 0);

	j = open_j(dir, 1, &got);
	ck_assert_uint_eq(json_array_size(got), 3);
	ck_assert_int_eq(journal_corrupt(j), 1);
	ck_assert_int_eq(journal_rewrite(j, emit_some, &ea), 0);
	ck_assert_int_eq(ea.calls, 1);
	ck_assert_int_eq(journal_corrupt(j), 0);
	ck_assert_int_eq(journal_pending(j), 0);
	ck_assert(!exists(dir, "journal.new"));
	ck_assert_int_eq(stat(p, &after), 0);
	ck_assert_uint_ne(after.st_ino, before.st_ino);	/* replaced */
	ck_assert_uint_eq(after.st_mode & 0777, 0600);
	ck_assert_uint_eq((size_t)after.st_size, rec_size(2));
	ck_assert_uint_eq(journal_size(j), rec_size(2));
	reopen_expect(dir, two, 1, 0);

	/* Later appends land in the new file, after the kept record. */
	append(j, 4);
	ck_assert_int_eq(journal_commit(j), 0);
	ck_assert_uint_eq(data_size(p), rec_size(2) + rec_size(4));
	ck_assert_uint_eq(journal_size(j), rec_size(2) + rec_size(4));
	reopen_expect(dir, two_four, 2, 0);
	append(j, 5);
	journal_close(j);
	json_decref(got);
	reopen_expect(dir, two_four_five, 3, 0);
	free(p);
	free(dir);
}
END_TEST

/* Records buffered before a rewrite are committed to the old file first. */
START_TEST(rewrite_commits_pending_first)
{
	static const int all[] = { 1, 2, 3, 4 }, none[] = { 0 };
	struct emit_arg ea = { NULL, 0, 0, 0 };
	char *dir = dir_with(3), *p = jpath(dir);
	json_t *got;
	struct journal *j = open_j(dir, 0, &got);
	char *copy = new_dir(), *cp = jpath(copy);
	size_t len;
	unsigned char *b;

	append(j, 4);
	ea.fail = 1;	/* see what the old file holds: fail the rewrite */
	ck_assert_int_eq(journal_rewrite(j, emit_some, &ea), -1);
	ck_assert_int_eq(journal_pending(j), 0);
	b = read_file(p, &len);
	write_file(cp, b, len);
	free(b);
	reopen_expect(copy, all, 4, 0);

	/* An emit() that keeps nothing leaves an empty file. */
	ea.fail = 0;
	ck_assert_int_eq(journal_rewrite(j, emit_some, &ea), 0);
	ck_assert_uint_eq(data_size(p), 0);
	ck_assert_uint_eq(journal_size(j), 0);
	journal_close(j);
	json_decref(got);
	reopen_expect(dir, none, 0, 0);
	free(p);
	free(cp);
	free(dir);
	free(copy);
}
END_TEST

/* A failed emit() keeps the old file and the journal usable. */
START_TEST(rewrite_failure_keeps_old)
{
	static const int five[] = { 1, 2, 3, 4, 5 };
	int keep[] = { 2, 3 };
	struct emit_arg ea = { keep, 2, 0, 1 };
	char *dir = dir_with(3), *p = jpath(dir);
	json_t *got;
	struct journal *j = open_j(dir, 1, &got);
	struct stat before, after;
	size_t size = journal_size(j);

	ck_assert_int_eq(stat(p, &before), 0);
	ck_assert_int_eq(journal_rewrite(j, emit_some, &ea), -1);
	ck_assert_int_eq(ea.calls, 1);
	ck_assert(!exists(dir, "journal.new"));
	ck_assert_int_eq(stat(p, &after), 0);
	ck_assert_uint_eq(after.st_ino, before.st_ino);
	ck_assert_uint_eq(after.st_size, before.st_size);
	ck_assert_uint_eq(journal_size(j), size);
	ck_assert_int_eq(journal_pending(j), 0);	/* emitted: dropped */
	append(j, 4);
	append(j, 5);
	ck_assert_int_eq(journal_commit(j), 0);
	ck_assert_uint_eq(journal_size(j), (size_t)data_size(p));
	journal_close(j);
	json_decref(got);
	reopen_expect(dir, five, 5, 0);
	free(p);
	free(dir);
}
END_TEST

/* 8. fsync off and on, and switched while open. */
START_TEST(fsync_modes)
{
	static const int four[] = { 1, 2, 3, 4 };
	int on;

	for (on = 0; on <= 1; on++) {
		char *dir = new_dir(), *p = jpath(dir);
		json_t *got;
		struct journal *j = open_j(dir, on, &got);

		append(j, 1);
		append(j, 2);
		ck_assert_int_eq(journal_commit(j), 0);
		ck_assert_uint_eq(journal_size(j), (size_t)data_size(p));
		journal_set_fsync(j, !on);
		append(j, 3);
		ck_assert_int_eq(journal_commit(j), 0);
		journal_set_fsync(j, on);
		append(j, 4);
		ck_assert_int_eq(journal_commit(j), 0);
		ck_assert_uint_eq(journal_size(j), (size_t)data_size(p));
		journal_close(j);
		json_decref(got);
		reopen_expect(dir, four, 4, 0);
		free(p);
		free(dir);
	}
}
END_TEST

/* 9. An empty directory, and one that does not exist yet. */
START_TEST(new_file_mode)
{
	static const int none[] = { 0 };
	char *dir = new_dir(), *p = jpath(dir), *sub, *sp;
	mode_t old = umask(0);		/* the modes are the code's own */
	json_t *got;
	struct journal *j;
	struct stat st;

	j = open_j(dir, 1, &got);
	ck_assert_uint_eq(json_array_size(got), 0);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_uint_eq(st.st_size, 0);
	ck_assert_uint_eq(journal_size(j), 0);
	ck_assert_int_eq(journal_corrupt(j), 0);
	journal_close(j);
	json_decref(got);
	reopen_expect(dir, none, 0, 0);

	ck_assert_int_ne(asprintf(&sub, "%s/state", dir), -1);
	sp = jpath(sub);
	j = open_j(sub, 0, &got);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(stat(sp, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	journal_close(j);
	json_decref(got);
	umask(old);
	free(p);
	free(sp);
	free(sub);
	free(dir);
}
END_TEST

START_TEST(open_errors)
{
	char *dir = new_dir(), *file, *under;
	char err[256] = "";
	json_t *got = json_array();

	/* The state directory is a regular file. */
	ck_assert_int_ne(asprintf(&file, "%s/plain", dir), -1);
	write_file(file, "x", 1);
	ck_assert_ptr_null(journal_open(file, 0, collect, got, err,
	    sizeof(err)));
	ck_assert_str_ne(err, "");
	/* Its parent does not exist. */
	err[0] = '\0';
	ck_assert_int_ne(asprintf(&under, "%s/no/such", dir), -1);
	ck_assert_ptr_null(journal_open(under, 0, collect, got, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, under));
	ck_assert_uint_eq(json_array_size(got), 0);
	json_decref(got);
	free(file);
	free(under);
	free(dir);
}
END_TEST

/* Group commit of many records, some bigger than the initial buffer. */
START_TEST(many_records)
{
	char *dir = new_dir(), *p = jpath(dir);
	json_t *got, *r;
	struct journal *j = open_j(dir, 1, &got);
	char *big;
	size_t total = 0, i;
	long n;

	ck_assert_ptr_nonnull(big = malloc(100001));
	memset(big, 'x', 100000);
	big[100000] = '\0';
	for (i = 0; i < 2000; i++) {
		r = json_pack("{s:i, s:s}", "seq", (int)i, "body",
		    i % 500 == 7 ? big : "small");
		ck_assert_int_gt(n = journal_append(j, r), 0);
		total += n;
		json_decref(r);
	}
	ck_assert_uint_eq(data_size(p), 0);
	ck_assert_int_eq(journal_commit(j), 0);
	ck_assert_uint_eq(data_size(p), total);
	ck_assert_uint_eq(journal_size(j), total);
	journal_close(j);
	json_decref(got);

	j = open_j(dir, 0, &got);
	ck_assert_uint_eq(json_array_size(got), 2000);
	for (i = 0; i < 2000; i++) {
		r = json_array_get(got, i);
		ck_assert_int_eq(json_integer_value(json_object_get(r, "seq")),
		    (json_int_t)i);
		ck_assert_str_eq(json_string_value(json_object_get(r, "body")),
		    i % 500 == 7 ? big : "small");
	}
	ck_assert_int_eq(journal_corrupt(j), 0);
	journal_close(j);
	json_decref(got);
	free(big);
	free(p);
	free(dir);
}
END_TEST

/* A record over the 1 MiB limit is refused and nothing is buffered. */
START_TEST(too_big)
{
	static const int one[] = { 1 };
	char *dir = new_dir(), *big;
	json_t *got, *r;
	struct journal *j = open_j(dir, 0, &got);

	ck_assert_ptr_nonnull(big = malloc(1024 * 1024 + 1));
	memset(big, 'y', 1024 * 1024);
	big[1024 * 1024] = '\0';
	r = json_pack("{s:s}", "b", big);
	ck_assert_int_eq(journal_append(j, r), -1);
	ck_assert_int_eq(journal_pending(j), 0);
	ck_assert_uint_eq(journal_size(j), 0);
	json_decref(r);
	append(j, 1);
	journal_close(j);
	json_decref(got);
	reopen_expect(dir, one, 1, 0);
	free(big);
	free(dir);
}
END_TEST

/*
 * journal_commit after a short write (here EFBIG from RLIMIT_FSIZE; in
 * real life ENOSPC or EIO): the commit fails, what reached the file is cut
 * back, and the retry writes every record exactly once.  (Once, the retry
 * wrote the whole buffer again after the bytes that had reached the file,
 * so records were replayed twice.)
 */
START_TEST(commit_retry_after_short_write)
{
	static const int three[] = { 1, 2, 3 };
	char *dir = new_dir(), *p = jpath(dir);
	json_t *got;
	struct journal *j = open_j(dir, 0, &got);
	struct rlimit old, lim;
	void (*oldsig)(int);
	size_t base, jsize, fsize;

	append(j, 1);
	ck_assert_int_eq(journal_commit(j), 0);
	base = rec_size(1);
	append(j, 2);
	append(j, 3);
	/* Room for record 2 and half of record 3. */
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = base + rec_size(2) + rec_size(3) / 2;
	oldsig = signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ck_assert_int_eq(journal_commit(j), -1);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	/* The partial write was cut back to the last good commit. */
	ck_assert_uint_eq(data_size(p), base);
	/* The space is back: retry, once the hold-off after a failure ends. */
	ck_assert_int_eq(journal_commit(j), -1);
	ck_assert_uint_eq(data_size(p), base);
	usleep(1100 * 1000);
	ck_assert_int_eq(journal_commit(j), 0);
	jsize = journal_size(j);
	fsize = (size_t)data_size(p);
	journal_close(j);
	json_decref(got);
	/* Each record exactly once, nothing torn. */
	j = open_j(dir, 0, &got);
	expect_seqs(got, three, 3);
	journal_close(j);
	json_decref(got);
	ck_assert_uint_eq(jsize, fsize);
	free(p);
	free(dir);
}
END_TEST

/* ---- positions, reading back, the sync thread ------------------------ */

/* Append "{"seq":N,"pad":"..."}" raw; its position and size. */
static void
append_at(struct journal *j, int seq, uint64_t *pos, uint32_t *size)
{
	char s[128];
	int n = snprintf(s, sizeof(s), "{\"seq\":%d,\"pad\":\"%0*d\"}", seq,
	    seq % 40 + 1, seq);
	long got;

	ck_assert_int_gt(got = journal_append_raw(j, s, (size_t)n, pos), 0);
	ck_assert_int_eq(got, HDR + n);
	*size = (uint32_t)got;
}

/* The record at pos holds seq. */
static void
expect_at(struct journal *j, uint64_t pos, uint32_t size, int seq)
{
	char *s, err[256] = "";
	json_t *r;

	ck_assert_msg(journal_read(j, pos, size, &s, err, sizeof(err)) == 0,
	    "read at %llu: %s", (unsigned long long)pos, err);
	ck_assert_ptr_nonnull(r = json_loads(s, 0, NULL));
	ck_assert_int_eq(json_integer_value(json_object_get(r, "seq")), seq);
	ck_assert_uint_eq(strlen(s), size - HDR);
	json_decref(r);
	free(s);
}

struct where {
	uint64_t	 pos[64];
	uint32_t	 size[64];
	int		 n;
};

static void
collect_at(json_t *r, uint64_t pos, uint32_t size, void *arg)
{
	struct where *w = arg;

	ck_assert_int_lt(w->n, 64);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "seq")), w->n);
	w->pos[w->n] = pos;
	w->size[w->n++] = size;
}

/* Records read back from the buffer, then the file; replay agrees. */
START_TEST(read_back_at_position)
{
	char *dir = new_dir(), *p = jpath(dir), err[256], *s;
	struct where w = { { 0 }, { 0 }, 0 };
	uint64_t pos[8];
	uint32_t size[8];
	struct journal *j;
	int i;

	ck_assert_ptr_nonnull(j = journal_open_at(dir, 0, collect_at, &w, err,
	    sizeof(err)));
	for (i = 0; i < 4; i++)
		append_at(j, i, &pos[i], &size[i]);
	ck_assert_uint_eq(pos[0], 0);
	for (i = 1; i < 4; i++)
		ck_assert_uint_eq(pos[i], pos[i - 1] + size[i - 1]);
	for (i = 0; i < 4; i++)
		expect_at(j, pos[i], size[i], i);	/* from the buffer */
	ck_assert_int_eq(journal_commit(j), 0);
	for (i = 4; i < 6; i++)
		append_at(j, i, &pos[i], &size[i]);
	for (i = 0; i < 6; i++)
		expect_at(j, pos[i], size[i], i);	/* file and buffer */
	/* Not a record boundary, a wrong size, past the end. */
	ck_assert_int_eq(journal_read(j, pos[1] + 1, size[1], &s, err,
	    sizeof(err)), -2);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(journal_read(j, pos[1], size[1] - 1, &s, err,
	    sizeof(err)), -2);
	ck_assert_int_eq(journal_read(j, pos[5], size[5] + 1, &s, err,
	    sizeof(err)), -2);
	ck_assert_int_eq(journal_read(j, pos[3], 5, &s, err, sizeof(err)), -2);
	journal_close(j);

	ck_assert_ptr_nonnull(j = journal_open_at(dir, 0, collect_at, &w, err,
	    sizeof(err)));
	ck_assert_int_eq(w.n, 6);
	for (i = 0; i < 6; i++) {
		ck_assert_uint_eq(w.pos[i], pos[i]);
		ck_assert_uint_eq(w.size[i], size[i]);
		expect_at(j, pos[i], size[i], i);
	}
	journal_close(j);
	free(p);
	free(dir);
}
END_TEST

/* A flipped byte on disk is a CRC mismatch, told apart from I/O errors. */
START_TEST(read_back_damaged)
{
	char *dir = new_dir(), *p = jpath(dir), err[256], *s;
	uint64_t pos[3];
	uint32_t size[3];
	json_t *got;
	struct journal *j = open_j(dir, 0, &got);
	unsigned char *b;
	size_t len;
	int i;

	for (i = 0; i < 3; i++)
		append_at(j, i, &pos[i], &size[i]);
	ck_assert_int_eq(journal_commit(j), 0);
	b = read_file(p, &len);
	b[pos[1] + HDR + 3] ^= 0x20;
	write_file(p, b, len);
	free(b);
	ck_assert_int_eq(journal_read(j, pos[1], size[1], &s, err,
	    sizeof(err)), -2);
	ck_assert_ptr_nonnull(strstr(err, "CRC"));
	expect_at(j, pos[0], size[0], 0);
	expect_at(j, pos[2], size[2], 2);
	journal_close(j);
	json_decref(got);
	free(p);
	free(dir);
}
END_TEST

struct copy_arg {
	uint64_t	*pos;
	uint32_t	*size;
	uint64_t	 newpos[8];
	int		 n;
	int		 fail_at;	/* -1: never */
};

/* Copy records from the old file as they are, noting where they land. */
static int
emit_copy(struct journal *j, void *arg)
{
	struct copy_arg *c = arg;
	char *s, err[256];
	int i;

	for (i = 0; i < c->n; i++) {
		if (i == c->fail_at)
			return -1;
		if (journal_read(j, c->pos[i], c->size[i], &s, err,
		    sizeof(err)) != 0)
			return -1;
		ck_assert_int_eq(journal_append_raw(j, s, c->size[i] - HDR,
		    &c->newpos[i]), (long)c->size[i]);
		free(s);
	}
	return 0;
}

/* Compaction: copies land at new positions; a failure keeps the old. */
START_TEST(positions_after_compaction)
{
	char *dir = new_dir(), *p = jpath(dir), err[256];
	uint64_t pos[6], keep_pos[3];
	uint32_t size[6], keep_size[3];
	struct copy_arg c;
	json_t *got;
	struct journal *j = open_j(dir, 1, &got);
	int i;

	for (i = 0; i < 6; i++)
		append_at(j, i, &pos[i], &size[i]);
	ck_assert_int_eq(journal_commit(j), 0);
	/* Keep 1, 3 and 5; one more is still buffered when we start. */
	for (i = 0; i < 3; i++) {
		keep_pos[i] = pos[2 * i + 1];
		keep_size[i] = size[2 * i + 1];
	}
	append_at(j, 6, &pos[0], &size[0]);
	memset(&c, 0, sizeof(c));
	c.pos = keep_pos;
	c.size = keep_size;
	c.n = 3;
	c.fail_at = 2;
	ck_assert_int_eq(journal_rewrite(j, emit_copy, &c), -1);
	/* Failed: every old position still holds its record. */
	for (i = 0; i < 3; i++)
		expect_at(j, keep_pos[i], keep_size[i], 2 * i + 1);
	expect_at(j, pos[0], size[0], 6);	/* committed by the rewrite */
	ck_assert_uint_eq(journal_size(j), (size_t)data_size(p));

	c.fail_at = -1;
	ck_assert_int_eq(journal_rewrite(j, emit_copy, &c), 0);
	ck_assert_uint_eq(c.newpos[0], 0);
	for (i = 0; i < 3; i++)
		expect_at(j, c.newpos[i], keep_size[i], 2 * i + 1);
	ck_assert_uint_eq(journal_size(j), (size_t)data_size(p));
	/* Appends go on after the copies. */
	append_at(j, 7, &pos[1], &size[1]);
	ck_assert_uint_eq(pos[1], c.newpos[2] + keep_size[2]);
	ck_assert_int_eq(journal_commit(j), 0);
	expect_at(j, pos[1], size[1], 7);
	journal_close(j);
	json_decref(got);
	free(p);
	free(dir);
	(void)err;
}
END_TEST

/* journal_write: on disk at once (unsynced), replayed like the rest. */
START_TEST(write_without_sync)
{
	static const int two[] = { 1, 2 };
	char *dir = new_dir(), *p = jpath(dir);
	json_t *got;
	struct journal *j = open_j(dir, 1, &got);

	append(j, 1);
	ck_assert_int_eq(journal_write(j), 0);
	ck_assert_int_eq(journal_pending(j), 0);
	ck_assert_uint_eq(data_size(p), rec_size(1));
	append(j, 2);
	ck_assert_int_eq(journal_commit(j), 0);
	ck_assert_uint_eq(journal_size(j), (size_t)data_size(p));
	journal_close(j);
	json_decref(got);
	reopen_expect(dir, two, 2, 0);
	free(p);
	free(dir);
}
END_TEST

/* Wait for the sync thread and reap its commit. */
static int
end_commit(struct journal *j)
{
	struct pollfd pfd = { journal_commit_fd(j), POLLIN, 0 };

	ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
	return journal_commit_end(j);
}

/* The sync thread: one batch in flight, the next one forming. */
/*
 * With fsync on, zeros are written ahead of the records (so a sync need
 * not grow the file): they are no data, a reopen sees just the records,
 * and a record torn over them is still a torn tail.
 */
START_TEST(zeros_ahead)
{
	static const int two[] = { 1, 2 }, three[] = { 1, 2, 3 };
	char *dir = new_dir(), *p = jpath(dir);
	size_t len, i, data = rec_size(1) + rec_size(2);
	unsigned char *b, *r;
	struct journal *j;
	json_t *got;

	j = open_j(dir, 1, &got);
	append(j, 1);
	append(j, 2);
	ck_assert_int_eq(journal_commit(j), 0);
	ck_assert_int_gt(file_size(p), (off_t)data);	/* zeros past them */
	ck_assert_uint_eq(data_size(p), data);
	b = read_file(p, &len);
	for (i = data; i < len; i++)
		ck_assert_uint_eq(b[i], 0);
	free(b);
	journal_close(j);
	json_decref(got);
	reopen_expect(dir, two, 2, 0);

	/* Appends after a reopen go right after the records. */
	j = open_j(dir, 1, &got);
	append(j, 3);
	ck_assert_int_eq(journal_commit(j), 0);
	ck_assert_uint_eq(journal_size(j), data + rec_size(3));
	journal_close(j);
	json_decref(got);
	reopen_expect(dir, three, 3, 0);

	/* A crash mid-write: half a record, then the zeros. */
	r = rec_bytes(4, &len);
	b = read_file(p, &i);
	memcpy(b + data + rec_size(3), r, len / 2);
	write_file(p, b, i);
	free(b);
	free(r);
	ck_assert_int_gt(file_size(p), (off_t)(data + rec_size(3) + len));
	reopen_expect(dir, three, 3, 1);
	free(p);
	free(dir);
}
END_TEST

START_TEST(async_commit)
{
	static const int seqs[] = { 0, 1, 2, 3, 4 };
	char *dir = new_dir(), *p = jpath(dir);
	uint64_t pos[5];
	uint32_t size[5];
	json_t *got;
	struct journal *j = open_j(dir, 1, &got);
	int i;

	ck_assert_int_ge(journal_commit_fd(j), 0);
	ck_assert_int_eq(journal_commit_begin(j), 1);	/* nothing to do */
	for (i = 0; i < 3; i++)
		append_at(j, i, &pos[i], &size[i]);
	ck_assert_int_eq(journal_commit_begin(j), 0);
	ck_assert_int_eq(journal_busy(j), 1);
	ck_assert_int_eq(journal_pending(j), 1);
	/* The next batch forms while the first is in flight. */
	append_at(j, 3, &pos[3], &size[3]);
	ck_assert_int_eq(journal_commit_begin(j), 1);	/* one at a time */
	for (i = 0; i < 4; i++)
		expect_at(j, pos[i], size[i], i);
	ck_assert_int_eq(end_commit(j), 0);
	ck_assert_int_eq(journal_busy(j), 0);
	ck_assert_int_eq(journal_commit_end(j), 1);	/* already reaped */
	ck_assert_uint_eq(data_size(p), pos[3]);
	ck_assert_int_eq(journal_commit_begin(j), 0);
	append_at(j, 4, &pos[4], &size[4]);
	ck_assert_int_eq(end_commit(j), 0);
	ck_assert_uint_eq(data_size(p), pos[4]);
	for (i = 0; i < 5; i++)
		expect_at(j, pos[i], size[i], i);
	/* Closing while a commit is in flight waits for it. */
	ck_assert_int_eq(journal_commit_begin(j), 0);
	journal_close(j);
	json_decref(got);
	j = open_j(dir, 0, &got);
	ck_assert_uint_eq(json_array_size(got), 5);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(json_integer_value(json_object_get(
		    json_array_get(got, i), "seq")), seqs[i]);
	journal_close(j);
	json_decref(got);
	free(p);
	free(dir);
}
END_TEST

/*
 * A failed commit on the sync thread: cut back, its records buffered
 * again in front of the next batch, at the positions they were given.
 */
START_TEST(async_commit_failure)
{
	char *dir = new_dir(), *p = jpath(dir);
	uint64_t pos[5];
	uint32_t size[5];
	struct rlimit old, lim;
	void (*oldsig)(int);
	json_t *got;
	struct journal *j = open_j(dir, 0, &got);
	int i;

	ck_assert_int_ge(journal_commit_fd(j), 0);
	append_at(j, 0, &pos[0], &size[0]);
	ck_assert_int_eq(journal_commit(j), 0);
	for (i = 1; i < 4; i++)
		append_at(j, i, &pos[i], &size[i]);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = pos[2] + size[2] / 2;	/* half of record 2 */
	oldsig = signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ck_assert_int_eq(journal_commit_begin(j), 0);
	append_at(j, 4, &pos[4], &size[4]);
	ck_assert_int_eq(end_commit(j), -1);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	ck_assert_uint_eq(data_size(p), pos[1]);	/* cut back */
	ck_assert_int_eq(journal_pending(j), 1);
	for (i = 0; i < 5; i++)
		expect_at(j, pos[i], size[i], i);
	/* Not asked again at once (a failing disk would spin the loop). */
	ck_assert_int_eq(journal_commit_begin(j), -1);
	errno = 0;
	ck_assert_int_eq(journal_commit(j), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_uint_eq(data_size(p), pos[1]);
	ck_assert_int_eq(journal_pending(j), 1);
	usleep(1100 * 1000);
	/* The retry writes every record once, where it was promised. */
	ck_assert_int_eq(journal_commit_begin(j), 0);
	ck_assert_int_eq(end_commit(j), 0);
	ck_assert_uint_eq(data_size(p), pos[4] + size[4]);
	for (i = 0; i < 5; i++)
		expect_at(j, pos[i], size[i], i);
	journal_close(j);
	json_decref(got);
	j = open_j(dir, 0, &got);
	ck_assert_uint_eq(json_array_size(got), 5);
	ck_assert_int_eq(journal_corrupt(j), 0);
	journal_close(j);
	json_decref(got);
	free(p);
	free(dir);
}
END_TEST

/* ---- replay's work, and replay against the scan it replaced ---------- */

#define MAX_REC		(1024 * 1024)

/* A growing byte string. */
struct bytes {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
};

/* Room for n more bytes at `at`, the rest moved up; returns where. */
static unsigned char *
bytes_open(struct bytes *b, size_t at, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		ck_assert_ptr_nonnull(b->p = realloc(b->p, b->cap));
	}
	memmove(b->p + at + n, b->p + at, b->len - at);
	b->len += n;
	return b->p + at;
}

/* A header claiming len bytes of payload under crc. */
static void
header(unsigned char *h, uint32_t len, uint32_t crc)
{
	memcpy(h, "BKJ1", 4);
	put32(h + 4, len);
	put32(h + 8, crc);
}

static void
write_journal(const char *dir, const struct bytes *b)
{
	char *p = jpath(dir);

	write_file(p, b->p, b->len);
	free(p);
}

/* Open the journal in dir: its replay's work; the records in *got. */
static uint64_t
replay_work(const char *dir, json_t **got, int *corrupt)
{
	struct journal *j = open_j(dir, 0, got);
	uint64_t w = journal_replay_work(j);

	*corrupt = journal_corrupt(j);
	journal_close(j);
	return w;
}

/* A record of about `pad` bytes: {"seq":N,"pad":"xxx..."}. */
static void
add_padded(struct bytes *b, size_t at, int seq, size_t pad)
{
	char *s;
	unsigned char *h;
	int n;

	ck_assert_int_ge(n = asprintf(&s, "{\"seq\":%d,\"pad\":\"%0*d\"}",
	    seq, (int)pad, seq), 0);
	h = bytes_open(b, at, HDR + (size_t)n);
	header(h, (uint32_t)n, crc32c(s, (size_t)n));
	memcpy(h + HDR, s, (size_t)n);
	free(s);
}

/*
 * A hostile file of about `fake` bytes, then records; returns how many
 * records there are in all, seq 0, 1, ... in order.
 * 0: record headers end to end, each claiming a payload through nearly
 *    all the rest of the file (1 MiB at most) under a wrong CRC.
 * 1: "BKJ1" "\0\x0f" over and over, so that each header's length
 *    (0x000f424b, just under 1 MiB) holds the next one's magic: as dense
 *    as CRC-checked headers can be (6 bytes apart).
 * 2: records of 300-odd bytes, each followed by a header claiming twice
 *    its size under a wrong CRC: checked directly, as a record right after
 *    a record taken is.
 */
static int
crafted(struct bytes *b, size_t fake, int kind)
{
	uint32_t x = 0x1234567u, len;
	size_t off, total, last;
	int seq = 0, i;

	if (kind == 2) {
		while (b->len < fake) {
			last = b->len;
			add_padded(b, b->len, seq++, 300 + rnd(&x) % 64);
			last = b->len - last;
			header(bytes_open(b, b->len, HDR), (uint32_t)(2 * last),
			    rnd(&x));
		}
		for (i = 0; i < 20; i++)
			add_padded(b, b->len, seq++, 40);
		return seq;
	}
	for (i = 0; i < 20; i++)
		add_padded(b, b->len, seq++, 40);
	total = fake + b->len;
	bytes_open(b, 0, fake);
	for (off = 0; off + HDR <= fake; off += kind == 1 ? 6 : HDR) {
		if (kind == 1) {
			memcpy(b->p + off, "BKJ1\0\x0f", 6);
			continue;
		}
		len = (uint32_t)(total - off - HDR - rnd(&x) % 64);
		header(b->p + off, len > MAX_REC ? MAX_REC : len, rnd(&x));
	}
	for (; off < fake; off++)
		b->p[off] = 'x';
	return seq;
}

/*
 * Replay of a crafted file costs a few bytes of CRC per byte of the file,
 * not a CRC of up to 1 MiB at every header (about 87,000 bytes per byte
 * with a header every 12 bytes), and finds every record in it.
 */
START_TEST(replay_work_bound)
{
	static const char *what[] = { "a header every 12 bytes",
	    "a header every 6 bytes", "a header after each record" };
	struct bytes b = { NULL, 0, 0 };
	char *dir = new_dir();
	uint64_t w;
	json_t *got;
	int corrupt, n, i;

	n = crafted(&b, 4 * 1024 * 1024, _i);
	write_journal(dir, &b);
	w = replay_work(dir, &got, &corrupt);
	printf("replay_work_bound: %s: %llu bytes of CRC for a %zu-byte "
	    "file (%.2f per byte)\n", what[_i], (unsigned long long)w, b.len,
	    (double)w / b.len);
	fflush(stdout);
	ck_assert_uint_eq(json_array_size(got), n);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(json_integer_value(json_object_get(
		    json_array_get(got, i), "seq")), i);
	ck_assert_int_eq(corrupt, 1);
	ck_assert_msg(w <= REPLAY_WORK_PER_BYTE * b.len, "%llu bytes of CRC "
	    "for a %zu-byte file", (unsigned long long)w, b.len);
	json_decref(got);
	free(b.p);
	free(dir);
}
END_TEST

/* Records found by a replay: where, and how big. */
struct found {
	uint64_t	*pos;
	uint32_t	*size;
	size_t		 n;
	size_t		 cap;
};

static void
found_add(struct found *f, uint64_t pos, uint32_t size)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		ck_assert_ptr_nonnull(f->pos = realloc(f->pos,
		    f->cap * sizeof(*f->pos)));
		ck_assert_ptr_nonnull(f->size = realloc(f->size,
		    f->cap * sizeof(*f->size)));
	}
	f->pos[f->n] = pos;
	f->size[f->n++] = size;
}

static void
found_at(json_t *r, uint64_t pos, uint32_t size, void *arg)
{
	(void)r;
	found_add(arg, pos, size);
}

static int
is_object(const unsigned char *p, size_t n)
{
	json_t *r = json_loadb((const char *)p, n, 0, NULL);
	int ok = r != NULL && json_is_object(r);

	json_decref(r);
	return ok;
}

/*
 * The reference: replay's scan before checkpoints, which took a CRC of
 * up to 1 MiB at every byte of a crafted file.  At each offset an intact
 * record is taken whole, anything else skips one byte; a record that is
 * no JSON object is passed over unreported.  Zeros at the end are not
 * data.  Returns whether there was damage; *end is where the data ends.
 */
static int
old_scan(const unsigned char *b, size_t len, struct found *f, size_t *end)
{
	size_t off = 0, left;
	uint32_t n;
	int bad = 0;

	while (len > 0 && b[len - 1] == 0)
		len--;
	*end = len;
	while (off < len) {
		left = len - off;
		n = left >= HDR ? get32(b + off + 4) : 0;
		if (left < HDR || memcmp(b + off, "BKJ1", 4) != 0 || n == 0 ||
		    n > MAX_REC || n > left - HDR ||
		    crc32c(b + off + HDR, n) != get32(b + off + 8)) {
			bad = 1;
			off++;
			continue;
		}
		if (is_object(b + off + HDR, n))
			found_add(f, off, HDR + n);
		off += HDR + n;
	}
	return bad;
}

static size_t
pick_pad(uint32_t *x)
{
	switch (rnd(x) % 8) {
	case 0:
		return rnd(x) % 70000;		/* many checkpoints long */
	case 1:
	case 2:
		return 200 + rnd(x) % 2000;	/* around the checkpoint step */
	default:
		return rnd(x) % 300;
	}
}

/* A length for a fake header at `at`: of every kind the scan meets. */
static uint32_t
pick_len(uint32_t *x, size_t at, size_t len)
{
	size_t rest = len > at + HDR ? len - at - HDR : 0;

	switch (rnd(x) % 8) {
	case 0:
		return 0;
	case 1:
		return MAX_REC + 1 + rnd(x) % 100;
	case 2:					/* past the end */
		return (uint32_t)(rest + 1 + rnd(x) % 100);
	case 3:					/* near the end */
		return rest > 0 ? (uint32_t)(rest - rnd(x) % (rest < 64 ?
		    rest : 64)) : 1;
	case 4:
		return 1 + rnd(x) % 256;
	default:
		return rest > 0 ? 1 + rnd(x) % (rest > MAX_REC ? MAX_REC :
		    rest) : 1;
	}
}

/* One random kind of damage to b. */
static void
damage(struct bytes *b, uint32_t *x)
{
	size_t at = b->len ? rnd(x) % b->len : 0, n, i, from;
	unsigned char *p;
	uint32_t len;

	switch (rnd(x) % 8) {
	case 0:					/* flipped bytes */
		for (i = 0, n = 1 + rnd(x) % 4; i < n && b->len; i++)
			b->p[rnd(x) % b->len] ^= 1 << rnd(x) % 8;
		break;
	case 1:					/* garbage */
		n = 1 + rnd(x) % 600;
		p = bytes_open(b, at, n);
		for (i = 0; i < n; i++)
			p[i] = (unsigned char)rnd(x);
		break;
	case 2:					/* a fake header */
		p = bytes_open(b, at, HDR);
		len = pick_len(x, at, b->len);
		header(p, len, rnd(x));
		break;
	case 3:			/* a good CRC over what follows it */
		p = bytes_open(b, at, HDR);
		len = pick_len(x, at, b->len);
		if (len == 0 || len > MAX_REC || at + HDR + len > b->len)
			len = (uint32_t)(b->len - at - HDR);
		if (len > MAX_REC)
			len = MAX_REC;
		header(p, len, len ? crc32c(p + HDR, len) : 0);
		break;
	case 4:					/* a good record inside */
		add_padded(b, at, 1000 + (int)(rnd(x) % 1000), pick_pad(x));
		break;
	case 5:			/* a copy of some other part */
		n = 1 + rnd(x) % 3000;
		from = b->len ? rnd(x) % b->len : 0;
		if (from + n > b->len)
			n = b->len - from;
		p = bytes_open(b, at, n);
		memmove(p, b->p + (from < at ? from : from + n), n);
		break;
	case 6:					/* zeros */
		n = 1 + rnd(x) % 300;
		memset(bytes_open(b, at, n), 0, n);
		break;
	default:				/* truncated */
		b->len = at;
		break;
	}
}

/*
 * Replay finds exactly the records the byte-by-byte scan found, at the
 * same offsets, on files of good records with random damage.
 */
START_TEST(replay_same_as_scan)
{
	char *dir = new_dir(), err[256];
	struct bytes b = { NULL, 0, 0 };
	struct found want = { NULL, NULL, 0, 0 }, got = { NULL, NULL, 0, 0 };
	struct journal *j;
	uint32_t x, seed;
	size_t end, i;
	int bad, k, nrec, ndmg;

	for (seed = 1; seed <= 300; seed++) {
		x = seed * 0x9e3779b9u;
		b.len = 0;
		want.n = got.n = 0;
		nrec = 1 + rnd(&x) % 60;
		for (k = 0; k < nrec; k++)
			add_padded(&b, b.len, k, pick_pad(&x));
		ndmg = rnd(&x) % 7;
		for (k = 0; k < ndmg; k++)
			damage(&b, &x);
		if (rnd(&x) % 4 == 0) {		/* zeros written ahead */
			memset(bytes_open(&b, b.len, 4096), 0, 4096);
		}
		write_journal(dir, &b);
		bad = old_scan(b.p, b.len, &want, &end);
		ck_assert_ptr_nonnull(j = journal_open_at(dir, 0, found_at,
		    &got, err, sizeof(err)));
		ck_assert_msg(got.n == want.n, "seed %u: %zu records, the "
		    "scan finds %zu", seed, got.n, want.n);
		for (i = 0; i < want.n; i++) {
			ck_assert_msg(got.pos[i] == want.pos[i] &&
			    got.size[i] == want.size[i], "seed %u, record %zu: "
			    "%llu+%u, the scan finds %llu+%u", seed, i,
			    (unsigned long long)got.pos[i], got.size[i],
			    (unsigned long long)want.pos[i], want.size[i]);
		}
		ck_assert_int_eq(journal_corrupt(j), bad);
		ck_assert_uint_eq(journal_size(j), end);
		journal_close(j);
	}
	free(want.pos);
	free(want.size);
	free(got.pos);
	free(got.size);
	free(b.p);
	free(dir);
}
END_TEST

static Suite *
journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc;

	tc = tcase_create("journal");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, crc_vector);
	tcase_add_test(tc, crc_cut);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, uncommitted_not_on_disk);
	tcase_add_test(tc, torn_tail);
	tcase_add_test(tc, corrupt_middle);
	tcase_add_test(tc, corrupt_length);
	tcase_add_test(tc, garbage_between);
	tcase_add_test(tc, valid_crc_not_json);
	tcase_add_test(tc, rewrite_compacts);
	tcase_add_test(tc, rewrite_commits_pending_first);
	tcase_add_test(tc, rewrite_failure_keeps_old);
	tcase_add_test(tc, fsync_modes);
	tcase_add_test(tc, new_file_mode);
	tcase_add_test(tc, open_errors);
	tcase_add_test(tc, many_records);
	tcase_add_test(tc, too_big);
	tcase_add_test(tc, commit_retry_after_short_write);
	tcase_add_test(tc, read_back_at_position);
	tcase_add_test(tc, read_back_damaged);
	tcase_add_test(tc, positions_after_compaction);
	tcase_add_test(tc, write_without_sync);
	tcase_add_test(tc, zeros_ahead);
	tcase_add_test(tc, async_commit);
	tcase_add_test(tc, async_commit_failure);
	suite_add_tcase(s, tc);

	/* Bigger files: a timeout of their own. */
	tc = tcase_create("replay");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, replay_work_bound, 0, 3);
	tcase_add_test(tc, replay_same_as_scan);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	SRunner *sr;
	int failed;

	snprintf(topdir, sizeof(topdir), "%s/check_journal.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(topdir) == NULL) {
		perror(topdir);
		return EXIT_FAILURE;
	}
	sr = srunner_create(journal_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rm_tree(topdir);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
