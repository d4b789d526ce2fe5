/*
 * fuzz_request.c - a request as bankd takes it in, from the socket or a
 * spool file: the frame parsed, its fields checked (bankd/fields.c,
 * intake.c's intake_decode for a spool file), then what a handler makes
 * of it: the estimate of a CHECK or ESTIMATE (decoded by req.c, priced
 * by pricemsg.c and price.c), the
 * API body of a START or END (report.c, with node lists expanded through
 * libslurm's hostlist).  The first byte picks the way in: bit 0 set, a
 * spool file (one report, whole); clear, bytes from a socket.
 *
 * Promises checked (the harness aborts otherwise): a request that passes
 * fields_check has every value printable and every number it reads
 * within lim.h; an estimate is a cost the API can be asked about or more
 * (never negative), on at least one CPU; a report's body is valid JSON
 * whose amount matches the report's cents, and one whose nodes are kept
 * apart expands to valid JSON too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fields.h"
#include "fuzz.h"
#include "intake.h"
#include "lim.h"
#include "money.h"
#include "price.h"
#include "pricemsg.h"
#include "report.h"
#include "req.h"
#include "utf8.h"

static struct bank_conf cf;

/* Prices of every kind, so that every pricing rule is reached. */
static const char yaml[] =
    "api:\n  url: http://127.0.0.1:9\n  token: abc\n"
    "prices:\n  default: \"1.00\"\n  billing: max\n"
    "  qos:\n    high: \"1.5\"\n    low: \"0.5\"\n"
    "  partitions:\n    debug: \"0\"\n    normal: \"360.00\"\n"
    "    gpu:\n      cpu: \"1.00\"\n      gpu: \"4.00\"\n"
    "      gpu_types:\n        a100: \"8.00\"\n      mem_gb: \"0.10\"\n"
    "      billing: sum\n";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[512], err[512];

	(void)argc;
	(void)argv;
	fuzz_path(path, sizeof(path), "bank.yaml");
	fuzz_write(path, yaml, sizeof(yaml) - 1, 0600);
	if (conf_load(path, &cf, err, sizeof(err)) != 0)
		fuzz_fail("the harness's bank.yaml: %s", err);
	return 0;
}

static void
check_passed(const struct bp_msg *m)
{
	size_t i;

	for (i = 0; i < m->nfields; i++)
		if (!utf8_printable(m->fields[i].val))
			fuzz_fail("field '%s' passed, not printable",
			    m->fields[i].key);
}

static void
estimate(const struct bp_msg *m)
{
	struct estimate est;
	struct req rq;
	char why[512];

	req_decode(m, &rq);
	pricemsg_estimate(&cf, m->type == BP_T_CHECK ? &rq.u.check.job :
	    &rq.u.estimate.job, &est);
	if (est.cents < 0 || est.cpus == 0 || est.task_cents < 0)
		fuzz_fail("estimate %lld cents on %u CPUs",
		    (long long)est.cents, est.cpus);
	price_describe(&est, why, sizeof(why));
}

static void
body_json(const char *body, int64_t cents)
{
	char want[MONEY_FMT_LEN];
	json_t *j = json_loads(body, 0, NULL);
	const char *amount;

	if (j == NULL)
		fuzz_fail("a report body that is not JSON: %.200s", body);
	amount = json_string_value(json_object_get(j, "amount"));
	if (amount == NULL || strcmp(amount, money_format(cents, want)) != 0)
		fuzz_fail("amount %s for %lld cents", amount ? amount : "-",
		    (long long)cents);
	json_decref(j);
}

static void
report(const struct bp_msg *m)
{
	struct report r;
	struct req rq;
	char err[256], *full;
	int rc;

	req_decode(m, &rq);
	rc = report_build(&cf, rq.u.report.kind, rq.u.report.msg, &r, err,
	    sizeof(err));
	if (rc != 0)
		return;
	if (r.cents < 0)
		fuzz_fail("report of %lld cents", (long long)r.cents);
	body_json(r.body, r.cents);
	if (r.nodes_expr != NULL) {
		if (report_nodes_expand(r.body, r.nodes_expr, &full, err,
		    sizeof(err)) != 0)
			fuzz_fail("nodes kept apart do not expand: %s", err);
		body_json(full, r.cents);
		free(full);
	}
	report_clear(&r);
}

static void
handle(struct bp_msg *m)
{
	check_passed(m);
	switch (m->type) {
	case BP_T_CHECK:
	case BP_T_ESTIMATE:
		estimate(m);
		break;
	case BP_T_START:
	case BP_T_END:
		report(m);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], fixed[256];
	struct bp_msg m;
	size_t off = 1, used;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (intake_decode(data + 1, size - 1, &m, err,
		    sizeof(err)) == 0) {
			handle(&m);
			bp_free(&m);
		}
		return 0;
	}
	while (off < size && bp_parse(data + off, size - off, &m, &used) ==
	    BP_OK) {
		off += used;
		if (fields_check(&m, err, sizeof(err), fixed,
		    sizeof(fixed)) == 0)
			handle(&m);
		bp_free(&m);
	}
	return 0;
}
