/*
 * conf.h - bank.yaml: one file read by bankd, bankctl and the plugins.
 * The plugins use only the socket, deadlines, switches and policy.
 */
#ifndef CONF_H
#define CONF_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define CONF_DEFAULT_PATH	"/etc/slurm/bank.yaml"
#define CONF_DEFAULT_SOCKET	"/run/bankd/bankd.sock"
#define CONF_DEFAULT_STATE	"/var/lib/bankd"
#define CONF_DEFAULT_SPOOL	"/var/spool/slurm-bank"

enum conf_policy {
	POLICY_ALLOW,		/* let the job in when the API cannot answer */
	POLICY_DENY,
	POLICY_CACHED,		/* decide from what is known, else on_unknown */
};

/* log.level: the least severe line bankd writes (syslog's order). */
enum conf_log_level {
	CONF_LOG_ERROR,
	CONF_LOG_WARN,
	CONF_LOG_INFO,
	CONF_LOG_DEBUG,
};

/* What a bankd is (role:): the bank itself, or a node's relay to it. */
enum conf_role {
	ROLE_CONTROLLER,	/* the bank: API, prices, holds, the queue */
	ROLE_RELAY,		/* a node's: journals reports, forwards all */
};

/* relay.upstreams: at most this many controllers, tried in order. */
#define CONF_RELAY_MAX		8

/* Where a price came from (bankctl prices). */
enum price_source {
	PRICE_DEFAULT,		/* prices.default: the partition is unlisted */
	PRICE_LOCAL,		/* bank.yaml */
	PRICE_API,		/* the API's /partitions/ su_per_core_hour */
};

struct conf_gpu_price {
	char		*type;		/* gres type, e.g. "a100" */
	int64_t		 micro;		/* SU per GPU-hour of that type, x 1e6 */
};

/*
 * A partition's prices.  `micro` (the CPU price) comes first so that
 * { "name", micro } still builds a CPU-only price.  gpu and mem_gb are 0
 * when not priced; a typed GPU without its own price costs `gpu`.
 */
struct conf_price {
	char		*partition;
	int64_t		 micro;		/* SU per CPU-hour, x 1e6 */
	int64_t		 gpu;		/* SU per GPU-hour, x 1e6 */
	int64_t		 mem_gb;	/* SU per GB(1024 MiB)-hour, x 1e6 */
	struct conf_gpu_price *gpu_types;
	size_t		 ngpu_types;
	int		 billing_max;	/* -1 site's choice, 0 sum, 1 max */
	enum price_source source;
};

/* A QoS multiplier: exact, x 1e6 (1.5 is 1500000). */
struct conf_qos {
	char		*name;
	int64_t		 micro;
};

enum conf_billing {
	BILLING_SUM,	/* CPUs + GPUs + memory, each at its price */
	BILLING_MAX,	/* CPUs billed as max(CPUs, memory share) */
};

/* What a job run more than once (requeued, preempted) is charged. */
enum conf_requeue {
	REQUEUE_EVERY_RUN,	/* the sum of its runs */
	REQUEUE_LAST_RUN,	/* its last run only */
};

struct bank_conf {
	char		*path;
	enum conf_role	 role;
	/* relay: (role relay only): the controllers' ADDRESS:PORT, in order */
	char		*relay_up[CONF_RELAY_MAX];
	size_t		 nrelay_up;
	/* plugins.failover: where the plugins turn when the socket fails */
	char		*failover[CONF_RELAY_MAX];
	size_t		 nfailover;
	int		 relay_timeout_ms;	/* a query; a forward attempt */
	int		 relay_window;		/* reports unanswered upstream */
	int		 relay_retry_max_ms;	/* backoff cap */
	char		*socket;
	char		*listen_tcp;	/* ADDRESS:PORT; NULL: no TCP */
	char		*munge_socket;	/* munged's; NULL: libmunge's default */
	char		*metrics_listen;	/* ADDRESS:PORT; NULL: no metrics */
	char		*slurm_user;	/* may send reports, besides root */
	char		*state_dir;	/* bankd's journal */
	char		*spool_dir;	/* reports written while bankd is down */
	int		 fsync;		/* journal commits reach the disk */
	char		*api_url;	/* base URL, no trailing slash */
	char		*api_token;	/* the key itself, when inline */
	char		*api_token_file;
	int		 api_timeout_ms;
	int		 api_max_inflight;
	int		 api_retry_max_ms;	/* backoff cap */
	int		 job_submit_enabled;
	int		 spank_enabled;
	int		 jobcomp_enabled;
	/* job_submit tells an accepted job's cost (sbatch prints it) */
	int		 submit_message;
	int64_t		 default_price;	/* micro-SU, unlisted partitions */
	/*
	 * The prices requests are priced by.  conf_load() points them at
	 * bank.yaml's own (`local`); bankd points them at its running price
	 * table (pricetab.c: local and the API's merged), which it owns.
	 */
	const struct conf_price *prices;
	size_t		 nprices;
	struct conf_price *local;	/* bank.yaml's prices, the conf's */
	size_t		 nlocal;
	struct conf_qos	*qos;		/* unlisted QoS: multiplier 1 */
	size_t		 nqos;
	enum conf_billing billing;
	int		 prices_from_api;	/* su_per_core_hour from /partitions/ */
	int		 prices_refresh_s;
	int		 report_free;	/* report jobs of free partitions too */
	enum conf_requeue requeue_charge;	/* prices.requeue_charge */
	int		 node_fail_free;	/* prices.node_fail: free */
	uint32_t	 default_time_limit;	/* minutes */
	int		 submit_deadline_ms;	/* plugin waits for bankd */
	int		 report_deadline_ms;
	int		 decision_ms;	/* bankd waits for the API */
	int		 submit_budget_ms;	/* submissions' waits, per 10 s */
	enum conf_policy on_api_unavailable;
	enum conf_log_level log_level;	/* log.level */
	enum conf_policy on_unknown;	/* POLICY_CACHED: nothing known */
	int		 cache_ttl_s;	/* 0: no cached decisions */
	int		 probe_factor;	/* ask for this many times the cost */
	int		 holds_enabled;
	int		 reconcile_s;	/* 0: no reconciliation */
	int		 hold_grace_s;
	/*
	 * What one caller may take (limits:).  "user" is any uid but root
	 * and slurm_user: the socket is open to every local user.
	 */
	int		 max_connections;	/* in all */
	int		 tcp_connections;	/* of them, over listen_tcp */
	int		 user_connections;	/* per user */
	int		 user_idle_s;	/* a user's idle connection closes */
	int		 user_checks;	/* a user's checks waiting on the API */
	int		 user_checks_per_s;	/* a user's API checks per second */
	int		 api_checks;	/* can_submit_job in flight, in all */
};

/* 0, or -1 with "FILE:LINE: what is wrong" in err. */
int	 conf_load(const char *path, struct bank_conf *, char *err, size_t);
void	 conf_free(struct bank_conf *);

/* The price of a partition; 1 if listed, 0 if the default applied. */
int	 conf_price(const struct bank_conf *, const char *partition,
	    int64_t *micro);

/* A partition's price entry, or NULL when unlisted. */
const struct conf_price *conf_price_entry(const struct bank_conf *,
	    const char *partition);

/*
 * 1 when nothing in the partition costs anything: its CPU, GPU (of any
 * type) and memory prices are all 0 (the default price when unlisted).
 */
int	 conf_free_partition(const struct bank_conf *, const char *partition);

/* A QoS's multiplier x 1e6 (1000000 when unlisted or NULL). */
int64_t	 conf_qos_multiplier(const struct bank_conf *, const char *qos);

/* Read the API token (inline or from token_file); 0 or -1 with err. */
int	 conf_read_token(const struct bank_conf *, char **token, char *err,
	    size_t);

/*
 * Every setting's dotted path ("api.timeout_ms"; NAME and TYPE stand for
 * a site's names), NULL-terminated: the keys conf_load() accepts, and
 * only those (confkeys.c).
 */
extern const char *const conf_keys[];

/* 1 when MAP ("" for the top, "prices.partitions.NAME") may hold KEY. */
int	 conf_key_known(const char *map, const char *key);

/* conf_keys, one a line (bankd --list-config-keys). */
void	 conf_keys_print(FILE *);

const char *conf_policy_name(enum conf_policy);
const char *conf_role_name(enum conf_role);
const char *conf_log_level_name(enum conf_log_level);

#endif /* CONF_H */
