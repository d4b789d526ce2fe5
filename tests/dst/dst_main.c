/*
 * dst_main.c - dst_sim: run seeds, each a whole simulated life of
 * bankd's queue and holds against the model portal (README.md).
 *
 *	dst_sim --seed S [--steps N] [--trace]	one seed; --trace prints
 *						every step
 *	dst_sim --seeds A-B [--steps N]		seeds A to B
 *	dst_sim --regress			the seeds that found bugs
 *	--twice					run each seed twice: the
 *						traces must be the same
 *
 * A failing seed prints what failed and the line that replays it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dst.h"

int	 __real_clock_gettime(clockid_t, struct timespec *);

/*
 * The seeds that found a bug (README.md says which), always run by
 * --regress.
 */
static const uint64_t regress[] = { 127, 163, 239, 949, 8108, 35008, 51720,
    59578, 82590, 98204 };

static const char *prog = "dst_sim";
static int trace_print;

void
dst_trace(struct dst_world *w, const char *fmt, ...)
{
	char line[768];
	va_list ap;
	int n;
	size_t i;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* FNV-1a over every line, with its step. */
	for (i = 0; line[i] != '\0'; i++) {
		w->hash ^= (unsigned char)line[i];
		w->hash *= 0x100000001b3ULL;
	}
	w->hash ^= (uint64_t)w->step;
	w->hash *= 0x100000001b3ULL;
	if (w->trace)
		printf("%d %" PRId64 " %s\n", w->step, dst_now_ms(), line);
}

void
dst_fail(struct dst_world *w, const char *fmt, ...)
{
	va_list ap;

	if (w->fail[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(w->fail, sizeof(w->fail), fmt, ap);
	va_end(ap);
	dst_trace(w, "FAIL %s", w->fail);
}

struct totals {
	uint64_t	 seeds, failed, steps, posts, puts, answers, takes;
	uint64_t	 restarts, tears, jumps;
};

static int
run_seed(const char *dir, uint64_t seed, int steps, uint64_t *hash,
    struct totals *t)
{
	static struct dst_world w;
	int failed;

	memset(&w, 0, sizeof(w));
	w.seed = seed;
	w.steps = steps;
	w.trace = trace_print;
	w.hash = 0xcbf29ce484222325ULL;
	snprintf(w.dir, sizeof(w.dir), "%s", dir);
	dst_rng_seed(&w.rng, seed);
	dst_clock_reset(seed);
	dst_sched_init(&w);
	if (dst_world_open(&w) == 0) {
		for (w.step = 1; w.step <= steps && w.fail[0] == '\0';
		    w.step++) {
			dst_sched_step(&w);
			dst_check_step(&w);
		}
		if (w.fail[0] == '\0')
			dst_check_final(&w);
	}
	failed = w.fail[0] != '\0';
	if (failed) {
		fprintf(stderr, "%s: seed %" PRIu64 " failed at step %d: %s\n"
		    "replay: %s --seed %" PRIu64 " --steps %d --trace\n",
		    prog, seed, w.step, w.fail, prog, seed, steps);
	}
	*hash = w.hash;
	t->seeds++;
	t->failed += (uint64_t)failed;
	t->steps += (uint64_t)steps;
	t->posts += w.posts;
	t->puts += w.puts;
	t->answers += w.answers;
	t->takes += w.takes;
	t->restarts += w.restarts;
	t->tears += w.tears;
	t->jumps += w.jumps;
	dst_world_close(&w);
	return failed;
}

static int
parse_range(const char *s, uint64_t *a, uint64_t *b)
{
	char *end;

	errno = 0;
	*a = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return -1;
	if (*end == '\0') {
		*b = *a;
		return 0;
	}
	if (*end != '-')
		return -1;
	s = end + 1;
	*b = strtoull(s, &end, 10);
	return errno != 0 || end == s || *end != '\0' || *b < *a ? -1 : 0;
}

static double
real_now(void)
{
	struct timespec ts;

	__real_clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: %s [--seed S | --seeds A-B] [--regress] "
	    "[--steps N] [--twice] [--trace]\n", prog);
	exit(2);
}

static int
run_one(const char *dir, uint64_t seed, int steps, int twice,
    struct totals *t)
{
	uint64_t h1, h2;
	int failed = run_seed(dir, seed, steps, &h1, t);

	if (trace_print)
		printf("seed %" PRIu64 " trace hash %016" PRIx64 "\n", seed, h1);
	if (!twice)
		return failed;
	failed |= run_seed(dir, seed, steps, &h2, t);
	if (h1 != h2) {
		fprintf(stderr, "%s: seed %" PRIu64 " is not deterministic: "
		    "trace hashes %016" PRIx64 " and %016" PRIx64 "\n"
		    "replay: %s --seed %" PRIu64 " --steps %d --trace\n", prog,
		    seed, h1, h2, prog, seed, steps);
		failed = 1;
	}
	return failed;
}

int
main(int argc, char **argv)
{
	uint64_t a = 1, b = 100, s;
	struct totals t;
	char dir[] = "/dev/shm/dst.XXXXXX", *d;
	int steps = 300, twice = 0, regress_only = 0, i;
	int have_range = 0;
	int failed = 0;
	double t0, dt;
	size_t k;

	prog = argv[0];
	for (i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "--seed") == 0 ||
		    strcmp(argv[i], "--seeds") == 0) && i + 1 < argc) {
			if (parse_range(argv[++i], &a, &b) != 0)
				usage();
			have_range = 1;
		} else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) {
			steps = atoi(argv[++i]);
			if (steps < 0 || steps > 1000000)
				usage();
		} else if (strcmp(argv[i], "--trace") == 0)
			trace_print = 1;
		else if (strcmp(argv[i], "--twice") == 0)
			twice = 1;
		else if (strcmp(argv[i], "--regress") == 0)
			regress_only = 1;
		else
			usage();
	}
	/* tmpfs when there is one: a sync there costs nothing. */
	if ((d = mkdtemp(dir)) == NULL) {
		snprintf(dir, sizeof(dir), "/tmp/dst.XXXXXX");
		if ((d = mkdtemp(dir)) == NULL) {
			perror("mkdtemp");
			return 2;
		}
	}
	memset(&t, 0, sizeof(t));
	t0 = real_now();
	if (regress_only)
		for (k = 0; k < sizeof(regress) / sizeof(regress[0]); k++)
			if (regress[k] != 0)
				failed |= run_one(d, regress[k], steps, twice,
				    &t);
	if (have_range || !regress_only)
		for (s = a; s <= b; s++) {
			failed |= run_one(d, s, steps, twice, &t);
			if (s == UINT64_MAX)
				break;
		}
	dt = real_now() - t0;
	rmdir(d);
	fprintf(trace_print ? stdout : stderr, "dst: %" PRIu64 " seed runs, %"
	    PRIu64 " failed, %" PRIu64 " steps, %.1f s (%.0f seeds/s); %"
	    PRIu64 " takes, %" PRIu64 " POSTs, %" PRIu64 " PUTs, %" PRIu64
	    " answers, %" PRIu64 " restarts (%" PRIu64 " torn), %" PRIu64
	    " clock jumps\n", t.seeds, t.failed,
	    t.steps, dt, dt > 0 ? (double)t.seeds / dt : 0.0, t.takes, t.posts,
	    t.puts, t.answers, t.restarts, t.tears, t.jumps);
	return failed ? 1 : 0;
}
