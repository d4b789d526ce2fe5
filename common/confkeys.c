/*
 * confkeys.c - every setting bank.yaml may hold, by its dotted path.
 * conf.c accepts a key in a map only when its path is listed here, so
 * this table is the parser's vocabulary, not a copy of it: bankd
 * --list-config-keys prints it and tests/unit/test_manpages.py checks
 * that bank.yaml(5) documents exactly these paths.  NAME and TYPE stand
 * for names the site chooses (a partition, a QoS, a GPU type).
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"

const char *const conf_keys[] = {
	"role",
	"socket",
	"listen_tcp",
	"munge_socket",
	"slurm_user",
	"state_dir",
	"spool_dir",
	"fsync",
	"default_time_limit",
	"api",
	"api.url",
	"api.token",
	"api.token_file",
	"api.timeout_ms",
	"api.max_inflight",
	"api.retry_max_ms",
	"plugins",
	"plugins.job_submit",
	"plugins.spank",
	"plugins.jobcomp",
	"plugins.submit_message",
	"plugins.failover",
	"prices",
	"prices.default",
	"prices.billing",
	"prices.from_api",
	"prices.refresh_s",
	"prices.report_free",
	"prices.requeue_charge",
	"prices.node_fail",
	"prices.qos",
	"prices.qos.NAME",
	"prices.partitions",
	"prices.partitions.NAME",
	"prices.partitions.NAME.cpu",
	"prices.partitions.NAME.gpu",
	"prices.partitions.NAME.gpu_types",
	"prices.partitions.NAME.gpu_types.TYPE",
	"prices.partitions.NAME.mem_gb",
	"prices.partitions.NAME.billing",
	"deadlines",
	"deadlines.submit_ms",
	"deadlines.report_ms",
	"deadlines.decision_ms",
	"deadlines.submit_budget_ms",
	"policy",
	"policy.on_api_unavailable",
	"policy.on_unknown",
	"holds",
	"holds.enabled",
	"holds.reconcile_s",
	"holds.grace_s",
	"cache",
	"cache.ttl_s",
	"cache.probe_factor",
	"log",
	"log.level",
	"limits",
	"limits.connections",
	"limits.user_connections",
	"limits.user_idle_s",
	"limits.user_checks",
	"limits.user_checks_per_s",
	"limits.api_checks",
	"limits.tcp_connections",
	"relay",
	"relay.upstreams",
	"relay.timeout_ms",
	"relay.window",
	"relay.retry_max_ms",
	"metrics",
	"metrics.listen",
	NULL
};

int
conf_key_known(const char *map, const char *key)
{
	size_t i, mlen = strlen(map);

	/* "api.url" written as one key is no path to api: url. */
	if (strchr(key, '.') != NULL)
		return 0;
	for (i = 0; conf_keys[i] != NULL; i++) {
		const char *k = conf_keys[i];

		if (mlen == 0 && strcmp(k, key) == 0)
			return 1;
		if (mlen > 0 && strncmp(k, map, mlen) == 0 && k[mlen] == '.' &&
		    strcmp(k + mlen + 1, key) == 0)
			return 1;
	}
	return 0;
}

void
conf_keys_print(FILE *fp)
{
	size_t i;

	for (i = 0; conf_keys[i] != NULL; i++)
		fprintf(fp, "%s\n", conf_keys[i]);
}
