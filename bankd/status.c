/*
 * status.c - BP_T_STATUS (status.h).  The version is the project's, from
 * CMake (BANK_VERSION), so that it cannot drift from the release.
 */
#include <inttypes.h>
#include <time.h>

#include "bankd.h"
#include "cache.h"
#include "conn.h"
#include "counters.h"
#include "deliver.h"
#include "health.h"
#include "holds.h"
#include "req.h"
#include "status.h"

#ifndef BANK_VERSION
#error "BANK_VERSION comes from CMake's project(VERSION)"
#endif

static const char *
delivery_word(const struct deliver_stats *st)
{
	if (st->paused)
		return "paused by an operator";
	if (st->auth_blocked)
		return "blocked: the API refuses our token";
	return "running";
}

static void
add_api(struct bankd *bd, struct bp_msg *rep, time_t now)
{
	struct health_view h;

	health_view(bd, &h);
	bp_add(rep, "api_url", bd->conf.api_url);
	bp_add(rep, "api", health_state_name(h.state));
	bp_addf(rep, "api_age", "%lld", (long long)(h.when ? now - h.when :
	    -1));
	if (h.error[0] != '\0')
		bp_add(rep, "api_error", h.error);
}

void
status_request(struct bankd *bd, struct conn *c, const struct req *rq)
{
	struct deliver_stats st;
	struct bp_msg rep;
	time_t now = time(NULL);

	deliver_stats(bd->dq, &st);
	bp_init(&rep, rq->type | BP_REPLY, rq->id);
	bp_add(&rep, "status", "ok");
	bp_add(&rep, "version", BANK_VERSION);
	/* It holds state_dir's lock (lock.c): a standby does not answer. */
	bp_add(&rep, "role", "controller");
	bp_addf(&rep, "uptime", "%lld", (long long)(now - bd->started));
	add_api(bd, &rep, now);
	bp_addf(&rep, "queue", "%zu", st.queued);
	/* Of them, answered "later": on disk at the next good commit. */
	bp_addf(&rep, "not_durable", "%zu", st.unsynced);
	bp_addf(&rep, "inflight", "%zu", st.inflight);
	bp_addf(&rep, "dead", "%zu", st.dead);
	bp_addf(&rep, "delivered", "%" PRIu64, st.delivered);
	bp_addf(&rep, "retries", "%" PRIu64, st.retries);
	bp_add(&rep, "delivery", delivery_word(&st));
	bp_addf(&rep, "journal_bytes", "%zu", st.journal_bytes);
	bp_addf(&rep, "spool", "%" PRIu64, counters_get(&bd->counters,
	    CNT_SPOOL_FILES));
	bp_addf(&rep, "holds", "%zu", bd->holds ? holds_count(bd->holds) : 0);
	bp_addf(&rep, "cache_entries", "%zu", bd->cache ?
	    cache_entries(bd->cache) : 0);
	/* job_submit keeps one open; bankctl's own is counted too. */
	bp_addf(&rep, "clients", "%" PRIu64, counters_get(&bd->counters,
	    CNT_CLIENTS));
	conn_reply(c, &rep);
	bp_free(&rep);
}
