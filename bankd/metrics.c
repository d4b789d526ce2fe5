/*
 * metrics.c - GET /metrics (metrics.h) with libevent's evhttp on bankd's
 * loop: no thread, so a scrape reads every figure between two events
 * and they agree with each other.  Whoever reaches the port may scrape
 * (it shows no user, account nor token), so every local user may try to
 * hurt it: headers and body are small and bounded, an idle client is cut
 * at a timeout, and connections are taken at most METRICS_ACCEPTS a
 * second: past that the listener pauses for the rest of the second
 * (libevent 2.1 has no cap on open connections, 2.2's max_connections;
 * its bufferevent hook sees each accept, not each close).  Only bankd's
 * own figures are served; nothing is read from the request but its
 * method and path.
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "bankd.h"
#include "cache.h"
#include "deliver.h"
#include "holds.h"
#include "log.h"
#include "metrics.h"
#include "metrics_fmt.h"
#include "relay.h"
#include "relay_fwd.h"
#include "relayq.h"

#define METRICS_ACCEPTS		32	/* connections taken in a second */
#define METRICS_HEADERS		4096	/* bytes of request line + headers */
#define METRICS_BODY		1024	/* a GET has none; a POST is told 405 */
#define METRICS_TIMEOUT_S	5
#define METRICS_CTYPE		"text/plain; version=0.0.4; charset=utf-8"

struct metrics {
	struct bankd			*bd;
	struct evhttp			*http;
	struct evhttp_bound_socket	*sock;
	struct event			*resume;	/* the paused listener */
	time_t				 second;	/* of the accepts counted */
	int				 accepts;
};

/* ---- the view ---------------------------------------------------------- */

static void
sum_hold(const struct hold_view *h, void *arg)
{
	*(int64_t *)arg += h->cents;
}

static int64_t
age_of(time_t t, time_t now)
{
	return t == 0 || now < t ? 0 : (int64_t)(now - t);
}

static void
view_controller(struct bankd *bd, struct mfmt_view *v, time_t now)
{
	struct deliver_stats st;

	deliver_stats(bd->dq, &st);
	v->queued = st.queued;
	v->inflight = st.inflight;
	v->dead = st.dead;
	v->retries = st.retries;
	v->journal_bytes = st.journal_bytes;
	v->oldest_s = age_of(st.oldest, now);
	v->holds = bd->holds ? holds_count(bd->holds) : 0;
	if (bd->holds != NULL)
		holds_list(bd->holds, NULL, -1, sum_hold, &v->holds_cents);
	v->cache_entries = bd->cache ? cache_entries(bd->cache) : 0;
}

static void
view_relay(struct bankd *bd, struct mfmt_view *v, time_t now)
{
	struct relayq_stats st;
	struct relay_fwd_view f;

	relay_view(bd, &st, &f);
	v->relay = 1;
	v->queued = st.backlog + st.dead;
	v->inflight = st.inflight;
	v->dead = st.dead;
	v->journal_bytes = st.journal_bytes;
	v->oldest_s = age_of(st.oldest, now);
	v->backlog = st.backlog;
	snprintf(v->upstream, sizeof(v->upstream), "%s", f.upstream ?
	    f.upstream : "none");
}

/* ---- HTTP -------------------------------------------------------------- */

static void
answer(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	evhttp_add_header(h, "Content-Type", code == 200 ? METRICS_CTYPE :
	    "text/plain; charset=utf-8");
	evhttp_add_header(h, "Connection", "close");
	if (code == 405)
		evhttp_add_header(h, "Allow", "GET");
	evbuffer_add(out, text, strlen(text));
	evhttp_send_reply(req, code, reason, NULL);
}

static void
scrape(struct metrics *m, struct evhttp_request *req)
{
	struct bankd *bd = m->bd;
	struct mfmt_view v;
	struct mfmt_buf b;
	time_t now = time(NULL);

	memset(&v, 0, sizeof(v));
	v.version = BANK_VERSION;
	v.started = bd->started;
	v.counters = &bd->counters;
	if (bd->relay != NULL)
		view_relay(bd, &v, now);
	else if (bd->dq != NULL)
		view_controller(bd, &v, now);
	mfmt_init(&b, MFMT_MAX_BYTES);
	if (mfmt_render(&b, &v) != 0) {
		log_warn("metrics: cannot render a scrape (out of memory)");
		answer(req, 500, "Internal Server Error", "out of memory\n");
	} else
		answer(req, 200, "OK", b.p);
	mfmt_free(&b);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET)
		answer(req, 405, "Method Not Allowed", "GET only\n");
	else if (uri == NULL || (strcmp(uri, "/metrics") != 0 &&
	    strncmp(uri, "/metrics?", 9) != 0))
		answer(req, 404, "Not Found", "only /metrics is here\n");
	else
		scrape(arg, req);
}

/* ---- the accept quota ------------------------------------------------- */

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct metrics *m = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(evhttp_bound_socket_get_listener(m->sock));
}

/*
 * evhttp asks here for each accepted connection's bufferevent (NULL:
 * its own); we only count.  The quota spent, the listener pauses for a
 * second: the rest wait in the kernel's backlog, and bankd's loop does
 * not spin on them.
 */
static struct bufferevent *
on_new_conn(struct event_base *base, void *arg)
{
	struct metrics *m = arg;
	struct timeval tv = { 1, 0 };
	time_t now = time(NULL);

	(void)base;
	if (now != m->second) {
		m->second = now;
		m->accepts = 0;
	}
	if (++m->accepts == METRICS_ACCEPTS && m->sock != NULL) {
		evconnlistener_disable(evhttp_bound_socket_get_listener(m->sock));
		evtimer_add(m->resume, &tv);
	}
	return NULL;
}

/* ---- start, stop ------------------------------------------------------- */

static int
bind_addr(struct metrics *m, const char *hostport)
{
	struct sockaddr_storage ss;
	unsigned salen;
	struct evconnlistener *l;

	if (bp_hostport(hostport, &ss, &salen) != 0)
		return -1;
	l = evconnlistener_new_bind(m->bd->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    16, (struct sockaddr *)&ss, (int)salen);
	if (l == NULL)
		return -1;
	if ((m->sock = evhttp_bind_listener(m->http, l)) == NULL) {
		evconnlistener_free(l);
		return -1;
	}
	return 0;
}

int
metrics_start(struct bankd *bd)
{
	struct metrics *m;

	if (bd->conf.metrics_listen == NULL)
		return 0;
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->http = evhttp_new(bd->base)) == NULL) {
		free(m);
		log_err("metrics: out of memory");
		return -1;
	}
	m->bd = bd;
	bd->metrics = m;
	if ((m->resume = evtimer_new(bd->base, on_resume, m)) == NULL) {
		log_err("metrics: out of memory");
		metrics_stop(bd);
		return -1;
	}
	evhttp_set_max_headers_size(m->http, METRICS_HEADERS);
	evhttp_set_max_body_size(m->http, METRICS_BODY);
	evhttp_set_timeout(m->http, METRICS_TIMEOUT_S);
	/* Every method reaches on_request, which answers 405 itself. */
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_bevcb(m->http, on_new_conn, m);
	evhttp_set_gencb(m->http, on_request, m);
	if (bind_addr(m, bd->conf.metrics_listen) != 0) {
		log_err("metrics: cannot listen on %s", bd->conf.metrics_listen);
		metrics_stop(bd);
		return -1;
	}
	log_info("metrics: serving GET /metrics on %s", bd->conf.metrics_listen);
	return 0;
}

void
metrics_stop(struct bankd *bd)
{
	struct metrics *m = bd->metrics;

	if (m == NULL)
		return;
	if (m->resume != NULL)
		event_free(m->resume);
	evhttp_free(m->http);
	free(m);
	bd->metrics = NULL;
}
