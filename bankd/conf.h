/*
 * conf.h - bank.yaml: one file read by bankd, bankctl and the plugins.
 * The plugins use only the socket, deadlines, switches and policy.
 */
#ifndef CONF_H
#define CONF_H

#include <stddef.h>
#include <stdint.h>

#define CONF_DEFAULT_PATH	"/etc/slurm/bank.yaml"
#define CONF_DEFAULT_SOCKET	"/run/bankd/bankd.sock"
#define CONF_DEFAULT_STATE	"/var/lib/bankd"
#define CONF_DEFAULT_SPOOL	"/var/spool/slurm-bank"

enum conf_policy {
	POLICY_ALLOW,		/* let the job in when the API cannot answer */
	POLICY_DENY,
};

struct conf_price {
	char		*partition;
	int64_t		 micro;		/* SU per CPU-hour, x 1e6 */
};

struct bank_conf {
	char		*path;
	char		*socket;
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
	int64_t		 default_price;	/* micro-SU, unlisted partitions */
	struct conf_price *prices;
	size_t		 nprices;
	uint32_t	 default_time_limit;	/* minutes */
	int		 submit_deadline_ms;	/* plugin waits for bankd */
	int		 report_deadline_ms;
	int		 decision_ms;	/* bankd waits for the API */
	enum conf_policy on_api_unavailable;
};

/* 0, or -1 with "FILE:LINE: what is wrong" in err. */
int	 conf_load(const char *path, struct bank_conf *, char *err, size_t);
void	 conf_free(struct bank_conf *);

/* The price of a partition; 1 if listed, 0 if the default applied. */
int	 conf_price(const struct bank_conf *, const char *partition,
	    int64_t *micro);

/* Read the API token (inline or from token_file); 0 or -1 with err. */
int	 conf_read_token(const struct bank_conf *, char **token, char *err,
	    size_t);

const char *conf_policy_name(enum conf_policy);

#endif /* CONF_H */
