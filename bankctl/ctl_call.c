/*
 * ctl_call.c - one request to bankd and its reply printed: as "key  value"
 * lines or, with --json, one JSON object; the rows and columns the tables
 * share.  A reply is what users and the API said: printed through
 * ctl_put() and ctl_json() only.
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

int ctl_json_out;

/* A field of a reply, "" when bankd left it out. */
const char *
ctl_field(const struct bp_msg *rep, const char *key)
{
	const char *v = bp_get(rep, key);

	return v != NULL ? v : "";
}

/* Tab-separated columns, empty ones kept (strtok would merge them). */
void
ctl_split(char *line, char **col, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		col[i] = line != NULL ? line : "";
		if (line != NULL && (line = strchr(line, '\t')) != NULL)
			*line++ = '\0';
	}
}

/* One table row: column i padded to width[i] (see ctl_put()). */
void
ctl_row(char *const *col, const int *width, size_t n)
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
void
ctl_json_row(const char *sep, const char *const *keys, char *const *col,
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

void
ctl_print_reply(const struct bp_msg *rep)
{
	size_t i;
	int w = 0;

	if (ctl_json_out) {
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

const char *ctl_munge_socket;
static char cred_why[256];

int
ctl_bp_call(const char *sock, int deadline_ms, const struct bp_msg *req,
    struct bp_msg *rep)
{
	cred_why[0] = '\0';
	if (strncmp(sock, "tcp:", 4) == 0)
		return bp_call_tcp(sock + 4, ctl_munge_socket, deadline_ms, req,
		    rep, cred_why, sizeof(cred_why));
	return bp_call(sock, deadline_ms, req, rep);
}

void
ctl_call_failed(const char *sock, int rc)
{
	if (rc == BP_ECRED && cred_why[0] != '\0') {
		fprintf(stderr, "bankctl: %s: ", bp_strerror(rc));
		ctl_put(stderr, cred_why, 0);
		fprintf(stderr, "\n");
		return;
	}
	fprintf(stderr, "bankctl: %s (socket ", bp_strerror(rc));
	ctl_put(stderr, sock, 0);
	fprintf(stderr, ")\n");
}

int
ctl_call(const char *sock, struct bp_msg *req)
{
	struct bp_msg rep;
	const char *st;
	int rc;

	if ((rc = ctl_bp_call(sock, CTL_DEADLINE_MS, req, &rep)) != BP_OK) {
		ctl_call_failed(sock, rc);
		return 1;
	}
	ctl_print_reply(&rep);
	st = bp_get(&rep, "status");
	/* A relay with no controller answering says unavailable. */
	rc = st != NULL && strcmp(st, "error") != 0 && strcmp(st, "deny") != 0
	    && strcmp(st, "unavailable") != 0 ? 0 : 1;
	bp_free(&rep);
	return rc;
}

/* show, retry, drop (with a report number), pause, resume. */
int
ctl_simple(const char *sock, uint8_t type, const char *seq)
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
	rc = ctl_call(sock, &req);
	bp_free(&req);
	return rc;
}
