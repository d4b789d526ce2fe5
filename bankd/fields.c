/*
 * fields.c - the rules for each request's fields (see fields.h).
 *
 * A rule names a key and what its value must be: a decimal number no
 * larger than its bound, a name of the kind it is, or printable text.
 * The bounds are lim.h's, that is what Slurm and the API can express;
 * before these rules a number that did not parse was silently taken as
 * "unset" (`-n 99999999999999999999` priced one CPU).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fields.h"
#include "lim.h"
#include "utf8.h"

enum kind {
	K_NUM,		/* decimal, 0 .. max */
	K_ACCOUNT,	/* goes into a URL: fields_account_ok() */
	K_NAME,		/* a partition or QoS name, at most max bytes */
	K_NAMES,	/* comma list of K_NAME */
	K_PARTINFO,	/* "name:cpus:mem_mb:excl" comma list */
	K_TEXT,		/* printable, at most max bytes (0: the frame's) */
	K_NUMS,		/* comma list of at most max decimal uint64s */
};

struct rule {
	const char	*key;
	enum kind	 kind;
	uint64_t	 max;
};

#define U16	UINT64_C(65535)

/* What prices a job: CHECK and ESTIMATE. */
static const struct rule job_rules[] = {
	{ "uid",		K_NUM,		LIM_UID },
	{ "account",		K_ACCOUNT,	LIM_ACCOUNT_LEN },
	{ "partitions",		K_NAMES,	LIM_PARTITION_LEN },
	{ "min_cpus",		K_NUM,		LIM_COUNT },
	{ "num_tasks",		K_NUM,		LIM_COUNT },
	{ "cpus_per_task",	K_NUM,		LIM_CPUS_PER_TASK },
	{ "min_nodes",		K_NUM,		LIM_COUNT },
	{ "ntasks_per_node",	K_NUM,		U16 },
	{ "pn_min_cpus",	K_NUM,		U16 },
	{ "time_limit",		K_NUM,		LIM_MINUTES },
	{ "shared",		K_NUM,		U16 },
	{ "part_info",		K_PARTINFO,	0 },
	{ "mem_per_cpu",	K_NUM,		LIM_MEM_MB },
	{ "mem_per_node",	K_NUM,		LIM_MEM_MB },
	{ "tres_per_job",	K_TEXT,		0 },
	{ "tres_per_node",	K_TEXT,		0 },
	{ "tres_per_task",	K_TEXT,		0 },
	{ "tres_per_socket",	K_TEXT,		0 },
	{ "qos",		K_NAME,		LIM_QOS_LEN },
	{ "array_tasks",	K_NUM,		LIM_ARRAY_TASKS },
	{ "cost",		K_NUM,		LIM_COST_CENTS },
	{ "dry_run",		K_NUM,		1 },
	{ "plugin",		K_TEXT,		32 },
	/* job_modify: the job changed, its hold, one task of an array */
	{ "modify",		K_NUM,		LIM_JOB_ID },
	{ "hold",		K_NUM,		UINT64_MAX },
	{ "array_task",		K_NUM,		1 },
	/* a heterogeneous job's component, and its earlier ones' holds */
	{ "het_offset",		K_NUM,		LIM_HET_COMPONENTS - 1 },
	{ "het_holds",		K_NUMS,		LIM_HET_COMPONENTS - 1 },
	{ NULL,			0,		0 },
};

/*
 * START and END.  The account is text here, not a URL name: a report is
 * charged by its body, and one for an account the API does not know
 * becomes a dead letter an operator can see, rather than vanishing.
 */
static const struct rule report_rules[] = {
	{ "job_id",		K_NUM,		LIM_JOB_ID },
	{ "uid",		K_NUM,		LIM_UID },
	{ "account",		K_TEXT,		LIM_ACCOUNT_LEN },
	{ "partition",		K_NAME,		LIM_PARTITION_LEN },
	{ "qos",		K_NAME,		LIM_QOS_LEN },
	{ "state",		K_TEXT,		64 },
	{ "cpus",		K_NUM,		LIM_COUNT },
	{ "nodes",		K_TEXT,		0 },
	{ "num_nodes",		K_NUM,		LIM_COUNT },
	{ "req_nodes",		K_NUM,		LIM_COUNT },
	{ "submit",		K_NUM,		LIM_DATE },
	{ "start",		K_NUM,		LIM_DATE },
	{ "end",		K_NUM,		LIM_DATE },
	{ "suspended",		K_NUM,		LIM_DATE },
	{ "time_limit",		K_NUM,		LIM_MINUTES },
	{ "hold",		K_NUM,		UINT64_MAX },
	{ "run",		K_NUM,		LIM_RUNS },	/* restart_cnt */
	{ "tres_alloc",		K_TEXT,		0 },
	{ "mem_mb",		K_NUM,		LIM_MEM_MB },
	{ "gpus",		K_TEXT,		0 },
	{ "tres_per_job",	K_TEXT,		0 },
	{ "tres_per_node",	K_TEXT,		0 },
	{ "tres_per_task",	K_TEXT,		0 },
	{ "tres_per_socket",	K_TEXT,		0 },
	{ "num_tasks",		K_NUM,		LIM_COUNT },
	{ "node_cpus",		K_NUM,		LIM_COUNT },
	{ "node_mem_mb",	K_NUM,		LIM_MEM_MB },
	{ "part_info",		K_PARTINFO,	0 },
	/* The QoS's UsageFactor x 1e6, from Slurm's record (slurmdbd). */
	{ "usage_factor",	K_NUM,		LIM_USAGE_FACTOR_MICRO },
	{ NULL,			0,		0 },
};

/* bankctl's queue and holds requests. */
static const struct rule admin_rules[] = {
	{ "offset",		K_NUM,		UINT64_MAX },
	{ "limit",		K_NUM,		UINT64_MAX },
	{ "dead",		K_NUM,		1 },
	{ "seq",		K_NUM,		UINT64_MAX },
	{ "account",		K_ACCOUNT,	LIM_ACCOUNT_LEN },
	{ "uid",		K_NUM,		LIM_UID },
	{ NULL,			0,		0 },
};

/* BP_T_BALANCE: an account the API's path can carry. */
static const struct rule balance_rules[] = {
	{ "account",		K_ACCOUNT,	LIM_ACCOUNT_LEN },
	{ NULL,			0,		0 },
};

static const struct rule *
rules_of(uint8_t type)
{
	switch (type) {
	case BP_T_CHECK:
	case BP_T_ESTIMATE:
		return job_rules;
	case BP_T_START:
	case BP_T_END:
	case BP_T_BACKFILL:
		return report_rules;
	case BP_T_QUEUE:
	case BP_T_SHOW:
	case BP_T_RETRY:
	case BP_T_DROP:
	case BP_T_HOLDS:
	case BP_T_PRICES:
		return admin_rules;
	case BP_T_BALANCE:
		return balance_rules;
	}
	return NULL;
}

static int
number_ok(const char *v, uint64_t max)
{
	uint64_t n = 0, d;

	if (*v == '\0')
		return 0;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9')
			return 0;
		d = (uint64_t)(*v - '0');
		if (n > (UINT64_MAX - d) / 10)
			return 0;
		n = n * 10 + d;
	}
	return n <= max;
}

/* "12,7,31": at most max numbers, each a uint64 (a hold's token). */
static int
numbers_ok(const char *s, uint64_t max)
{
	char num[24];
	const char *e;
	uint64_t n = 0;

	for (;; s = e + 1) {
		e = s + strcspn(s, ",");
		if (e - s >= (long)sizeof(num) || ++n > max)
			return 0;
		memcpy(num, s, (size_t)(e - s));
		num[e - s] = '\0';
		if (!number_ok(num, UINT64_MAX))
			return 0;
		if (*e == '\0')
			return 1;
	}
}

static int
account_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

int
fields_account_ok(const char *a)
{
	size_t n;

	if (a[0] == '-' || strcmp(a, ".") == 0 || strcmp(a, "..") == 0)
		return 0;
	for (n = 0; a[n] != '\0'; n++)
		if (!account_char((unsigned char)a[n]) || n >= LIM_ACCOUNT_LEN)
			return 0;
	return n > 0;
}

/* Partition and QoS names: no separators of our formats, no spaces. */
static int
name_ok(const char *s, size_t len, uint64_t max)
{
	size_t i;

	if (len == 0 || len > max)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] == ',' || s[i] == ':' || s[i] == ' ')
			return 0;
	return 1;
}

static int
names_ok(const char *s, uint64_t max)
{
	const char *e;

	if (*s == '\0')
		return 1;	/* none given: the default partition */
	for (;; s = e + 1) {
		e = s + strcspn(s, ",");
		if (!name_ok(s, (size_t)(e - s), max))
			return 0;
		if (*e == '\0')
			return 1;
	}
}

/* "normal:32:192000:0,gpu:64:512000:1", as job_submit builds it. */
static int
partinfo_ok(const char *s)
{
	char num[32];
	const char *e, *f;
	int i;

	for (; *s != '\0'; s = *e ? e + 1 : e) {
		e = s + strcspn(s, ",");
		f = memchr(s, ':', (size_t)(e - s));
		if (f == NULL || !name_ok(s, (size_t)(f - s),
		    LIM_PARTITION_LEN))
			return 0;
		for (i = 0; i < 3; i++) {
			s = f + 1;
			f = i < 2 ? memchr(s, ':', (size_t)(e - s)) : e;
			if (f == NULL || f - s >= (long)sizeof(num))
				return 0;
			memcpy(num, s, (size_t)(f - s));
			num[f - s] = '\0';
			if (!number_ok(num, i == 0 ? LIM_COUNT : i == 1 ?
			    LIM_MEM_MB : 1))
				return 0;
		}
	}
	return 1;
}

static const char *
why_not(const struct rule *r, const char *v)
{
	switch (r->kind) {
	case K_NUM:
		return number_ok(v, r->max) ? NULL : "a whole number";
	case K_ACCOUNT:		/* "": none given */
		return *v == '\0' || fields_account_ok(v) ? NULL :
		    "an account name (letters, "
		    "digits, '_', '.', '-'; not '.' or '..')";
	case K_NAME:		/* "": none given */
		return *v == '\0' || name_ok(v, strlen(v), r->max) ? NULL :
		    "a name (no ',', "
		    "':' or spaces)";
	case K_NAMES:
		return names_ok(v, r->max) ? NULL : "a comma list of names";
	case K_PARTINFO:
		return partinfo_ok(v) ? NULL : "a list of partition:cpus:mem:"
		    "exclusive";
	case K_TEXT:
		return r->max == 0 || strlen(v) <= r->max ? NULL : "text";
	case K_NUMS:
		return numbers_ok(v, r->max) ? NULL : "a comma list of whole "
		    "numbers";
	}
	return "valid";
}

/*
 * A report stands for a job that ran: its text (a QoS, a state, a node
 * list a user had a say in) is mended rather than refused, so that the
 * job is still charged: every byte that is not printable UTF-8 becomes
 * '?'.  The value is the message's own copy (bp_parse's body).
 */
static void
mend(struct bp_msg *m, size_t i, char *fixed, size_t fixedlen)
{
	unsigned char *p = (unsigned char *)(uintptr_t)m->fields[i].val;
	size_t n, o = strlen(fixed);
	uint32_t c;

	for (; *p != '\0'; p += n) {
		if ((n = utf8_decode(p, &c)) == 0 || c < 0x20 ||
		    (c >= 0x7f && c <= 0x9f)) {
			*p = '?';
			n = 1;
		}
	}
	if (o + strlen(m->fields[i].key) + 3 < fixedlen)
		snprintf(fixed + o, fixedlen - o, "%s'%s'", o ? ", " : "",
		    m->fields[i].key);
}

static int
is_report(uint8_t type)
{
	return type == BP_T_START || type == BP_T_END;
}

int
fields_check(struct bp_msg *m, char *err, size_t errlen, char *fixed,
    size_t fixedlen)
{
	const struct rule *rules = rules_of(m->type), *r;
	const char *v, *why;
	size_t i;

	if (fixedlen > 0)
		fixed[0] = '\0';
	for (i = 0; i < m->nfields; i++) {
		v = m->fields[i].val;
		/* A first-byte test spares most strcmp()s (every decision). */
		for (r = rules; r != NULL && r->key != NULL; r++)
			if (r->key[0] == m->fields[i].key[0] &&
			    strcmp(r->key, m->fields[i].key) == 0)
				break;
		if (r != NULL && r->key == NULL)
			r = NULL;
		/* Digits are printable: a number needs no second look. */
		if ((r == NULL || r->kind != K_NUM) && !utf8_printable(v)) {
			if (is_report(m->type) && fixedlen > 0) {
				mend(m, i, fixed, fixedlen);
			} else {
				snprintf(err, errlen, "field '%s' is not "
				    "printable UTF-8 (control characters or "
				    "invalid bytes)", m->fields[i].key);
				return -1;
			}
		}
		if (r == NULL || (why = why_not(r, v)) == NULL)
			continue;
		if (r->kind == K_NUM)
			snprintf(err, errlen, "field '%s' must be %s from 0 to "
			    "%llu", r->key, why, (unsigned long long)r->max);
		else if (r->kind == K_NUMS)
			snprintf(err, errlen, "field '%s' must be %s, at most "
			    "%llu of them", r->key, why,
			    (unsigned long long)r->max);
		else if (r->max != 0)
			snprintf(err, errlen, "field '%s' must be %s of at "
			    "most %llu bytes", r->key, why,
			    (unsigned long long)r->max);
		else
			snprintf(err, errlen, "field '%s' must be %s", r->key,
			    why);
		return -1;
	}
	return 0;
}

/* ---- a relay's peer_uid and peer_gid ------------------------------ */

/* Field key's index in m, or m->nfields. */
static size_t
field_at(const struct bp_msg *m, const char *key)
{
	size_t i;

	for (i = 0; i < m->nfields; i++)
		if (strcmp(m->fields[i].key, key) == 0)
			break;
	return i;
}

/* Out of m (a received message: its values are its body's). */
static void
field_drop(struct bp_msg *m, size_t i)
{
	memmove(&m->fields[i], &m->fields[i + 1],
	    (m->nfields - i - 1) * sizeof(m->fields[0]));
	m->nfields--;
}

static int
id_of(const char *v, uint64_t *out)
{
	uint64_t n = 0;

	if (!number_ok(v, LIM_UID))
		return -1;
	for (; *v != '\0'; v++)
		n = n * 10 + (uint64_t)(*v - '0');
	*out = n;
	return 0;
}

int
fields_take_peer(struct bp_msg *m, uint32_t *uid, uint32_t *gid, char *err,
    size_t errlen)
{
	size_t iu = field_at(m, FIELDS_PEER_UID), ig = field_at(m,
	    FIELDS_PEER_GID);
	uint64_t u = 0, g = 0;
	int rc = 1;

	if (iu == m->nfields && ig == m->nfields)
		return 0;
	if (m->owned != 0) {
		snprintf(err, errlen, "refused: not a received request");
		return -1;
	}
	if (iu == m->nfields || ig == m->nfields) {
		snprintf(err, errlen, "refused: fields '%s' and '%s' go "
		    "together", FIELDS_PEER_UID, FIELDS_PEER_GID);
		rc = -1;
	} else if (id_of(m->fields[iu].val, &u) != 0 ||
	    id_of(m->fields[ig].val, &g) != 0) {
		snprintf(err, errlen, "field '%s' must be a whole number from "
		    "0 to %llu", id_of(m->fields[iu].val, &u) != 0 ?
		    FIELDS_PEER_UID : FIELDS_PEER_GID,
		    (unsigned long long)LIM_UID);
		rc = -1;
	}
	/* Out, so that no handler sees them: the higher index first. */
	if (iu != m->nfields && ig != m->nfields) {
		field_drop(m, iu > ig ? iu : ig);
		field_drop(m, iu > ig ? ig : iu);
	} else
		field_drop(m, iu != m->nfields ? iu : ig);
	*uid = (uint32_t)u;
	*gid = (uint32_t)g;
	return rc;
}
