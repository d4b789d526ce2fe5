/*
 * health.c - the API's health (health.h): the last exchange's outcome and
 * the probe, which asks (portal_probe) every 30 s, and every 2 s while
 * the API does not answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bankd.h"
#include "health.h"
#include "log.h"
#include "portal.h"

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

static void
on_probe_reply(const struct portal_probe_reply *r, void *arg)
{
	struct bankd *bd = arg;
	struct health *h = bd->health;
	int was_ok = h->ok;

	switch (r->health) {
	case PORTAL_UP:
		api_note(bd, 1, NULL);
		if (h->answered != NULL)
			h->answered(h->answered_arg);
		probe_again(h, PROBE_INTERVAL_S);
		return;
	case PORTAL_REFUSED:
		/* It answers, but not to bankd: what to do is the news. */
		if (strcmp(r->why, h->error) != 0)
			log_err("API probe: %s", r->why);
		api_note(bd, 1, r->why);
		probe_again(h, PROBE_INTERVAL_S);
		return;
	case PORTAL_DOWN:
		break;
	}
	if (was_ok || h->when == 0)
		log_warn("API probe failed: %s", r->why);
	api_note(bd, 0, r->why);
	probe_again(h, PROBE_DOWN_S);
}

static void
on_probe(evutil_socket_t fd, short what, void *arg)
{
	struct bankd *bd = arg;

	(void)fd;
	(void)what;
	if (portal_probe(bd->portal, on_probe_reply, bd) != PORTAL_STARTED) {
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
