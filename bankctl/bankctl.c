/*
 * bankctl - the operator's and the user's view of bankd: main and the command
 * table; the commands are ctl_job.c's and ctl_queue.c's (ctl.h).
 *
 *	bankctl [-f bank.yaml] [-S socket|tcp:ADDR:PORT] [--json] status
 *	bankctl [...] estimate -p PARTITIONS [-n TASKS] [-c CPUS_PER_TASK]
 *	    [-N NODES] [--mincpus N] [-t MINUTES|H:MM:SS|D-HH:MM:SS]
 *	    [--gpus [TYPE:]N] [--mem SIZE | --mem-per-cpu SIZE] [--qos QOS]
 *	    [--exclusive] [--array SPEC] [--node CPUS[:MEM]]
 *	    [-A ACCOUNT -u UID --check] [JOBSCRIPT]
 *	bankctl [...] prices			the effective price table
 *	bankctl [...] queue [--dead]		list undelivered reports
 *	bankctl [...] show SEQ			one report, with its body
 *	bankctl [...] retry SEQ | --all		send again now (revives dead)
 *	bankctl [...] drop SEQ			forget a dead letter
 *	bankctl [...] pause | resume		stop or restart delivery
 *	bankctl [...] holds [-A ACCOUNT] [-u USER]	liens on queued jobs
 *	bankctl [...] check USER ACCOUNT COST	what bankd would decide, why
 *	bankctl [...] balance [-A ACCOUNT]	what the caller has left
 *	bankctl [...] backfill --since DATE [--until DATE] [--dry-run]
 *	    [--sacct-file FILE] [--qos-file FILE]
 *				charge what sacct shows the portal lacks
 *	bankctl migrate-config bank-config.toml [-o bank.yaml]
 *	    [--token-file PATH]	the original plugins' TOML as bank.yaml
 *
 * estimate prices a job as bankd would at submission; with --check it also
 * asks bankd for the full decision (which may ask the API), as a dry run:
 * no hold is placed.  With JOBSCRIPT, its #SBATCH lines are read first,
 * as sbatch reads them (ctl_script.c), and the command line overrides them.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bankproto.h"
#include "conf.h"
#include "ctl.h"

/*
 * The commands, as smtpctl has them: a name, how many words may follow,
 * and what runs it.  A command whose words do not fit is usage.
 */
struct ctl_cmd {
	const char	*name;
	int		 min, max;	/* words after the name; -1: any */
	int		(*run)(const char *sock, int argc, char **argv);
};

static int
run_status(const char *sock, int argc, char **argv)
{
	struct bp_msg req;
	int rc;

	(void)argc;
	(void)argv;
	bp_init(&req, BP_T_STATUS, (uint32_t)getpid());
	rc = ctl_call(sock, &req);
	bp_free(&req);
	return rc;
}

static int
run_queue(const char *sock, int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--dead") != 0)
		ctl_usage();
	return ctl_cmd_queue(sock, argc == 2);
}

static int
run_show(const char *sock, int argc, char **argv)
{
	(void)argc;
	return ctl_simple(sock, BP_T_SHOW, argv[1]);
}

static int
run_retry(const char *sock, int argc, char **argv)
{
	(void)argc;
	return ctl_simple(sock, BP_T_RETRY, strcmp(argv[1], "--all") == 0 ?
	    NULL : argv[1]);
}

static int
run_drop(const char *sock, int argc, char **argv)
{
	(void)argc;
	return ctl_simple(sock, BP_T_DROP, argv[1]);
}

static int
run_prices(const char *sock, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return ctl_cmd_prices(sock);
}

static int
run_check(const char *sock, int argc, char **argv)
{
	(void)argc;
	return ctl_cmd_check(sock, argv[1], argv[2], argv[3]);
}

static int
run_pause(const char *sock, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return ctl_simple(sock, BP_T_PAUSE, NULL);
}

static int
run_resume(const char *sock, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return ctl_simple(sock, BP_T_RESUME, NULL);
}

static const struct ctl_cmd cmds[] = {
	{ "status",	0, 0,	run_status },
	{ "estimate",	0, -1,	ctl_cmd_estimate },
	{ "check",	3, 3,	run_check },
	{ "prices",	0, 0,	run_prices },
	{ "holds",	0, -1,	ctl_cmd_holds },
	{ "balance",	0, -1,	ctl_cmd_balance },
	{ "queue",	0, 1,	run_queue },
	{ "show",	1, 1,	run_show },
	{ "retry",	1, 1,	run_retry },
	{ "drop",	1, 1,	run_drop },
	{ "pause",	0, 0,	run_pause },
	{ "resume",	0, 0,	run_resume },
	{ "migrate-config", 1, 5, ctl_cmd_migrate },
	{ "backfill",	2, 9,	ctl_cmd_backfill },
};

static const struct ctl_cmd *
cmd_find(const char *name, int words)
{
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return words >= cmds[i].min && (cmds[i].max < 0 ||
			    words <= cmds[i].max) ? &cmds[i] : NULL;
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_cmd *cmd;
	struct bank_conf cf;
	const char *path = getenv("BANK_CONF") ? getenv("BANK_CONF") :
	    CONF_DEFAULT_PATH, *sock = NULL;
	char err[512], sockbuf[256];
	int ch;

	while ((ch = getopt_long(argc, argv, "+f:S:", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': path = optarg; break;
		case 'S': sock = optarg; break;
		case 'j': ctl_json_out = 1; break;
		default: ctl_usage();
		}
	}
	if (optind >= argc)
		ctl_usage();
	/* migrate-config reads and writes files: no bank.yaml, no bankd. */
	if (strcmp(argv[optind], "migrate-config") == 0) {
		if ((cmd = cmd_find(argv[optind], argc - optind - 1)) == NULL)
			ctl_usage();
		return cmd->run(NULL, argc - optind, argv + optind);
	}
	/* Over TCP, munged's socket: BANK_MUNGE_SOCKET, else bank.yaml's. */
	if (sock != NULL && strncmp(sock, "tcp:", 4) == 0) {
		ctl_munge_socket = getenv("BANK_MUNGE_SOCKET");
		if (ctl_munge_socket == NULL &&
		    conf_load(path, &cf, err, sizeof(err)) == 0) {
			if (cf.munge_socket != NULL)
				ctl_munge_socket = strdup(cf.munge_socket);
			conf_free(&cf);
		}
	}
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
	if ((cmd = cmd_find(argv[0], argc - 1)) == NULL)
		ctl_usage();
	return cmd->run(sock, argc, argv);
}
