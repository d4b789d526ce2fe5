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
 * asks bankd for the full decision (which may ask the API).
 *
 * What bankd says comes from users and the API: every value is printed
 * through ctl_put() (controls and invalid UTF-8 shown as \xNN, \uNNNN)
 * or, with --json, ctl_json() (invalid bytes as \udcNN).
 */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bankproto.h"
#include "conf.h"
#include "ctl.h"
#include "money.h"
#include "price.h"

#define CTL_DEADLINE_MS	5000

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
	    "[-A ACCOUNT [-u UID] --check]\n"
	    "       bankctl [...] prices\n"
	    "       bankctl [...] queue [--dead]\n"
	    "       bankctl [...] show SEQ\n"
	    "       bankctl [...] retry SEQ | --all\n"
	    "       bankctl [...] drop SEQ\n"
	    "       bankctl [...] pause | resume\n"
	    "       bankctl [...] holds [-A ACCOUNT] [-u USER]\n"
	    "       bankctl [...] check USER ACCOUNT COST\n");
	exit(2);
}

/* Slurm's time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S; -> minutes. */
static int
parse_time(const char *s, uint32_t *minutes)
{
	unsigned long d = 0, f[3] = { 0, 0, 0 };
	int n = 0;
	const char *p = s, *dash = strchr(s, '-');
	char *end;

	if (dash != NULL) {
		d = strtoul(s, &end, 10);
		if (end != dash)
			return -1;
		p = dash + 1;
	}
	for (;;) {
		if (!isdigit((unsigned char)*p) || n == 3)
			return -1;
		f[n++] = strtoul(p, &end, 10);
		if (*end == '\0')
			break;
		if (*end != ':')
			return -1;
		p = end + 1;
	}
	if (dash != NULL)	/* D-H[:M[:S]] */
		*minutes = d * 1440 + f[0] * 60 + f[1] + (f[2] > 0);
	else if (n == 1)	/* M */
		*minutes = f[0];
	else if (n == 2)	/* M:S */
		*minutes = f[0] + (f[1] > 0);
	else			/* H:M:S */
		*minutes = f[0] * 60 + f[1] + (f[2] > 0);
	return 0;
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
	for (i = 0; i < rep->nfields; i++) {
		ctl_put(stdout, rep->fields[i].key, w);
		printf("  ");
		ctl_put(stdout, rep->fields[i].val, 0);
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

/* "4096", "4096M", "4G", "1T", "512K" -> MiB (Slurm's --mem units). */
static int
parse_mem(const char *s, uint64_t *mib)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	v = strtoull(s, &end, 10);
	switch (toupper((unsigned char)*end)) {
	case '\0':
	case 'M': break;
	case 'K': v = (v + 1023) / 1024; break;
	case 'G': v *= 1024; break;
	case 'T': v *= 1024 * 1024; break;
	default: return -1;
	}
	if (*end != '\0' && end[1] != '\0' && strcasecmp(end + 1, "B") != 0)
		return -1;
	*mib = v;
	return 0;
}

/*
 * --gpus N, TYPE:N (Slurm's order) or N:TYPE, sent as Slurm 22.05's
 * job_submit sees --gpus: tres_per_job "gres:gpu[:TYPE]:N".
 */
static int
add_gpus(struct bp_msg *req, const char *s)
{
	const char *c = strchr(s, ':');
	char type[64];
	unsigned long n;
	char *end;

	if (c == NULL) {
		n = strtoul(s, &end, 10);
		if (end == s || *end != '\0' || n == 0)
			return -1;
		bp_addf(req, "tres_per_job", "gres:gpu:%lu", n);
		return 0;
	}
	if (isdigit((unsigned char)*s)) {	/* N:TYPE */
		n = strtoul(s, &end, 10);
		if (end != c || c[1] == '\0' || strchr(c + 1, ':') != NULL)
			return -1;
		snprintf(type, sizeof(type), "%s", c + 1);
	} else {				/* TYPE:N */
		n = strtoul(c + 1, &end, 10);
		if (end == c + 1 || *end != '\0' || c == s)
			return -1;
		snprintf(type, sizeof(type), "%.*s", (int)(c - s), s);
	}
	if (n == 0)
		return -1;
	bp_addf(req, "tres_per_job", "gres:gpu:%s:%lu", type, n);
	return 0;
}

/* --node CPUS[:MEM]: the size of a node, as job_submit reads it. */
static int
add_node(struct bp_msg *req, const char *parts, const char *spec)
{
	char out[2048], *list, *tok, *save = NULL;
	unsigned long cpus;
	uint64_t mem = 0;
	size_t o = 0;
	char *end;

	cpus = strtoul(spec, &end, 10);
	if (end == spec || cpus == 0 || (*end != '\0' && (*end != ':' ||
	    parse_mem(end + 1, &mem) != 0)))
		return -1;
	if ((list = strdup(parts ? parts : "")) == NULL)
		return -1;
	out[0] = '\0';
	for (tok = strtok_r(list, ",", &save); tok != NULL && o < sizeof(out);
	    tok = strtok_r(NULL, ",", &save))
		o += snprintf(out + o, sizeof(out) - o, "%s%s:%lu:%llu:0",
		    o ? "," : "", tok, cpus, (unsigned long long)mem);
	free(list);
	if (out[0] != '\0')
		bp_addf(req, "part_info", "%s", out);
	return 0;
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
	struct bp_msg req;
	uint32_t minutes = 0, tasks;
	uint64_t mib;
	const char *node = NULL;
	int ch, check = 0, rc;

	bp_init(&req, BP_T_ESTIMATE, (uint32_t)getpid());
	optind = 1;
	while ((ch = getopt_long(argc, argv, "a:A:c:G:n:N:p:q:t:u:", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'A': bp_add(&req, "account", optarg); break;
		case 'c': bp_add(&req, "cpus_per_task", optarg); break;
		case 'n': bp_add(&req, "num_tasks", optarg); break;
		case 'N': bp_add(&req, "min_nodes", optarg); break;
		case 'p': bp_add(&req, "partitions", optarg); break;
		case 'm': bp_add(&req, "min_cpus", optarg); break;
		case 'u': bp_add(&req, "uid", optarg); break;
		case 'q': bp_add(&req, "qos", optarg); break;
		case 'x': bp_add(&req, "shared", "0"); break;
		case 'k': check = 1; break;
		case 'D': node = optarg; break;
		case 'G':
			if (add_gpus(&req, optarg) != 0) {
				fprintf(stderr, "bankctl: bad --gpus '%s' (N, "
				    "TYPE:N or N:TYPE)\n", optarg);
				return 2;
			}
			break;
		case 'M':
		case 'C':
			if (parse_mem(optarg, &mib) != 0) {
				fprintf(stderr, "bankctl: bad memory size '%s' "
				    "(MiB, or with a K, M, G or T suffix)\n",
				    optarg);
				return 2;
			}
			bp_addf(&req, ch == 'M' ? "mem_per_node" :
			    "mem_per_cpu", "%llu", (unsigned long long)mib);
			break;
		case 'a':
			if ((tasks = price_array_tasks(optarg)) == 0) {
				fprintf(stderr, "bankctl: bad --array '%s' "
				    "(e.g. 0-9%%2, 1,3,5-7, 0-15:4)\n", optarg);
				return 2;
			}
			bp_addf(&req, "array_tasks", "%" PRIu32, tasks);
			break;
		case 't':
			if (parse_time(optarg, &minutes) != 0) {
				fprintf(stderr, "bankctl: bad time limit '%s' "
				    "(minutes, H:MM:SS or D-HH:MM:SS)\n",
				    optarg);
				return 2;
			}
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (node != NULL && add_node(&req, bp_get(&req, "partitions"), node)
	    != 0) {
		fprintf(stderr, "bankctl: bad --node '%s' (CPUS[:MEM])\n", node);
		return 2;
	}
	if (minutes != 0)
		bp_addf(&req, "time_limit", "%" PRIu32, minutes);
	if (check) {
		req.type = BP_T_CHECK;
		if (bp_get(&req, "uid") == NULL)
			bp_addf(&req, "uid", "%ld", (long)getuid());
		bp_add(&req, "plugin", "bankctl");
	}
	rc = call(sock, &req);
	bp_free(&req);
	return rc;
}

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

static int
simple(const char *sock, uint8_t type, const char *seq)
{
	struct bp_msg req;
	int rc;

	bp_init(&req, type, (uint32_t)getpid());
	if (seq != NULL) {
		if (strspn(seq, "0123456789") != strlen(seq) || *seq == '\0') {
			fprintf(stderr, "bankctl: '%s' is not a report number "
			    "(see bankctl queue)\n", seq);
			return 2;
		}
		bp_add(&req, "seq", seq);
	}
	rc = call(sock, &req);
	bp_free(&req);
	return rc;
}

/* A user name or a numeric uid; -1 if neither. */
static long
user_id(const char *s)
{
	struct passwd *pw;

	if (*s != '\0' && strspn(s, "0123456789") == strlen(s))
		return strtol(s, NULL, 10);
	if ((pw = getpwnam(s)) == NULL)
		return -1;
	return (long)pw->pw_uid;
}

static void
holds_out(const struct bp_msg *rep)
{
	static const char *const keys[] = { "hold", "job", "uid", "account",
	    "amount", "age" };
	static char *const head[] = { "HOLD", "JOB", "UID", "ACCOUNT",
	    "AMOUNT", "AGE(s)" };
	static const int w[] = { 8, 9, 7, 14, -10, -8 };
	const char *total = *field(rep, "total") ? field(rep, "total") :
	    "0.00";
	char key[8], *line, *col[6];
	int i;

	if (json_out) {
		printf("{\"total\": ");
		ctl_json(stdout, total);
		printf(", \"holds\": [");
	} else
		row(head, w, 6);
	for (i = 1; i <= BP_QUEUE_PAGE; i++) {
		snprintf(key, sizeof(key), "h%d", i);
		if (bp_get(rep, key) == NULL || (line = strdup(bp_get(rep,
		    key))) == NULL)
			break;
		split(line, col, 6);
		if (json_out)
			json_row(i > 1 ? ", " : "", keys, col, 6);
		else {
			if (strcmp(col[1], "0") == 0)
				col[1] = "(queued)";
			row(col, w, 6);
		}
		free(line);
	}
	if (json_out) {
		printf("]}\n");
		return;
	}
	printf("-- ");
	ctl_put(stdout, *field(rep, "count") ? field(rep, "count") : "0", 0);
	printf(" hold(s), ");
	ctl_put(stdout, total, 0);
	printf(" SU held\n");
}

static int
cmd_holds(const char *sock, int argc, char **argv)
{
	struct bp_msg req, rep;
	int ch, rc;
	long uid;

	bp_init(&req, BP_T_HOLDS, (uint32_t)getpid());
	optind = 1;
	while ((ch = getopt(argc, argv, "A:u:")) != -1) {
		switch (ch) {
		case 'A':
			bp_add(&req, "account", optarg);
			break;
		case 'u':
			if ((uid = user_id(optarg)) < 0) {
				fprintf(stderr, "bankctl: no user '%s'\n", optarg);
				return 2;
			}
			bp_addf(&req, "uid", "%ld", uid);
			break;
		default:
			usage();
		}
	}
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
	const char *why;
	int64_t cents;
	long uid;
	int rc;

	if ((uid = user_id(user)) < 0) {
		fprintf(stderr, "bankctl: no user '%s'\n", user);
		return 2;
	}
	if (money_parse(cost, 2, &cents, &why) != 0) {
		fprintf(stderr, "bankctl: cost '%s': %s\n", cost, why);
		return 2;
	}
	bp_init(&req, BP_T_CHECK, (uint32_t)getpid());
	bp_addf(&req, "uid", "%ld", uid);
	bp_add(&req, "account", acct);
	bp_addf(&req, "cost", "%lld", (long long)cents);
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
	if (strcmp(argv[0], "queue") == 0 && argc <= 2)
		return cmd_queue(sock, argc == 2 && strcmp(argv[1], "--dead")
		    == 0);
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
