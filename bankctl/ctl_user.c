/*
 * ctl_user.c - balance: what the caller has in an account, as bankd
 * knows it (the API's answers, its cache, the holds of queued jobs), with
 * where each figure comes from and how old it is.  bankd takes the caller
 * from the socket (SO_PEERCRED): no uid is sent.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bankproto.h"
#include "ctl.h"
#include "lim.h"

/* "-" for a figure bankd did not give. */
static const char *
or_dash(const struct bp_msg *rep, const char *key)
{
	const char *v = ctl_field(rep, key);

	return *v != '\0' ? v : "-";
}

static void
balance_table(const struct bp_msg *rep)
{
	static const int w[] = { 12, -14, -14, 0 };
	const char *lim = ctl_field(rep, "user_limit");
	char from[160], age[64], mine[64], all[64];
	char *row[4];
	int below = strcmp(lim, "below") == 0;

	printf("account ");
	ctl_put(stdout, ctl_field(rep, "account"), 0);
	printf(" (uid ");
	ctl_put(stdout, ctl_field(rep, "uid"), 0);
	printf(")\n");
	if (strcmp(ctl_field(rep, "unlimited"), "1") == 0) {
		ctl_put(stdout, ctl_field(rep, "message"), 0);
		putchar('\n');
		return;
	}
	snprintf(age, sizeof(age), "%s s ago", or_dash(rep, "age"));
	row[0] = "";
	row[1] = "ACCOUNT";
	row[2] = "YOUR SHARE";
	row[3] = "FROM";
	ctl_row(row, w, 4);
	row[0] = "allocation";
	row[1] = (char *)or_dash(rep, "alloc");
	row[2] = (char *)(below ? or_dash(rep, "user_alloc") : "-");
	snprintf(from, sizeof(from), "the API, %s", age);
	row[3] = from;
	ctl_row(row, w, 4);
	row[0] = "used";
	row[1] = (char *)or_dash(rep, "used");
	row[2] = (char *)(below ? or_dash(rep, "user_used") : "-");
	if (strcmp(ctl_field(rep, "source"), "api") == 0)
		snprintf(from, sizeof(from), "the API, %s", age);
	else
		snprintf(from, sizeof(from), "bankd's cache: the API %s, and "
		    "reports delivered since", age);
	row[3] = from;
	ctl_row(row, w, 4);
	row[0] = "held";
	snprintf(all, sizeof(all), "%s", or_dash(rep, "held_all"));
	snprintf(mine, sizeof(mine), "%s", or_dash(rep, "held_mine"));
	row[1] = all;
	row[2] = mine;
	snprintf(from, sizeof(from), "holds of %s queued job(s), now",
	    or_dash(rep, "held_jobs"));
	row[3] = from;
	ctl_row(row, w, 4);
	row[0] = "left";
	row[1] = (char *)or_dash(rep, "room");
	row[2] = (char *)(below ? or_dash(rep, "user_room") : "-");
	row[3] = "allocation less used";
	ctl_row(row, w, 4);
	if (strcmp(lim, "none") == 0)
		printf("your share of the account does not limit you below "
		    "what the account has left\n");
	else if (!below)
		printf("your share of the account is not known\n");
	printf("you may still submit up to ");
	ctl_put(stdout, or_dash(rep, "left"), 0);
	printf(" SU (left less held)\n");
}

int
ctl_cmd_balance(const char *sock, int argc, char **argv)
{
	struct bp_msg req, rep;
	const char *account = NULL, *st;
	int ch, rc;

	optind = 0;
	while ((ch = getopt(argc, argv, "A:")) != -1) {
		if (ch != 'A')
			ctl_usage();
		if (ctl_name_arg("-A", optarg, LIM_ACCOUNT_LEN) != 0)
			return 2;
		account = optarg;
	}
	if (optind != argc)
		ctl_usage();
	bp_init(&req, BP_T_BALANCE, (uint32_t)getpid());
	if (account != NULL)
		bp_add(&req, "account", account);
	rc = ctl_bp_call(sock, CTL_DEADLINE_MS, &req, &rep);
	bp_free(&req);
	if (rc != BP_OK) {
		ctl_call_failed(sock, rc);
		return 1;
	}
	st = ctl_field(&rep, "status");
	rc = strcmp(st, "ok") == 0 ? 0 : 1;
	if (ctl_json_out)
		ctl_print_reply(&rep);
	else if (rc != 0) {
		fprintf(stderr, "bankctl: ");
		ctl_put(stderr, ctl_field(&rep, "message"), 0);
		fprintf(stderr, "\n");
	} else
		balance_table(&rep);
	bp_free(&rep);
	return rc;
}
