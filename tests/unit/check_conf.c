/*
 * check_conf.c: unit tests of bank.yaml loading (conf.c, yamltree.c).
 * A broken file must be refused with "FILE:LINE: what", naming the line
 * an administrator has to fix; the fixtures live in tests/unit/conf/.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

#define FIX(name)	CONF_DIR "/" name

static struct bank_conf cf;
static char err[1024];

START_TEST(load_good)
{
	ck_assert_msg(conf_load(FIX("good.yaml"), &cf, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_str_eq(cf.path, FIX("good.yaml"));
	ck_assert_str_eq(cf.socket, "/run/test/bankd.sock");
	ck_assert_str_eq(cf.slurm_user, "slurmadm");
	ck_assert_str_eq(cf.state_dir, "/srv/bank/state");
	ck_assert_str_eq(cf.spool_dir, "/srv/bank/spool");
	ck_assert_int_eq(cf.fsync, 0);
	ck_assert_int_eq(cf.api_retry_max_ms, 60000);
	ck_assert_int_eq(cf.decision_ms, 450);
	ck_assert_int_eq(cf.submit_budget_ms, 800);
	/* Every trailing slash goes: paths are appended with one. */
	ck_assert_str_eq(cf.api_url, "https://mybrc.example.org/api");
	ck_assert_str_eq(cf.api_token,
	    "Token 0123456789abcdef0123456789abcdef01234567");
	ck_assert_ptr_null(cf.api_token_file);
	ck_assert_int_eq(cf.api_timeout_ms, 2500);
	ck_assert_int_eq(cf.api_max_inflight, 3);
	ck_assert_int_eq(cf.job_submit_enabled, 0);
	ck_assert_int_eq(cf.spank_enabled, 0);
	ck_assert_int_eq(cf.jobcomp_enabled, 0);
	ck_assert_int_eq(cf.submit_message, 0);
	ck_assert_int_eq(cf.default_price, 1500000);
	ck_assert_uint_eq(cf.nprices, 3);
	ck_assert_str_eq(cf.prices[0].partition, "debug");
	ck_assert_int_eq(cf.prices[0].micro, 250000);
	ck_assert_str_eq(cf.prices[1].partition, "normal");
	ck_assert_int_eq(cf.prices[1].micro, 1000001);
	ck_assert_str_eq(cf.prices[2].partition, "gpu");
	ck_assert_int_eq(cf.prices[2].micro, 12500000);
	ck_assert_uint_eq(cf.default_time_limit, 90);
	ck_assert_int_eq(cf.submit_deadline_ms, 700);
	ck_assert_int_eq(cf.report_deadline_ms, 1500);
	ck_assert_int_eq(cf.on_api_unavailable, POLICY_DENY);
	ck_assert_str_eq(conf_policy_name(cf.on_api_unavailable), "deny");
	ck_assert_int_eq(cf.max_connections, 2000);
	ck_assert_int_eq(cf.user_connections, 8);
	ck_assert_int_eq(cf.user_idle_s, 30);
	ck_assert_int_eq(cf.user_checks, 2);
	ck_assert_int_eq(cf.user_checks_per_s, 3);
	ck_assert_int_eq(cf.api_checks, 16);
}
END_TEST

/* prices.requeue_charge and prices.node_fail (docs/pricing.md). */
START_TEST(load_runs)
{
	ck_assert_msg(conf_load(FIX("runs.yaml"), &cf, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(cf.requeue_charge, REQUEUE_LAST_RUN);
	ck_assert_int_eq(cf.node_fail_free, 1);
	conf_free(&cf);
	ck_assert_msg(conf_load(FIX("minimal.yaml"), &cf, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cf.requeue_charge, REQUEUE_EVERY_RUN);
	ck_assert_int_eq(cf.node_fail_free, 0);
}
END_TEST

START_TEST(load_defaults)
{
	ck_assert_msg(conf_load(FIX("minimal.yaml"), &cf, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cf.socket, CONF_DEFAULT_SOCKET);
	ck_assert_str_eq(cf.slurm_user, "slurm");
	ck_assert_str_eq(cf.state_dir, CONF_DEFAULT_STATE);
	ck_assert_str_eq(cf.spool_dir, CONF_DEFAULT_SPOOL);
	ck_assert_int_eq(cf.fsync, 1);
	ck_assert_int_eq(cf.api_retry_max_ms, 300000);
	ck_assert_int_eq(cf.decision_ms, 300);
	ck_assert_int_eq(cf.submit_budget_ms, 500);
	ck_assert_str_eq(cf.api_url, "http://localhost:8080");
	ck_assert_ptr_null(cf.api_token);
	ck_assert_str_eq(cf.api_token_file, "/etc/slurm/bank.token");
	ck_assert_int_eq(cf.api_timeout_ms, 5000);
	ck_assert_int_eq(cf.api_max_inflight, 8);
	ck_assert_int_eq(cf.job_submit_enabled, 1);
	ck_assert_int_eq(cf.spank_enabled, 1);
	ck_assert_int_eq(cf.jobcomp_enabled, 1);
	ck_assert_int_eq(cf.submit_message, 1);
	ck_assert_int_eq(cf.default_price, 1000000);
	ck_assert_uint_eq(cf.nprices, 0);
	ck_assert_uint_eq(cf.default_time_limit, 1440);
	ck_assert_int_eq(cf.max_connections, 4096);
	ck_assert_int_eq(cf.user_connections, 32);
	ck_assert_int_eq(cf.user_idle_s, 60);
	ck_assert_int_eq(cf.user_checks, 4);
	ck_assert_int_eq(cf.user_checks_per_s, 10);
	ck_assert_int_eq(cf.api_checks, 32);
	ck_assert_ptr_null(cf.listen_tcp);	/* off unless set */
	ck_assert_int_eq(cf.role, ROLE_CONTROLLER);
	ck_assert_uint_eq(cf.nrelay_up, 0);
	ck_assert_ptr_null(cf.munge_socket);
	ck_assert_int_eq(cf.tcp_connections, 256);
	ck_assert_int_eq(cf.submit_deadline_ms, 500);
	ck_assert_int_eq(cf.report_deadline_ms, 500);
	ck_assert_int_eq(cf.on_api_unavailable, POLICY_ALLOW);
	ck_assert_str_eq(conf_policy_name(cf.on_api_unavailable), "allow");
	ck_assert_int_eq(cf.log_level, CONF_LOG_INFO);
	ck_assert_str_eq(conf_log_level_name(cf.log_level), "info");
}
END_TEST

/* log.level (issue 14): the least severe line bankd writes. */
START_TEST(load_log)
{
	ck_assert_msg(conf_load(FIX("log.yaml"), &cf, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cf.log_level, CONF_LOG_WARN);
	ck_assert_str_eq(conf_log_level_name(cf.log_level), "warn");
}
END_TEST

START_TEST(load_tcp)
{
	ck_assert_msg(conf_load(FIX("tcp.yaml"), &cf, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cf.listen_tcp, "[::1]:6830");
	ck_assert_str_eq(cf.munge_socket, "/run/munge/munge.socket.2");
	ck_assert_int_eq(cf.tcp_connections, 8);
}
END_TEST

/* plugins.failover: where a standby controller's plugins turn. */
START_TEST(load_failover)
{
	ck_assert_msg(conf_load(FIX("failover.yaml"), &cf, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(cf.nfailover, 2);
	ck_assert_str_eq(cf.failover[0], "10.0.0.2:6830");
	ck_assert_str_eq(cf.failover[1], "[fd00::3]:6830");
	conf_free(&cf);
	ck_assert_msg(conf_load(FIX("tcp.yaml"), &cf, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(cf.nfailover, 0);	/* none unless set */
}
END_TEST

/* A relay's file: its upstreams in order; no api: needed, none read. */
START_TEST(load_relay)
{
	ck_assert_msg(conf_load(FIX("relay.yaml"), &cf, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cf.role, ROLE_RELAY);
	ck_assert_str_eq(conf_role_name(cf.role), "relay");
	ck_assert_uint_eq(cf.nrelay_up, 2);
	ck_assert_str_eq(cf.relay_up[0], "10.77.0.2:6830");
	ck_assert_str_eq(cf.relay_up[1], "[fd00::3]:6830");
	ck_assert_int_eq(cf.relay_timeout_ms, 1500);
	ck_assert_int_eq(cf.relay_window, 16);
	ck_assert_int_eq(cf.relay_retry_max_ms, 10000);
	ck_assert_ptr_null(cf.api_url);
	conf_free(&cf);
	/* The bank's sections are ignored on a relay, even broken ones. */
	ck_assert_msg(conf_load(FIX("relay-min.yaml"), &cf, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(cf.nrelay_up, 1);
	ck_assert_int_eq(cf.relay_timeout_ms, 2000);
	ck_assert_int_eq(cf.relay_window, 64);
	ck_assert_int_eq(cf.relay_retry_max_ms, 30000);
	ck_assert_ptr_null(cf.api_url);
	conf_free(&cf);
	/* The example shipped in etc/ loads as it is. */
	ck_assert_msg(conf_load(FIX("../../../etc/relay.yaml"), &cf, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cf.role, ROLE_RELAY);
	ck_assert_uint_eq(cf.nrelay_up, 2);
}
END_TEST

START_TEST(price_lookup)
{
	int64_t m = -1;

	ck_assert_msg(conf_load(FIX("good.yaml"), &cf, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(conf_price(&cf, "gpu", &m), 1);
	ck_assert_int_eq(m, 12500000);
	ck_assert_int_eq(conf_price(&cf, "debug", &m), 1);
	ck_assert_int_eq(m, 250000);
	ck_assert_int_eq(conf_price(&cf, "bigmem", &m), 0);
	ck_assert_int_eq(m, 1500000);
	/* Names match exactly: no prefix or case folding. */
	ck_assert_int_eq(conf_price(&cf, "Debug", &m), 0);
	ck_assert_int_eq(conf_price(&cf, "debu", &m), 0);
	ck_assert_int_eq(conf_price(&cf, NULL, &m), 0);
	ck_assert_int_eq(m, 1500000);
}
END_TEST

struct broken {
	const char	*file;
	int		 line;
	const char	*what;	/* must appear in the message */
};

static const struct broken broken[] = {
	{ "bad-typo.yaml", 6, "unknown setting 'spnak'" },
	/* Keys are conf_keys' paths one level at a time (confkeys.c). */
	{ "bad-dotted-key.yaml", 4, "unknown setting 'api.timeout_ms'" },
	{ "bad-wrong-section.yaml", 5, "unknown setting 'grace_s'" },
	{ "bad-partition-key.yaml", 8, "unknown setting 'gpu_type'" },
	{ "bad-requeue.yaml", 5,
	    "prices.requeue_charge must be every_run or last_run" },
	{ "bad-syntax.yaml", 7, "YAML syntax error" },
	{ "bad-price-abc.yaml", 6,
	    "price of debug 'abc': not a non-negative decimal number" },
	{ "bad-price-neg.yaml", 5, "price of unlisted partitions '-1': "
	    "not a non-negative decimal number" },
	{ "bad-price-places.yaml", 7,
	    "price of gpu '1.2345678': too many decimal places" },
	{ "bad-no-url.yaml", 3, "missing 'api.url'" },
	{ "bad-both-tokens.yaml", 2,
	    "set exactly one of 'api.token' and 'api.token_file'" },
	{ "bad-no-token.yaml", 2,
	    "set exactly one of 'api.token' and 'api.token_file'" },
	{ "bad-url-scheme.yaml", 3, "api.url 'localhost:8080' must start "
	    "with http:// or https://" },
	{ "bad-timeout.yaml", 4,
	    "'timeout_ms' must be a whole number from 1 to 600000" },
	{ "bad-policy.yaml", 5, "'on_api_unavailable' must be allow, deny or cached" },
	{ "bad-log-level.yaml", 5, "'level' must be error, warn, info or debug" },
	{ "bad-log-key.yaml", 5, "lvl" },
	{ "bad-dup-key.yaml", 5, "duplicate key" },
	{ "bad-tcp-name.yaml", 4, "listen_tcp 'mybankd:6830' must be "
	    "ADDRESS:PORT: an IP literal (IPv6 in brackets) and a port 1-65535" },
	{ "bad-tcp-port.yaml", 4, "listen_tcp '127.0.0.1:70000' must be" },
	{ "bad-tcp-noport.yaml", 4, "listen_tcp '127.0.0.1' must be" },
	{ "bad-tcp-v6.yaml", 4, "listen_tcp '::1:6830' must be" },
	{ "bad-relay-upstream.yaml", 5, "relay.upstreams: 'ctl2:6830' must be "
	    "ADDRESS:PORT: an IP literal (IPv6 in brackets) and a port "
	    "1-65535" },
	{ "bad-relay-many.yaml", 12, "relay.upstreams: at most 8 controllers" },
	{ "bad-failover-name.yaml", 4, "plugins.failover: 'ctl2:6830' must be "
	    "ADDRESS:PORT" },
	{ "bad-failover-scalar.yaml", 2, "'plugins.failover' must be a list" },
	{ "bad-relay-nolist.yaml", 3, "missing 'relay.upstreams' (the "
	    "controllers' ADDRESS:PORT, in order)" },
	{ "bad-relay-nosection.yaml", 1, "role relay: missing 'relay'" },
	{ "bad-relay-window.yaml", 4, "'window' must be a whole number from 1 "
	    "to 1024" },
	{ "bad-relay-role.yaml", 1, "'role' must be controller or relay" },
	{ "bad-relay-on-controller.yaml", 5, "'relay' is the settings of role: "
	    "relay, and role is controller" },
	{ "bad-relative-socket.yaml", 4,
	    "socket 'run/bankd.sock' must be an absolute path" },
	{ "bad-empty.yaml", 1, "empty configuration" },
	{ "bad-list.yaml", 2, "the configuration must be a map of settings" },
	{ "bad-no-api.yaml", 1, "missing 'api' (url and token)" },
	{ "bad-bool.yaml", 5, "'spank' must be true or false" },
	{ "bad-not-map.yaml", 4, "'plugins' must be a map of settings" },
	{ "bad-alias.yaml", 5, "YAML aliases are not supported here" },
	{ "bad-decision.yaml", 6, "decision_ms must be smaller than "
	    "submit_ms" },
	{ "bad-state-relative.yaml", 4, "state_dir and spool_dir must be "
	    "absolute paths" },
	{ "bad-url-nohost.yaml", 2, "api.url names no host" },
	{ "bad-limits.yaml", 5, "'user_connections' must be a whole number "
	    "from 1 to 65536" },
	/* Input is quoted, never used as a format (the attack run). */
	{ "bad-price-format.yaml", 7, "price of debug '%s%s%s%s%s%s%s%s%n': "
	    "not a non-negative decimal number" },
	{ "bad-price-pointer.yaml", 6, "price of p%s%n '%p.%p': not a "
	    "non-negative decimal number" },
	{ "bad-qos-format.yaml", 6, "multiplier of QoS %n%n '%s%s%s': not a "
	    "non-negative decimal number" },
	{ "bad-key-format.yaml", 4, "unknown setting '%s%s%s%s%n'" },
	{ "bad-url-format.yaml", 2, "api.url '%s%s%s%s%s%n' must start with "
	    "http:// or https://" },
	{ "bad-socket-format.yaml", 4, "socket '%s%s%s%s%n' must be an "
	    "absolute path" },
};

/*
 * conf_keys is what the parser accepts: a map's keys are the paths one
 * level below it, no more; NAME and TYPE are placeholders, not keys.
 */
START_TEST(keys_table)
{
	size_t i, n = 0;

	ck_assert(conf_key_known("", "api"));
	ck_assert(conf_key_known("api", "url"));
	ck_assert(conf_key_known("prices.partitions.NAME", "gpu_types"));
	ck_assert(conf_key_known("relay", "upstreams"));
	ck_assert(!conf_key_known("", "url"));
	ck_assert(!conf_key_known("", "api.url"));
	ck_assert(!conf_key_known("api", "timeout"));
	ck_assert(!conf_key_known("ap", "i.url"));
	ck_assert(!conf_key_known("prices", "NAME"));
	ck_assert(!conf_key_known("cache", "grace_s"));
	for (i = 0; conf_keys[i] != NULL; i++, n++) {
		const char *dot = strrchr(conf_keys[i], '.');
		char parent[128];

		if (dot == NULL)
			continue;
		snprintf(parent, sizeof(parent), "%.*s",
		    (int)(dot - conf_keys[i]), conf_keys[i]);
		ck_assert_msg(conf_key_known(parent, dot + 1), "%s: not known "
		    "under %s", conf_keys[i], parent);
	}
	ck_assert_uint_gt(n, 50);
}
END_TEST

/* One fixture per loop iteration, so a failure names the file. */
START_TEST(load_broken)
{
	const struct broken *b = &broken[_i];
	char path[512], prefix[600];

	snprintf(path, sizeof(path), "%s/%s", CONF_DIR, b->file);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, b->line);
	memset(&cf, 0xa5, sizeof(cf));
	ck_assert_msg(conf_load(path, &cf, err, sizeof(err)) == -1,
	    "%s accepted", b->file);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
	    "%s: '%s' does not start with '%s'", b->file, err, prefix);
	ck_assert_msg(strstr(err, b->what) != NULL,
	    "%s: '%s' does not say '%s'", b->file, err, b->what);
	/* A refused file leaves nothing to free and no stale pointers. */
	ck_assert_ptr_null(cf.socket);
	ck_assert_ptr_null(cf.api_url);
	ck_assert_ptr_null(cf.prices);
	ck_assert_ptr_null(cf.path);
}
END_TEST

START_TEST(load_missing_file)
{
	const char *path = FIX("no-such-file.yaml");

	ck_assert_int_eq(conf_load(path, &cf, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, path) == err, "%s", err);
	ck_assert_msg(strstr(err, "No such file") != NULL, "%s", err);
}
END_TEST

static void
conf_teardown(void)
{
	conf_free(&cf);
}

/* Token files: a temporary file with the given contents and mode. */
static char tpath[64];

static void
token_file(const char *contents, mode_t mode)
{
	size_t n = strlen(contents);
	int fd;

	snprintf(tpath, sizeof(tpath), "/tmp/check_conf.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(tpath), -1);
	ck_assert_int_eq(write(fd, contents, n), (ssize_t)n);
	/* fchmod, not the umask: the test must not depend on the caller. */
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static void
token_teardown(void)
{
	if (tpath[0] != '\0')
		unlink(tpath);
	tpath[0] = '\0';
}

static int
read_token(const struct bank_conf *c, char **tok)
{
	*tok = NULL;
	err[0] = '\0';
	return conf_read_token(c, tok, err, sizeof(err));
}

START_TEST(token_inline)
{
	struct bank_conf c = { .path = "bank.yaml", .api_token = "Token abc" };
	char *tok;

	ck_assert_msg(read_token(&c, &tok) == 0, "%s", err);
	ck_assert_str_eq(tok, "abc");
	free(tok);
	c.api_token = "deadbeef";
	ck_assert_msg(read_token(&c, &tok) == 0, "%s", err);
	ck_assert_str_eq(tok, "deadbeef");
	free(tok);
}
END_TEST

/* A token cut at a buffer's end would be another token (fuzz_conf). */
START_TEST(token_inline_too_long)
{
	struct bank_conf c = { .path = "bank.yaml" };
	char big[600], *tok;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	c.api_token = big;
	ck_assert_int_eq(read_token(&c, &tok), -1);
	ck_assert_ptr_null(tok);
	ck_assert_msg(strstr(err, "longer than 511 characters") != NULL, "%s",
	    err);
}
END_TEST

START_TEST(token_inline_two_words)
{
	struct bank_conf c = { .path = "bank.yaml", .api_token = "abc def" };
	char *tok;

	ck_assert_int_eq(read_token(&c, &tok), -1);
	ck_assert_ptr_null(tok);
	ck_assert_msg(strncmp(err, "bank.yaml: ", 11) == 0, "%s", err);
	ck_assert_msg(strstr(err, "must be one word") != NULL, "%s", err);
}
END_TEST

START_TEST(token_file_ok)
{
	struct bank_conf c = { .path = "bank.yaml" };
	char *tok;

	token_file("Token 0123abcd \r\n\n", 0600);
	c.api_token_file = tpath;
	ck_assert_msg(read_token(&c, &tok) == 0, "%s", err);
	ck_assert_str_eq(tok, "0123abcd");
	free(tok);
}
END_TEST

START_TEST(token_file_world_readable)
{
	struct bank_conf c = { .path = "bank.yaml" };
	char *tok;

	token_file("0123abcd\n", 0644);
	c.api_token_file = tpath;
	ck_assert_int_eq(read_token(&c, &tok), -1);
	ck_assert_ptr_null(tok);
	ck_assert_msg(strstr(err, tpath) != NULL, "%s", err);
	ck_assert_msg(strstr(err, "has mode 0644") != NULL, "%s", err);
}
END_TEST

/* Group bits too: a site's "slurm" group is not the bank's (0640). */
START_TEST(token_file_group_readable)
{
	struct bank_conf c = { .path = "bank.yaml" };
	char *tok;

	token_file("0123abcd\n", 0640);
	c.api_token_file = tpath;
	ck_assert_int_eq(read_token(&c, &tok), -1);
	ck_assert_ptr_null(tok);
	ck_assert_msg(strstr(err, "has mode 0640: no one but its owner may "
	    "read or write it") != NULL, "%s", err);
}
END_TEST

START_TEST(token_file_symlink)
{
	struct bank_conf c = { .path = "bank.yaml" };
	char link[80], *tok;

	token_file("0123abcd\n", 0600);
	snprintf(link, sizeof(link), "%s.link", tpath);
	ck_assert_int_eq(symlink(tpath, link), 0);
	c.api_token_file = link;
	ck_assert_int_eq(read_token(&c, &tok), -1);
	unlink(link);
	ck_assert_ptr_null(tok);
	ck_assert_msg(strstr(err, "is a symbolic link") != NULL, "%s", err);
}
END_TEST

/* Owned by another user: refused even at mode 0600 (needs root). */
START_TEST(token_file_foreign_owner)
{
	struct bank_conf c = { .path = "bank.yaml" };
	char *tok;

	if (geteuid() != 0) {
		fprintf(stderr, "token_file_foreign_owner: needs root to "
		    "chown; not run\n");
		return;
	}
	token_file("0123abcd\n", 0600);
	ck_assert_int_eq(chown(tpath, 54321, 54321), 0);
	c.api_token_file = tpath;
	ck_assert_int_eq(read_token(&c, &tok), -1);
	ck_assert_ptr_null(tok);
	ck_assert_msg(strstr(err, "belongs to uid 54321") != NULL, "%s", err);
}
END_TEST

START_TEST(token_file_empty)
{
	struct bank_conf c = { .path = "bank.yaml" };
	char *tok;

	token_file("\n", 0600);
	c.api_token_file = tpath;
	ck_assert_int_eq(read_token(&c, &tok), -1);
	ck_assert_msg(strncmp(err, tpath, strlen(tpath)) == 0, "%s", err);
	ck_assert_msg(strstr(err, "must be one word") != NULL, "%s", err);
}
END_TEST

START_TEST(token_file_missing)
{
	struct bank_conf c = { .path = "bank.yaml",
	    .api_token_file = "/nonexistent/bank.token" };
	char *tok;

	ck_assert_int_eq(read_token(&c, &tok), -1);
	ck_assert_ptr_null(tok);
	ck_assert_msg(strstr(err, "/nonexistent/bank.token") != NULL, "%s",
	    err);
	ck_assert_msg(strstr(err, "No such file") != NULL, "%s", err);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc;

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, NULL, conf_teardown);
	tcase_add_test(tc, load_good);
	tcase_add_test(tc, load_defaults);
	tcase_add_test(tc, load_tcp);
	tcase_add_test(tc, load_failover);
	tcase_add_test(tc, load_log);
	tcase_add_test(tc, load_relay);
	tcase_add_test(tc, load_runs);
	tcase_add_test(tc, price_lookup);
	tcase_add_test(tc, keys_table);
	tcase_add_loop_test(tc, load_broken, 0,
	    sizeof(broken) / sizeof(broken[0]));
	tcase_add_test(tc, load_missing_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("token");
	tcase_add_checked_fixture(tc, NULL, token_teardown);
	tcase_add_test(tc, token_inline);
	tcase_add_test(tc, token_inline_two_words);
	tcase_add_test(tc, token_inline_too_long);
	tcase_add_test(tc, token_file_ok);
	tcase_add_test(tc, token_file_world_readable);
	tcase_add_test(tc, token_file_group_readable);
	tcase_add_test(tc, token_file_symlink);
	tcase_add_test(tc, token_file_foreign_owner);
	tcase_add_test(tc, token_file_empty);
	tcase_add_test(tc, token_file_missing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
