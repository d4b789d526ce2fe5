/*
 * sim_http.c: the API listener.  Routing, authentication, media type
 * and method checks happen here in the order Django and DRF apply
 * them (URL, then auth, then permission, then method, then body); the
 * work itself is done by sim_bank.
 */
#include <sys/socket.h>
#include <event2/bufferevent.h>
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "sim_srv.h"

enum route {
	R_NONE, R_CAN_SUBMIT, R_JOBS, R_JOB, R_PARTITIONS, R_USERS
};

struct call {
	struct srv		*s;
	struct evhttp_request	*req;
	const char		*method;
	enum route		 route;
	char			*seg[3];	/* decoded path parameters */
	struct reply		 r;
};

static const char *
method_name(enum evhttp_cmd_type c)
{
	switch (c) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	default: return "OTHER";
	}
}

/* Match rel (below the base, leading slash removed, slash ended). */
static enum route
match(const char *rel, char **seg)
{
	char		*parts[5] = { NULL }, *copy, *save, *t;
	int		 n = 0, i;
	enum route	 r = R_NONE;

	if (strstr(rel, "//") != NULL || (copy = strdup(rel)) == NULL)
		return R_NONE;
	for (t = strtok_r(copy, "/", &save); t != NULL;
	    t = strtok_r(NULL, "/", &save)) {
		if (n == 5)
			goto out;
		parts[n++] = t;
	}
	if (n == 4 && strcmp(parts[0], "can_submit_job") == 0)
		r = R_CAN_SUBMIT;
	else if (n == 1 && strcmp(parts[0], "jobs") == 0)
		r = R_JOBS;
	else if (n == 2 && strcmp(parts[0], "jobs") == 0)
		r = R_JOB;
	else if (n == 1 && strcmp(parts[0], "partitions") == 0)
		r = R_PARTITIONS;
	else if (n == 1 && strcmp(parts[0], "users") == 0)
		r = R_USERS;
	for (i = 1; r != R_NONE && i < n; i++)
		if ((seg[i - 1] = evhttp_uridecode(parts[i], 0, NULL)) == NULL)
			r = R_NONE;
out:
	free(copy);
	return r;
}

static enum stat_kind
stat_of(enum route r, const char *m)
{
	switch (r) {
	case R_CAN_SUBMIT: return ST_CAN_SUBMIT;
	case R_JOBS:
		return strcmp(m, "POST") == 0 ? ST_JOBS_POST :
		    strcmp(m, "GET") == 0 ? ST_JOBS_GET : ST_OTHER;
	case R_JOB:
		return strcmp(m, "PUT") == 0 ? ST_JOBS_PUT :
		    strcmp(m, "GET") == 0 ? ST_JOBS_GET : ST_OTHER;
	case R_PARTITIONS: return ST_PARTITIONS;
	case R_USERS: return ST_USERS;
	default: return ST_OTHER;
	}
}

static void
detail(struct call *c, int status, const char *msg)
{
	json_t	*o = json_pack("{s:s}", "detail", msg);

	reply_json(&c->r, status, o);
	json_decref(o);
}

static void
from_resp(struct call *c, struct sim_resp *sr)
{
	if (sr->html)
		reply_html(&c->r, sr->status);
	else
		reply_json(&c->r, sr->status, sr->body);
	sim_resp_clear(sr);
}

/* TokenAuthentication; 1 staff, 0 plain, -1 answered (401). */
static int
authenticate(struct call *c)
{
	const char	*h, *key;
	int		 staff;

	h = evhttp_find_header(evhttp_request_get_input_headers(c->req),
	    "Authorization");
	if (h == NULL || strncasecmp(h, "Token", 5) != 0 ||
	    (h[5] != '\0' && h[5] != ' ')) {
		detail(c, 401, "Authentication credentials were not provided.");
		return -1;
	}
	for (key = h + 5; *key == ' '; key++)
		;
	if (*key == '\0') {
		detail(c, 401, "Invalid token header. No credentials provided.");
		return -1;
	}
	if (strchr(key, ' ') != NULL) {
		detail(c, 401, "Invalid token header. Token string should not "
		    "contain spaces.");
		return -1;
	}
	if ((staff = sim_bank_token(c->s->bank, key)) == -1) {
		detail(c, 401, "Invalid token.");
		return -1;
	}
	if (staff == -2) {		/* the real server's expiring tokens */
		detail(c, 401, "Expired token.");
		return -1;
	}
	return staff;
}

static int
allowed(enum route r, const char *m)
{
	switch (r) {
	case R_JOBS:
		return strcmp(m, "GET") == 0 || strcmp(m, "POST") == 0;
	case R_JOB:
		return strcmp(m, "GET") == 0 || strcmp(m, "PUT") == 0 ||
		    strcmp(m, "PATCH") == 0;
	default:
		return strcmp(m, "GET") == 0;
	}
}

/* request.data: media type, then JSON.  NULL when answered. */
static json_t *
body_json(struct call *c)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(c->req);
	const char	*ct;
	char		 msg[512];
	size_t		 len = evbuffer_get_length(in), n;
	json_error_t	 e;
	json_t		*o;

	ct = evhttp_find_header(evhttp_request_get_input_headers(c->req),
	    "Content-Type");
	if (len == 0 && ct == NULL)
		return json_object();
	n = ct != NULL ? strcspn(ct, ";") : 0;
	if (ct == NULL || n != strlen("application/json") ||
	    strncasecmp(ct, "application/json", n) != 0) {
		snprintf(msg, sizeof(msg), "Unsupported media type \"%.*s\" in "
		    "request.", (int)n, ct != NULL ? ct : "");
		detail(c, 415, msg);
		return NULL;
	}
	if (len == 0)
		return json_object();
	o = json_loadb((const char *)evbuffer_pullup(in, -1), len,
	    JSON_DECODE_ANY, &e);
	if (o == NULL) {
		snprintf(msg, sizeof(msg), "JSON parse error - %s: line %d "
		    "column %d (char %d)", e.text, e.line, e.column, e.position);
		detail(c, 400, msg);
	}
	return o;
}

static void
query_get(struct evhttp_request *req, struct evkeyvalq *q,
    struct sim_query *sq, char *url, size_t len)
{
	const struct evhttp_uri	*u = evhttp_request_get_evhttp_uri(req);
	const char		*host;

	memset(sq, 0, sizeof(*sq));
	if (evhttp_uri_get_query(u) == NULL ||
	    evhttp_parse_query_str(evhttp_uri_get_query(u), q) == -1)
		TAILQ_INIT(q);
	sq->user = evhttp_find_header(q, "user");
	sq->account = evhttp_find_header(q, "account");
	sq->jobstatus = evhttp_find_header(q, "jobstatus");
	sq->partition = evhttp_find_header(q, "partition");
	sq->min_amount = evhttp_find_header(q, "min_amount");
	sq->max_amount = evhttp_find_header(q, "max_amount");
	sq->start_time = evhttp_find_header(q, "start_time");
	sq->end_time = evhttp_find_header(q, "end_time");
	sq->page = evhttp_find_header(q, "page");
	host = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Host");
	snprintf(url, len, "http://%s%s", host != NULL ? host : "localhost",
	    evhttp_uri_get_path(u));
	sq->url = url;
}

static void
do_list(struct call *c)
{
	struct evkeyvalq	q;
	struct sim_query	sq;
	struct sim_resp		sr;
	char			url[1024];

	query_get(c->req, &q, &sq, url, sizeof(url));
	if (c->route == R_JOBS)
		sr = sim_jobs_list(c->s->bank, &sq);
	else if (c->route == R_PARTITIONS)
		sr = sim_partitions_list(c->s->bank, &sq);
	else
		sr = sim_users_list(c->s->bank, &sq);
	from_resp(c, &sr);
	evhttp_clear_headers(&q);
}

/* The view proper, after URL, auth, permission and method checks. */
static void
dispatch(struct call *c)
{
	struct sim_resp	 sr;
	json_t		*body;
	int		 put = strcmp(c->method, "PUT") == 0;

	if (c->route == R_CAN_SUBMIT) {
		sr = sim_can_submit(c->s->bank, c->seg[0], c->seg[1],
		    c->seg[2]);
		from_resp(c, &sr);
	} else if (c->route == R_JOB && strcmp(c->method, "PATCH") == 0) {
		body = json_pack("{s:s}", "failure",
		    "This method is not supported.");
		reply_json(&c->r, 200, body);
		json_decref(body);
	} else if (c->route == R_JOB && !put)
		from_resp(c, (sr = sim_jobs_get(c->s->bank, c->seg[0]), &sr));
	else if (strcmp(c->method, "GET") == 0)
		do_list(c);
	else if ((body = body_json(c)) != NULL) {
		sr = put ? sim_jobs_put(c->s->bank, c->seg[0], body) :
		    sim_jobs_post(c->s->bank, body);
		from_resp(c, &sr);
		json_decref(body);
	}
}

/* URL resolution: 404, or 301 to the slashed URL (APPEND_SLASH). */
static int
resolve(struct call *c, const char *path)
{
	const char	*q, *rel;
	size_t		 bl = strlen(c->s->base_path);
	char		*slashed;

	if (strncmp(path, c->s->base_path, bl) != 0 || path[bl] != '/') {
		reply_html(&c->r, 404);
		return -1;
	}
	rel = path + bl + 1;
	if (*rel != '\0' && rel[strlen(rel) - 1] != '/') {
		if (asprintf(&slashed, "%s/", rel) == -1)
			slashed = NULL;
		if (slashed != NULL && match(slashed, c->seg) != R_NONE) {
			q = evhttp_uri_get_query(
			    evhttp_request_get_evhttp_uri(c->req));
			reply_html(&c->r, 301);
			if (asprintf(&c->r.location, "%s/%s%s", path,
			    q ? "?" : "", q ? q : "") == -1)
				c->r.location = NULL;
		} else
			reply_html(&c->r, 404);
		free(slashed);
		return -1;
	}
	if ((c->route = match(rel, c->seg)) == R_NONE) {
		reply_html(&c->r, 404);
		return -1;
	}
	return 0;
}

static void
handle(struct call *c, const char *path)
{
	int	staff;
	char	msg[64];

	if (resolve(c, path) == -1 || (staff = authenticate(c)) == -1)
		return;
	if (!staff && strcmp(c->method, "GET") != 0 &&
	    strcmp(c->method, "HEAD") != 0 &&
	    strcmp(c->method, "OPTIONS") != 0 && c->route != R_CAN_SUBMIT) {
		detail(c, 403, "You do not have permission to perform this "
		    "action.");
		return;
	}
	if (!allowed(c->route, c->method)) {
		snprintf(msg, sizeof(msg), "Method \"%s\" not allowed.",
		    c->method);
		detail(c, 405, msg);
		return;
	}
	dispatch(c);
}

/* The route a path names, for the statistics, whatever the answer. */
static enum route
peek_route(struct srv *s, const char *path)
{
	char		*seg[3] = { NULL }, *rel;
	size_t		 bl = strlen(s->base_path);
	enum route	 r = R_NONE;
	int		 i;

	if (strncmp(path, s->base_path, bl) != 0 || path[bl] != '/')
		return R_NONE;
	if (asprintf(&rel, "%s%s", path + bl + 1, path[strlen(path) - 1] ==
	    '/' ? "" : "/") == -1)
		return R_NONE;
	r = match(rel, seg);
	for (i = 0; i < 3; i++)
		free(seg[i]);
	free(rel);
	return r;
}

/* A fault that answers in place of the server (proxy page, garbage). */
static int
faulted(struct call *c, const struct fault *f)
{
	if (f->status != 0 && (f->body[0] != '\0' || f->location[0] != '\0')) {
		memset(&c->r, 0, sizeof(c->r));
		c->r.status = f->status;
		/* Static: the answer may go out after this call (latency). */
		c->r.ctype = strncmp(f->ctype, "application/json", 16) == 0 ?
		    "application/json" : "text/html; charset=utf-8";
		c->r.body = strdup(f->body);
		if (f->location[0] != '\0')
			c->r.location = strdup(f->location);
		return 1;
	}
	if (f->status != 0) {
		reply_html(&c->r, f->status);
		return 1;
	}
	if (f->garbage) {
		memset(&c->r, 0, sizeof(c->r));
		c->r.status = 200;
		c->r.ctype = "application/json";
		c->r.body = strdup("<html><body>upstream said: \x01\x02 "
		    "{not json</body></html>");
		return 1;
	}
	return 0;
}

void
api_cb(struct evhttp_request *req, void *arg)
{
	struct call	 c;
	struct fault	 f;
	const char	*path, *rel;
	double		 t0 = srv_now();
	char		*dpath;
	size_t		 bl;
	int		 hit, i;

	memset(&c, 0, sizeof(c));
	c.s = arg;
	c.req = req;
	/*
	 * Refusing: new connections are refused by the closed listener;
	 * one a client kept alive from before is cut without an answer,
	 * as a server that went away would.
	 */
	if (c.s->fault.active && c.s->fault.refuse) {
		struct evhttp_connection *ec = evhttp_request_get_connection(req);
		struct bufferevent *bev = ec ?
		    evhttp_connection_get_bufferevent(ec) : NULL;

		if (bev != NULL)
			shutdown(bufferevent_getfd(bev), SHUT_RDWR);
		evhttp_send_error(req, 503, NULL);
		return;
	}
	c.method = method_name(evhttp_request_get_command(req));
	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if ((dpath = strdup(path != NULL ? path : "/")) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	bl = strlen(c.s->base_path);
	rel = strncmp(dpath, c.s->base_path, bl) == 0 ? dpath + bl : dpath;
	hit = fault_match(c.s, c.method, rel, &f);
	if (!hit || !faulted(&c, &f))
		handle(&c, dpath);
	c.s->stats[stat_of(peek_route(c.s, dpath), c.method)]++;
	if (c.s->state_path != NULL &&
	    sim_bank_generation(c.s->bank) != c.s->saved_gen)
		srv_save(c.s);
	reply_send(c.s, req, &c.r, hit ? f.latency_ms : 0, t0);
	for (i = 0; i < 3; i++)
		free(c.seg[i]);
	free(dpath);
}
