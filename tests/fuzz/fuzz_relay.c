/*
 * fuzz_relay.c - a relay's state at start: its journal `relay`
 * (relayq.c) replayed through journal.c, then used as the relay would:
 * every report held encoded as the frame it would send (each must
 * encode: replay takes only fields a frame can carry), listed with its
 * account as `bankctl queue` shows it, its dead letters retried, one new
 * report taken, one non-blocking turn of the loop (commits, compaction),
 * everything closed.  Nothing is sent: no forwarder runs.
 *
 * The first input byte picks the mode: bit 0 clear, the rest is the file
 * as it is on disk; bit 0 set, the rest is one record payload per line,
 * each given a valid header and CRC-32C, so that the fuzzer reaches the
 * JSON and the replay.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "fuzz.h"
#include "log.h"
#include "relayq.h"

static char		 state_dir[512];




int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(0, 0);
	fuzz_path(state_dir, sizeof(state_dir), "state");
	if (mkdir(state_dir, 0700) != 0)
		fuzz_fail("mkdir %s: %s", state_dir, strerror(errno));
	return 0;
}

/* Records, one payload per line, headed and checksummed. */
static uint8_t *
records(const uint8_t *p, size_t n, size_t *outlen)
{
	const uint8_t *nl;
	uint8_t *b = NULL;
	size_t len, used = 0;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		len = nl != NULL ? (size_t)(nl - p) : n;
		fuzz_journal_record(&b, &used, p, len);
		if (nl == NULL)
			break;
		p += len + 1;
		n -= len + 1;
	}
	*outlen = used;
	return b;
}

static void
use(const struct relayq_entry *e, void *arg)
{
	char acct[160];
	uint8_t *frame;
	size_t len;

	(void)arg;
	if (relayq_encode(e, &frame, &len) != 0)
		fuzz_fail("report %llu was replayed but cannot be encoded",
		    (unsigned long long)e->seq);
	free(frame);
	relayq_field(e, "account", acct, sizeof(acct));
}

static void
acked(void *arg, int ok)
{
	(void)arg;
	(void)ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relayq_hooks hooks = { NULL, NULL };
	struct relayq_stats st;
	struct event_base *base;
	struct relayq *q;
	struct bp_msg m;
	char path[600], err[512];
	uint8_t *file = NULL;
	size_t len = 0;

	if (size == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/relay", state_dir);
	if (data[0] & 1)
		file = records(data + 1, size - 1, &len);
	fuzz_write(path, file ? file : data + 1, file ? len : size - 1, 0600);
	free(file);
	snprintf(path, sizeof(path), "%s/relay.new", state_dir);
	unlink(path);
	if ((base = event_base_new()) == NULL)
		fuzz_fail("event_base_new");
	if ((q = relayq_open(base, state_dir, 0, &hooks, err,
	    sizeof(err))) == NULL) {
		event_base_free(base);
		return 0;
	}
	relayq_each(q, 0, use, NULL);
	relayq_each(q, 1, use, NULL);
	relayq_stats(q, &st);
	if (st.inflight != 0)
		fuzz_fail("a replayed report is in flight before any was sent");
	relayq_retry(q, 0);
	bp_init(&m, BP_T_START, 1);
	bp_add(&m, "job_id", "77");
	bp_add(&m, "account", "fc_a");
	relayq_take(q, &m, acked, NULL);
	bp_free(&m);
	event_base_loop(base, EVLOOP_NONBLOCK);
	relayq_compact(q);
	relayq_close(q);
	event_base_free(base);
	return 0;
}
