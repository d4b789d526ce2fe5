/*
 * fuzz_journal.c - bankd's state at start: the report queue's journal
 * (deliver.c) and the holds' (holds.c), replayed by their own handlers
 * through journal.c, then used as bankd would use them.
 *
 * The first input byte picks a mode:
 *	bit 0 clear	the rest is one file as it is on disk: CRCs and
 *			damage are the fuzzer's to get right, or not
 *	bit 0 set	the rest is records, one payload per line, each
 *			given a valid header (magic, length, CRC-32C), so
 *			that the fuzzer reaches the JSON and the handlers;
 *			a line "--" goes on in the other file
 *	bit 1		the file the input starts in: journal (0) or holds
 *
 * After the replay, what bankd does with what it found: the queue as
 * `bankctl queue` and `bankctl show` see it (every body read back from
 * the journal), the holds and their sums, `bankctl retry`, and one
 * reconciliation against a job list made of the jobs found; then one
 * non-blocking turn of the event loop (commits), and everything closed.
 * Nothing is sent: api.max_inflight is 0, so the queue never starts a
 * request, and the loop never waits.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "api.h"
#include "bankd.h"
#include "deliver.h"
#include "fuzz.h"
#include "holds.h"
#include "log.h"

#define MAX_SHOW	64		/* reports read back, at most */
#define MAX_LIVE	256		/* jobs in the reconciliation */
#define SNAPSHOT	2000000000	/* "now" for the reconciliation */
#define GRACE_S		30

static struct bank_conf	 conf;
static char		 state_dir[512];

static const char bank_yaml[] =
    "api:\n"
    "  url: http://127.0.0.1:9/\n"
    "  token: 0123456789abcdef0123456789abcdef01234567\n"
    "state_dir: %s\n"
    "spool_dir: %s\n"
    "socket: %s/bankd.sock\n"
    "fsync: false\n"
    "prices:\n"
    "  partitions:\n"
    "    normal: \"1.00\"\n";




static void
cleanup(void)
{
	conf_free(&conf);
	curl_global_cleanup();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[512], spool[512], text[2048], err[512];
	int n;

	(void)argc;
	(void)argv;
	log_init(0, 0);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fuzz_fail("curl_global_init");
	fuzz_path(state_dir, sizeof(state_dir), "state");
	fuzz_path(spool, sizeof(spool), "spool");
	if (mkdir(state_dir, 0700) != 0 || mkdir(spool, 0700) != 0)
		fuzz_fail("mkdir %s: %s", state_dir, strerror(errno));
	n = snprintf(text, sizeof(text), bank_yaml, state_dir, spool,
	    fuzz_dir());
	if (n < 0 || (size_t)n >= sizeof(text))
		fuzz_fail("bank.yaml too long");
	fuzz_path(path, sizeof(path), "bank.yaml");
	fuzz_write(path, text, (size_t)n, 0600);
	if (conf_load(path, &conf, err, sizeof(err)) != 0)
		fuzz_fail("%s", err);
	/* The queue never sends: no request is left over at api_free(). */
	conf.api_max_inflight = 0;
	atexit(cleanup);
	return 0;
}

/* Records, one payload per line, headed and checksummed; "--" switches. */
struct files {
	uint8_t		*buf[2];	/* 0: journal, 1: holds */
	size_t		 len[2];
};

static void
add_record(struct files *f, int which, const uint8_t *p, size_t n)
{
	fuzz_journal_record(&f->buf[which], &f->len[which], p, n);
}

static void
split_records(struct files *f, int which, const uint8_t *p, size_t n)
{
	const uint8_t *nl;
	size_t len;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		len = nl != NULL ? (size_t)(nl - p) : n;
		if (len == 2 && p[0] == '-' && p[1] == '-')
			which = !which;
		else
			add_record(f, which, p, len);
		if (nl == NULL)
			break;
		p += len + 1;
		n -= len + 1;
	}
}

static void
write_state(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "journal", "holds",
	    "journal.new", "holds.new" };
	struct files f = { { NULL, NULL }, { 0, 0 } };
	char path[600];
	size_t i;
	int which = (data[0] >> 1) & 1;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", state_dir, names[i]);
		if (unlink(path) != 0 && errno != ENOENT)
			fuzz_fail("unlink %s: %s", path, strerror(errno));
	}
	if (data[0] & 1)
		split_records(&f, which, data + 1, size - 1);
	else {
		f.buf[which] = malloc(size);
		if (f.buf[which] == NULL)
			fuzz_fail("out of memory");
		memcpy(f.buf[which], data + 1, size - 1);
		f.len[which] = size - 1;
	}
	for (i = 0; i < 2; i++) {
		if (f.buf[i] == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", state_dir, names[i]);
		fuzz_write(path, f.buf[i], f.len[i], 0600);
		free(f.buf[i]);
	}
}

/* ---- using what was replayed ------------------------------------- */

struct seen {
	struct bankd	*bd;
	uint64_t	 seqs[MAX_SHOW];
	size_t		 nseqs;
	struct live_job	 live[MAX_LIVE];
	size_t		 nlive;
	size_t		 bytes;		/* of strings shown */
};

/* bankctl prints every string of a view: they must all be readable. */
static void
on_show(const struct deliver_view *v, void *arg)
{
	size_t *n = arg;

	*n += strlen(v->account) + strlen(v->kind) + strlen(v->state) +
	    strlen(v->last_error) + strlen(v->body);
}

static void
on_report(const struct deliver_view *v, void *arg)
{
	struct seen *s = arg;

	on_show(v, &s->bytes);
	if (s->nseqs < MAX_SHOW)
		s->seqs[s->nseqs++] = v->seq;
	if (s->nlive < MAX_LIVE) {
		s->live[s->nlive].job_id = v->job_id;
		s->live[s->nlive++].token = 0;
	}
}

static void
on_hold(const struct hold_view *v, void *arg)
{
	struct seen *s = arg;
	int64_t acct, user;
	size_t jobs;

	holds_sum(s->bd->holds, v->account, v->uid, &acct, &user, &jobs);
	if (jobs == 0)
		fuzz_fail("hold %llu of %s counted in no job",
		    (unsigned long long)v->token, v->account);
	/* A job list where the hold's job (or one carrying its token) lives. */
	if (s->nlive < MAX_LIVE && (v->token & 1)) {
		s->live[s->nlive].job_id = v->job_id != 0 ? v->job_id :
		    (uint32_t)v->token;
		s->live[s->nlive++].token = v->token;
	}
}

static void
use_state(struct bankd *bd)
{
	struct deliver_stats st;
	struct seen *s;
	size_t i;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		fuzz_fail("out of memory");
	s->bd = bd;
	deliver_stats(bd->dq, &st);
	deliver_list(bd->dq, 0, SIZE_MAX, 0, on_report, s);
	deliver_list(bd->dq, 0, BP_QUEUE_PAGE, 1, on_report, s);
	for (i = 0; i < s->nseqs; i++)
		if (deliver_show(bd->dq, s->seqs[i], on_show, &s->bytes) != 0)
			fuzz_fail("report %llu listed but not shown",
			    (unsigned long long)s->seqs[i]);
	(void)holds_count(bd->holds);
	holds_list(bd->holds, NULL, -1, on_hold, s);
	deliver_retry(bd->dq, 0);
	holds_reconcile(bd->holds, s->live, s->nlive, SNAPSHOT, GRACE_S);
	holds_list(bd->holds, NULL, -1, on_hold, s);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct deliver_settings set = {
		.state_dir = conf.state_dir, .fsync = conf.fsync,
		.max_inflight = conf.api_max_inflight,
		.retry_max_ms = conf.api_retry_max_ms,
		.last_run = conf.requeue_charge == REQUEUE_LAST_RUN,
		.node_fail_free = conf.node_fail_free,
	};
	struct deliver_hooks hooks = { portal_report_sender, NULL, NULL, NULL,
	    NULL, NULL };
	struct bankd bd;
	char err[512];

	if (size < 1)
		return 0;
	write_state(data, size);
	memset(&bd, 0, sizeof(bd));
	bd.conf = conf;		/* read-only here: freed by no one */
	if ((bd.base = event_base_new()) == NULL)
		fuzz_fail("event_base_new");
	bd.api = api_new(bd.base, conf.api_url, conf.api_token,
	    conf.api_timeout_ms, 1);
	if (bd.api == NULL)
		fuzz_fail("api_new");
	hooks.send_ctx = bd.api;
	/* bankd_start's order: holds first, then the reports. */
	if ((bd.holds = holds_open(bd.base, conf.state_dir, conf.fsync, err,
	    sizeof(err))) == NULL)
		fuzz_fail("holds_open: %s", err);
	if ((bd.dq = deliver_open(bd.base, &set, &hooks, err,
	    sizeof(err))) == NULL)
		fuzz_fail("deliver_open: %s", err);
	use_state(&bd);
	event_base_loop(bd.base, EVLOOP_NONBLOCK);
	deliver_close(bd.dq);
	holds_close(bd.holds);
	api_free(bd.api);
	event_base_free(bd.base);
	return 0;
}
