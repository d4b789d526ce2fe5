/*
 * sim_ctl.c: the control listener used by tests: balances, counters,
 * stored jobs, faults, fixture edits and saving.  JSON in and out, no
 * authentication (it listens on loopback only).
 */
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

#include "sim_srv.h"

const char *const stat_names[ST_NKINDS] = {
	"can_submit_job", "jobs_post", "jobs_put", "jobs_get", "partitions",
	"users", "other"
};

static json_t *
stats_json(struct srv *s)
{
	json_t		*req;
	unsigned long	 total = 0;
	int		 i;

	if ((req = json_object()) == NULL)
		return NULL;
	for (i = 0; i < ST_NKINDS; i++) {
		json_object_set_new(req, stat_names[i],
		    json_integer(s->stats[i]));
		total += s->stats[i];
	}
	return json_pack("{s:o,s:I}", "requests", req, "total",
	    (json_int_t)total);
}

static json_t *
ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

static json_t *
err_json(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

typedef int (*edit_fn)(struct sim_bank *, json_t *, char *, size_t);

/* A POST that edits the store; answers 200 or 400 with the reason. */
static int
edit(struct srv *s, json_t *body, edit_fn fn, json_t **out)
{
	char	err[256];

	if (!json_is_object(body)) {
		*out = err_json("body must be a JSON object");
		return 400;
	}
	if (fn(s->bank, body, err, sizeof(err)) == -1) {
		*out = err_json(err);
		return 400;
	}
	if (s->state_path != NULL)
		srv_save(s);
	*out = ok();
	return 200;
}

static int
route_post(struct srv *s, const char *path, json_t *body, json_t **out)
{
	char	err[256];

	if (strcmp(path, "/stats/reset") == 0) {
		memset(s->stats, 0, sizeof(s->stats));
		*out = ok();
	} else if (strcmp(path, "/faults") == 0) {
		if (fault_set(s, body, err, sizeof(err)) == -1) {
			*out = err_json(err);
			return 400;
		}
		*out = fault_json(&s->fault);
	} else if (strcmp(path, "/faults/clear") == 0) {
		fault_clear(s);
		*out = ok();
	} else if (strcmp(path, "/memberships") == 0)
		return edit(s, body, sim_upsert_membership, out);
	else if (strcmp(path, "/users") == 0)
		return edit(s, body, sim_add_user, out);
	else if (strcmp(path, "/accounts") == 0)
		return edit(s, body, sim_upsert_account, out);
	else if (strcmp(path, "/tokens") == 0)
		return edit(s, body, sim_set_token, out);
	else if (strcmp(path, "/save") == 0) {
		if (s->state_path == NULL || srv_save(s) == -1) {
			*out = err_json("no --state file, or writing it failed");
			return 500;
		}
		*out = ok();
	} else {
		*out = err_json("no such control endpoint");
		return 404;
	}
	return 200;
}

static int
route_get(struct srv *s, const char *path, json_t **out)
{
	struct sim_resp	sr;

	if (strcmp(path, "/balances") == 0)
		*out = sim_balances(s->bank);
	else if (strcmp(path, "/stats") == 0)
		*out = stats_json(s);
	else if (strcmp(path, "/faults") == 0)
		*out = fault_json(&s->fault);
	else if (strncmp(path, "/jobs/", 6) == 0 && path[6] != '\0') {
		sr = sim_jobs_get(s->bank, path + 6);
		*out = sr.body;
		return sr.status;
	} else {
		*out = err_json("no such control endpoint");
		return 404;
	}
	return 200;
}

static json_t *
read_body(struct evhttp_request *req)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	size_t		 len = evbuffer_get_length(in);

	if (len == 0)
		return json_object();
	return json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, NULL);
}

void
ctl_cb(struct evhttp_request *req, void *arg)
{
	struct srv	*s = arg;
	struct reply	 r;
	json_t		*body = NULL, *out = NULL;
	char		*path;
	const char	*p;
	int		 status;

	p = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if ((path = evhttp_uridecode(p != NULL ? p : "/", 0, NULL)) == NULL) {
		evhttp_send_error(req, 400, NULL);
		return;
	}
	if (strlen(path) > 1 && path[strlen(path) - 1] == '/')
		path[strlen(path) - 1] = '\0';
	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET)
		status = route_get(s, path, &out);
	else if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		out = err_json("use GET or POST");
		status = 405;
	} else if ((body = read_body(req)) == NULL) {
		out = err_json("body is not JSON");
		status = 400;
	} else
		status = route_post(s, path, body, &out);
	reply_json(&r, status, out);
	reply_send(s, req, &r, 0, srv_now());
	json_decref(out);
	json_decref(body);
	free(path);
}
