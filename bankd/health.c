/*
 * health.c - the API's health (health.h): the last exchange's outcome and
 * the probe.
 *
 * The probe asks what every version of the portal answers: GET /jobs/
 * (the current server has no /partitions/), with a filter that matches
 * nothing, so it costs the portal next to nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "answer.h"
#include "api.h"
#include "bankd.h"
#include "health.h"
#include "log.h"

#define PROBE_PATH	"/jobs/?jobstatus=bankd-probe"
#define PROBE_INTERVAL_S	30
#define PROBE_DOWN_S	2

struct health {
	int			 ok;
	time_t			 when;		/* 0: never heard */
	char			 error[256];
	struct event		*probe;
	void			(*answered)(void *);
	void			*answered_arg;
};

int
health_init(struct bankd *bd)
{
	if ((bd->health = calloc(1, sizeof(*bd->health))) == NULL)
		return -1;
	return 0;
}

void
health_fini(struct bankd *bd)
{
	if (bd->health == NULL)
		return;
	if (bd->health->probe != NULL)
		event_free(bd->health->probe);
	free(bd->health);
	bd->health = NULL;
}

void
api_note(struct bankd *bd, int ok, const char *error)
{
	struct health *h = bd->health;

	h->ok = ok;
	h->when = time(NULL);
	snprintf(h->error, sizeof(h->error), "%s", error ? error : "");
}

void
health_view(const struct bankd *bd, struct health_view *v)
{
	const struct health *h = bd->health;

	v->state = h->when == 0 ? HEALTH_UNKNOWN : h->ok ? HEALTH_REACHABLE :
	    HEALTH_UNREACHABLE;
	v->when = h->when;
	v->error = h->error;
}

const char *
health_state_name(enum health_state s)
{
	switch (s) {
	case HEALTH_UNKNOWN:
		return "unknown";
	case HEALTH_REACHABLE:
		return "reachable";
	case HEALTH_UNREACHABLE:
		return "unreachable";
	}
	return "unknown";
}

static void
probe_again(struct health *h, int seconds)
{
	struct timeval tv = { seconds, 0 };

	if (h->probe != NULL && event_add(h->probe, &tv) != 0)
		log_err("cannot schedule the API probe");
}

/* It answers, but not to bankd: what to do is the news. */
static void
probe_refused(struct bankd *bd, const char *why, enum answer_token tok)
{
	struct health *h = bd->health;
	char what[800];

	snprintf(what, sizeof(what), "%s: %s", why, answer_token_advice(tok));
	if (strcmp(what, h->error) != 0)
		log_err("API probe: %s", what);
	api_note(bd, 1, what);
	probe_again(h, PROBE_INTERVAL_S);
}

static void
on_probe_reply(const struct api_reply *rep, void *arg)
{
	struct bankd *bd = arg;
	struct health *h = bd->health;
	enum answer_token tok;
	json_t *j = rep->status == 200 ? api_reply_json(rep) : NULL;
	char why[512], what[800];
	int was_ok = h->ok;

	if (json_is_object(j)) {
		json_decref(j);
		api_note(bd, 1, NULL);
		if (h->answered != NULL)
			h->answered(h->answered_arg);
		probe_again(h, PROBE_INTERVAL_S);
		return;
	}
	json_decref(j);
	api_describe(rep, why, sizeof(why));
	if ((tok = answer_token(rep->status, rep->body, rep->len)) !=
	    TOKEN_OK) {
		probe_refused(bd, why, tok);
		return;
	}
	if (rep->status == 404)
		snprintf(what, sizeof(what), "%s: GET /jobs/ is not found, so "
		    "api.url is likely not the API's base URL", why);
	else
		snprintf(what, sizeof(what), "%s", why);
	if (was_ok || h->when == 0)
		log_warn("API probe failed: %s", what);
	api_note(bd, 0, what);
	probe_again(h, PROBE_DOWN_S);
}

static void
on_probe(evutil_socket_t fd, short what, void *arg)
{
	struct bankd *bd = arg;

	(void)fd;
	(void)what;
	if (api_request(bd->api, "GET", PROBE_PATH, NULL, on_probe_reply,
	    bd) != 0) {
		log_err("cannot start the API probe");
		probe_again(bd->health, PROBE_INTERVAL_S);
	}
}

void
health_probe(struct bankd *bd, void (*answered)(void *), void *arg)
{
	struct health *h = bd->health;

	h->answered = answered;
	h->answered_arg = arg;
	if ((h->probe = evtimer_new(bd->base, on_probe, bd)) == NULL) {
		log_err("cannot schedule the API probe");
		return;
	}
	on_probe(-1, 0, bd);
}
