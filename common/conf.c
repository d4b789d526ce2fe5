/*
 * conf.c - load and validate bank.yaml.  Every error names the file, the
 * line and the setting; unknown settings are errors, so a typo never
 * silently falls back to a default.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bankproto.h"
#include "conf.h"
#include "money.h"
#include "yamltree.h"

struct cload {
	const char	*path;
	char		*err;
	size_t		 errlen;
};

/*
 * "FILE:LINE: what".  The format is always a literal of ours: what the
 * file says only ever goes in as an argument (a price written as
 * "%s%n" once crashed the loader, which also runs inside slurmctld).
 */
static int	 bad(struct cload *, const struct ynode *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
bad(struct cload *c, const struct ynode *n, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s:%d: %s", c->path, n ? n->line : 1,
	    what);
	return -1;
}

/*
 * Only the keys conf_keys lists under PATH ("" for the top) may appear
 * in a map: that one table is what bank.yaml(5) is checked against.
 */
static int
check_keys(struct cload *c, const struct ynode *map, const char *path)
{
	const struct ynode *e;

	for (e = map->child; e != NULL; e = e->next)
		if (!conf_key_known(path, e->str))
			return bad(c, e, "unknown setting '%s'", e->str);
	return 0;
}

static int
get_map(struct cload *c, const struct ynode *parent, const char *key,
    const struct ynode **out)
{
	const struct ynode *n = ytree_get(parent, key);

	*out = NULL;
	if (n == NULL)
		return 0;
	if (n->kind != YN_MAP)
		return bad(c, n, "'%s' must be a map of settings", key);
	*out = n;
	return 0;
}

static int
get_str(struct cload *c, const struct ynode *map, const char *key,
    char **out)
{
	const struct ynode *n = ytree_get(map, key);

	if (n == NULL)
		return 0;
	if (n->kind != YN_SCALAR || n->str[0] == '\0')
		return bad(c, n, "'%s' must be a non-empty string", key);
	free(*out);
	if ((*out = strdup(n->str)) == NULL)
		return bad(c, n, "%s: out of memory", key);
	return 0;
}

static int
get_int(struct cload *c, const struct ynode *map, const char *key, long lo,
    long hi, long *out)
{
	const struct ynode *n = ytree_get(map, key);
	char *end;
	long v;

	if (n == NULL)
		return 0;
	errno = 0;
	v = n->kind == YN_SCALAR ? strtol(n->str, &end, 10) : 0;
	if (n->kind != YN_SCALAR || errno != 0 || end == n->str ||
	    *end != '\0' || v < lo || v > hi)
		return bad(c, n, "'%s' must be a whole number from %ld to %ld",
		    key, lo, hi);
	*out = v;
	return 0;
}

static int
get_bool(struct cload *c, const struct ynode *map, const char *key, int *out)
{
	const struct ynode *n = ytree_get(map, key);

	if (n == NULL)
		return 0;
	if (n->kind == YN_SCALAR && !n->quoted) {
		if (strcmp(n->str, "true") == 0 || strcmp(n->str, "yes") == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(n->str, "false") == 0 || strcmp(n->str, "no") == 0) {
			*out = 0;
			return 0;
		}
	}
	return bad(c, n, "'%s' must be true or false", key);
}

static int
parse_price(struct cload *c, const struct ynode *n, const char *what,
    int64_t *out)
{
	const char *why;

	if (n->kind != YN_SCALAR)
		return bad(c, n, "price of %s must be a decimal number", what);
	if (money_parse(n->str, MONEY_PRICE_SCALE, out, &why) != 0)
		return bad(c, n, "price of %s '%s': %s", what, n->str, why);
	return 0;
}

static int
parse_billing(struct cload *c, const struct ynode *n, int *out)
{
	if (n->kind == YN_SCALAR && strcmp(n->str, "sum") == 0)
		*out = BILLING_SUM;
	else if (n->kind == YN_SCALAR && strcmp(n->str, "max") == 0)
		*out = BILLING_MAX;
	else
		return bad(c, n, "%s", "'billing' must be sum or max");
	return 0;
}

/* gpu_types: {a100: "8.00", ...} */
static int
load_gpu_types(struct cload *c, const struct ynode *n, const char *part,
    struct conf_price *pr)
{
	const struct ynode *e;
	char what[160];
	size_t cnt = 0;

	if (n->kind != YN_MAP)
		return bad(c, n, "gpu_types of partition %s must be a map of "
		    "GPU type to price", part);
	for (e = n->child; e != NULL; e = e->next)
		cnt++;
	if ((pr->gpu_types = calloc(cnt ? cnt : 1, sizeof(*pr->gpu_types)))
	    == NULL)
		return bad(c, n, "%s", "out of memory");
	for (e = n->child; e != NULL; e = e->next) {
		struct conf_gpu_price *g = &pr->gpu_types[pr->ngpu_types];

		snprintf(what, sizeof(what), "%s GPUs of type %s", part, e->str);
		if (parse_price(c, e->value, what, &g->micro) != 0)
			return -1;
		if ((g->type = strdup(e->str)) == NULL)
			return bad(c, e, "%s", "out of memory");
		pr->ngpu_types++;
	}
	return 0;
}

/*
 * A partition's entry: a bare number (its CPU price) or a map
 * {cpu, gpu, gpu_types, mem_gb, billing}.
 */
static int
load_partition_price(struct cload *c, const struct ynode *e,
    struct conf_price *pr)
{
	const struct ynode *v = e->value, *n;
	char what[160];

	pr->billing_max = -1;
	pr->source = PRICE_LOCAL;
	if (v->kind != YN_MAP)
		return parse_price(c, v, e->str, &pr->micro);
	if (check_keys(c, v, "prices.partitions.NAME") != 0)
		return -1;
	if ((n = ytree_get(v, "cpu")) == NULL)
		return bad(c, v, "partition %s: missing 'cpu' (its price per "
		    "CPU-hour)", e->str);
	if (parse_price(c, n, e->str, &pr->micro) != 0)
		return -1;
	snprintf(what, sizeof(what), "%s GPUs", e->str);
	if ((n = ytree_get(v, "gpu")) != NULL &&
	    parse_price(c, n, what, &pr->gpu) != 0)
		return -1;
	snprintf(what, sizeof(what), "%s memory", e->str);
	if ((n = ytree_get(v, "mem_gb")) != NULL &&
	    parse_price(c, n, what, &pr->mem_gb) != 0)
		return -1;
	if ((n = ytree_get(v, "gpu_types")) != NULL &&
	    load_gpu_types(c, n, e->str, pr) != 0)
		return -1;
	if ((n = ytree_get(v, "billing")) != NULL &&
	    parse_billing(c, n, &pr->billing_max) != 0)
		return -1;
	return 0;
}

/* qos: {normal: 1, high: "1.5"}: exact multipliers. */
static int
load_qos(struct cload *c, const struct ynode *q, struct bank_conf *cf)
{
	const struct ynode *e;
	const char *why;
	size_t n = 0;

	if (q->kind != YN_MAP)
		return bad(c, q, "%s", "'qos' must be a map of QoS name to "
		    "multiplier");
	for (e = q->child; e != NULL; e = e->next)
		n++;
	if ((cf->qos = calloc(n ? n : 1, sizeof(*cf->qos))) == NULL)
		return bad(c, q, "%s", "out of memory");
	for (e = q->child; e != NULL; e = e->next) {
		struct conf_qos *qq = &cf->qos[cf->nqos];

		if (e->value->kind != YN_SCALAR)
			return bad(c, e, "multiplier of QoS %s must be a "
			    "decimal number", e->str);
		if (money_parse(e->value->str, MONEY_PRICE_SCALE, &qq->micro,
		    &why) != 0)
			return bad(c, e->value, "multiplier of QoS %s '%s': %s",
			    e->str, e->value->str, why);
		if ((qq->name = strdup(e->str)) == NULL)
			return bad(c, e, "%s", "out of memory");
		cf->nqos++;
	}
	return 0;
}

/*
 * prices.requeue_charge: every_run | last_run; prices.node_fail:
 * charge | free (a run that ended NODE_FAIL).  See docs/pricing.md.
 */
static int
load_runs(struct cload *c, const struct ynode *p, struct bank_conf *cf)
{
	const struct ynode *n;

	if ((n = ytree_get(p, "requeue_charge")) != NULL) {
		if (n->kind == YN_SCALAR && strcmp(n->str, "every_run") == 0)
			cf->requeue_charge = REQUEUE_EVERY_RUN;
		else if (n->kind == YN_SCALAR && strcmp(n->str, "last_run") == 0)
			cf->requeue_charge = REQUEUE_LAST_RUN;
		else
			return bad(c, n, "%s", "prices.requeue_charge must be "
			    "every_run or last_run");
	}
	if ((n = ytree_get(p, "node_fail")) != NULL) {
		if (n->kind == YN_SCALAR && strcmp(n->str, "charge") == 0)
			cf->node_fail_free = 0;
		else if (n->kind == YN_SCALAR && strcmp(n->str, "free") == 0)
			cf->node_fail_free = 1;
		else
			return bad(c, n, "%s", "prices.node_fail must be charge "
			    "or free");
	}
	return 0;
}

static int
load_prices(struct cload *c, const struct ynode *root, struct bank_conf *cf)
{
	const struct ynode *p, *parts, *e;
	size_t n = 0;
	long v;
	int b;

	if (get_map(c, root, "prices", &p) != 0)
		return -1;
	if (p == NULL)
		return 0;
	if (check_keys(c, p, "prices") != 0)
		return -1;
	if (ytree_get(p, "default") != NULL &&
	    parse_price(c, ytree_get(p, "default"), "unlisted partitions",
	    &cf->default_price) != 0)
		return -1;
	if (ytree_get(p, "billing") != NULL) {
		if (parse_billing(c, ytree_get(p, "billing"), &b) != 0)
			return -1;
		cf->billing = (enum conf_billing)b;
	}
	v = cf->prices_refresh_s;
	if (get_bool(c, p, "from_api", &cf->prices_from_api) != 0 ||
	    get_bool(c, p, "report_free", &cf->report_free) != 0 ||
	    get_int(c, p, "refresh_s", 10, 86400, &v) != 0)
		return -1;
	cf->prices_refresh_s = (int)v;
	if (load_runs(c, p, cf) != 0)
		return -1;
	if (ytree_get(p, "qos") != NULL &&
	    load_qos(c, ytree_get(p, "qos"), cf) != 0)
		return -1;
	if (get_map(c, p, "partitions", &parts) != 0)
		return -1;
	if (parts == NULL)
		return 0;
	for (e = parts->child; e != NULL; e = e->next)
		n++;
	if ((cf->local = calloc(n ? n : 1, sizeof(*cf->local))) == NULL)
		return bad(c, parts, "%s", "out of memory");
	cf->prices = cf->local;
	for (e = parts->child; e != NULL; e = e->next) {
		struct conf_price *pr = &cf->local[cf->nlocal];

		/* Counted first: conf_free() frees what was parsed. */
		if ((pr->partition = strdup(e->str)) == NULL)
			return bad(c, e, "%s", "out of memory");
		cf->nprices = ++cf->nlocal;
		if (load_partition_price(c, e, pr) != 0)
			return -1;
	}
	return 0;
}

static int
load_api(struct cload *c, const struct ynode *root, struct bank_conf *cf)
{
	const struct ynode *a;
	long v;
	size_t n;

	if (get_map(c, root, "api", &a) != 0)
		return -1;
	if (a == NULL)
		return bad(c, root, "%s", "missing 'api' (url and token)");
	if (check_keys(c, a, "api") != 0 ||
	    get_str(c, a, "url", &cf->api_url) != 0 ||
	    get_str(c, a, "token", &cf->api_token) != 0 ||
	    get_str(c, a, "token_file", &cf->api_token_file) != 0)
		return -1;
	if (cf->api_url == NULL)
		return bad(c, a, "%s", "missing 'api.url'");
	if (strncmp(cf->api_url, "http://", 7) != 0 &&
	    strncmp(cf->api_url, "https://", 8) != 0)
		return bad(c, ytree_get(a, "url"), "api.url '%s' must start "
		    "with http:// or https://", cf->api_url);
	n = strlen(cf->api_url);
	while (n > 0 && cf->api_url[n - 1] == '/')
		cf->api_url[--n] = '\0';
	/* "http://" alone would leave "http:" (found by fuzz_conf). */
	if (strstr(cf->api_url, "://") == NULL ||
	    strstr(cf->api_url, "://")[3] == '\0')
		return bad(c, ytree_get(a, "url"), "api.url names no host");
	if ((cf->api_token == NULL) == (cf->api_token_file == NULL))
		return bad(c, a, "%s", "set exactly one of 'api.token' and "
		    "'api.token_file'");
	v = cf->api_timeout_ms;
	if (get_int(c, a, "timeout_ms", 1, 600000, &v) != 0)
		return -1;
	cf->api_timeout_ms = (int)v;
	v = cf->api_max_inflight;
	if (get_int(c, a, "max_inflight", 1, 1024, &v) != 0)
		return -1;
	cf->api_max_inflight = (int)v;
	v = cf->api_retry_max_ms;
	if (get_int(c, a, "retry_max_ms", 1000, 3600000, &v) != 0)
		return -1;
	cf->api_retry_max_ms = (int)v;
	return 0;
}

static int	load_failover(struct cload *, const struct ynode *,
		    struct bank_conf *);

static int
load_plugins(struct cload *c, const struct ynode *root, struct bank_conf *cf)
{
	const struct ynode *p;

	if (get_map(c, root, "plugins", &p) != 0)
		return -1;
	if (p == NULL)
		return 0;
	if (check_keys(c, p, "plugins") != 0 ||
	    get_bool(c, p, "job_submit", &cf->job_submit_enabled) != 0 ||
	    get_bool(c, p, "spank", &cf->spank_enabled) != 0 ||
	    get_bool(c, p, "jobcomp", &cf->jobcomp_enabled) != 0 ||
	    get_bool(c, p, "submit_message", &cf->submit_message) != 0 ||
	    load_failover(c, p, cf) != 0)
		return -1;
	return 0;
}

static int
load_deadlines(struct cload *c, const struct ynode *root,
    struct bank_conf *cf)
{
	const struct ynode *d;
	long v;

	if (get_map(c, root, "deadlines", &d) != 0)
		return -1;
	if (d == NULL)
		return 0;
	if (check_keys(c, d, "deadlines") != 0)
		return -1;
	v = cf->submit_deadline_ms;
	if (get_int(c, d, "submit_ms", 1, 60000, &v) != 0)
		return -1;
	cf->submit_deadline_ms = (int)v;
	v = cf->report_deadline_ms;
	if (get_int(c, d, "report_ms", 1, 60000, &v) != 0)
		return -1;
	cf->report_deadline_ms = (int)v;
	v = cf->decision_ms;
	if (get_int(c, d, "decision_ms", 1, 60000, &v) != 0)
		return -1;
	cf->decision_ms = (int)v;
	v = cf->submit_budget_ms;
	if (get_int(c, d, "submit_budget_ms", 0, 600000, &v) != 0)
		return -1;
	cf->submit_budget_ms = (int)v;
	return 0;
}

static int
load_policy(struct cload *c, const struct ynode *root, struct bank_conf *cf)
{
	const struct ynode *p, *n;

	if (get_map(c, root, "policy", &p) != 0)
		return -1;
	if (p == NULL)
		return 0;
	if (check_keys(c, p, "policy") != 0)
		return -1;
	if ((n = ytree_get(p, "on_api_unavailable")) != NULL) {
		if (n->kind == YN_SCALAR && strcmp(n->str, "allow") == 0)
			cf->on_api_unavailable = POLICY_ALLOW;
		else if (n->kind == YN_SCALAR && strcmp(n->str, "deny") == 0)
			cf->on_api_unavailable = POLICY_DENY;
		else if (n->kind == YN_SCALAR && strcmp(n->str, "cached") == 0)
			cf->on_api_unavailable = POLICY_CACHED;
		else
			return bad(c, n, "%s", "'on_api_unavailable' must be "
			    "allow, deny or cached");
	}
	if ((n = ytree_get(p, "on_unknown")) != NULL) {
		if (n->kind == YN_SCALAR && strcmp(n->str, "allow") == 0)
			cf->on_unknown = POLICY_ALLOW;
		else if (n->kind == YN_SCALAR && strcmp(n->str, "deny") == 0)
			cf->on_unknown = POLICY_DENY;
		else
			return bad(c, n, "%s", "'on_unknown' must be allow or "
			    "deny");
	}
	return 0;
}

static int
load_holds_cache(struct cload *c, const struct ynode *root,
    struct bank_conf *cf)
{
	const struct ynode *h, *k;
	long v;

	if (get_map(c, root, "holds", &h) != 0 ||
	    get_map(c, root, "cache", &k) != 0)
		return -1;
	if (h != NULL) {
		if (check_keys(c, h, "holds") != 0 ||
		    get_bool(c, h, "enabled", &cf->holds_enabled) != 0)
			return -1;
		v = cf->reconcile_s;
		if (get_int(c, h, "reconcile_s", 0, 86400, &v) != 0)
			return -1;
		cf->reconcile_s = (int)v;
		v = cf->hold_grace_s;
		if (get_int(c, h, "grace_s", 1, 86400, &v) != 0)
			return -1;
		cf->hold_grace_s = (int)v;
	}
	if (k != NULL) {
		if (check_keys(c, k, "cache") != 0)
			return -1;
		v = cf->cache_ttl_s;
		if (get_int(c, k, "ttl_s", 0, 86400, &v) != 0)
			return -1;
		cf->cache_ttl_s = (int)v;
		v = cf->probe_factor;
		if (get_int(c, k, "probe_factor", 1, 1000, &v) != 0)
			return -1;
		cf->probe_factor = (int)v;
	}
	return 0;
}

/* limits: what one caller may take of bankd (docs/reliability.md). */
static int
load_limits(struct cload *c, const struct ynode *root, struct bank_conf *cf)
{
	static const struct {
		const char	*key;
		long		 lo, hi;
		size_t		 off;
	} ints[] = {
		{ "connections", 16, 1048576,
		    offsetof(struct bank_conf, max_connections) },
		{ "user_connections", 1, 65536,
		    offsetof(struct bank_conf, user_connections) },
		{ "user_idle_s", 1, 86400,
		    offsetof(struct bank_conf, user_idle_s) },
		{ "user_checks", 1, 1024,
		    offsetof(struct bank_conf, user_checks) },
		{ "user_checks_per_s", 1, 100000,
		    offsetof(struct bank_conf, user_checks_per_s) },
		{ "api_checks", 1, 4096,
		    offsetof(struct bank_conf, api_checks) },
		{ "tcp_connections", 1, 65536,
		    offsetof(struct bank_conf, tcp_connections) },
	};
	const struct ynode *l;
	size_t i;
	long v;
	int *f;

	if (get_map(c, root, "limits", &l) != 0)
		return -1;
	if (l == NULL)
		return 0;
	if (check_keys(c, l, "limits") != 0)
		return -1;
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		f = (int *)((char *)cf + ints[i].off);
		v = *f;
		if (get_int(c, l, ints[i].key, ints[i].lo, ints[i].hi, &v) != 0)
			return -1;
		*f = (int)v;
	}
	return 0;
}

/*
 * metrics: {listen: ADDRESS:PORT}: the Prometheus endpoint, off when
 * absent.  An IP literal only, as listen_tcp: no name is looked up.
 */
static int
load_metrics(struct cload *c, const struct ynode *root, struct bank_conf *cf)
{
	struct sockaddr_storage ss;
	const struct ynode *m;
	unsigned salen;

	if (get_map(c, root, "metrics", &m) != 0)
		return -1;
	if (m == NULL)
		return 0;
	if (check_keys(c, m, "metrics") != 0 ||
	    get_str(c, m, "listen", &cf->metrics_listen) != 0)
		return -1;
	if (cf->metrics_listen == NULL)
		return bad(c, m, "%s", "'metrics' needs 'listen' (ADDRESS:PORT); "
		    "leave 'metrics' out for no metrics");
	if (bp_hostport(cf->metrics_listen, &ss, &salen) != 0)
		return bad(c, ytree_get(m, "listen"), "metrics.listen '%s' must "
		    "be ADDRESS:PORT: an IP literal (IPv6 in brackets) and a "
		    "port 1-65535", cf->metrics_listen);
	return 0;
}

/*
 * One of a list of controllers (relay.upstreams, plugins.failover): an IP
 * literal and a port, as listen_tcp.  No name is looked up: the plugins
 * load this inside slurmctld, where nothing may block.
 */
static int
load_upstream(struct cload *c, const struct ynode *n, const char *key,
    char **list, size_t *np)
{
	struct sockaddr_storage ss;
	unsigned salen;

	if (n->kind != YN_SCALAR || bp_hostport(n->str, &ss, &salen) != 0)
		return bad(c, n, "%s: '%s' must be ADDRESS:PORT: an IP literal "
		    "(IPv6 in brackets) and a port 1-65535", key,
		    n->kind == YN_SCALAR ? n->str : "(not a value)");
	if (*np == CONF_RELAY_MAX)
		return bad(c, n, "%s: at most %d controllers", key,
		    CONF_RELAY_MAX);
	if ((list[*np] = strdup(n->str)) == NULL)
		return bad(c, n, "%s", "out of memory");
	(*np)++;
	return 0;
}

/*
 * plugins.failover: [ADDRESS:PORT, ...]: the controllers' listen_tcp,
 * where the plugins turn (with a MUNGE credential) when this host's bankd
 * does not answer on its socket: on a controller whose bankd is the
 * standby or down, the active one on the other host.
 */
static int
load_failover(struct cload *c, const struct ynode *p, struct bank_conf *cf)
{
	const struct ynode *u, *e;

	if ((u = ytree_get(p, "failover")) == NULL)
		return 0;
	if (u->kind != YN_SEQ)
		return bad(c, u, "%s", "'plugins.failover' must be a list of "
		    "ADDRESS:PORT (the controllers' listen_tcp)");
	for (e = u->child; e != NULL; e = e->next)
		if (load_upstream(c, e, "plugins.failover", cf->failover,
		    &cf->nfailover) != 0)
			return -1;
	return 0;
}

/*
 * relay: {upstreams: [ADDRESS:PORT, ...], timeout_ms, window,
 * retry_max_ms}: role relay's, and only its (docs/delivery.md, Relays).
 */
static int
load_relay(struct cload *c, const struct ynode *root, struct bank_conf *cf)
{
	const struct ynode *r, *u, *e;
	long t = cf->relay_timeout_ms, w = cf->relay_window,
	    m = cf->relay_retry_max_ms;

	if (get_map(c, root, "relay", &r) != 0)
		return -1;
	if (cf->role != ROLE_RELAY) {
		if (r != NULL)
			return bad(c, r, "%s", "'relay' is the settings of "
			    "role: relay, and role is controller");
		return 0;
	}
	if (r == NULL)
		return bad(c, root, "%s", "role relay: missing 'relay' (its "
		    "upstreams, the controllers' ADDRESS:PORT)");
	if (check_keys(c, r, "relay") != 0)
		return -1;
	if ((u = ytree_get(r, "upstreams")) == NULL)
		return bad(c, r, "%s", "missing 'relay.upstreams' (the "
		    "controllers' ADDRESS:PORT, in order)");
	if (u->kind != YN_SEQ || u->child == NULL)
		return bad(c, u, "%s", "'relay.upstreams' must be a list of "
		    "ADDRESS:PORT, at least one");
	for (e = u->child; e != NULL; e = e->next)
		if (load_upstream(c, e, "relay.upstreams", cf->relay_up,
		    &cf->nrelay_up) != 0)
			return -1;
	if (get_int(c, r, "timeout_ms", 10, 600000, &t) != 0 ||
	    get_int(c, r, "window", 1, 1024, &w) != 0 ||
	    get_int(c, r, "retry_max_ms", 100, 3600000, &m) != 0)
		return -1;
	cf->relay_timeout_ms = (int)t;
	cf->relay_window = (int)w;
	cf->relay_retry_max_ms = (int)m;
	return 0;
}

static const char *const log_level_names[] = {
	[CONF_LOG_ERROR] = "error",
	[CONF_LOG_WARN] = "warn",
	[CONF_LOG_INFO] = "info",
	[CONF_LOG_DEBUG] = "debug",
};

/* log: level (a relay's too: it logs as the bank does). */
static int
load_log(struct cload *c, const struct ynode *root, struct bank_conf *cf)
{
	const struct ynode *l, *n;
	size_t i;

	if (get_map(c, root, "log", &l) != 0)
		return -1;
	if (l == NULL)
		return 0;
	if (check_keys(c, l, "log") != 0)
		return -1;
	if ((n = ytree_get(l, "level")) == NULL)
		return 0;
	for (i = 0; n->kind == YN_SCALAR && i < sizeof(log_level_names) /
	    sizeof(log_level_names[0]); i++)
		if (strcmp(n->str, log_level_names[i]) == 0) {
			cf->log_level = (enum conf_log_level)i;
			return 0;
		}
	return bad(c, n, "%s", "'level' must be error, warn, info or debug");
}

const char *
conf_log_level_name(enum conf_log_level l)
{
	return (size_t)l < sizeof(log_level_names) /
	    sizeof(log_level_names[0]) ? log_level_names[l] : "info";
}

static int
load_role(struct cload *c, const struct ynode *root, struct bank_conf *cf)
{
	const struct ynode *n = ytree_get(root, "role");

	if (n == NULL)
		return 0;
	if (n->kind == YN_SCALAR && strcmp(n->str, "controller") == 0)
		cf->role = ROLE_CONTROLLER;
	else if (n->kind == YN_SCALAR && strcmp(n->str, "relay") == 0)
		cf->role = ROLE_RELAY;
	else
		return bad(c, n, "%s", "'role' must be controller or relay");
	return 0;
}

const char *
conf_role_name(enum conf_role r)
{
	return r == ROLE_RELAY ? "relay" : "controller";
}

static void
conf_defaults(struct bank_conf *cf)
{
	memset(cf, 0, sizeof(*cf));
	cf->api_timeout_ms = 5000;
	cf->api_max_inflight = 8;
	cf->api_retry_max_ms = 5 * 60 * 1000;
	cf->job_submit_enabled = 1;
	cf->spank_enabled = 1;
	cf->jobcomp_enabled = 1;
	cf->submit_message = 1;
	cf->default_price = 1000000;
	cf->billing = BILLING_SUM;
	cf->prices_refresh_s = 300;
	cf->default_time_limit = 1440;
	cf->submit_deadline_ms = 500;
	cf->report_deadline_ms = 500;
	cf->decision_ms = 300;
	cf->submit_budget_ms = 500;
	cf->fsync = 1;
	cf->on_api_unavailable = POLICY_ALLOW;
	cf->on_unknown = POLICY_ALLOW;
	cf->log_level = CONF_LOG_INFO;
	cf->cache_ttl_s = 60;
	cf->probe_factor = 4;
	cf->holds_enabled = 1;
	cf->reconcile_s = 60;
	cf->hold_grace_s = 30;
	cf->max_connections = 4096;
	cf->tcp_connections = 256;
	cf->user_connections = 32;
	cf->user_idle_s = 60;
	cf->user_checks = 4;
	cf->user_checks_per_s = 10;
	cf->api_checks = 32;
	cf->role = ROLE_CONTROLLER;
	cf->relay_timeout_ms = 2000;
	cf->relay_window = 64;
	cf->relay_retry_max_ms = 30000;
}

static int
set_default(char **v, const char *def)
{
	if (*v == NULL && (*v = strdup(def)) == NULL)
		return -1;
	return 0;
}

static int
load_root(struct cload *c, const struct ynode *root, struct bank_conf *cf)
{
	long v = cf->default_time_limit;
	int relay;

	if (check_keys(c, root, "") != 0 || load_role(c, root, cf) != 0 ||
	    load_relay(c, root, cf) != 0)
		return -1;
	/* A relay prices nothing and asks no API: those are the bank's. */
	relay = cf->role == ROLE_RELAY;
	if (get_str(c, root, "socket", &cf->socket) != 0 ||
	    get_str(c, root, "listen_tcp", &cf->listen_tcp) != 0 ||
	    get_str(c, root, "munge_socket", &cf->munge_socket) != 0 ||
	    get_str(c, root, "slurm_user", &cf->slurm_user) != 0 ||
	    get_str(c, root, "state_dir", &cf->state_dir) != 0 ||
	    get_str(c, root, "spool_dir", &cf->spool_dir) != 0 ||
	    get_bool(c, root, "fsync", &cf->fsync) != 0 ||
	    (!relay && load_api(c, root, cf) != 0) ||
	    load_plugins(c, root, cf) != 0 ||
	    (!relay && load_prices(c, root, cf) != 0) ||
	    get_int(c, root, "default_time_limit", 1, 525600, &v) != 0 ||
	    load_deadlines(c, root, cf) != 0 ||
	    (!relay && load_policy(c, root, cf) != 0) ||
	    (!relay && load_holds_cache(c, root, cf) != 0) ||
	    load_limits(c, root, cf) != 0 || load_metrics(c, root, cf) != 0 ||
	    load_log(c, root, cf) != 0)
		return -1;
	cf->default_time_limit = (uint32_t)v;
	if (set_default(&cf->socket, CONF_DEFAULT_SOCKET) != 0 ||
	    set_default(&cf->slurm_user, "slurm") != 0 ||
	    set_default(&cf->state_dir, CONF_DEFAULT_STATE) != 0 ||
	    set_default(&cf->spool_dir, CONF_DEFAULT_SPOOL) != 0)
		return bad(c, root, "%s", "out of memory");
	if (cf->state_dir[0] != '/' || cf->spool_dir[0] != '/')
		return bad(c, ytree_get(root, cf->state_dir[0] != '/' ?
		    "state_dir" : "spool_dir"), "%s", "state_dir and spool_dir "
		    "must be absolute paths");
	/* bankd must decide before the plugin stops waiting for it. */
	if (cf->decision_ms >= cf->submit_deadline_ms) {
		const struct ynode *d = ytree_get(root, "deadlines");

		return bad(c, ytree_get(d, "decision_ms") ? ytree_get(d,
		    "decision_ms") : ytree_get(d, "submit_ms"), "%s",
		    "deadlines: decision_ms must be smaller than submit_ms, "
		    "or bankd's answer arrives after job_submit gave up");
	}
	if (cf->socket[0] != '/')
		return bad(c, ytree_get(root, "socket"), "socket '%s' must be "
		    "an absolute path", cf->socket);
	if (cf->listen_tcp != NULL) {
		struct sockaddr_storage ss;
		unsigned salen;

		if (bp_hostport(cf->listen_tcp, &ss, &salen) != 0)
			return bad(c, ytree_get(root, "listen_tcp"),
			    "listen_tcp '%s' must be ADDRESS:PORT: an IP "
			    "literal (IPv6 in brackets) and a port 1-65535",
			    cf->listen_tcp);
	}
	if (cf->munge_socket != NULL && cf->munge_socket[0] != '/')
		return bad(c, ytree_get(root, "munge_socket"), "munge_socket "
		    "'%s' must be an absolute path", cf->munge_socket);
	/* TCP's are connections too: limits.connections bounds them all. */
	if (cf->tcp_connections > cf->max_connections)
		cf->tcp_connections = cf->max_connections;
	return 0;
}

int
conf_load(const char *path, struct bank_conf *cf, char *err, size_t errlen)
{
	struct cload c = { .path = path, .err = err, .errlen = errlen };
	struct ynode *root;
	int rc;

	conf_defaults(cf);
	err[0] = '\0';
	if ((root = ytree_load(path, err, errlen)) == NULL)
		return -1;
	rc = load_root(&c, root, cf);
	ytree_free(root);
	if (rc == 0 && (cf->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = -1;
	}
	if (rc != 0)
		conf_free(cf);
	return rc;
}

void
conf_free(struct bank_conf *cf)
{
	size_t i;

	/* Only bank.yaml's: a price table cf->prices shows is its owner's. */
	for (i = 0; i < cf->nlocal; i++) {
		size_t j;

		for (j = 0; j < cf->local[i].ngpu_types; j++)
			free(cf->local[i].gpu_types[j].type);
		free(cf->local[i].gpu_types);
		free(cf->local[i].partition);
	}
	free(cf->local);
	for (i = 0; i < cf->nqos; i++)
		free(cf->qos[i].name);
	free(cf->qos);
	for (i = 0; i < cf->nrelay_up; i++)
		free(cf->relay_up[i]);
	for (i = 0; i < cf->nfailover; i++)
		free(cf->failover[i]);
	free(cf->path);
	free(cf->socket);
	free(cf->listen_tcp);
	free(cf->metrics_listen);
	free(cf->munge_socket);
	free(cf->slurm_user);
	free(cf->state_dir);
	free(cf->spool_dir);
	free(cf->api_url);
	free(cf->api_token);
	free(cf->api_token_file);
	memset(cf, 0, sizeof(*cf));
}

const struct conf_price *
conf_price_entry(const struct bank_conf *cf, const char *partition)
{
	size_t i;

	for (i = 0; partition != NULL && i < cf->nprices; i++)
		if (strcmp(cf->prices[i].partition, partition) == 0)
			return &cf->prices[i];
	return NULL;
}

int
conf_price(const struct bank_conf *cf, const char *partition, int64_t *micro)
{
	const struct conf_price *pr = conf_price_entry(cf, partition);

	*micro = pr != NULL ? pr->micro : cf->default_price;
	return pr != NULL;
}

int
conf_free_partition(const struct bank_conf *cf, const char *partition)
{
	const struct conf_price *pr = conf_price_entry(cf, partition);
	size_t i;

	if (pr == NULL)
		return cf->default_price == 0;
	if (pr->micro != 0 || pr->gpu != 0 || pr->mem_gb != 0)
		return 0;
	for (i = 0; i < pr->ngpu_types; i++)
		if (pr->gpu_types[i].micro != 0)
			return 0;
	return 1;
}

int64_t
conf_qos_multiplier(const struct bank_conf *cf, const char *qos)
{
	size_t i;

	for (i = 0; qos != NULL && i < cf->nqos; i++)
		if (strcmp(cf->qos[i].name, qos) == 0)
			return cf->qos[i].micro;
	return 1000000;
}

/* A token is the 40-hex key; "Token <key>" (the old header form) is cut. */
static int
token_clean(char *t, char **out, const char *src, char *err, size_t errlen)
{
	char *s = t, *e;

	while (*s == ' ' || *s == '\t')
		s++;
	if (strncmp(s, "Token ", 6) == 0)
		s += 6;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' '))
		*--e = '\0';
	if (*s == '\0' || strpbrk(s, " \t\r\n") != NULL) {
		snprintf(err, errlen, "%s: the API token must be one word "
		    "(the key, optionally after 'Token ')", src);
		return -1;
	}
	if ((*out = strdup(s)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", src);
		return -1;
	}
	return 0;
}

/*
 * The staff token moves money: only root or bankd's own user may own its
 * file, and nobody else may read or change it.  A symbolic link is
 * refused too (open's O_NOFOLLOW), so the file checked is the file read.
 */
static int
token_file_safe(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "token file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "token file %s is not a regular file",
		    path);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen, "token file %s belongs to uid %lu: it must "
		    "belong to root or to bankd's user (uid %lu)", path,
		    (unsigned long)st.st_uid, (unsigned long)geteuid());
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "token file %s has mode %04o: no one but "
		    "its owner may read or write it (chmod 600)", path,
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

int
conf_read_token(const struct bank_conf *cf, char **token, char *err,
    size_t errlen)
{
	char buf[512];
	ssize_t n;
	int fd;

	if (cf->api_token != NULL) {
		/* Cut short, it would be another token: refused instead. */
		if (strlen(cf->api_token) >= sizeof(buf)) {
			snprintf(err, errlen, "%s: the API token is longer than "
			    "%zu characters", cf->path, sizeof(buf) - 1);
			return -1;
		}
		snprintf(buf, sizeof(buf), "%s", cf->api_token);
		return token_clean(buf, token, cf->path, err, errlen);
	}
	if ((fd = open(cf->api_token_file, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC | O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "token file %s: %s", cf->api_token_file,
		    errno == ELOOP ? "is a symbolic link: name the file itself"
		    : strerror(errno));
		return -1;
	}
	if (token_file_safe(fd, cf->api_token_file, err, errlen) != 0) {
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "token file %s: %s", cf->api_token_file,
		    strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	return token_clean(buf, token, cf->api_token_file, err, errlen);
}

const char *
conf_policy_name(enum conf_policy p)
{
	return p == POLICY_DENY ? "deny" : p == POLICY_CACHED ? "cached" :
	    "allow";
}
