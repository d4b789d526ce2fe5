/*
 * ctl_job.c - estimate and check: a job described as sbatch's options
 * describe it (each checked before anything is sent), priced by bankd,
 * and with --check (or check USER ACCOUNT COST) decided as a dry run.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bankproto.h"
#include "ctl.h"
#include "lim.h"
#include "money.h"
#include "price.h"

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
		return ctl_name_arg("-A", arg, LIM_ACCOUNT_LEN);
	case 'p':
		ja->partitions = arg;
		return parse_partitions(arg);
	case 'q':
		ja->qos = arg;
		return ctl_name_arg("--qos", arg, LIM_QOS_LEN);
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
	ctl_usage();
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

/* bankctl's own options of estimate. */
static const struct option cmd_opts[] = {
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
#define CMD_SHORT	"a:A:c:G:n:N:p:q:t:u:"

/*
 * sbatch's names of the options that price a job, as a script gives them
 * (bankctl's --check, --node and -u are not sbatch's, so not read there).
 * sbatch's own short options that take a value but do not change the
 * price are named in SCRIPT_SKIP so that their value is not taken for a
 * word of its own.
 */
static const struct option script_opts[] = {
	{ "account", required_argument, NULL, 'A' },
	{ "partition", required_argument, NULL, 'p' },
	{ "ntasks", required_argument, NULL, 'n' },
	{ "cpus-per-task", required_argument, NULL, 'c' },
	{ "nodes", required_argument, NULL, 'N' },
	{ "mincpus", required_argument, NULL, 'm' },
	{ "time", required_argument, NULL, 't' },
	{ "qos", required_argument, NULL, 'q' },
	{ "array", required_argument, NULL, 'a' },
	{ "gpus", required_argument, NULL, 'G' },
	{ "mem", required_argument, NULL, 'M' },
	{ "mem-per-cpu", required_argument, NULL, 'C' },
	{ "exclusive", optional_argument, NULL, 'x' },
	/* sbatch's, with a value, not priced: the value is theirs */
	{ "job-name", required_argument, NULL, 'I' },
	{ "output", required_argument, NULL, 'I' },
	{ "error", required_argument, NULL, 'I' },
	{ "input", required_argument, NULL, 'I' },
	{ "chdir", required_argument, NULL, 'I' },
	{ "mail-type", required_argument, NULL, 'I' },
	{ "mail-user", required_argument, NULL, 'I' },
	{ "dependency", required_argument, NULL, 'I' },
	{ "constraint", required_argument, NULL, 'I' },
	{ "nodelist", required_argument, NULL, 'I' },
	{ "exclude", required_argument, NULL, 'I' },
	{ "comment", required_argument, NULL, 'I' },
	{ "export", required_argument, NULL, 'I' },
	{ "begin", required_argument, NULL, 'I' },
	{ "licenses", required_argument, NULL, 'I' },
	{ "reservation", required_argument, NULL, 'I' },
	{ "signal", required_argument, NULL, 'I' },
	{ "wckey", required_argument, NULL, 'I' },
	{ NULL, 0, NULL, 0 },
};
#define SCRIPT_PRICED	"a:A:c:G:n:N:p:q:t:"
#define SCRIPT_SKIP	"b:C:d:D:e:F:i:J:L:m:M:o:w:x:"

/*
 * A script's options into ja, as sbatch reads them; those that do not
 * change the price are noted on stderr and skipped.  0, or 2 (said why).
 */
static int
script_options(const char *path, struct ctl_script *sc, struct job_args *ja)
{
	const char *mem_key = NULL;
	char where[64];
	int ch, li, at;

	optind = 0;	/* glibc: start again, with a new argv */
	opterr = 0;
	for (;;) {
		li = -1;
		optarg = NULL;
		ch = getopt_long(sc->argc, sc->argv, ":" SCRIPT_PRICED SCRIPT_SKIP,
		    script_opts, &li);
		if (ch == -1)
			break;
		/* the option's word: before its value when that stood apart */
		at = optind - 1 < sc->argc ? optind - 1 : sc->argc - 1;
		if (optarg != NULL && optarg == sc->argv[at] && at > 1)
			at--;
		snprintf(where, sizeof(where), "%zu", sc->line[at]);
		if (ch == '?' || ch == ':' || ch == 'I' || (li == -1 &&
		    strchr(SCRIPT_PRICED, ch) == NULL)) {
			fprintf(stderr, "bankctl: ");
			ctl_put(stderr, path, 0);
			fprintf(stderr, ": line %s: ", where);
			ctl_put(stderr, sc->argv[at], 0);
			fprintf(stderr, " ignored (%s)\n", ch == ':' ?
			    "no value" : "bankctl does not price it");
			continue;
		}
		if (ch == 'x' && optarg != NULL)
			optarg = NULL;	/* --exclusive=user: still whole nodes */
		if (job_option(ch, optarg, ja) != 0) {
			fprintf(stderr, "bankctl: (in ");
			ctl_put(stderr, path, 0);
			fprintf(stderr, ", line %s)\n", where);
			return 2;
		}
		if (mem_key != NULL && ja->mem_key != mem_key) {
			fprintf(stderr, "bankctl: ");
			ctl_put(stderr, path, 0);
			fprintf(stderr, ": --mem and --mem-per-cpu cannot be "
			    "used together\n");
			return 2;
		}
		mem_key = ja->mem_key;
	}
	for (; optind < sc->argc; optind++) {
		fprintf(stderr, "bankctl: ");
		ctl_put(stderr, path, 0);
		fprintf(stderr, ": line %zu: ", sc->line[optind]);
		ctl_put(stderr, sc->argv[optind], 0);
		fprintf(stderr, " ignored (not an option)\n");
	}
	if (sc->het)
		fprintf(stderr, "bankctl: note: only the first component of "
		    "the heterogeneous job is priced\n");
	opterr = 1;
	return 0;
}

/* The command line's options into ja: 0, 2 (said why); *script: a word. */
static int
cmd_options(int argc, char **argv, struct job_args *ja, const char **script)
{
	const char *mem_key = NULL;
	int ch;

	optind = 0;	/* glibc: start again (cmd_options runs twice) */
	while ((ch = getopt_long(argc, argv, CMD_SHORT, cmd_opts, NULL)) !=
	    -1) {
		if (ch == '?' || ch == ':')
			ctl_usage();
		if (job_option(ch, optarg, ja) != 0)
			return 2;
		/* sbatch refuses both, rather than guess which was meant */
		if (mem_key != NULL && ja->mem_key != mem_key) {
			fprintf(stderr, "bankctl: --mem and --mem-per-cpu "
			    "cannot be used together\n");
			return 2;
		}
		mem_key = ja->mem_key;
	}
	if (optind + 1 < argc)
		ctl_usage();
	*script = optind < argc ? argv[optind] : NULL;
	return 0;
}

/*
 * estimate [OPTIONS] [JOBSCRIPT]: the script's options first, then the
 * command line's, so that a command-line option overrides the script's
 * as sbatch's does (for --mem and --mem-per-cpu, the command line's
 * replaces the script's).
 */
int
ctl_cmd_estimate(const char *sock, int argc, char **argv)
{
	static struct ctl_script sc;
	struct job_args ja;
	struct bp_msg req;
	const char *script = NULL;
	char why[256];
	FILE *fp;
	int rc;

	memset(&ja, 0, sizeof(ja));
	if ((rc = cmd_options(argc, argv, &ja, &script)) != 0)
		return rc;
	if (script != NULL) {
		if ((fp = fopen(script, "r")) == NULL) {
			ctl_complain("JOBSCRIPT", script, strerror(errno));
			return 2;
		}
		rc = ctl_script_read(fp, &sc, why, sizeof(why));
		fclose(fp);
		if (rc != 0) {
			ctl_complain("JOBSCRIPT", script, why);
			ctl_script_free(&sc);
			return 2;
		}
		memset(&ja, 0, sizeof(ja));
		if ((rc = script_options(script, &sc, &ja)) != 0 ||
		    (rc = cmd_options(argc, argv, &ja, &script)) != 0) {
			ctl_script_free(&sc);
			return rc;
		}
	}
	build_estimate(&req, &ja);
	if (add_node(&req, &ja) != 0) {
		fprintf(stderr, "bankctl: out of memory\n");
		bp_free(&req);
		ctl_script_free(&sc);
		return 1;
	}
	rc = ctl_call(sock, &req);
	bp_free(&req);
	ctl_script_free(&sc);
	return rc;
}

int
ctl_cmd_check(const char *sock, const char *user, const char *acct,
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
	if (ctl_name_arg("ACCOUNT", acct, LIM_ACCOUNT_LEN) != 0)
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
	rc = ctl_call(sock, &req);
	bp_free(&req);
	return rc;
}
