/*
 * main.c - bankd: the service-unit bank for Slurm.
 *
 *	bankd [-d] [-s] [-f bank.yaml]
 *	bankd --check-config bank.yaml
 *	bankd --list-config-keys
 *
 * role: controller (the bank) or relay (a node's: relay.c).
 *
 * Runs in the foreground (systemd supervises it), logs to stderr or, with
 * -s, to syslog.  SIGHUP reloads bank.yaml (a broken file is refused and
 * the running configuration kept); SIGTERM and SIGINT stop it.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <slurm/slurm.h>

#include "api.h"
#include "apiprices.h"
#include "balance.h"
#include "backfill.h"
#include "bankd.h"
#include "cache.h"
#include "checks.h"
#include "conn.h"
#include "dispatch.h"
#include "health.h"
#include "holds.h"
#include "intake.h"
#include "ledger.h"
#include "listen.h"
#include "lock.h"
#include "deliver.h"
#include "log.h"
#include "logkv.h"
#include "metrics.h"
#include "portal.h"
#include "relay.h"

static void
usage(void)
{
	fprintf(stderr, "usage: bankd [-d] [-s] [-f bank.yaml]\n"
	    "       bankd --check-config bank.yaml\n"
	    "       bankd --list-config-keys\n");
	exit(2);
}

static int
check_config(const char *path)
{
	struct bank_conf cf;
	char err[512], *token;

	if (conf_load(path, &cf, err, sizeof(err)) != 0) {
		fprintf(stderr, "bankd: %s\n", err);
		return 1;
	}
	if (cf.role == ROLE_RELAY) {
		printf("%s: ok (relay to %zu upstream%s, socket %s)\n", path,
		    cf.nrelay_up, cf.nrelay_up == 1 ? "" : "s", cf.socket);
		conf_free(&cf);
		return 0;
	}
	if (conf_read_token(&cf, &token, err, sizeof(err)) != 0) {
		fprintf(stderr, "bankd: %s\n", err);
		conf_free(&cf);
		return 1;
	}
	free(token);
	printf("%s: ok (%zu priced partitions, socket %s)\n", path,
	    cf.nprices, cf.socket);
	conf_free(&cf);
	return 0;
}

/* Tell systemd (Type=notify) how we are doing; a no-op without it. */
static void
sd_notify_str(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract namespace */
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1)
		log_warn("cannot notify systemd: %s", strerror(errno));
	close(fd);
}

/* Shutdown: in-flight requests get a few seconds to finish. */
static void
on_drain(evutil_socket_t fd, short what, void *arg)
{
	struct bankd *bd = arg;
	struct deliver_stats st;

	(void)fd;
	(void)what;
	deliver_stats(bd->dq, &st);
	if (st.inflight == 0 || ++bd->drain_ticks > 100) {
		if (st.inflight > 0)
			log_warn("%zu report(s) still in flight at exit: they "
			    "stay journaled and are sent again at start",
			    st.inflight);
		event_base_loopexit(bd->base, NULL);
	}
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct bankd *bd = arg;
	struct timeval tv = { 0, 50000 };

	(void)what;
	if (bd->stopping)
		return;
	bd->stopping = 1;
	log_info("signal %d: shutting down: no new connections, finishing "
	    "in-flight deliveries", (int)sig);
	sd_notify_str("STOPPING=1");
	listen_stop(bd);
	intake_stop(bd);
	if (bd->dq == NULL) {
		event_base_loopexit(bd->base, NULL);
		return;
	}
	/* Everything accepted is journaled; just stop starting new sends. */
	deliver_quiesce(bd->dq);
	bd->drain = event_new(bd->base, -1, EV_PERSIST, on_drain, bd);
	if (bd->drain == NULL || event_add(bd->drain, &tv) != 0)
		event_base_loopexit(bd->base, NULL);
}

/* Root may always report; so may SlurmUser, whose uid we learn here. */
static uid_t
slurm_user_uid(const char *name)
{
	struct passwd *pw = getpwnam(name);

	if (pw == NULL) {
		log_warn("slurm_user '%s' does not exist: only root may send "
		    "job reports", name);
		return 0;
	}
	return pw->pw_uid;
}

/* log.level, at start and at each reload (bankd -d overrides it). */
static void
log_level_from(const struct bank_conf *cf)
{
	static const enum log_level of[] = {
		[CONF_LOG_ERROR] = LOG_LEVEL_ERR,
		[CONF_LOG_WARN] = LOG_LEVEL_WARN,
		[CONF_LOG_INFO] = LOG_LEVEL_INFO,
		[CONF_LOG_DEBUG] = LOG_LEVEL_DEBUG,
	};

	if ((size_t)cf->log_level < sizeof(of) / sizeof(of[0]))
		log_set_level(of[cf->log_level]);
}

/* A relay keeps its settings until restart, but for log.level. */
static void
relay_reload_level(const char *path)
{
	struct bank_conf cf;
	char err[512];

	if (conf_load(path, &cf, err, sizeof(err)) != 0) {
		log_err("reload refused, keeping the running configuration: %s",
		    err);
		return;
	}
	log_level_from(&cf);
	conf_free(&cf);
}

/* Settings bankd reads only at start; a reload keeps the running ones. */
static void
keep_str(char **newv, char **oldv, const char *name)
{
	char *t;

	if ((*newv == NULL) != (*oldv == NULL) ||
	    (*newv != NULL && strcmp(*newv, *oldv) != 0))
		log_warn("reload: '%s' changes only at restart; keeping the "
		    "running value", name);
	t = *newv;
	*newv = *oldv;
	*oldv = t;
}

/*
 * SIGHUP: prices, switches, deadlines, policy, slurm_user and the API
 * token take effect at once; a configuration that does not load is
 * refused whole, with the reason, and the running one stays.  Connections
 * and queued reports are untouched.  This is the one SIGHUP path: the
 * new configuration, then the prices it makes with the API's last ones,
 * then both swapped in, in one turn of the loop, so that no request is
 * priced in between.
 */
static void	bankd_reload_conf(struct bankd *);

static void
bankd_reload(struct bankd *bd)
{
	sd_notify_str("RELOADING=1");
	if (bd->relay != NULL) {
		relay_reload_level(bd->conf.path);
		relay_reload(bd);
	} else
		bankd_reload_conf(bd);
	sd_notify_str("READY=1");
}

static void
bankd_reload_conf(struct bankd *bd)
{
	struct bank_conf cf;
	struct pricetab *prices;
	char err[512], *token;
	struct logkv kv;

	if (conf_load(bd->conf.path, &cf, err, sizeof(err)) != 0) {
		log_err("reload refused, keeping the running configuration: %s",
		    err);
		return;
	}
	/* A new token (one that expired, replaced) applies at once. */
	if (conf_read_token(&cf, &token, err, sizeof(err)) != 0) {
		log_err("reload refused, keeping the running configuration: %s",
		    err);
		conf_free(&cf);
		return;
	}
	/* bank.yaml's new prices with the API's last: built before the swap. */
	if ((prices = apiprices_build(bd->prices, &cf)) == NULL) {
		log_err("reload refused, keeping the running configuration: out "
		    "of memory");
		memset(token, 0, strlen(token));
		free(token);
		conf_free(&cf);
		return;
	}
	if (api_set_token(bd->api, token) != 0)
		log_err("reload: out of memory for the new API token; the old "
		    "one stays");
	memset(token, 0, strlen(token));
	free(token);
	keep_str(&cf.socket, &bd->conf.socket, "socket");
	keep_str(&cf.listen_tcp, &bd->conf.listen_tcp, "listen_tcp");
	keep_str(&cf.munge_socket, &bd->conf.munge_socket, "munge_socket");
	keep_str(&cf.metrics_listen, &bd->conf.metrics_listen, "metrics.listen");
	keep_str(&cf.api_url, &bd->conf.api_url, "api.url");
	keep_str(&cf.state_dir, &bd->conf.state_dir, "state_dir");
	if (cf.fsync != bd->conf.fsync)
		deliver_set_fsync(bd->dq, cf.fsync);
	deliver_set_retry_max(bd->dq, cf.api_retry_max_ms);
	deliver_set_charging(bd->dq, cf.requeue_charge == REQUEUE_LAST_RUN,
	    cf.node_fail_free);
	if (cf.api_timeout_ms != bd->conf.api_timeout_ms ||
	    cf.api_max_inflight != bd->conf.api_max_inflight)
		log_warn("reload: api.timeout_ms and api.max_inflight change "
		    "only at restart; keeping the running values");
	cf.api_timeout_ms = bd->conf.api_timeout_ms;
	cf.api_max_inflight = bd->conf.api_max_inflight;
	conf_free(&bd->conf);
	bd->conf = cf;
	log_level_from(&bd->conf);
	apiprices_reloaded(bd->prices, prices);
	bd->slurm_uid = slurm_user_uid(bd->conf.slurm_user);
	conn_limits(bd);
	logkv_init(&kv);
	logkv_str(&kv, "event", "reload");
	logkv_str(&kv, "conf", bd->conf.path);
	logkv_u64(&kv, "priced_partitions", bd->conf.nprices);
	logkv_str(&kv, "on_api_unavailable",
	    conf_policy_name(bd->conf.on_api_unavailable));
	logkv_str(&kv, "log_level", conf_log_level_name(bd->conf.log_level));
	log_kv(LOG_LEVEL_INFO, &kv);
}

static void
on_sighup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	bankd_reload(arg);
}

/* The queue's hooks: the portal, then the ledger and API health. */
static void
on_delivered(void *arg, const struct report *r)
{
	counters_delivered(&((struct bankd *)arg)->counters, r->kind);
	ledger_delivered(arg, r);
}

static uint64_t
on_send_tick(void *arg)
{
	return ledger_tick(arg);
}

static void
on_api(void *arg, int ok, const char *error)
{
	api_note(arg, ok, error);
}

static struct deliver *
queue_open(struct bankd *bd, char *err, size_t errlen)
{
	struct deliver_settings set = { bd->conf.state_dir, bd->conf.fsync,
	    bd->conf.api_max_inflight, bd->conf.api_retry_max_ms,
	    bd->conf.requeue_charge == REQUEUE_LAST_RUN,
	    bd->conf.node_fail_free };
	struct deliver_hooks hooks = { portal_report_sender, bd->api,
	    on_delivered, on_api, bd, on_send_tick };

	return deliver_open(bd->base, &set, &hooks, err, errlen);
}

static int64_t
job_settled(void *arg, uint32_t job_id, uint64_t *token)
{
	return deliver_settled(arg, job_id, token);
}

/*
 * Holds and queue are read: a hold whose job the queue has charged
 * already ends here (holds_settle: a crash came between the two
 * journals' records), not at the reconciler's next pass.
 */
static void
settle_holds(struct bankd *bd)
{
	size_t n = holds_settle(bd->holds, job_settled, bd->dq);

	if (n > 0)
		log_info("holds: %zu ended at start: their jobs were charged "
		    "before bankd stopped", n);
}

/* The probe was answered: reports waiting on the API go now. */
static void
on_api_answers(void *arg)
{
	struct bankd *bd = arg;

	deliver_api_answers(bd->dq);
}

static int
bankd_start(struct bankd *bd, const char *path)
{
	char err[512], *token;
	struct logkv kv;
	int rc;

	if (conf_load(path, &bd->conf, err, sizeof(err)) != 0) {
		log_err("%s", err);
		return -1;
	}
	log_level_from(&bd->conf);
	if (bd->conf.role == ROLE_RELAY) {
		bd->slurm_uid = slurm_user_uid(bd->conf.slurm_user);
		bd->started = time(NULL);
		if (relay_start(bd) != 0 || metrics_start(bd) != 0)
			return -1;
		sd_notify_str("READY=1");
		return 0;
	}
	/* A standby waits here, before state_dir is touched (lock.c). */
	if ((rc = lock_wait(bd, sd_notify_str)) != 0)
		return rc > 0 ? 0 : -1;
	if (conf_read_token(&bd->conf, &token, err, sizeof(err)) != 0) {
		log_err("%s", err);
		return -1;
	}
	bd->api = api_new(bd->base, bd->conf.api_url, token,
	    bd->conf.api_timeout_ms, bd->conf.api_max_inflight);
	if (bd->api != NULL)
		api_set_counters(bd->api, &bd->counters);
	/* The token lives on only inside curl's header list. */
	memset(token, 0, strlen(token));
	free(token);
	if (bd->api == NULL ||
	    (bd->portal = portal_new(bd->api, bd->conf.api_url)) == NULL) {
		log_err("out of memory");
		return -1;
	}
	if ((bd->prices = apiprices_start(bd->base, bd->portal, &bd->conf)) ==
	    NULL)
		return -1;
	if ((bd->cache = cache_new()) == NULL ||
	    (bd->balances = balance_memo_new()) == NULL || check_init(bd) != 0 ||
	    (bd->ledger = ledger_new()) == NULL || health_init(bd) != 0) {
		log_err("out of memory");
		return -1;
	}
	if ((bd->holds = holds_open(bd->base, bd->conf.state_dir,
	    bd->conf.fsync, err, sizeof(err))) == NULL ||
	    (bd->dq = queue_open(bd, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		return -1;
	}
	settle_holds(bd);
	bd->slurm_uid = slurm_user_uid(bd->conf.slurm_user);
	bd->started = time(NULL);
	if (conn_init(bd, dispatch_request, bd) != 0 || listen_start(bd) != 0 ||
	    intake_start(bd) != 0 || reconcile_start(bd) != 0 ||
	    metrics_start(bd) != 0)
		return -1;
	health_probe(bd, on_api_answers, bd);
	sd_notify_str("READY=1");
	/* api.url is no secret; the token never leaves curl's headers. */
	logkv_init(&kv);
	logkv_str(&kv, "event", "start");
	logkv_str(&kv, "role", "controller");
	logkv_str(&kv, "api", bd->conf.api_url);
	logkv_u64(&kv, "priced_partitions", bd->conf.nprices);
	logkv_str(&kv, "on_api_unavailable",
	    conf_policy_name(bd->conf.on_api_unavailable));
	logkv_str(&kv, "log_level", conf_log_level_name(bd->conf.log_level));
	log_kv(LOG_LEVEL_INFO, &kv);
	return 0;
}

static void
bankd_stop(struct bankd *bd)
{
	metrics_stop(bd);
	if (bd->conf.role == ROLE_RELAY) {
		relay_stop(bd);
		return;
	}
	listen_stop(bd);
	conn_fini(bd);
	intake_stop(bd);
	reconcile_stop(bd);
	apiprices_stop(bd->prices);
	if (bd->drain)
		event_free(bd->drain);
	deliver_close(bd->dq);
	intake_free(bd);	/* after the queue's last answers */
	holds_close(bd->holds);
	cache_free(bd->cache);
	balance_memo_free(bd->balances);
	ledger_free(bd->ledger);
	portal_free(bd->portal);
	api_free(bd->api);
	backfill_fini();	/* after api_free: its calls never answer */
	health_fini(bd);	/* after api_free: no answer notes it now */
	check_fini(bd);
	conf_free(&bd->conf);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "check-config", required_argument, NULL, 'C' },
		{ "list-config-keys", no_argument, NULL, 'K' },
		/* Internal: the reconciler's child (listjobs.c), not in usage. */
		{ "list-jobs", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	struct bankd bd;
	struct event *sigs[3];
	const char *path = CONF_DEFAULT_PATH;
	int ch, verbose = 0, to_syslog = 0, rc = 1;

	while ((ch = getopt_long(argc, argv, "df:s", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			return check_config(optarg);
		case 'J':
			if (argc != 2)
				usage();
			listjobs_main();
		case 'K':
			/* bank.yaml(5)'s settings, as the parser knows them. */
			conf_keys_print(stdout);
			return fflush(stdout) == 0 ? 0 : 1;
		case 'd':
			verbose = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 's':
			to_syslog = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init(to_syslog, verbose);
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		log_err("cannot initialise libcurl");
		return 1;
	}
	memset(&bd, 0, sizeof(bd));
	if ((bd.base = event_base_new()) == NULL) {
		log_err("cannot initialise libevent");
		return 1;
	}
	sigs[0] = evsignal_new(bd.base, SIGTERM, on_signal, &bd);
	sigs[1] = evsignal_new(bd.base, SIGINT, on_signal, &bd);
	sigs[2] = evsignal_new(bd.base, SIGHUP, on_sighup, &bd);
	if (sigs[0] == NULL || sigs[1] == NULL || sigs[2] == NULL ||
	    evsignal_add(sigs[0], NULL) != 0 || evsignal_add(sigs[1], NULL) != 0
	    || evsignal_add(sigs[2], NULL) != 0)
		log_err("cannot install signal handlers");
	else if (bankd_start(&bd, path) == 0 &&
	    event_base_dispatch(bd.base) == 0)
		rc = 0;
	bankd_stop(&bd);
	if (sigs[0])
		event_free(sigs[0]);
	if (sigs[1])
		event_free(sigs[1]);
	if (sigs[2])
		event_free(sigs[2]);
	event_base_free(bd.base);
	curl_global_cleanup();
	log_info("exited");
	return rc;
}
