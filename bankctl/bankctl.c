/*
 * bankctl - the operator's view of bankd.
 *
 *	bankctl [-f bank.yaml] [-S socket] [--json] status
 *	bankctl [...] estimate -p PARTITIONS [-n TASKS] [-c CPUS_PER_TASK]
 *	    [-N NODES] [--mincpus N] [-t MINUTES|H:MM:SS|D-HH:MM:SS]
 *	    [--gpus [TYPE:]N] [--mem SIZE | --mem-per-cpu SIZE] [--qos QOS]
 *	    [--exclusive] [--array SPEC] [--node CPUS[:MEM]]
 *	    [-A ACCOUNT -u UID --check]
 *	bankctl [...] prices			the effective price table
 *	bankctl [...] queue [--dead]		list undelivered reports
 *	bankctl [...] show SEQ			one report, with its body
 *	bankctl [...] retry SEQ | --all		send again now (revives dead)
 *	bankctl [...] drop SEQ			forget a dead letter
 *	bankctl [...] pause | resume		stop or restart delivery
 *	bankctl [...] holds [-A ACCOUNT] [-u USER]	liens on queued jobs
 *	bankctl [...] check USER ACCOUNT COST	what bankd would decide, why
 *
 * estimate prices a job as bankd would at submission; with --check it also
 * asks bankd for the full decision (which may ask the API), as a dry run:
 * no hold is placed.
 *
 * Every argument is checked before anything is sent (ctl_parse.c, bounded
 * by lim.h): counts are digits only, -n, -c, --mincpus, --gpus N and
 * --node CPUS at least 1, -c at most 65533 (Slurm's 16-bit field), the
 * others at most 2147483647; -t takes Slurm's forms and sums the fields as
 * Slurm does ("1:90:00" is 150 minutes), up to 4294967293 minutes, and 0
 * (or UNLIMITED) sends no limit, so bankd uses its default_time_limit;
 * --mem takes MiB or K, M, G, T (with an optional B), up to 2^63-1 MiB.
 * A bad argument exits 2 with a message naming it; a later option
 * replaces an earlier one, as in sbatch.
 *
 * What bankd says comes from users and the API: every value is printed
 * through ctl_put() (controls and invalid UTF-8 shown as \xNN, \uNNNN)
 * or, with --json, ctl_json() (invalid bytes as \udcNN).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bankproto.h"
#include "conf.h"
#include "ctl.h"
#include "lim.h"
#include "money.h"
#include "price.h"

#define CTL_DEADLINE_MS	5000
#define WHY_LEN		128

static int json_out;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: bankctl [-f bank.yaml] [-S socket] [--json] status\n"
	    "       bankctl [...] estimate -p PARTITIONS [-n TASKS] "
	    "[-c CPUS_PER_TASK]\n"
	    "                [-N NODES] [--mincpus N] [-t TIME] "
	    "[--gpus [TYPE:]N]\n"
	    "                [--mem SIZE | --mem-per-cpu SIZE] [--qos QOS] "
	    "[--exclusive]\n"
	    "                [--array SPEC] [--node CPUS[:MEM]] "
	    "[-A ACCOUNT [-u USER] --check]\n"
	    "       bankctl [...] prices\n"
	    "       bankctl [...] queue [--dead]\n"
	    "       bankctl [...] show SEQ\n"
	    "       bankctl [...] retry SEQ | --all\n"
	    "       bankctl [...] drop SEQ\n"
	    "       bankctl [...] pause | resume\n"
	    "       bankctl [...] holds [-A ACCOUNT] [-u USER]\n"
	    "       bankctl [...] check USER ACCOUNT COST\n"
	    "TIME: M, M:S, H:M:S, D-H, D-H:M or D-H:M:S (0: none); "
	    "SIZE: MiB, or with K, M, G or T\n");
	exit(2);
}

/* A field of a reply, "" when bankd left it out. */
static const char *
field(const struct bp_msg *rep, const char *key)
{
	const char *v = bp_get(rep, key);

	return v != NULL ? v : "";
}

/* Tab-separated columns, empty ones kept (strtok would merge them). */
static void
split(char *line, char **col, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		col[i] = line != NULL ? line : "";
		if (line != NULL && (line = strchr(line, '\t')) != NULL)
			*line++ = '\0';
	}
}

/* One table row: column i padded to width[i] (see ctl_put()). */
static void
row(char *const *col, const int *width, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			putchar(' ');
		/* the last column is padded only to align it right */
		ctl_put(stdout, col[i], i + 1 < n || width[i] < 0 ? width[i] :
		    0);
	}
	putchar('\n');
}

/* {"k": "v", ...} of columns; sep goes before it. */
static void
json_row(const char *sep, const char *const *keys, char *const *col,
    size_t n)
{
	size_t i;

	printf("%s{", sep);
	for (i = 0; i < n; i++) {
		printf("%s", i ? ", " : "");
		ctl_json(stdout, keys[i]);
		printf(": ");
		ctl_json(stdout, col[i]);
	}
	printf("}");
}

static void
print_reply(const struct bp_msg *rep)
{
	size_t i;
	int w = 0;

	if (json_out) {
		printf("{");
		for (i = 0; i < rep->nfields; i++) {
			printf("%s", i ? ", " : "");
			ctl_json(stdout, rep->fields[i].key);
			printf(": ");
			ctl_json(stdout, rep->fields[i].val);
		}
		printf("}\n");
		return;
	}
	for (i = 0; i < rep->nfields; i++)
		if ((int)strlen(rep->fields[i].key) > w)
			w = (int)strlen(rep->fields[i].key);
	/* An empty value shows as "-": every line is "key  value". */
	for (i = 0; i < rep->nfields; i++) {
		ctl_put(stdout, rep->fields[i].key, w);
		printf("  ");
		ctl_put(stdout, *rep->fields[i].val ? rep->fields[i].val : "-",
		    0);
		putchar('\n');
	}
}

static void
call_failed(const char *sock, int rc)
{
	fprintf(stderr, "bankctl: %s (socket ", bp_strerror(rc));
	ctl_put(stderr, sock, 0);
	fprintf(stderr, ")\n");
}

static int
call(const char *sock, struct bp_msg *req)
{
	struct bp_msg rep;
	const char *st;
	int rc;

	if ((rc = bp_call(sock, CTL_DEADLINE_MS, req, &rep)) != BP_OK) {
		call_failed(sock, rc);
		return 1;
	}
	print_reply(&rep);
	st = bp_get(&rep, "status");
	rc = st != NULL && strcmp(st, "error") != 0 && strcmp(st, "deny") != 0
	    ? 0 : 1;
	bp_free(&rep);
	return rc;
}

/* ---- estimate's arguments ------------------------------------------- */

/* The counts estimate sends: none may be 0 but -N (Slurm takes -N 0). */
static const struct count_opt {
	int		 ch;
	const char	*name;
	const char	*key;
	uint64_t	 min, max;
} counts[] = {
	{ 'n', "-n", "num_tasks", 1, LIM_COUNT },
	{ 'c', "-c", "cpus_per_task", 1, LIM_CPUS_PER_TASK },
	{ 'N', "-N", "min_nodes", 0, LIM_COUNT },
	{ 'm', "--mincpus", "min_cpus", 1, LIM_COUNT },
};
#define NCOUNTS	(sizeof(counts) / sizeof(counts[0]))

/* A job as estimate's options describe it; checked, not yet sent. */
struct job_args {
	const char	*account, *partitions, *qos;
	uint64_t	 count[NCOUNTS];
	int		 has_count[NCOUNTS];
	uint32_t	 minutes, uid, array_tasks;
	int		 has_uid, exclusive, check;
	uint64_t	 mem;
	const char	*mem_key;	/* mem_per_node, mem_per_cpu, NULL */
	char		 gpus[64 + LIM_GPU_TYPE_LEN];
	uint64_t	 node_cpus, node_mem;	/* --node; 0: not given */
};

static int
gpu_type_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' &&
		    s[i] <= 'Z') && !(s[i] >= '0' && s[i] <= '9') &&
		    strchr("_-.", s[i]) == NULL)
			return 0;
	return len > 0 && len <= LIM_GPU_TYPE_LEN;
}

/*
 * --gpus N, TYPE:N (Slurm's order) or N:TYPE, sent as Slurm 22.05's
 * job_submit sees --gpus: tres_per_job "gres:gpu[:TYPE]:N".
 */
static int
parse_gpus(const char *s, struct job_args *ja)
{
	char why[WHY_LEN];
	const char *c = strchr(s, ':'), *type = NULL, *end;
	size_t tlen = 0;
	uint64_t v = 0;
	int ok;

	if (c == NULL)					/* N */
		ok = ctl_count_at(s, 1, LIM_COUNT, &v, &end) == 0 &&
		    *end == '\0';
	else if (*s >= '0' && *s <= '9') {		/* N:TYPE */
		type = c + 1;
		tlen = strlen(type);
		ok = ctl_count_at(s, 1, LIM_COUNT, &v, &end) == 0 &&
		    end == c;
	} else {					/* TYPE:N */
		type = s;
		tlen = (size_t)(c - s);
		ok = ctl_count_at(c + 1, 1, LIM_COUNT, &v, &end) == 0 &&
		    *end == '\0';
	}
	if (!ok || (type != NULL && !gpu_type_ok(type, tlen))) {
		snprintf(why, sizeof(why), "not N, TYPE:N or N:TYPE (N from 1 "
		    "to %" PRIu32 ", TYPE of letters, digits, '_', '-', '.')",
		    LIM_COUNT);
		ctl_complain("--gpus", s, why);
		return -1;
	}
	if (type != NULL)
		snprintf(ja->gpus, sizeof(ja->gpus), "gres:gpu:%.*s:%" PRIu64,
		    (int)tlen, type, v);
	else
		snprintf(ja->gpus, sizeof(ja->gpus), "gres:gpu:%" PRIu64, v);
	return 0;
}

/* -p: a comma list of partition names. */
static int
parse_partitions(const char *s)
{
	char why[WHY_LEN], name[LIM_PARTITION_LEN + 2];
	const char *p = s;
	size_t len;

	do {
		len = strcspn(p, ",");
		snprintf(name, sizeof(name), "%.*s", (int)(len <
		    sizeof(name) ? len : sizeof(name) - 1), p);
		if (ctl_name(name, LIM_PARTITION_LEN, why, sizeof(why)) != 0) {
			ctl_complain("-p", s, why);
			return -1;
		}
		p += len;
	} while (*p++ == ',');
	return 0;
}

static int
parse_name(const char *opt, const char *s, size_t max)
{
	char why[WHY_LEN];

	if (ctl_name(s, max, why, sizeof(why)) != 0) {
		ctl_complain(opt, s, why);
		return -1;
	}
	return 0;
}

/* --node CPUS[:MEM]: the size of a node, as job_submit reads it. */
static int
parse_node(const char *s, struct job_args *ja)
{
	char why[WHY_LEN];
	const char *end;

	ja->node_mem = 0;
	if (ctl_count_at(s, 1, LIM_COUNT, &ja->node_cpus, &end) != 0 ||
	    (*end != '\0' && (*end != ':' ||
	    ctl_mem(end + 1, &ja->node_mem, why, sizeof(why)) != 0))) {
		snprintf(why, sizeof(why), "not CPUS[:MEM] (CPUS from 1 to %"
		    PRIu32 ", MEM a size as --mem takes)", LIM_COUNT);
		ctl_complain("--node", s, why);
		return -1;
	}
	return 0;
}

static int
parse_array(const char *s, struct job_args *ja)
{
	char why[WHY_LEN];

	ja->array_tasks = price_array_tasks(s);
	if (ja->array_tasks == 0)
		snprintf(why, sizeof(why), "not an array (e.g. 0-9%%2, "
		    "1,3,5-7, 0-15:4)");
	else if (ja->array_tasks == PRICE_ARRAY_HUGE)
		snprintf(why, sizeof(why), "an index above %" PRIu32 ", which "
		    "no Slurm takes (MaxArraySize is at most %" PRIu32 ")",
		    LIM_ARRAY_TASKS - 1, LIM_ARRAY_TASKS);
	else
		return 0;
	ctl_complain("--array", s, why);
	return -1;
}

/* One option of estimate into ja: 0, or -1 (said why). */
static int
job_option(int ch, const char *arg, struct job_args *ja)
{
	char why[WHY_LEN];
	size_t i;

	for (i = 0; i < NCOUNTS; i++)
		if (counts[i].ch == ch) {
			if (ctl_count(arg, counts[i].min, counts[i].max,
			    &ja->count[i], why, sizeof(why)) != 0) {
				ctl_complain(counts[i].name, arg, why);
				return -1;
			}
			ja->has_count[i] = 1;
			return 0;
		}
	switch (ch) {
	case 'A':
		ja->account = arg;
		return parse_name("-A", arg, LIM_ACCOUNT_LEN);
	case 'p':
		ja->partitions = arg;
		return parse_partitions(arg);
	case 'q':
		ja->qos = arg;
		return parse_name("--qos", arg, LIM_QOS_LEN);
	case 'u':
		if (ctl_uid(arg, &ja->uid, why, sizeof(why)) != 0) {
			ctl_complain("-u", arg, why);
			return -1;
		}
		ja->has_uid = 1;
		return 0;
	case 't':
		if (ctl_time(arg, &ja->minutes, why, sizeof(why)) != 0) {
			ctl_complain("-t", arg, why);
			return -1;
		}
		return 0;
	case 'M':
	case 'C':
		if (ctl_mem(arg, &ja->mem, why, sizeof(why)) != 0) {
			ctl_complain(ch == 'M' ? "--mem" : "--mem-per-cpu",
			    arg, why);
			return -1;
		}
		ja->mem_key = ch == 'M' ? "mem_per_node" : "mem_per_cpu";
		return 0;
	case 'a':
		return parse_array(arg, ja);
	case 'G':
		return parse_gpus(arg, ja);
	case 'D':
		return parse_node(arg, ja);
	case 'x':
		ja->exclusive = 1;
		return 0;
	case 'k':
		ja->check = 1;
		return 0;
	}
	usage();
	return -1;
}

/*
 * --node: part_info "name:cpus:mem:0,..." for each partition of -p, as
 * job_submit sends it from slurmctld's records.
 */
static int
add_node(struct bp_msg *req, const struct job_args *ja)
{
	const char *parts = ja->partitions, *p;
	char *out = NULL;
	size_t outlen = 0, len;
	FILE *fp;

	if (ja->node_cpus == 0 || parts == NULL)
		return 0;
	if ((fp = open_memstream(&out, &outlen)) == NULL)
		return -1;
	for (p = parts; *p != '\0'; p += len + (p[len] == ',')) {
		len = strcspn(p, ",");
		fprintf(fp, "%s%.*s:%" PRIu64 ":%" PRIu64 ":0", p == parts ?
		    "" : ",", (int)len, p, ja->node_cpus, ja->node_mem);
	}
	if (fclose(fp) != 0 || bp_addf(req, "part_info", "%s", out) != 0) {
		free(out);
		return -1;
	}
	free(out);
	return 0;
}

static void
build_estimate(struct bp_msg *req, const struct job_args *ja)
{
	size_t i;

	bp_init(req, ja->check ? BP_T_CHECK : BP_T_ESTIMATE,
	    (uint32_t)getpid());
	if (ja->account != NULL)
		bp_add(req, "account", ja->account);
	if (ja->partitions != NULL)
		bp_add(req, "partitions", ja->partitions);
	for (i = 0; i < NCOUNTS; i++)
		if (ja->has_count[i])
			bp_add_u64(req, counts[i].key, ja->count[i]);
	if (ja->qos != NULL)
		bp_add(req, "qos", ja->qos);
	if (ja->exclusive)
		bp_add(req, "shared", "0");
	if (ja->gpus[0] != '\0')
		bp_add(req, "tres_per_job", ja->gpus);
	if (ja->mem_key != NULL)
		bp_add_u64(req, ja->mem_key, ja->mem);
	if (ja->array_tasks != 0)
		bp_add_u64(req, "array_tasks", ja->array_tasks);
	if (ja->minutes != 0)
		bp_add_u64(req, "time_limit", ja->minutes);
	if (ja->has_uid || ja->check)
		bp_add_u64(req, "uid", ja->has_uid ? ja->uid :
		    (uint64_t)getuid());
	if (ja->check) {
		bp_add(req, "plugin", "bankctl");
		/* A decision, not a submission: bankd places no hold. */
		bp_add(req, "dry_run", "1");
	}
}

static int
cmd_estimate(const char *sock, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mincpus", required_argument, NULL, 'm' },
		{ "check", no_argument, NULL, 'k' },
		{ "gpus", required_argument, NULL, 'G' },
		{ "mem", required_argument, NULL, 'M' },
		{ "mem-per-cpu", required_argument, NULL, 'C' },
		{ "qos", required_argument, NULL, 'q' },
		{ "exclusive", no_argument, NULL, 'x' },
		{ "array", required_argument, NULL, 'a' },
		{ "node", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	struct job_args ja;
	struct bp_msg req;
	const char *mem_key = NULL;
	int ch, rc;

	memset(&ja, 0, sizeof(ja));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "a:A:c:G:n:N:p:q:t:u:", opts,
	    NULL)) != -1) {
		if (ch == '?' || ch == ':')
			usage();
		if (job_option(ch, optarg, &ja) != 0)
			return 2;
		/* sbatch refuses both, rather than guess which was meant */
		if (mem_key != NULL && ja.mem_key != mem_key) {
			fprintf(stderr, "bankctl: --mem and --mem-per-cpu "
			    "cannot be used together\n");
			return 2;
		}
		mem_key = ja.mem_key;
	}
	if (optind != argc)
		usage();
	build_estimate(&req, &ja);
	if (add_node(&req, &ja) != 0) {
		fprintf(stderr, "bankctl: out of memory\n");
		bp_free(&req);
		return 1;
	}
	rc = call(sock, &req);
	bp_free(&req);
	return rc;
}

/* ---- the tables ------------------------------------------------------ */

static void
prices_head(const struct bp_msg *rep)
{
	static const int w[] = { 16, -10, -10, 20, -8, 7, 0 };
	static char *const head[] = { "PARTITION", "CPU", "GPU", "GPU TYPES",
	    "MEM_GB", "BILLING", "SOURCE" };
	int api = strcmp(field(rep, "from_api"), "1") == 0;

	printf("default ");
	ctl_put(stdout, field(rep, "default"), 0);
	printf(" SU/CPU-hour, billing ");
	ctl_put(stdout, field(rep, "billing"), 0);
	printf(", from_api %s", api ? "on" : "off");
	if (api) {
		printf(" (every ");
		ctl_put(stdout, field(rep, "refresh_s"), 0);
		printf(" s, last fetch ");
		ctl_put(stdout, strcmp(field(rep, "api_age"), "-1") == 0 ?
		    "never" : field(rep, "api_age"), 0);
		printf(")");
	}
	printf("\n");
	if (bp_get(rep, "api_error") != NULL) {
		printf("API error: ");
		ctl_put(stdout, field(rep, "api_error"), 0);
		printf("\n");
	}
	printf("qos multipliers: ");
	ctl_put(stdout, *field(rep, "qos") ? field(rep, "qos") :
	    "(none: every QoS x1)", 0);
	printf("\n");
	row(head, w, 7);
}

/* prices' fields but the p<N> rows, for --json. */
static void
prices_json_head(const struct bp_msg *rep)
{
	size_t i;

	printf("{");
	for (i = 0; i < rep->nfields; i++) {
		if (rep->fields[i].key[0] == 'p' &&
		    rep->fields[i].key[1] >= '0' &&
		    rep->fields[i].key[1] <= '9')
			continue;
		ctl_json(stdout, rep->fields[i].key);
		printf(": ");
		ctl_json(stdout, rep->fields[i].val);
		printf(", ");
	}
	printf("\"partitions\": [");
}

/* The effective price table, BP_QUEUE_PAGE partitions per request. */
static int
cmd_prices(const char *sock)
{
	static const char *const cols[] = { "partition", "cpu", "gpu",
	    "gpu_types", "mem_gb", "billing", "source" };
	static const int w[] = { 16, -10, -10, 20, -8, 7, 0 };
	struct bp_msg req, rep;
	uint64_t total = 0, off = 0;
	char key[8], *line, *col[7];
	const char *v;
	int rc, i, n = 0;

	do {
		bp_init(&req, BP_T_PRICES, (uint32_t)getpid());
		bp_add_u64(&req, "offset", off);
		rc = bp_call(sock, CTL_DEADLINE_MS, &req, &rep);
		bp_free(&req);
		if (rc != BP_OK) {
			call_failed(sock, rc);
			return 1;
		}
		if ((v = bp_get(&rep, "status")) == NULL || strcmp(v, "ok")) {
			print_reply(&rep);
			bp_free(&rep);
			return 1;
		}
		if (off == 0 && json_out)
			prices_json_head(&rep);
		else if (off == 0)
			prices_head(&rep);
		bp_get_u64(&rep, "total", &total);
		for (i = 1; i <= BP_QUEUE_PAGE; i++) {
			snprintf(key, sizeof(key), "p%d", i);
			if (bp_get(&rep, key) == NULL || (line = strdup(
			    bp_get(&rep, key))) == NULL)
				break;
			split(line, col, 7);
			if (json_out)
				json_row(n ? ", " : "", cols, col, 7);
			else
				row(col, w, 7);
			n++;
			free(line);
		}
		off += (uint64_t)(i - 1);
		bp_free(&rep);
	} while (i > BP_QUEUE_PAGE && off < total);
	if (json_out)
		printf("]}\n");
	else
		printf("-- %d priced partition(s); any other: the default\n", n);
	return 0;
}

static const char *const queue_cols[] = { "seq", "job", "kind", "amount",
	"state", "attempts", "next_s", "account", "last_error" };
static const int queue_w[] = { 8, 9, 5, -10, 8, -5, -6, 12, 0 };
#define NCOLS	(sizeof(queue_cols) / sizeof(queue_cols[0]))

/* One "e<i>" value: tab-separated columns, in queue_cols order. */
static void
print_entry(char *line, int first)
{
	char *col[NCOLS];

	split(line, col, NCOLS);
	if (json_out)
		json_row(first ? "" : ",\n ", queue_cols, col, NCOLS);
	else
		row(col, queue_w, NCOLS);
}

/* Page through the queue: BP_QUEUE_PAGE reports per request. */
static int
cmd_queue(const char *sock, int dead)
{
	static char *const head[] = { "SEQ", "JOB", "KIND", "AMOUNT",
	    "STATE", "TRIES", "NEXT", "ACCOUNT", "LAST ERROR" };
	struct bp_msg req, rep;
	uint64_t total = 0, off = 0;
	char key[8], *line;
	int rc, i, n = 0;

	if (json_out)
		printf("[");
	else
		row(head, queue_w, NCOLS);
	do {
		bp_init(&req, BP_T_QUEUE, (uint32_t)getpid());
		bp_add_u64(&req, "offset", off);
		bp_add_u64(&req, "limit", BP_QUEUE_PAGE);
		bp_add(&req, "dead", dead ? "1" : "0");
		rc = bp_call(sock, CTL_DEADLINE_MS, &req, &rep);
		bp_free(&req);
		if (rc != BP_OK) {
			call_failed(sock, rc);
			return 1;
		}
		bp_get_u64(&rep, "total", &total);
		for (i = 1; i <= BP_QUEUE_PAGE; i++) {
			snprintf(key, sizeof(key), "e%d", i);
			if (bp_get(&rep, key) == NULL)
				break;
			line = strdup(bp_get(&rep, key));
			if (line != NULL)
				print_entry(line, n++ == 0);
			free(line);
		}
		off += (uint64_t)(i - 1);
		bp_free(&rep);
	} while (i > BP_QUEUE_PAGE && off < total);
	if (json_out)
		printf("]\n");
	else
		printf("-- %d %s\n", n, dead ? "dead letter(s)" :
		    "report(s) waiting for the API");
	return 0;
}

/* show, retry, drop (with a report number), pause, resume. */
static int
simple(const char *sock, uint8_t type, const char *seq)
{
	struct bp_msg req;
	char why[WHY_LEN], msg[2 * WHY_LEN];
	uint64_t v;
	int rc;

	/* 0 would mean "every report" to retry */
	if (seq != NULL && ctl_count(seq, 1, LIM_SEQ, &v, why, sizeof(why))
	    != 0) {
		snprintf(msg, sizeof(msg), "%s (a report number, see "
		    "bankctl queue)", why);
		ctl_complain("SEQ", seq, msg);
		return 2;
	}
	bp_init(&req, type, (uint32_t)getpid());
	if (seq != NULL)
		bp_add_u64(&req, "seq", v);
	rc = call(sock, &req);
	bp_free(&req);
	return rc;
}

/*
 * The holds as a table whose columns fit what is in them (an account
 * name can be long), or as JSON.  A page is at most BP_QUEUE_PAGE rows.
 */
static void
holds_out(const struct bp_msg *rep)
{
	static const char *const keys[] = { "hold", "job", "uid", "account",
	    "amount", "age" };
	static char *const head[] = { "HOLD", "JOB", "UID", "ACCOUNT",
	    "AMOUNT", "AGE(s)" };
	/* Negative: aligned right (the figures). */
	static const int sign[] = { 1, 1, 1, 1, -1, -1 };
	const char *total = *field(rep, "total") ? field(rep, "total") :
	    "0.00";
	char key[8], *lines[BP_QUEUE_PAGE], *col[BP_QUEUE_PAGE][6];
	int w[6], i, k, n = 0;

	for (i = 1; i <= BP_QUEUE_PAGE; i++) {
		snprintf(key, sizeof(key), "h%d", i);
		if (bp_get(rep, key) == NULL || (lines[n] = strdup(bp_get(rep,
		    key))) == NULL)
			break;
		split(lines[n], col[n], 6);
		if (!json_out && strcmp(col[n][1], "0") == 0)
			col[n][1] = "(queued)";
		n++;
	}
	if (json_out) {
		printf("{\"total\": ");
		ctl_json(stdout, total);
		printf(", \"holds\": [");
		for (i = 0; i < n; i++)
			json_row(i > 0 ? ", " : "", keys, col[i], 6);
		printf("]}\n");
	} else {
		for (k = 0; k < 6; k++) {
			w[k] = (int)ctl_width(head[k]);
			for (i = 0; i < n; i++)
				if ((int)ctl_width(col[i][k]) > w[k])
					w[k] = (int)ctl_width(col[i][k]);
			w[k] *= sign[k];
		}
		row(head, w, 6);
		for (i = 0; i < n; i++)
			row(col[i], w, 6);
		printf("-- ");
		ctl_put(stdout, *field(rep, "count") ? field(rep, "count") :
		    "0", 0);
		printf(" hold(s), ");
		ctl_put(stdout, total, 0);
		printf(" SU held\n");
	}
	for (i = 0; i < n; i++)
		free(lines[i]);
}

static int
cmd_holds(const char *sock, int argc, char **argv)
{
	struct bp_msg req, rep;
	char why[WHY_LEN];
	const char *account = NULL;
	uint32_t uid = 0;
	int ch, rc, has_uid = 0;

	optind = 1;
	while ((ch = getopt(argc, argv, "A:u:")) != -1) {
		switch (ch) {
		case 'A':
			if (parse_name("-A", optarg, LIM_ACCOUNT_LEN) != 0)
				return 2;
			account = optarg;
			break;
		case 'u':
			if (ctl_uid(optarg, &uid, why, sizeof(why)) != 0) {
				ctl_complain("-u", optarg, why);
				return 2;
			}
			has_uid = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	bp_init(&req, BP_T_HOLDS, (uint32_t)getpid());
	if (account != NULL)
		bp_add(&req, "account", account);
	if (has_uid)
		bp_add_u64(&req, "uid", uid);
	rc = bp_call(sock, CTL_DEADLINE_MS, &req, &rep);
	bp_free(&req);
	if (rc != BP_OK) {
		call_failed(sock, rc);
		return 1;
	}
	holds_out(&rep);
	bp_free(&rep);
	return 0;
}

static int
cmd_check(const char *sock, const char *user, const char *acct,
    const char *cost)
{
	struct bp_msg req;
	char why[WHY_LEN], most[MONEY_FMT_LEN];
	const char *mwhy;
	int64_t cents;
	uint32_t uid;
	int rc;

	if (ctl_uid(user, &uid, why, sizeof(why)) != 0) {
		ctl_complain("USER", user, why);
		return 2;
	}
	if (parse_name("ACCOUNT", acct, LIM_ACCOUNT_LEN) != 0)
		return 2;
	if (money_parse(cost, 2, &cents, &mwhy) != 0 ||
	    cents > LIM_COST_CENTS) {
		snprintf(why, sizeof(why), "%s (SU, at most %s with 2 "
		    "decimals)", mwhy != NULL ? mwhy : "too large",
		    money_format(LIM_COST_CENTS, most));
		ctl_complain("COST", cost, why);
		return 2;
	}
	bp_init(&req, BP_T_CHECK, (uint32_t)getpid());
	bp_add_u64(&req, "uid", uid);
	bp_add(&req, "account", acct);
	bp_add_u64(&req, "cost", (uint64_t)cents);
	bp_add(&req, "dry_run", "1");
	bp_add(&req, "plugin", "bankctl");
	rc = call(sock, &req);
	bp_free(&req);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct bank_conf cf;
	struct bp_msg req;
	const char *path = getenv("BANK_CONF") ? getenv("BANK_CONF") :
	    CONF_DEFAULT_PATH, *sock = NULL;
	char err[512], sockbuf[256];
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+f:S:", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': path = optarg; break;
		case 'S': sock = optarg; break;
		case 'j': json_out = 1; break;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();
	if (sock == NULL) {
		if (conf_load(path, &cf, err, sizeof(err)) != 0) {
			fprintf(stderr, "bankctl: ");
			ctl_put(stderr, err, 0);
			fprintf(stderr, "\n");
			return 1;
		}
		snprintf(sockbuf, sizeof(sockbuf), "%s", cf.socket);
		sock = sockbuf;
		conf_free(&cf);
	}
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "status") == 0 && argc == 1) {
		bp_init(&req, BP_T_STATUS, (uint32_t)getpid());
		rc = call(sock, &req);
		bp_free(&req);
		return rc;
	}
	if (strcmp(argv[0], "estimate") == 0)
		return cmd_estimate(sock, argc, argv);
	if (strcmp(argv[0], "queue") == 0 && (argc == 1 || (argc == 2 &&
	    strcmp(argv[1], "--dead") == 0)))
		return cmd_queue(sock, argc == 2);
	if (strcmp(argv[0], "show") == 0 && argc == 2)
		return simple(sock, BP_T_SHOW, argv[1]);
	if (strcmp(argv[0], "retry") == 0 && argc == 2)
		return simple(sock, BP_T_RETRY, strcmp(argv[1], "--all") == 0 ?
		    NULL : argv[1]);
	if (strcmp(argv[0], "drop") == 0 && argc == 2)
		return simple(sock, BP_T_DROP, argv[1]);
	if (strcmp(argv[0], "prices") == 0 && argc == 1)
		return cmd_prices(sock);
	if (strcmp(argv[0], "holds") == 0)
		return cmd_holds(sock, argc, argv);
	if (strcmp(argv[0], "check") == 0 && argc == 4)
		return cmd_check(sock, argv[1], argv[2], argv[3]);
	if (strcmp(argv[0], "pause") == 0 && argc == 1)
		return simple(sock, BP_T_PAUSE, NULL);
	if (strcmp(argv[0], "resume") == 0 && argc == 1)
		return simple(sock, BP_T_RESUME, NULL);
	usage();
	return 2;
}
