/*
 * fuzz_answer.c - the API's answers as bankd reads them (bankd/answer.c,
 * api.c's api_describe): the API can answer anything.  The first byte
 * picks what the rest is:
 *
 *	0	can_submit_job's answer; the next byte is its HTTP status
 *		(200, 400, 500, or the byte itself)
 *	1	a page of GET /partitions/ (its "results", each priced)
 *	2	any failed reply, summarised for the log and bankctl status
 *
 * Promises checked (the harness aborts otherwise): a verdict is one of
 * answer.h's and only a 200 or a 400 gives one; a room learned is within
 * the money the answer could name; the API's words kept are printable
 * and fit their buffer; a partition taken has a name bankd takes and a
 * non-negative price; a summary is NUL-terminated and printable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "answer.h"
#include "api.h"
#include "fuzz.h"
#include "lim.h"
#include "utf8.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void
check_verdict(long status, const char *body, size_t len)
{
	struct check_answer a;

	answer_check(status, body, len, &a);
	if (a.kind != ANSWER_PASS && a.kind != ANSWER_REFUSED &&
	    a.kind != ANSWER_UNKNOWN && a.kind != ANSWER_UNUSABLE)
		fuzz_fail("verdict %d", (int)a.kind);
	if (a.kind != ANSWER_UNUSABLE && status != 200 && status != 400)
		fuzz_fail("a verdict from HTTP %ld", status);
	if (a.room < -1)
		fuzz_fail("room %lld", (long long)a.room);
	if (a.kind != ANSWER_REFUSED && a.room != -1)
		fuzz_fail("room learned without a refusal");
	if (memchr(a.message, '\0', sizeof(a.message)) == NULL ||
	    !utf8_printable(a.message))
		fuzz_fail("the API's words kept are not printable text");
}

static void
check_partitions(const char *body, size_t len)
{
	json_t *doc = json_loadb(body, len, 0, NULL), *it;
	const char *name, *why;
	int64_t micro;
	size_t i;

	json_array_foreach(json_object_get(doc, "results"), i, it) {
		if (answer_partition(it, &name, &micro, &why) != 0) {
			if (why == NULL)
				fuzz_fail("a partition refused without a reason");
			continue;
		}
		if (strlen(name) == 0 || strlen(name) > LIM_PARTITION_LEN ||
		    !utf8_printable(name) || micro < 0)
			fuzz_fail("partition '%s' at %lld taken", name,
			    (long long)micro);
	}
	json_decref(doc);
}

static void
check_summary(long status, char *body, size_t len)
{
	struct api_reply rep = {
		.status = status, .body = body, .len = len,
	};
	char why[512];

	if (status == 0)
		rep.transport = "Connection refused";
	api_describe(&rep, why, sizeof(why));
	if (memchr(why, '\0', sizeof(why)) == NULL)
		fuzz_fail("a summary without its NUL");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 400, 500, 0 };
	char *body;
	long status;

	if (size < 2)
		return 0;
	status = data[1] < 4 ? statuses[data[1]] : data[1] + 100;
	/* As api.c hands it over: a NUL-terminated copy. */
	if ((body = malloc(size - 1)) == NULL)
		return 0;
	memcpy(body, data + 2, size - 2);
	body[size - 2] = '\0';
	switch (data[0] % 3) {
	case 0:
		check_verdict(status, body, size - 2);
		break;
	case 1:
		check_partitions(body, size - 2);
		break;
	default:
		check_summary(status, body, size - 2);
		break;
	}
	free(body);
	return 0;
}
