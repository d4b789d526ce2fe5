/*
 * bankload - a load generator for bankd.
 *
 *	bankload -S SOCKET -c CLIENTS -n TOTAL [-j FIRST_JOB_ID] [-a ACCOUNT]
 *	    [-u UID] [-p PARTITION] [-d DEADLINE_MS] [--persist] [--window K]
 *	    [--type end|status|estimate|check]
 *
 * CLIENTS processes (fork) each send their share of TOTAL requests one
 * after another with bp_call(), one connection per request, as jobcomp and
 * spank do; with --persist each client keeps one connection for all its
 * requests (bp_conn_call), as job_submit/bank does inside slurmctld.
 * --window K (checks, estimates, status) keeps K requests in flight on
 * one connection per client: bankd's capacity rather than a plugin's view.  Completion (END) reports carry a unique job id (FIRST_JOB_ID
 * + request index) and realistic fields: 2 CPUs on one node for exactly one
 * hour, ending a minute ago.
 *
 * Each request's round trip (CLOCK_MONOTONIC, connect to reply) is written
 * into a shared anonymous mapping; the parent merges them and prints one
 * line:
 *
 *	requests N errors E elapsed_s X rate R/s p50_us A p99_us B p999_us C
 *
 * A reply whose status is not "ok", or a call that failed, is an error;
 * the first error's message goes to stderr.  Percentiles are over the
 * successful requests (nearest rank).  Exit status 1 if any failed.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bankproto.h"

#define FAILED		UINT64_MAX

enum kind { K_END, K_STATUS, K_ESTIMATE, K_CHECK };

struct child_stat {
	uint64_t	errors;
	uint64_t	first_index;		/* of the first error */
	char		first_error[256];
};

static const char *sock_path;
static const char *account = "bench";
static const char *partition = "normal";
static uint64_t first_job = 1;
static uint64_t uid = 47001;
static int deadline_ms = 10000;
static int persist;
static long window = 1;		/* requests in flight per client */
static enum kind kind = K_END;

static void
usage(void)
{
	fprintf(stderr, "usage: bankload -S socket -c clients -n total "
	    "[-j first_job_id] [-a account] [-u uid] [-p partition]\n"
	    "                [-d deadline_ms] [--persist] [--window K] "
	    "[--type end|status|estimate|check]\n");
	exit(2);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
build(struct bp_msg *m, uint64_t index, time_t now)
{
	/* Ends a minute ago after exactly one hour: 2 CPU-hours. */
	int64_t end = (int64_t)now - 60, start = end - 3600,
	    submit = start - 120;

	switch (kind) {
	case K_STATUS:
		bp_init(m, BP_T_STATUS, (uint32_t)index + 1);
		break;
	case K_ESTIMATE:
	case K_CHECK:
		/* A check is an estimate that bankd also decides (no hold). */
		bp_init(m, kind == K_CHECK ? BP_T_CHECK : BP_T_ESTIMATE,
		    (uint32_t)index + 1);
		if (kind == K_CHECK)
			bp_add(m, "dry_run", "1");
		bp_addf(m, "uid", "%" PRIu64, uid);
		bp_add(m, "account", account);
		bp_add(m, "partitions", partition);
		bp_add(m, "min_cpus", "2");
		bp_add(m, "num_tasks", "2");
		bp_add(m, "cpus_per_task", "1");
		bp_add(m, "min_nodes", "1");
		bp_add(m, "time_limit", "60");
		bp_add(m, "plugin", "bankctl");
		break;
	case K_END:
		bp_init(m, BP_T_END, (uint32_t)index + 1);
		bp_addf(m, "job_id", "%" PRIu64, first_job + index);
		bp_addf(m, "uid", "%" PRIu64, uid);
		bp_add(m, "account", account);
		bp_add(m, "partition", partition);
		bp_add(m, "qos", "normal");
		bp_add(m, "state", "COMPLETED");
		bp_add(m, "cpus", "2");
		bp_add(m, "nodes", "n1");
		bp_add(m, "num_nodes", "1");
		bp_add(m, "req_nodes", "1");
		bp_addf(m, "submit", "%" PRId64, submit);
		bp_addf(m, "start", "%" PRId64, start);
		bp_addf(m, "end", "%" PRId64, end);
		bp_add(m, "time_limit", "60");
		break;
	}
}

static void	note_error(struct child_stat *, uint64_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
note_error(struct child_stat *st, uint64_t index, const char *fmt, ...)
{
	va_list ap;

	if (st->errors++ == 0) {
		st->first_index = index;
		va_start(ap, fmt);
		vsnprintf(st->first_error, sizeof(st->first_error), fmt, ap);
		va_end(ap);
	}
}

static int
connect_to(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return -1;
	strcpy(sun.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A reply taken off the stream: its round trip, and is it right? */
static void
window_reply(const struct bp_msg *rep, uint64_t lo, uint64_t hi,
    const uint64_t *sent_at, uint64_t *lat, struct child_stat *st)
{
	const char *status = bp_get(rep, "status");
	uint64_t i = (uint64_t)rep->id - 1;

	if (i < lo || i >= hi) {
		note_error(st, lo, "%s%s", "reply with an unknown id", "");
		return;
	}
	if (status == NULL || (strcmp(status, "ok") != 0 &&
	    strcmp(status, "allow") != 0)) {
		note_error(st, i, "status %s%s", status ? status : "(none)",
		    "");
		return;
	}
	lat[i] = now_ns() - sent_at[i - lo];
}

/*
 * --window K: K requests in flight on one kept connection, the next sent
 * as each reply comes back.  Not what a plugin does (its calls wait for
 * their answer); it shows what bankd itself sustains when the kernel is
 * not waking a sleeping client for every decision (docs/performance.md).
 */
static void
run_window(uint64_t lo, uint64_t hi, uint64_t *lat, struct child_stat *st)
{
	static uint8_t in[1 << 16];
	uint64_t next = lo, done = 0, *sent_at;
	size_t len = 0, used;
	struct bp_msg req, rep;
	uint8_t *frame;
	long flen;
	ssize_t n;
	int fd;

	build(&req, lo, time(NULL));
	flen = bp_encode(&req, &frame);
	bp_free(&req);
	sent_at = calloc(hi - lo, sizeof(*sent_at));
	if (flen < 0 || sent_at == NULL || (fd = connect_to(sock_path)) == -1) {
		note_error(st, lo, "%s%s", "cannot connect or encode", "");
		return;
	}
	while (done < hi - lo) {
		while (next < hi && next - lo - done < (uint64_t)window) {
			/* The id is bytes 4..7 of the header, big-endian. */
			frame[4] = (uint8_t)((next + 1) >> 24);
			frame[5] = (uint8_t)((next + 1) >> 16);
			frame[6] = (uint8_t)((next + 1) >> 8);
			frame[7] = (uint8_t)(next + 1);
			sent_at[next - lo] = now_ns();
			if (write(fd, frame, (size_t)flen) != flen)
				goto broken;
			next++;
		}
		if ((n = read(fd, in + len, sizeof(in) - len)) <= 0)
			goto broken;
		len += (size_t)n;
		while (bp_parse(in, len, &rep, &used) == BP_OK) {
			window_reply(&rep, lo, hi, sent_at, lat, st);
			bp_free(&rep);
			memmove(in, in + used, len - used);
			len -= used;
			done++;
		}
	}
	goto out;
broken:
	note_error(st, next, "%s%s", "connection to bankd broke", "");
out:
	close(fd);
	free(frame);
	free(sent_at);
}

static void
run_child(uint64_t lo, uint64_t hi, uint64_t *lat, struct child_stat *st)
{
	struct bp_msg req, rep;
	struct bp_conn bc;
	const char *status, *msg;
	uint64_t i, t0;
	int rc;

	if (window > 1) {
		run_window(lo, hi, lat, st);
		return;
	}
	bp_conn_init(&bc, sock_path);
	/*
	 * Checks, estimates and status requests are the same question each
	 * time: build it once, so the load generator's own work does not
	 * crowd bankd off the CPUs it shares with it.
	 */
	if (kind != K_END)
		build(&req, lo, time(NULL));
	for (i = lo; i < hi; i++) {
		/* bp_addf copies; the request owns what it formatted. */
		if (kind == K_END)
			build(&req, i, time(NULL));
		req.id = (uint32_t)i + 1;
		t0 = now_ns();
		rc = persist ? bp_conn_call(&bc, deadline_ms, &req, &rep) :
		    bp_call(sock_path, deadline_ms, &req, &rep);
		lat[i] = now_ns() - t0;
		if (kind == K_END)
			bp_free(&req);
		if (rc != BP_OK) {
			lat[i] = FAILED;
			note_error(st, i, "%s%s", "bp_call: ",
			    bp_strerror(rc));
			continue;
		}
		status = bp_get(&rep, "status");
		if (status == NULL || (strcmp(status, "ok") != 0 &&
		    !(kind == K_CHECK && strcmp(status, "allow") == 0))) {
			lat[i] = FAILED;
			msg = bp_get(&rep, "message");
			note_error(st, i, "status %s: %s", status ? status :
			    "(none)", msg ? msg : "(no message)");
		}
		bp_free(&rep);
	}
	if (kind != K_END)
		bp_free(&req);
	bp_conn_close(&bc);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank, in microseconds. */
static double
pct(const uint64_t *v, size_t n, double p)
{
	size_t r;

	if (n == 0)
		return 0;
	r = (size_t)(p * (double)n + 0.999999999);
	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return (double)v[r - 1] / 1000.0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "type", required_argument, NULL, 'T' },
		{ "persist", no_argument, NULL, 'P' },
		{ "window", required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t total = 0, i, lo, hi, errors = 0, *lat, *ok;
	struct child_stat *stats, *firsterr = NULL;
	size_t nok = 0;
	long clients = 1, c;
	pid_t *pids;
	int ch, gate[2], status, crashed = 0;
	uint64_t t0, t1;
	double secs;
	char byte;

	while ((ch = getopt_long(argc, argv, "S:c:n:j:a:u:p:d:", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'S': sock_path = optarg; break;
		case 'c': clients = strtol(optarg, NULL, 10); break;
		case 'n': total = strtoull(optarg, NULL, 10); break;
		case 'j': first_job = strtoull(optarg, NULL, 10); break;
		case 'a': account = optarg; break;
		case 'u': uid = strtoull(optarg, NULL, 10); break;
		case 'p': partition = optarg; break;
		case 'd': deadline_ms = (int)strtol(optarg, NULL, 10); break;
		case 'P': persist = 1; break;
		case 'W': window = strtol(optarg, NULL, 10); break;
		case 'T':
			if (strcmp(optarg, "end") == 0)
				kind = K_END;
			else if (strcmp(optarg, "status") == 0)
				kind = K_STATUS;
			else if (strcmp(optarg, "estimate") == 0)
				kind = K_ESTIMATE;
			else if (strcmp(optarg, "check") == 0)
				kind = K_CHECK;
			else
				usage();
			break;
		default:
			usage();
		}
	}
	if (sock_path == NULL || clients < 1 || clients > 4096 || total == 0 ||
	    optind != argc || deadline_ms < 1 || window < 1 ||
	    (window > 1 && kind == K_END))
		usage();
	if (kind == K_END && (first_job == 0 ||
	    first_job + total - 1 > UINT32_MAX)) {
		fprintf(stderr, "bankload: job ids %" PRIu64 "..%" PRIu64
		    " do not fit Slurm's 32-bit job ids\n", first_job,
		    first_job + total - 1);
		return 2;
	}
	if ((uint64_t)clients > total)
		clients = (long)total;

	lat = mmap(NULL, total * sizeof(*lat), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	stats = mmap(NULL, (size_t)clients * sizeof(*stats),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pids = calloc((size_t)clients, sizeof(*pids));
	if (lat == MAP_FAILED || stats == MAP_FAILED || pids == NULL) {
		perror("bankload: mmap");
		return 2;
	}
	/* Fill with FAILED so a child that dies leaves its requests failed. */
	for (i = 0; i < total; i++)
		lat[i] = FAILED;
	if (pipe(gate) == -1) {
		perror("bankload: pipe");
		return 2;
	}
	/* All children start together once the parent closes the gate. */
	for (c = 0; c < clients; c++) {
		lo = total * (uint64_t)c / (uint64_t)clients;
		hi = total * (uint64_t)(c + 1) / (uint64_t)clients;
		if ((pids[c] = fork()) == -1) {
			perror("bankload: fork");
			for (long k = 0; k < c; k++)
				kill(pids[k], SIGKILL);
			return 2;
		}
		if (pids[c] == 0) {
			close(gate[1]);
			while (read(gate[0], &byte, 1) == -1 && errno == EINTR)
				;
			close(gate[0]);
			run_child(lo, hi, lat, &stats[c]);
			_exit(0);
		}
	}
	close(gate[0]);
	t0 = now_ns();
	close(gate[1]);
	for (c = 0; c < clients; c++) {
		while (waitpid(pids[c], &status, 0) == -1 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			crashed++;
	}
	t1 = now_ns();
	secs = (double)(t1 - t0) / 1e9;

	ok = malloc(total * sizeof(*ok));
	if (ok == NULL) {
		perror("bankload: malloc");
		return 2;
	}
	for (i = 0; i < total; i++)
		if (lat[i] != FAILED)
			ok[nok++] = lat[i];
	errors = total - nok;
	for (c = 0; c < clients; c++)
		if (stats[c].errors > 0 && (firsterr == NULL ||
		    stats[c].first_index < firsterr->first_index))
			firsterr = &stats[c];
	qsort(ok, nok, sizeof(*ok), cmp_u64);

	printf("requests %" PRIu64 " errors %" PRIu64 " elapsed_s %.3f "
	    "rate %.1f/s p50_us %.1f p99_us %.1f p999_us %.1f\n", total,
	    errors, secs, secs > 0 ? (double)total / secs : 0.0,
	    pct(ok, nok, 0.50), pct(ok, nok, 0.99), pct(ok, nok, 0.999));
	fflush(stdout);
	if (crashed)
		fprintf(stderr, "bankload: %d client(s) died\n", crashed);
	if (firsterr != NULL)
		fprintf(stderr, "bankload: first error (request %" PRIu64
		    "): %s\n", firsterr->first_index, firsterr->first_error);
	return errors > 0 || crashed ? 1 : 0;
}
