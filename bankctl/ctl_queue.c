/*
 * ctl_queue.c - the tables: prices, the queue of reports (and its dead
 * letters) and the holds, a page at a time, columns fitted to what is in
 * them, or JSON.
 */
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

/* ---- the tables ------------------------------------------------------ */

static void
prices_head(const struct bp_msg *rep)
{
	static const int w[] = { 16, -10, -10, 20, -8, 7, 0 };
	static char *const head[] = { "PARTITION", "CPU", "GPU", "GPU TYPES",
	    "MEM_GB", "BILLING", "SOURCE" };
	int api = strcmp(ctl_field(rep, "from_api"), "1") == 0;

	printf("default ");
	ctl_put(stdout, ctl_field(rep, "default"), 0);
	printf(" SU/CPU-hour, billing ");
	ctl_put(stdout, ctl_field(rep, "billing"), 0);
	printf(", from_api %s", api ? "on" : "off");
	if (api) {
		printf(" (every ");
		ctl_put(stdout, ctl_field(rep, "refresh_s"), 0);
		printf(" s, last fetch ");
		ctl_put(stdout, strcmp(ctl_field(rep, "api_age"), "-1") == 0 ?
		    "never" : ctl_field(rep, "api_age"), 0);
		printf(")");
	}
	printf("\n");
	if (bp_get(rep, "api_error") != NULL) {
		printf("API error: ");
		ctl_put(stdout, ctl_field(rep, "api_error"), 0);
		printf("\n");
	}
	printf("qos multipliers: ");
	ctl_put(stdout, *ctl_field(rep, "qos") ? ctl_field(rep, "qos") :
	    "(none: every QoS x1)", 0);
	printf("\n");
	ctl_row(head, w, 7);
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
int
ctl_cmd_prices(const char *sock)
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
		rc = ctl_bp_call(sock, CTL_DEADLINE_MS, &req, &rep);
		bp_free(&req);
		if (rc != BP_OK) {
			ctl_call_failed(sock, rc);
			return 1;
		}
		if ((v = bp_get(&rep, "status")) == NULL || strcmp(v, "ok")) {
			ctl_print_reply(&rep);
			bp_free(&rep);
			return 1;
		}
		if (off == 0 && ctl_json_out)
			prices_json_head(&rep);
		else if (off == 0)
			prices_head(&rep);
		bp_get_u64(&rep, "total", &total);
		for (i = 1; i <= BP_QUEUE_PAGE; i++) {
			snprintf(key, sizeof(key), "p%d", i);
			if (bp_get(&rep, key) == NULL || (line = strdup(
			    bp_get(&rep, key))) == NULL)
				break;
			ctl_split(line, col, 7);
			if (ctl_json_out)
				ctl_json_row(n ? ", " : "", cols, col, 7);
			else
				ctl_row(col, w, 7);
			n++;
			free(line);
		}
		off += (uint64_t)(i - 1);
		bp_free(&rep);
	} while (i > BP_QUEUE_PAGE && off < total);
	if (ctl_json_out)
		printf("]}\n");
	else
		printf("-- %d priced partition(s); any other: the default\n", n);
	return 0;
}

/*
 * A dead letter's cause (dead.h) is in --json only ("" for the others,
 * and from an older bankd): the table keeps its columns, and the error
 * says in words what the cause says as a type.
 */
static const char *const queue_cols[] = { "seq", "job", "kind", "amount",
	"state", "attempts", "next_s", "account", "last_error", "cause" };
static const int queue_w[] = { 8, 9, 5, -10, 8, -5, -6, 12, 0 };
#define NCOLS	(sizeof(queue_cols) / sizeof(queue_cols[0]))
#define NSHOWN	(sizeof(queue_w) / sizeof(queue_w[0]))

/* One "e<i>" value: tab-separated columns, in queue_cols order. */
static void
print_entry(char *line, int first)
{
	char *col[NCOLS];

	ctl_split(line, col, NCOLS);
	if (ctl_json_out)
		ctl_json_row(first ? "" : ",\n ", queue_cols, col, NCOLS);
	else
		ctl_row(col, queue_w, NSHOWN);
}

/* Page through the queue: BP_QUEUE_PAGE reports per request. */
int
ctl_cmd_queue(const char *sock, int dead)
{
	static char *const head[] = { "SEQ", "JOB", "KIND", "AMOUNT",
	    "STATE", "TRIES", "NEXT", "ACCOUNT", "LAST ERROR" };
	struct bp_msg req, rep;
	uint64_t total = 0, off = 0;
	const char *v;
	char key[8], *line;
	int rc, i, n = 0;

	do {
		bp_init(&req, BP_T_QUEUE, (uint32_t)getpid());
		bp_add_u64(&req, "offset", off);
		bp_add_u64(&req, "limit", BP_QUEUE_PAGE);
		bp_add(&req, "dead", dead ? "1" : "0");
		rc = ctl_bp_call(sock, CTL_DEADLINE_MS, &req, &rep);
		bp_free(&req);
		if (rc != BP_OK) {
			ctl_call_failed(sock, rc);
			return 1;
		}
		/* A refusal (permission denied) is no empty queue. */
		if ((v = bp_get(&rep, "status")) == NULL || strcmp(v, "ok")) {
			if (off > 0 && ctl_json_out)
				printf("]\n");
			ctl_print_reply(&rep);
			bp_free(&rep);
			return 1;
		}
		if (off == 0 && ctl_json_out)
			printf("[");
		else if (off == 0)
			ctl_row(head, queue_w, NSHOWN);
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
	if (ctl_json_out)
		printf("]\n");
	else
		printf("-- %d %s\n", n, dead ? "dead letter(s)" :
		    "report(s) waiting for the API");
	return 0;
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
	const char *total = *ctl_field(rep, "total") ? ctl_field(rep, "total") :
	    "0.00";
	char key[8], *lines[BP_QUEUE_PAGE], *col[BP_QUEUE_PAGE][6];
	int w[6], i, k, n = 0;

	for (i = 1; i <= BP_QUEUE_PAGE; i++) {
		snprintf(key, sizeof(key), "h%d", i);
		if (bp_get(rep, key) == NULL || (lines[n] = strdup(bp_get(rep,
		    key))) == NULL)
			break;
		ctl_split(lines[n], col[n], 6);
		if (!ctl_json_out && strcmp(col[n][1], "0") == 0)
			col[n][1] = "(queued)";
		n++;
	}
	if (ctl_json_out) {
		printf("{\"total\": ");
		ctl_json(stdout, total);
		printf(", \"holds\": [");
		for (i = 0; i < n; i++)
			ctl_json_row(i > 0 ? ", " : "", keys, col[i], 6);
		printf("]}\n");
	} else {
		for (k = 0; k < 6; k++) {
			w[k] = (int)ctl_width(head[k]);
			for (i = 0; i < n; i++)
				if ((int)ctl_width(col[i][k]) > w[k])
					w[k] = (int)ctl_width(col[i][k]);
			w[k] *= sign[k];
		}
		ctl_row(head, w, 6);
		for (i = 0; i < n; i++)
			ctl_row(col[i], w, 6);
		printf("-- ");
		ctl_put(stdout, *ctl_field(rep, "count") ? ctl_field(rep, "count") :
		    "0", 0);
		printf(" hold(s), ");
		ctl_put(stdout, total, 0);
		printf(" SU held\n");
	}
	for (i = 0; i < n; i++)
		free(lines[i]);
}

int
ctl_cmd_holds(const char *sock, int argc, char **argv)
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
			if (ctl_name_arg("-A", optarg, LIM_ACCOUNT_LEN) != 0)
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
			ctl_usage();
		}
	}
	if (optind != argc)
		ctl_usage();
	bp_init(&req, BP_T_HOLDS, (uint32_t)getpid());
	if (account != NULL)
		bp_add(&req, "account", account);
	if (has_uid)
		bp_add_u64(&req, "uid", uid);
	rc = ctl_bp_call(sock, CTL_DEADLINE_MS, &req, &rep);
	bp_free(&req);
	if (rc != BP_OK) {
		ctl_call_failed(sock, rc);
		return 1;
	}
	holds_out(&rep);
	bp_free(&rep);
	return 0;
}
