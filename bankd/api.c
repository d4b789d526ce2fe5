/*
 * api.c - libcurl multi on libevent: curl tells us which sockets to watch
 * and when to wake it; we tell curl when they are ready.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "api.h"
#include "counters.h"
#include "log.h"

/* Easy handles kept for the next requests (each is some kilobytes). */
#define API_SPARE	16

struct api {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	char			*base_url;
	struct curl_slist	*headers;
	struct curl_slist	*old_headers;	/* before a new token */
	int			 timeout_ms;
	int			 inflight;
	TAILQ_HEAD(, api_call)	 calls;		/* in flight, for api_free */
	CURL			*spare[API_SPARE];
	int			 nspare;
	struct counters		*counters;	/* by route; NULL: none */
};

struct api_call {
	struct api		*api;
	CURL			*easy;
	char			*req_body;
	char			*resp;
	size_t			 len;
	size_t			 cap;
	api_cb			 cb;
	void			*arg;
	enum counter_route	 route;
	TAILQ_ENTRY(api_call)	 link;
	char			 errbuf[CURL_ERROR_SIZE];
};

static void	api_reap(struct api *);
static void	retire(struct api *);

/* Each socket curl asks us to watch carries one event. */
static void
on_socket_ready(evutil_socket_t fd, short what, void *arg)
{
	struct api *api = arg;
	int flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(api->multi, fd, flags, &running);
	(void)running;
	api_reap(api);
}

static int
on_socket_change(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct api *api = userp;
	struct event *ev = socketp;
	short kind = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (ev != NULL)
			event_free(ev);
		curl_multi_assign(api->multi, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (ev != NULL)
		event_free(ev);
	ev = event_new(api->base, s, kind, on_socket_ready, api);
	if (ev == NULL || event_add(ev, NULL) != 0) {
		log_err("api: cannot watch a connection socket");
		return -1;
	}
	curl_multi_assign(api->multi, s, ev);
	return 0;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct api *api = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(api->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	api_reap(api);
}

static int
on_timer_change(CURLM *multi, long timeout_ms, void *userp)
{
	struct api *api = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(api->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(api->timer, &tv);
}

/* A handle for a new request: a spare one, reset, or a new one. */
static CURL *
get_easy(struct api *api)
{
	if (api->nspare > 0)
		return api->spare[--api->nspare];
	return curl_easy_init();
}

/*
 * Keep a finished handle: setting one up again costs less than a new one
 * (a delivery backlog makes one request per report).
 */
static void
put_easy(struct api *api, CURL *easy)
{
	if (api->nspare == API_SPARE) {
		curl_easy_cleanup(easy);
		return;
	}
	curl_easy_reset(easy);
	api->spare[api->nspare++] = easy;
}

/*
 * A server or proxy that echoes the request (a debug page, an error that
 * quotes its headers) would put the token into what bankd logs, keeps
 * as a dead letter's reason and shows in bankctl status: every token in
 * use (a reload's old ones too, while requests sent with them are in
 * flight) is masked in the body before anyone reads it.
 */
static void
mask_tokens(const struct api *api, char *body, size_t len)
{
	static const char pfx[] = "Authorization: Token ";
	const struct curl_slist *lists[2] = { api->headers, api->old_headers };
	const struct curl_slist *h;
	const char *tok;
	char *p;
	size_t i, n;

	for (i = 0; i < 2; i++)
		for (h = lists[i]; h != NULL; h = h->next) {
			if (strncmp(h->data, pfx, sizeof(pfx) - 1) != 0)
				continue;
			tok = h->data + sizeof(pfx) - 1;
			if ((n = strlen(tok)) == 0)
				continue;
			for (p = body; (p = memmem(p, len - (size_t)(p - body),
			    tok, n)) != NULL; p += n)
				memset(p, '*', n);
		}
}

/* Hand every finished transfer to its callback. */
static void
api_reap(struct api *api)
{
	struct api_reply rep;
	struct api_call *call;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(api->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &call);
		memset(&rep, 0, sizeof(rep));
		if (msg->data.result == CURLE_OK)
			curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE,
			    &rep.status);
		else
			rep.transport = call->errbuf[0] ? call->errbuf :
			    curl_easy_strerror(msg->data.result);
		curl_easy_getinfo(call->easy, CURLINFO_TOTAL_TIME, &rep.seconds);
		/* Not followed (a redirected POST loses its body): named. */
		if (rep.status >= 300 && rep.status < 400)
			curl_easy_getinfo(call->easy, CURLINFO_REDIRECT_URL,
			    &rep.location);
		if (call->resp != NULL)
			mask_tokens(api, call->resp, call->len);
		rep.body = call->resp ? call->resp : "";
		rep.len = call->len;
		curl_multi_remove_handle(api->multi, call->easy);
		TAILQ_REMOVE(&api->calls, call, link);
		api->inflight--;
		if (api->counters != NULL)
			counters_api(api->counters, call->route, rep.status,
			    msg->data.result == CURLE_OPERATION_TIMEDOUT);
		call->cb(&rep, call->arg);
		put_easy(api, call->easy);
		free(call->req_body);
		free(call->resp);
		free(call);
	}
	retire(api);
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct api_call *call = arg;
	size_t len = size * n;
	char *p;

	/* Answers are small; a huge one is not the API talking. */
	if (call->len + len > 4 * 1024 * 1024)
		return 0;
	if (call->len + len + 1 > call->cap) {
		size_t cap = (call->len + len + 1) * 2;

		if ((p = realloc(call->resp, cap)) == NULL)
			return 0;
		call->resp = p;
		call->cap = cap;
	}
	memcpy(call->resp + call->len, data, len);
	call->len += len;
	call->resp[call->len] = '\0';
	return len;
}

/* Header lists no request uses any more. */
static void
retire(struct api *api)
{
	if (api->inflight == 0 && api->old_headers != NULL) {
		curl_slist_free_all(api->old_headers);
		api->old_headers = NULL;
	}
}

static struct curl_slist *
headers_of(const char *token)
{
	struct curl_slist *h, *n;
	char auth[600];

	snprintf(auth, sizeof(auth), "Authorization: Token %s", token);
	if ((h = curl_slist_append(NULL, auth)) == NULL)
		return NULL;
	if ((n = curl_slist_append(h, "Content-Type: application/json")) ==
	    NULL || (n = curl_slist_append(h, "Accept: application/json")) ==
	    NULL) {
		curl_slist_free_all(h);
		return NULL;
	}
	memset(auth, 0, sizeof(auth));
	return h;
}

/*
 * Requests in flight keep the list they were given (curl reads it as it
 * sends): the old one is freed only once none is left, so it is kept
 * aside meanwhile.
 */
int
api_set_token(struct api *api, const char *token)
{
	struct curl_slist *h, *tail;

	if ((h = headers_of(token)) == NULL)
		return -1;
	/* Retired lists are chained, and freed together once idle. */
	if (api->old_headers == NULL)
		api->old_headers = api->headers;
	else {
		for (tail = api->old_headers; tail->next != NULL;
		    tail = tail->next)
			;
		tail->next = api->headers;
	}
	api->headers = h;
	retire(api);
	return 0;
}

struct api *
api_new(struct event_base *base, const char *base_url, const char *token,
    int timeout_ms, int max_conns)
{
	struct api *api;

	if ((api = calloc(1, sizeof(*api))) == NULL)
		return NULL;
	TAILQ_INIT(&api->calls);
	api->base = base;
	api->timeout_ms = timeout_ms;
	api->headers = headers_of(token);
	api->base_url = strdup(base_url);
	api->multi = curl_multi_init();
	api->timer = evtimer_new(base, on_timer, api);
	if (api->headers == NULL || api->base_url == NULL ||
	    api->multi == NULL || api->timer == NULL) {
		api_free(api);
		return NULL;
	}
	curl_multi_setopt(api->multi, CURLMOPT_SOCKETFUNCTION, on_socket_change);
	curl_multi_setopt(api->multi, CURLMOPT_SOCKETDATA, api);
	curl_multi_setopt(api->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
	curl_multi_setopt(api->multi, CURLMOPT_TIMERDATA, api);
	curl_multi_setopt(api->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)max_conns);
	curl_multi_setopt(api->multi, CURLMOPT_MAXCONNECTS, (long)max_conns);
	return api;
}

void
api_free(struct api *api)
{
	struct api_call *call;

	if (api == NULL)
		return;
	/* Outstanding calls are abandoned: their callbacks never run. */
	while ((call = TAILQ_FIRST(&api->calls)) != NULL) {
		TAILQ_REMOVE(&api->calls, call, link);
		curl_multi_remove_handle(api->multi, call->easy);
		curl_easy_cleanup(call->easy);
		free(call->req_body);
		free(call->resp);
		free(call);
	}
	if (api->multi != NULL)
		curl_multi_cleanup(api->multi);
	if (api->timer != NULL)
		event_free(api->timer);
	while (api->nspare > 0)
		curl_easy_cleanup(api->spare[--api->nspare]);
	curl_slist_free_all(api->headers);
	curl_slist_free_all(api->old_headers);
	free(api->base_url);
	free(api);
}

void
api_set_counters(struct api *api, struct counters *c)
{
	api->counters = c;
}

int
api_request(struct api *api, const char *method, const char *path,
    const char *body, api_cb cb, void *arg)
{
	char *copy = NULL;

	if (body != NULL && (copy = strdup(body)) == NULL)
		return -1;
	return api_request_take(api, method, path, copy, cb, arg);
}

int
api_request_take(struct api *api, const char *method, const char *path,
    char *body, api_cb cb, void *arg)
{
	struct api_call *call;
	char url[2048];

	if ((size_t)snprintf(url, sizeof(url), "%s%s", api->base_url, path) >=
	    sizeof(url) || (call = calloc(1, sizeof(*call))) == NULL) {
		free(body);
		return -1;
	}
	call->api = api;
	call->route = counters_route(method, path);
	call->cb = cb;
	call->arg = arg;
	call->req_body = body;
	if ((call->easy = get_easy(api)) == NULL) {
		free(body);
		free(call);
		return -1;
	}
	curl_easy_setopt(call->easy, CURLOPT_URL, url);
	curl_easy_setopt(call->easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(call->easy, CURLOPT_HTTPHEADER, api->headers);
	if (call->req_body != NULL)
		curl_easy_setopt(call->easy, CURLOPT_POSTFIELDS, call->req_body);
	curl_easy_setopt(call->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(call->easy, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(call->easy, CURLOPT_PRIVATE, call);
	curl_easy_setopt(call->easy, CURLOPT_ERRORBUFFER, call->errbuf);
	curl_easy_setopt(call->easy, CURLOPT_TIMEOUT_MS, (long)api->timeout_ms);
	curl_easy_setopt(call->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(call->easy, CURLOPT_FOLLOWLOCATION, 0L);
	if (curl_multi_add_handle(api->multi, call->easy) != CURLM_OK) {
		curl_easy_cleanup(call->easy);
		free(call->req_body);
		free(call);
		return -1;
	}
	TAILQ_INSERT_TAIL(&api->calls, call, link);
	api->inflight++;
	return 0;
}

json_t *
api_reply_json(const struct api_reply *rep)
{
	if (rep->len == 0)
		return NULL;
	return json_loadb(rep->body, rep->len, 0, NULL);
}

/* A short, printable excerpt of a body that is not JSON. */
static void
excerpt(const char *body, char *out, size_t len)
{
	size_t i, j = 0;

	for (i = 0; body[i] != '\0' && j + 1 < len && i < 80; i++)
		out[j++] = isprint((unsigned char)body[i]) ? body[i] : ' ';
	out[j] = '\0';
}

void
api_describe(const struct api_reply *rep, char *buf, size_t len)
{
	json_t *j, *v;
	char ex[100];
	const char *msg = NULL;

	if (rep->status == 0) {
		snprintf(buf, len, "API unreachable: %s", rep->transport ?
		    rep->transport : "no answer");
		return;
	}
	if ((j = api_reply_json(rep)) == NULL) {
		excerpt(rep->body, ex, sizeof(ex));
		snprintf(buf, len, "API answered HTTP %ld with a non-JSON body "
		    "(\"%s\")", rep->status, ex);
		return;
	}
	if ((v = json_object_get(j, "message")) != NULL && json_is_string(v))
		msg = json_string_value(v);
	else if ((v = json_object_get(j, "detail")) != NULL &&
	    json_is_string(v))
		msg = json_string_value(v);
	if (msg != NULL)
		snprintf(buf, len, "HTTP %ld: %s", rep->status, msg);
	else {
		char *dump = json_dumps(j, JSON_COMPACT);

		snprintf(buf, len, "HTTP %ld: %s", rep->status,
		    dump ? dump : "?");
		free(dump);
	}
	json_decref(j);
}

int
api_segment(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	unsigned char c;

	/* "." and ".." would be folded out of the path, not sent. */
	if (*s == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return -1;
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (o + 4 > len)
			return -1;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		    c == '~')
			out[o++] = (char)c;
		else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return 0;
}
