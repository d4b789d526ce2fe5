/*
 * bankplug.c - what the plugins share: bank.yaml, the call to bankd (its
 * socket, then plugins.failover over TCP), the spool.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bankplug.h"
#include "monotime.h"

/* Exported by libslurm but declared only in Slurm's internal headers. */
extern char	*slurm_get_extra_conf_path(char *conf_name);
extern void	 slurm_xfree(void **);
extern void	 slurm_info(const char *, ...);
extern void	 slurm_error(const char *, ...);
extern void	 slurm_debug(const char *, ...);

int
bankplug_conf_load(const char *path, struct bank_conf *cf, char *err,
    size_t errlen)
{
	char *found = NULL;
	int rc;

	if (path == NULL || *path == '\0')
		path = found = slurm_get_extra_conf_path("bank.yaml");
	if (path == NULL) {
		snprintf(err, errlen, "cannot locate bank.yaml beside slurm.conf");
		return -1;
	}
	rc = conf_load(path, cf, err, errlen);
	if (found != NULL)
		slurm_xfree((void **)&found);
	return rc;
}

void
bankplug_add_str(struct bp_msg *m, const char *key, const char *v)
{
	if (v != NULL && *v != '\0' && strchr(v, '\n') == NULL)
		bp_addf(m, key, "%s", v);
}

void
bankplug_add_hold(struct bp_msg *m, const char *admin_comment)
{
	const char *p;

	if (admin_comment != NULL &&
	    (p = strstr(admin_comment, "bank_hold=")) != NULL)
		bp_addf(m, "hold", "%llu", strtoull(p + 10, NULL, 10));
}

static int
spool(const struct bank_conf *cf, const struct bp_msg *req, const char *who,
    uint32_t job_id, const char *why)
{
	char err[512];

	if (bp_spool_write(cf->spool_dir, req, err, sizeof(err)) == 0) {
		slurm_info("%s: job %u: bankd could not take the report (%s): "
		    "spooled in %s", who, job_id, why, cf->spool_dir);
		return 0;
	}
	slurm_error("%s: job %u: report NOT recorded: bankd could not take "
	    "it (%s) and the spool failed: %s", who, job_id, why, err);
	return -1;
}

void
bankplug_conn_set(struct bankplug_conn *k, const char *socket)
{
	pthread_mutex_lock(&k->mu);
	bp_conn_close(&k->c);
	bp_conn_init(&k->c, socket);
	pthread_mutex_unlock(&k->mu);
}

void
bankplug_conn_close(struct bankplug_conn *k)
{
	pthread_mutex_lock(&k->mu);
	bp_conn_close(&k->c);
	pthread_mutex_unlock(&k->mu);
}

static int
call_local(struct bankplug_conn *k, const char *socket, int deadline_ms,
    const struct bp_msg *req, struct bp_msg *rep)
{
	int rc;

	if (k == NULL || pthread_mutex_trylock(&k->mu) != 0)
		return bp_call(socket, deadline_ms, req, rep);
	rc = bp_conn_call(&k->c, deadline_ms, req, rep);
	pthread_mutex_unlock(&k->mu);
	return rc;
}

/*
 * Nothing listens on this host's socket (its bankd is the standby, or
 * down): ask the controllers of plugins.failover in turn, within what is
 * left of the deadline, each given its share of it so that a host that
 * does not answer (a cut cable) cannot take the next one's time.  Only a
 * refused connection moves on: a bankd that took the request and was
 * slow may have acted on it.
 */
static int
call_failover(const struct bank_conf *cf, int64_t end_ms,
    const struct bp_msg *req, struct bp_msg *rep)
{
	char why[256];
	int64_t now;
	size_t i;
	int rc = BP_ECONNECT;

	for (i = 0; i < cf->nfailover && rc == BP_ECONNECT; i++) {
		if ((now = monotime_ms()) >= end_ms)
			return BP_ETIMEOUT;
		rc = bp_call_tcp(cf->failover[i], cf->munge_socket,
		    (int)((end_ms - now) / (cf->nfailover - i)), req, rep, why,
		    sizeof(why));
		if (rc == BP_OK)
			slurm_debug("bank: %s did not answer; %s did",
			    cf->socket, cf->failover[i]);
		else if (rc == BP_ECRED)
			slurm_error("bank: no MUNGE credential for %s: %s",
			    cf->failover[i], why);
	}
	return rc;
}

static int
call_via(const struct bank_conf *cf, struct bankplug_conn *k,
    enum bankplug_route route, int deadline_ms, const struct bp_msg *req,
    struct bp_msg *rep)
{
	int64_t end_ms = monotime_ms() + deadline_ms;
	int rc;

	rc = call_local(k, cf->socket, deadline_ms, req, rep);
	if (rc == BP_ECONNECT && route == BANKPLUG_FAILOVER &&
	    cf->nfailover > 0)
		rc = call_failover(cf, end_ms, req, rep);
	return rc;
}

int
bankplug_call(const struct bank_conf *cf, struct bankplug_conn *k,
    int deadline_ms, const struct bp_msg *req, struct bp_msg *rep)
{
	return call_via(cf, k, BANKPLUG_FAILOVER, deadline_ms, req, rep);
}

int
bankplug_report(const struct bank_conf *cf, struct bankplug_conn *kept,
    enum bankplug_route route, const struct bp_msg *req, const char *who,
    uint32_t job_id)
{
	struct bp_msg rep;
	const char *status, *msg;
	int rc;

	if ((rc = call_via(cf, kept, route, cf->report_deadline_ms, req,
	    &rep)) != BP_OK)
		return spool(cf, req, who, job_id, bp_strerror(rc));
	status = bp_get(&rep, "status");
	msg = bp_get(&rep, "message");
	if (status != NULL && strcmp(status, "later") == 0)
		rc = spool(cf, req, who, job_id, msg ? msg : "later");
	else if (status == NULL || (strcmp(status, "ok") != 0 &&
	    strcmp(status, "dup") != 0)) {
		slurm_error("%s: job %u: bankd refused the report: %s", who,
		    job_id, msg ? msg : "no reason given");
		rc = -1;
	} else if (bp_get(&rep, "amount") || bp_get(&rep, "estimate"))
		slurm_debug("%s: job %u: reported (%s SU)", who, job_id,
		    bp_get(&rep, "amount") ? bp_get(&rep, "amount") :
		    bp_get(&rep, "estimate"));
	else	/* a relay prices nothing: it says where the report waits */
		slurm_debug("%s: job %u: reported (%s)", who, job_id,
		    msg ? msg : status);
	bp_free(&rep);
	return rc;
}
