/*
 * ctl_backfill.c - bankctl backfill: jobs as sacct knows them, each
 * asked of bankd (BACKFILL), which prices it as its completion report,
 * compares it with the portal's record and, unless --dry-run, queues
 * the completion the portal lacks or holds at another amount.  bankctl
 * only reads and decodes: what to charge is bankd's (backfill.c).
 *
 *	bankctl backfill --since DATE [--until DATE] [--dry-run]
 *	    [--sacct-file FILE|-] [--qos-file FILE]
 *
 * sacct's output is read whole (at most CTL_BF_OUTPUT_MAX bytes), then
 * its lines are grouped by job id, so that a requeued job (one line a
 * run, -D) is sent once with the count of its runs.  A line that does
 * not decode is reported by its number and skipped.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bankproto.h"
#include "ctl.h"
#include "ctl_sacct.h"
#include "money.h"

#define CTL_BF_OUTPUT_MAX	(256u * 1024 * 1024)
#define CTL_BF_SACCT_MS		120000	/* sacct over a long window */
#define CTL_BF_QOS_MS		30000
#define CTL_BF_CALL_MS		30000	/* bankd asks the portal first */

struct bf_opts {
	const char	*since, *until, *file, *qos_file;
	int64_t		 since_t, until_t;	/* until_t 0: none */
	int		 dry_run;
};

/* One line of the output: where it is, whose it is. */
struct bf_line {
	uint32_t	 job_id;
	size_t		 off, len, lineno;
};

/* The QoS UsageFactors sacctmgr knows. */
struct bf_qos {
	char		 name[LIM_QOS_LEN + 1];
	uint64_t	 micro;
};

struct bf_tally {
	unsigned long	 jobs, ok, missing, wrong, skipped, failed, bad;
	int64_t		 queued_cents, change_cents;
	unsigned long	 queued;
	int		 refused;	/* bankd refused us, or is not there */
};

static int
opts_of(int argc, char **argv, struct bf_opts *o)
{
	static const struct option lo[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "sacct-file", required_argument, NULL, 'f' },
		{ "qos-file", required_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 's': o->since = optarg; break;
		case 'u': o->until = optarg; break;
		case 'n': o->dry_run = 1; break;
		case 'f': o->file = optarg; break;
		case 'q': o->qos_file = optarg; break;
		default: ctl_usage();
		}
	}
	if (optind != argc || o->since == NULL)
		ctl_usage();
	if (ctl_sacct_date(o->since, &o->since_t) != 0) {
		ctl_complain("--since", o->since, "not a date YYYY-MM-DD or "
		    "YYYY-MM-DDTHH:MM[:SS] (local time)");
		return -1;
	}
	if (o->until != NULL && (ctl_sacct_date(o->until, &o->until_t) != 0 ||
	    o->until_t <= o->since_t)) {
		ctl_complain("--until", o->until, "not a date YYYY-MM-DD or "
		    "YYYY-MM-DDTHH:MM[:SS] (local time) after --since");
		return -1;
	}
	return 0;
}

static int
read_file(const char *opt, const char *path, char **out, size_t *len)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	size_t cap = 65536, n = 0, r;
	char *buf, *nb;

	if (fp == NULL || (buf = malloc(cap + 1)) == NULL) {
		ctl_complain(opt, path, strerror(errno));
		if (fp != NULL && fp != stdin)
			fclose(fp);
		return -1;
	}
	while ((r = fread(buf + n, 1, cap - n, fp)) > 0) {
		n += r;
		if (n < cap)
			continue;
		if (cap >= CTL_BF_OUTPUT_MAX || (nb = realloc(buf, cap * 2 +
		    1)) == NULL) {
			ctl_complain(opt, path, "too large");
			free(buf);
			if (fp != stdin)
				fclose(fp);
			return -1;
		}
		buf = nb;
		cap *= 2;
	}
	if (fp != stdin)
		fclose(fp);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int
run_sacct(const struct bf_opts *o, char **out, size_t *len)
{
	char fmt[256], why[256];
	char *argv[16];
	int i = 0;

	snprintf(fmt, sizeof(fmt), "--format=%s", CTL_SACCT_FORMAT);
	argv[i++] = "sacct";
	argv[i++] = "--parsable2";
	argv[i++] = "--noheader";
	argv[i++] = "--allocations";
	argv[i++] = "--duplicates";
	argv[i++] = "--allusers";
	argv[i++] = "--starttime";
	argv[i++] = (char *)o->since;
	if (o->until != NULL) {
		argv[i++] = "--endtime";
		argv[i++] = (char *)o->until;
	}
	argv[i++] = fmt;
	argv[i] = NULL;
	if (ctl_sacct_run(argv, CTL_BF_SACCT_MS, CTL_BF_OUTPUT_MAX, out, len,
	    why, sizeof(why)) != 0) {
		fprintf(stderr, "bankctl: sacct: %s\n", why);
		return -1;
	}
	return 0;
}

/*
 * The QoS UsageFactors, as slurmctld gives jobcomp: from sacctmgr, or
 * from o->qos_file (its output, made where it runs).  Without them a job
 * of a QoS with a factor would be priced otherwise than its completion
 * was, and "corrected" wrongly: -1, nothing is asked.
 */
static int
read_qos(const struct bf_opts *o, struct bf_qos **out, size_t *count)
{
	char *argv[] = { "sacctmgr", "--noheader", "--parsable2", "show",
	    "qos", "format=Name,UsageFactor", NULL };
	char *buf = NULL, *p, *nl, why[256];
	struct bf_qos *q = NULL, *nq;
	size_t len, n = 0;

	*out = NULL;
	*count = 0;
	if (o->qos_file != NULL) {
		if (read_file("--qos-file", o->qos_file, &buf, &len) != 0)
			return -1;
	} else if (ctl_sacct_run(argv, CTL_BF_QOS_MS, 1024 * 1024, &buf, &len,
	    why, sizeof(why)) != 0) {
		fprintf(stderr, "bankctl: sacctmgr: %s: the QoS UsageFactors "
		    "are needed to price as jobcomp did; run where sacctmgr "
		    "works, or give --qos-file (the output of sacctmgr -nP show "
		    "qos format=Name,UsageFactor)\n", why);
		return -1;
	}
	for (p = buf; p < buf + len; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			nl = buf + len;
		if (n < 4096 && (nq = realloc(q, (n + 1) * sizeof(*q))) !=
		    NULL) {
			q = nq;
			if (ctl_sacct_qos_line(p, (size_t)(nl - p), q[n].name,
			    sizeof(q[n].name), &q[n].micro) == 0)
				n++;
		}
	}
	free(buf);
	*out = q;
	*count = n;
	return 0;
}

static const struct bf_qos *
qos_find(const struct bf_qos *q, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(q[i].name, name) == 0)
			return &q[i];
	return NULL;
}

static int
by_job(const void *a, const void *b)
{
	const struct bf_line *x = a, *y = b;

	if (x->job_id != y->job_id)
		return x->job_id < y->job_id ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* The lines that decode, each with its job id; the others said. */
static struct bf_line *
index_lines(const char *buf, size_t len, size_t *count, struct bf_tally *t)
{
	struct ctl_sacct_job *j = malloc(sizeof(*j));
	struct bf_line *v = NULL, *nv;
	size_t n = 0, cap = 0, lineno = 0;
	const char *p, *nl;
	char why[256];

	for (p = buf; j != NULL && p < buf + len; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			nl = buf + len;
		lineno++;
		if (nl == p)
			continue;
		if (ctl_sacct_line(p, (size_t)(nl - p), j, why, sizeof(why))
		    != 0) {
			fprintf(stderr, "bankctl: sacct line %zu: %s: skipped\n",
			    lineno, why);
			t->bad++;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		v[n].job_id = j->job_id;
		v[n].off = (size_t)(p - buf);
		v[n].len = (size_t)(nl - p);
		v[n].lineno = lineno;
		n++;
	}
	free(j);
	if (v != NULL)
		qsort(v, n, sizeof(*v), by_job);
	*count = n;
	return v;
}

/* In the window: ended in [since, until); not ended: bankd says. */
static int
in_window(const struct bf_opts *o, const struct ctl_sacct_job *j)
{
	if (j->end == 0)
		return j->start == 0 || o->until_t == 0 || j->start < o->until_t;
	return j->end >= o->since_t && (o->until_t == 0 || j->end <
	    o->until_t);
}

static void
build(struct bp_msg *m, const struct ctl_sacct_job *j, size_t runs,
    const struct bf_qos *qos, int dry_run)
{
	bp_init(m, BP_T_BACKFILL, j->job_id);
	bp_add_u64(m, "job_id", j->job_id);
	bp_add_u64(m, "uid", j->uid);
	bp_add(m, "account", j->account);
	if (j->partition[0] != '\0')
		bp_add(m, "partition", j->partition);
	if (j->qos[0] != '\0')
		bp_add(m, "qos", j->qos);
	if (qos != NULL)
		bp_add_u64(m, "usage_factor", qos->micro);
	bp_add(m, "state", j->state);
	bp_add_u64(m, "cpus", j->cpus);
	bp_add(m, "nodes", j->nodes);
	bp_add_u64(m, "num_nodes", j->num_nodes);
	bp_add_u64(m, "req_nodes", j->req_nodes);
	bp_add_u64(m, "submit", (uint64_t)j->submit);
	bp_add_u64(m, "start", (uint64_t)j->start);
	bp_add_u64(m, "end", (uint64_t)j->end);
	bp_add_u64(m, "suspended", (uint64_t)j->suspended);
	if (j->has_time_limit)
		bp_add_u64(m, "time_limit", j->time_limit);
	if (j->tres[0] != '\0')
		bp_add(m, "tres_alloc", j->tres);
	if (runs > (size_t)LIM_RUNS + 1)
		runs = (size_t)LIM_RUNS + 1;
	bp_add_u64(m, "run", runs - 1);
	bp_add_u64(m, "runs", runs);
	bp_add_u64(m, "dry_run", (uint64_t)dry_run);
}

static const int widths[] = { 10, 8, 12, 12, 7, 0 };
static char *const hdr[] = { "JOB", "VERDICT", "AMOUNT", "PORTAL", "QUEUED",
    "MESSAGE" };

static void
count(const struct bp_msg *rep, int dry_run, struct bf_tally *t)
{
	const char *v = ctl_field(rep, "verdict"), *q = ctl_field(rep, "queued");
	int64_t a = 0, p = 0;
	const char *why;

	if (strcmp(v, "ok") == 0)
		t->ok++;
	else if (strcmp(v, "missing") == 0)
		t->missing++;
	else if (strcmp(v, "wrong") == 0)
		t->wrong++;
	else
		t->skipped++;
	if ((strcmp(v, "missing") != 0 && strcmp(v, "wrong") != 0) ||
	    (!dry_run && strcmp(q, "ok") != 0))
		return;
	if (money_parse(ctl_field(rep, "amount"), 2, &a, &why) != 0)
		return;
	if (*ctl_field(rep, "portal") != '\0' &&
	    money_parse(ctl_field(rep, "portal"), 2, &p, &why) != 0)
		p = 0;
	t->queued++;
	t->queued_cents += a;
	t->change_cents += a - p;
}

/* One job: asked, printed, counted. */
static void
ask(const char *sock, const struct ctl_sacct_job *j, size_t runs,
    const struct bf_qos *qos, int dry_run, struct bf_tally *t)
{
	struct bp_msg req, rep;
	char *col[6], job[16], *st;
	int rc;

	build(&req, j, runs, qos, dry_run);
	rc = ctl_bp_call(sock, CTL_BF_CALL_MS, &req, &rep);
	bp_free(&req);
	t->jobs++;
	if (rc != BP_OK) {
		ctl_call_failed(sock, rc);
		fprintf(stderr, "bankctl: job %" PRIu32 " not checked\n",
		    j->job_id);
		t->failed++;
		/* No bankd there: the next job would not be either. */
		t->refused = rc == BP_ECONNECT;
		return;
	}
	snprintf(job, sizeof(job), "%" PRIu32, j->job_id);
	st = (char *)ctl_field(&rep, "status");
	/* Refused for who we are: the next job would be too. */
	if (strcmp(st, "error") == 0 && strncmp(ctl_field(&rep, "message"),
	    "permission denied", 17) == 0) {
		fprintf(stderr, "bankctl: ");
		ctl_put(stderr, ctl_field(&rep, "message"), 0);
		fprintf(stderr, "\n");
		t->failed++;
		t->refused = 1;
		bp_free(&rep);
		return;
	}
	col[0] = job;
	col[1] = (char *)(strcmp(st, "ok") == 0 ? ctl_field(&rep, "verdict") :
	    st);
	col[2] = (char *)(*ctl_field(&rep, "amount") ? ctl_field(&rep,
	    "amount") : "-");
	col[3] = (char *)(*ctl_field(&rep, "portal") ? ctl_field(&rep,
	    "portal") : "-");
	col[4] = (char *)(*ctl_field(&rep, "queued") ? ctl_field(&rep,
	    "queued") : "-");
	col[5] = (char *)ctl_field(&rep, "message");
	ctl_row(col, widths, 6);
	if (strcmp(st, "ok") == 0)
		count(&rep, dry_run, t);
	else
		t->failed++;
	bp_free(&rep);
}

static void
summary(const struct bf_tally *t, int dry_run)
{
	char total[MONEY_FMT_LEN], change[MONEY_FMT_LEN];

	money_format(t->queued_cents, total);
	money_format(t->change_cents, change);
	printf("backfill: %lu jobs, %lu ok, %lu missing, %lu wrong, %lu "
	    "skipped, %lu failed, %lu bad lines; %s %lu reports, %s SU "
	    "(usage change %s SU)\n", t->jobs, t->ok, t->missing, t->wrong,
	    t->skipped, t->failed, t->bad, dry_run ? "would queue" : "queued",
	    t->queued, total, change);
}

static void
each_job(const char *sock, const struct bf_opts *o, const char *buf,
    const struct bf_line *v, size_t n, const struct bf_qos *q, size_t nq,
    struct bf_tally *t)
{
	struct ctl_sacct_job *j = malloc(sizeof(*j));
	char why[256];
	size_t i, k;

	if (j == NULL)
		return;
	ctl_row(hdr, widths, 6);
	for (i = 0; i < n && !t->refused; i = k) {
		for (k = i + 1; k < n && v[k].job_id == v[i].job_id; k++)
			;
		/* The last run sacct printed: the job's latest. */
		if (ctl_sacct_line(buf + v[k - 1].off, v[k - 1].len, j, why,
		    sizeof(why)) != 0 || !in_window(o, j))
			continue;
		ask(sock, j, k - i, j->qos[0] ? qos_find(q, nq, j->qos) : NULL,
		    o->dry_run, t);
	}
	free(j);
}

int
ctl_cmd_backfill(const char *sock, int argc, char **argv)
{
	struct bf_tally t;
	struct bf_opts o;
	struct bf_line *v;
	struct bf_qos *q;
	size_t len, n, nq;
	char *buf;

	if (opts_of(argc, argv, &o) != 0)
		return 2;
	if (read_qos(&o, &q, &nq) != 0)
		return 1;
	if ((o.file != NULL ? read_file("--sacct-file", o.file, &buf, &len) :
	    run_sacct(&o, &buf, &len)) != 0) {
		free(q);
		return 1;
	}
	memset(&t, 0, sizeof(t));
	v = index_lines(buf, len, &n, &t);
	each_job(sock, &o, buf, v, n, q, nq, &t);
	summary(&t, o.dry_run);
	free(v);
	free(q);
	free(buf);
	return t.failed != 0 || t.bad != 0 ? 1 : 0;
}
