/*
 * journal_replay - how long bankd's journal takes to replay at open
 * (bankd/journal.c), against the scan it had before checkpoints.
 *
 *	journal_replay [-q] [-r ROUNDS] [-j FILE]
 *
 * Three files, written to a temporary folder:
 *
 *	clean	64 MiB of report-sized records (about 350 bytes each)
 *	flipped	the same with one byte flipped in its first record, so that
 *		the whole file is replayed as damaged (checkpoints on)
 *	crafted	8 MiB of record headers every 12 bytes, each claiming a
 *		payload to near the end of the file (at most 1 MiB) under a
 *		wrong CRC, then 20 good records
 *
 * For each, the replay (journal_open_at) and the old scan kept below (the
 * file read, scanned with a CRC at every offset that has a header, each
 * record parsed as JSON: what replay did before) run interleaved, ROUNDS
 * times (7; the old scan of the crafted file once: a minute or so).
 * Printed: the best CPU time (user and system) of each, the bytes of CRC
 * computed, the records found (which must agree, or the exit status is 1)
 * and old / new.
 * -q: a 16 MiB clean file and a 1 MiB crafted one, for trying it out.
 * -j FILE: the results as JSON too (bench/journal_replay.py, bench/run).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "journal.h"

#define HDR		12
#define MAX_REC		(1024 * 1024)
#define MAX_ROUNDS	15

struct run {
	double		 secs[MAX_ROUNDS];
	int		 n;
	uint64_t	 work;		/* bytes of CRC */
	size_t		 found;
};

struct bcase {
	const char	*name;
	char		*dir;
	size_t		 size;
	struct run	 now;
	struct run	 old;
};

static void
die(const char *what)
{
	fprintf(stderr, "journal_replay: %s: %s\n", what, strerror(errno));
	exit(1);
}

/*
 * CPU time (user and system) of this process: both scans are CPU-bound
 * here, and on a shared machine the wall clock mostly measures the others.
 */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- CRC-32C, as fast as journal.c's, for the old scan -------------- */

static uint32_t crc_table[256];

static void
crc_init(void)
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("sse4.2"))) static uint32_t
crc32c_sse42(const unsigned char *p, size_t n)
{
	uint64_t c = 0xffffffffu, w;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
	}
	while (n--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c ^ 0xffffffffu;
}
#endif

static uint32_t
crc32c(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("sse4.2"))
		return crc32c_sse42(p, n);
#endif
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

/* ---- the files ------------------------------------------------------ */

static uint32_t
rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* A report-sized record for job `id` at p (room for 512 bytes). */
static size_t
put_record(unsigned char *p, unsigned id)
{
	int n;

	n = snprintf((char *)p + HDR, 500, "{\"op\":\"report\",\"id\":%u,"
	    "\"account\":\"physics\",\"user\":47001,\"body\":\"JobId=%u "
	    "UserId=alice(47001) Account=physics Partition=normal "
	    "NumNodes=1 NumCPUs=2 NodeList=n1 Submit=2026-11-26T04:00:00 "
	    "Start=2026-11-26T04:01:00 End=2026-11-26T05:01:00 "
	    "State=COMPLETED ExitCode=0:0 QOS=normal TRES=cpu=2,mem=4G,"
	    "node=1 WorkDir=/home/alice/run%u\"}", id, id, id % 1000);
	memcpy(p, "BKJ1", 4);
	put32(p + 4, (uint32_t)n);
	put32(p + 8, crc32c(p + HDR, (size_t)n));
	return HDR + (size_t)n;
}

static unsigned char *
clean_file(size_t want, size_t *len)
{
	unsigned char *b;
	size_t off = 0;
	unsigned id = 1;

	if ((b = malloc(want + 512)) == NULL)
		die("malloc");
	while (off < want)
		off += put_record(b + off, id++);
	*len = off;
	return b;
}

static unsigned char *
crafted_file(size_t fake, size_t *len)
{
	unsigned char *b;
	uint32_t x = 0x1234567u, n;
	size_t off, total;
	int i;

	if ((b = malloc(fake + 20 * 512)) == NULL)
		die("malloc");
	total = fake;
	for (i = 0; i < 20; i++)
		total += put_record(b + total, (unsigned)i + 1);
	for (off = 0; off + HDR <= fake; off += HDR) {
		n = (uint32_t)(total - off - HDR - rnd(&x) % 64);
		memcpy(b + off, "BKJ1", 4);
		put32(b + off + 4, n > MAX_REC ? MAX_REC : n);
		put32(b + off + 8, rnd(&x));
	}
	memset(b + off, 'x', fake - off);
	*len = total;
	return b;
}

static char *topdir;

static void
save(struct bcase *c, const char *name, const unsigned char *b, size_t len)
{
	char *path;
	FILE *f;

	c->name = name;
	c->size = len;
	if (asprintf(&c->dir, "%s/%s", topdir, name) == -1 ||
	    asprintf(&path, "%s/journal", c->dir) == -1)
		die("asprintf");
	if (mkdir(c->dir, 0700) == -1)
		die(c->dir);
	if ((f = fopen(path, "wb")) == NULL)
		die(path);
	if (fwrite(b, 1, len, f) != len || fclose(f) != 0)
		die(path);
	free(path);
}

/* ---- replay, now and before ----------------------------------------- */

static void
count(json_t *rec, uint64_t pos, uint32_t size, void *arg)
{
	(void)rec;
	(void)pos;
	(void)size;
	(*(size_t *)arg)++;
}

static void
replay_now(struct bcase *c)
{
	struct journal *j;
	char err[256];
	size_t n = 0;
	double t0 = now_s();

	if ((j = journal_open_at(c->dir, 0, count, &n, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "journal_replay: %s\n", err);
		exit(1);
	}
	c->now.secs[c->now.n++] = now_s() - t0;
	c->now.work = journal_replay_work(j);
	c->now.found = n;
	journal_close(j);
}

static void
read_journal(const char *dir, unsigned char **out, size_t *len)
{
	struct stat st;
	char *path;
	ssize_t got;
	int fd;

	if (asprintf(&path, "%s/journal", dir) == -1)
		die("asprintf");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1)
		die(path);
	if ((*out = malloc(st.st_size ? (size_t)st.st_size : 1)) == NULL)
		die("malloc");
	*len = 0;
	while (*len < (size_t)st.st_size) {
		if ((got = read(fd, *out + *len, st.st_size - *len)) <= 0)
			die(path);
		*len += (size_t)got;
	}
	close(fd);
	free(path);
}

/* Replay as journal.c did before checkpoints: a CRC at every header. */
static void
replay_old(struct bcase *c)
{
	unsigned char *b;
	size_t len, off = 0, left, found = 0;
	uint64_t work = 0;
	uint32_t n;
	json_t *rec;
	double t0 = now_s();

	read_journal(c->dir, &b, &len);
	while (len > 0 && b[len - 1] == 0)
		len--;
	while (off < len) {
		left = len - off;
		n = left >= HDR ? get32(b + off + 4) : 0;
		if (left < HDR || get32(b + off) != 0x424b4a31u || n == 0 ||
		    n > MAX_REC || n > left - HDR || (work += n,
		    crc32c(b + off + HDR, n) != get32(b + off + 8))) {
			off++;
			continue;
		}
		rec = json_loadb((const char *)b + off + HDR, n, 0, NULL);
		if (rec != NULL && json_is_object(rec))
			found++;
		json_decref(rec);
		off += HDR + n;
	}
	free(b);
	c->old.secs[c->old.n++] = now_s() - t0;
	c->old.work = work;
	c->old.found = found;
}

/* ---- results -------------------------------------------------------- */

static double
best(const struct run *r)
{
	double b = r->secs[0];
	int i;

	for (i = 1; i < r->n; i++)
		if (r->secs[i] < b)
			b = r->secs[i];
	return b;
}

static void
report(struct bcase *cs, int nc, const char *json)
{
	FILE *f = NULL;
	double mn, mo;
	int i;

	printf("%-8s %10s %10s %10s %8s %14s %16s %8s\n", "file", "MiB",
	    "new_cpu_s", "old_cpu_s", "old/new", "new_crc_bytes",
	    "old_crc_bytes", "records");
	if (json != NULL && (f = fopen(json, "w")) == NULL)
		die(json);
	if (f != NULL)
		fprintf(f, "{\"cases\": [\n");
	for (i = 0; i < nc; i++) {
		mn = best(&cs[i].now);
		mo = best(&cs[i].old);
		printf("%-8s %10.1f %10.4f %10.4f %8.1f %14llu %16llu %8zu\n",
		    cs[i].name, cs[i].size / 1048576.0, mn, mo, mo / mn,
		    (unsigned long long)cs[i].now.work,
		    (unsigned long long)cs[i].old.work, cs[i].now.found);
		if (f != NULL)
			fprintf(f, " {\"name\": \"%s\", \"bytes\": %zu, "
			    "\"new_s\": %.6f, \"old_s\": %.6f, \"new_rounds\": "
			    "%d, \"old_rounds\": %d, \"new_crc_bytes\": %llu, "
			    "\"old_crc_bytes\": %llu, \"records\": %zu}%s\n",
			    cs[i].name, cs[i].size, mn, mo, cs[i].now.n,
			    cs[i].old.n, (unsigned long long)cs[i].now.work,
			    (unsigned long long)cs[i].old.work,
			    cs[i].now.found, i + 1 < nc ? "," : "");
	}
	if (f != NULL) {
		fprintf(f, "]}\n");
		if (fclose(f) != 0)
			die(json);
	}
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int
main(int argc, char **argv)
{
	struct bcase cs[3];
	const char *json = NULL, *tmp = getenv("TMPDIR");
	unsigned char *b;
	size_t len, clean_mib = 64, crafted_mib = 8;
	int ch, rounds = 7, r, i, bad = 0;

	while ((ch = getopt(argc, argv, "qr:j:")) != -1) {
		switch (ch) {
		case 'q':
			clean_mib = 16;
			crafted_mib = 1;
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'j':
			json = optarg;
			break;
		default:
			fprintf(stderr, "usage: journal_replay [-q] "
			    "[-r rounds] [-j file.json]\n");
			return 2;
		}
	}
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 7;
	crc_init();
	if (asprintf(&topdir, "%s/journal_replay.XXXXXX", tmp != NULL &&
	    *tmp != '\0' ? tmp : "/tmp") == -1 || mkdtemp(topdir) == NULL)
		die("mkdtemp");
	memset(cs, 0, sizeof(cs));
	b = clean_file(clean_mib << 20, &len);
	save(&cs[0], "clean", b, len);
	b[HDR + 20] ^= 0x01;
	save(&cs[1], "flipped", b, len);
	free(b);
	b = crafted_file(crafted_mib << 20, &len);
	save(&cs[2], "crafted", b, len);
	free(b);
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < 3; i++) {
			replay_now(&cs[i]);
			if (i < 2 || r == 0)
				replay_old(&cs[i]);
		}
	}
	report(cs, 3, json);
	for (i = 0; i < 3; i++) {
		if (cs[i].now.found != cs[i].old.found) {
			fprintf(stderr, "journal_replay: %s: replay found %zu "
			    "records, the old scan %zu\n", cs[i].name,
			    cs[i].now.found, cs[i].old.found);
			bad = 1;
		}
		free(cs[i].dir);
	}
	nftw(topdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(topdir);
	return bad;
}
