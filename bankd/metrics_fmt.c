/*
 * metrics_fmt.c - the Prometheus text of metrics_fmt.h.  Every value is
 * an integer or an exact decimal made from one (seconds from
 * microseconds, SU from cents): no binary floating point, so that a
 * scraped figure is the one `bankctl status` prints.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_fmt.h"
#include "money.h"

void
mfmt_init(struct mfmt_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
mfmt_free(struct mfmt_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void
mfmt_add(struct mfmt_buf *b, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return;
	if (n > b->max - b->len) {
		b->failed = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void	 addf(struct mfmt_buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
addf(struct mfmt_buf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Our lines are short: a longer one is a bug, not a cut line. */
	if (n < 0 || (size_t)n >= sizeof(line)) {
		b->failed = 1;
		return;
	}
	mfmt_add(b, line, (size_t)n);
}

void
mfmt_escape(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in != '\0' && o + 3 < len; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else
			out[o++] = *in;
	}
	if (len > 0)
		out[o] = '\0';
}

char *
mfmt_seconds(uint64_t us, char out[32])
{
	char frac[8];
	int i;

	snprintf(frac, sizeof(frac), "%06" PRIu64, us % 1000000);
	for (i = 5; i >= 0 && frac[i] == '0'; i--)
		frac[i] = '\0';
	snprintf(out, 32, "%" PRIu64 "%s%s", us / 1000000, frac[0] ? "." : "",
	    frac);
	return out;
}

static void
family(struct mfmt_buf *b, const char *name, const char *type,
    const char *help)
{
	addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
one(struct mfmt_buf *b, const char *name, const char *type, const char *help,
    uint64_t v)
{
	family(b, name, type, help);
	addf(b, "%s %" PRIu64 "\n", name, v);
}

/* The edge's counters (counters.c), each under its own name. */
static void
each_counter(enum counter k, const char *name, enum counter_kind kind,
    uint64_t v, void *arg)
{
	struct mfmt_buf *b = arg;
	char full[96];

	snprintf(full, sizeof(full), "bankd_%s%s", name, kind == COUNTER_TOTAL ?
	    "_total" : "");
	one(b, full, kind == COUNTER_TOTAL ? "counter" : "gauge",
	    counters_help(k), v);
}

static void
decisions(struct mfmt_buf *b, const struct counters *c)
{
	int s, o;

	family(b, "bankd_decisions_total", "counter", "Submission checks "
	    "decided, by what decided them and the outcome.");
	for (s = 0; s < CSRC_MAX; s++)
		for (o = 0; o < COUT_MAX; o++) {
			/* An error has no source; every source decides. */
			if ((s == CSRC_NONE) != (o == COUT_ERROR))
				continue;
			addf(b, "bankd_decisions_total{source=\"%s\",outcome="
			    "\"%s\"} %" PRIu64 "\n", counters_source_name(s),
			    counters_outcome_name(o), c->decisions[s][o]);
		}
}

static void
histogram(struct mfmt_buf *b, const char *name, const char *help,
    const struct counters_hist *h)
{
	char le[32], sum[32];
	uint64_t cum = 0;
	int i;

	family(b, name, "histogram", help);
	for (i = 0; i < CHIST_BUCKETS; i++) {
		cum += h->n[i];
		addf(b, "%s_bucket{le=\"%s\"} %" PRIu64 "\n", name,
		    mfmt_seconds(counters_hist_le_us[i], le), cum);
	}
	addf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, h->count);
	addf(b, "%s_sum %s\n%s_count %" PRIu64 "\n", name,
	    mfmt_seconds(h->sum_us, sum), name, h->count);
}

static void
api_requests(struct mfmt_buf *b, const struct counters *c)
{
	char st[16];
	int r, s;

	family(b, "bankd_api_requests_total", "counter", "Requests to the "
	    "API that ended, by route and HTTP status (error: no answer, "
	    "timeout: api.timeout_ms).");
	for (r = 0; r < CRT_MAX; r++)
		for (s = 0; s < CSTATUS_MAX; s++) {
			if (c->api[r][s] == 0)
				continue;
			if (s == CSTATUS_ERROR || s == CSTATUS_TIMEOUT)
				snprintf(st, sizeof(st), "%s", s ==
				    CSTATUS_ERROR ? "error" : "timeout");
			else
				snprintf(st, sizeof(st), "%d", s + CSTATUS_LO);
			addf(b, "bankd_api_requests_total{endpoint=\"%s\","
			    "status=\"%s\"} %" PRIu64 "\n",
			    counters_route_name(r), st, c->api[r][s]);
		}
}

static void
by_kind(struct mfmt_buf *b, const char *name, const char *help,
    const uint64_t v[2])
{
	family(b, name, "counter", help);
	addf(b, "%s{kind=\"start\"} %" PRIu64 "\n%s{kind=\"end\"} %" PRIu64
	    "\n", name, v[0], name, v[1]);
}

/* The queue's: a controller's delivery queue or a relay's. */
static void
queue(struct mfmt_buf *b, const struct mfmt_view *v)
{
	one(b, "bankd_queue_reports", "gauge", "Reports in the queue: "
	    "waiting, in flight or dead (bankctl status: queue).", v->queued);
	one(b, "bankd_queue_inflight", "gauge", "Reports being sent now.",
	    v->inflight);
	family(b, "bankd_queue_oldest_seconds", "gauge", "Age of the oldest "
	    "report in the queue; 0 when empty.");
	addf(b, "bankd_queue_oldest_seconds %" PRId64 "\n", v->oldest_s);
	one(b, "bankd_dead_letters", "gauge", "Reports the API refused for "
	    "good, kept for an operator (bankctl status: dead).", v->dead);
	one(b, "bankd_journal_bytes", "gauge", "Size of the queue's journal "
	    "file.", v->journal_bytes);
}

static void
controller(struct mfmt_buf *b, const struct mfmt_view *v)
{
	const struct counters *c = v->counters;
	char su[MONEY_FMT_LEN];

	decisions(b, c);
	histogram(b, "bankd_decision_seconds", "Time from a check's arrival "
	    "to its answer.", &c->decision);
	api_requests(b, c);
	by_kind(b, "bankd_reports_accepted_total", "Reports journaled (new, "
	    "not a repeat), by kind.", c->accepted);
	by_kind(b, "bankd_reports_delivered_total", "Reports the API took, "
	    "by kind (sum: bankctl status delivered).", c->delivered);
	one(b, "bankd_delivery_retries_total", "counter", "Deliveries tried "
	    "again after a failure (bankctl status: retries).", v->retries);
	queue(b, v);
	one(b, "bankd_holds", "gauge", "Holds on queued jobs (bankctl "
	    "holds).", v->holds);
	family(b, "bankd_holds_su", "gauge", "SU the holds hold, exact to the "
	    "cent.");
	addf(b, "bankd_holds_su %s\n", money_format(v->holds_cents, su));
	one(b, "bankd_cache_entries", "gauge", "API answers cached.",
	    v->cache_entries);
}

static void
relay(struct mfmt_buf *b, const struct mfmt_view *v)
{
	char up[2 * MFMT_UPSTREAM + 1];

	mfmt_escape(v->upstream, up, sizeof(up));
	family(b, "bankd_relay_backlog", "gauge", "Reports a relay has not "
	    "forwarded yet, by the upstream it forwards to now.");
	addf(b, "bankd_relay_backlog{upstream=\"%s\"} %" PRIu64 "\n", up,
	    v->backlog);
	queue(b, v);
}

int
mfmt_render(struct mfmt_buf *b, const struct mfmt_view *v)
{
	char ver[64];

	mfmt_escape(v->version, ver, sizeof(ver));
	one(b, "bankd_up", "gauge", "1: bankd answers.", 1);
	family(b, "bankd_build_info", "gauge", "bankd's version and role.");
	addf(b, "bankd_build_info{version=\"%s\",role=\"%s\"} 1\n", ver,
	    v->relay ? "relay" : "controller");
	family(b, "bankd_start_time_seconds", "gauge", "When bankd started, "
	    "unix time.");
	addf(b, "bankd_start_time_seconds %" PRId64 "\n", v->started);
	counters_each(v->counters, each_counter, b);
	if (v->relay)
		relay(b, v);
	else
		controller(b, v);
	return b->failed ? -1 : 0;
}
