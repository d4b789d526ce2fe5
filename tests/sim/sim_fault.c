/*
 * sim_fault.c: fault injection for the API listener, and sending
 * answers (at once or after an injected delay).
 *
 * A latency fault applies the request's effect first and then holds
 * the answer back on an event timer: the loop never blocks, and the
 * case a client must survive (the server did the work, the answer
 * came late or never) is exactly what it simulates.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "sim_srv.h"

struct pending {
	struct srv		*srv;
	struct evhttp_request	*req;
	struct reply		 r;
	struct event		*ev;
	double			 t0;
	char			*method;
	char			*path;
};

static void
reply_free(struct reply *r)
{
	free(r->body);
	free(r->location);
	r->body = r->location = NULL;
}

void
reply_json(struct reply *r, int status, json_t *body)
{
	memset(r, 0, sizeof(*r));
	r->status = status;
	r->ctype = "application/json";
	if (body == NULL || (r->body = json_dumps(body, JSON_COMPACT)) ==
	    NULL) {
		reply_html(r, 500);
		return;
	}
}

/* Django's (or a proxy's) HTML error page: not JSON on purpose. */
void
reply_html(struct reply *r, int status)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
	r->status = status;
	r->ctype = "text/html; charset=utf-8";
	if (asprintf(&r->body, "<!doctype html>\n<html lang=\"en\">\n"
	    "<head>\n  <title>Server Error (%d)</title>\n</head>\n<body>\n"
	    "  <h1>Server Error (%d)</h1><p></p>\n</body>\n</html>\n",
	    status, status) == -1)
		r->body = NULL;
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 301: return "Moved Permanently";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 415: return "Unsupported Media Type";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

static void
send_now(struct srv *s, struct evhttp_request *req, struct reply *r,
    const char *method, const char *path, double t0)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*buf;

	evhttp_add_header(h, "Content-Type", r->ctype);
	if (r->location != NULL)
		evhttp_add_header(h, "Location", r->location);
	if (r->status == 401)
		evhttp_add_header(h, "WWW-Authenticate", "Token");
	if ((buf = evbuffer_new()) != NULL && r->body != NULL)
		evbuffer_add(buf, r->body, strlen(r->body));
	evhttp_send_reply(req, r->status, reason(r->status), buf);
	if (buf != NULL)
		evbuffer_free(buf);
	srv_log(s, method, path, r->status, srv_now() - t0);
	reply_free(r);
}

static void
pending_fire(evutil_socket_t fd, short what, void *arg)
{
	struct pending	*p = arg;

	(void)fd;
	(void)what;
	/* evhttp frees req itself if the client went away meanwhile. */
	send_now(p->srv, p->req, &p->r, p->method, p->path, p->t0);
	event_free(p->ev);
	free(p->method);
	free(p->path);
	free(p);
}

/* Send r (consumed), after delay_ms if positive. */
void
reply_send(struct srv *s, struct evhttp_request *req, struct reply *r,
    int delay_ms, double t0)
{
	const char	*method, *path = evhttp_request_get_uri(req);
	struct pending	*p;
	struct timeval	 tv;

	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET: method = "GET"; break;
	case EVHTTP_REQ_POST: method = "POST"; break;
	case EVHTTP_REQ_PUT: method = "PUT"; break;
	case EVHTTP_REQ_PATCH: method = "PATCH"; break;
	case EVHTTP_REQ_DELETE: method = "DELETE"; break;
	default: method = "OTHER"; break;
	}
	if (delay_ms <= 0 || (p = calloc(1, sizeof(*p))) == NULL) {
		send_now(s, req, r, method, path, t0);
		return;
	}
	p->srv = s;
	p->req = req;
	p->r = *r;
	p->t0 = t0;
	p->method = strdup(method);
	p->path = strdup(path);
	p->ev = evtimer_new(s->base, pending_fire, p);
	tv.tv_sec = delay_ms / 1000;
	tv.tv_usec = (delay_ms % 1000) * 1000;
	if (p->method == NULL || p->path == NULL || p->ev == NULL ||
	    evtimer_add(p->ev, &tv) == -1) {
		/* Cannot delay: answer now rather than never. */
		send_now(s, req, r, method, path, t0);
		if (p->ev != NULL)
			event_free(p->ev);
		free(p->method);
		free(p->path);
		free(p);
	}
}

/* Close or reopen the API listening socket to match the refuse fault. */
static int
apply_refuse(struct srv *s, int refuse)
{
	if (refuse && s->api_sock != NULL) {
		evhttp_del_accept_socket(s->api, s->api_sock);
		s->api_sock = NULL;
	} else if (!refuse && s->api_sock == NULL) {
		s->api_sock = evhttp_bind_socket_with_handle(s->api,
		    s->api_host, s->api_port);
		if (s->api_sock == NULL)
			return -1;
	}
	return 0;
}

void
fault_clear(struct srv *s)
{
	memset(&s->fault, 0, sizeof(s->fault));
	if (apply_refuse(s, 0) == -1)
		srv_log(s, "FAULT", "reopen of the API socket failed", 0, 0);
}

int
fault_set(struct srv *s, json_t *o, char *err, size_t len)
{
	struct fault	 f;
	json_t		*v;

	if (!json_is_object(o)) {
		snprintf(err, len, "body must be a JSON object");
		return -1;
	}
	memset(&f, 0, sizeof(f));
	f.active = 1;
	f.count = -1;
	f.latency_ms = json_integer_value(json_object_get(o, "latency_ms"));
	f.status = json_integer_value(json_object_get(o, "status"));
	f.garbage = json_is_true(json_object_get(o, "garbage"));
	f.refuse = json_is_true(json_object_get(o, "refuse"));
	if ((v = json_object_get(o, "count")) != NULL && json_is_integer(v) &&
	    json_integer_value(v) > 0)
		f.count = json_integer_value(v);
	snprintf(f.methods, sizeof(f.methods), "%s",
	    json_string_value(json_object_get(o, "methods")) ?
	    json_string_value(json_object_get(o, "methods")) : "");
	snprintf(f.prefix, sizeof(f.prefix), "%s",
	    json_string_value(json_object_get(o, "path_prefix")) ?
	    json_string_value(json_object_get(o, "path_prefix")) : "");
	/* An answer of the test's own: a proxy's page, a redirect. */
	snprintf(f.body, sizeof(f.body), "%s",
	    json_string_value(json_object_get(o, "body")) ?
	    json_string_value(json_object_get(o, "body")) : "");
	snprintf(f.ctype, sizeof(f.ctype), "%s",
	    json_string_value(json_object_get(o, "content_type")) ?
	    json_string_value(json_object_get(o, "content_type")) :
	    "text/html; charset=utf-8");
	snprintf(f.location, sizeof(f.location), "%s",
	    json_string_value(json_object_get(o, "location")) ?
	    json_string_value(json_object_get(o, "location")) : "");
	if (f.latency_ms < 0 || (f.status != 0 && (f.status < 100 ||
	    f.status > 599))) {
		snprintf(err, len, "bad latency_ms or status");
		return -1;
	}
	s->fault = f;
	if (apply_refuse(s, f.refuse) == -1) {
		snprintf(err, len, "could not reopen the API socket");
		return -1;
	}
	return 0;
}

json_t *
fault_json(const struct fault *f)
{
	if (!f->active)
		return json_object();
	return json_pack("{s:i,s:i,s:b,s:b,s:s,s:s,s:I}", "latency_ms",
	    f->latency_ms, "status", f->status, "garbage", f->garbage,
	    "refuse", f->refuse, "methods", f->methods, "path_prefix",
	    f->prefix, "count", (json_int_t)f->count);
}

static int
method_listed(const char *list, const char *method)
{
	char	buf[64], *tok, *save;

	if (*list == '\0')
		return 1;
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save))
		if (strcasecmp(tok, method) == 0)
			return 1;
	return 0;
}

/*
 * Does the fault apply to this request (rel: path below the base)?
 * Copies it to *out and counts it down; the last use clears it.
 */
int
fault_match(struct srv *s, const char *method, const char *rel,
    struct fault *out)
{
	struct fault	*f = &s->fault;
	size_t		 bl = strlen(s->base_path);

	if (!f->active || !method_listed(f->methods, method))
		return 0;
	if (*f->prefix != '\0' && strncmp(rel, f->prefix,
	    strlen(f->prefix)) != 0 && !(strncmp(f->prefix, s->base_path,
	    bl) == 0 && strncmp(rel, f->prefix + bl, strlen(f->prefix + bl))
	    == 0))
		return 0;
	*out = *f;
	if (f->count > 0 && --f->count == 0)
		fault_clear(s);
	return 1;
}
