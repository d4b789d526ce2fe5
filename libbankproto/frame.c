/*
 * frame.c - encoding and decoding of bankproto frames (see bankproto.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bankproto.h"

void
bp_init(struct bp_msg *m, uint8_t type, uint32_t id)
{
	/* Fields are written before they are read: skip the 6 KiB. */
	m->type = type;
	m->id = id;
	m->nfields = 0;
	m->body = NULL;
	m->owned = 0;
}

void
bp_free(struct bp_msg *m)
{
	size_t i;

	for (i = 0; i < m->nfields; i++)
		if (m->owned & (UINT64_C(1) << i))
			free((char *)m->fields[i].val);
	free(m->body);
	m->body = NULL;
	m->nfields = 0;
	m->owned = 0;
}

static int
key_valid(const char *k, size_t len)
{
	size_t i;

	if (len == 0 || len > BP_MAX_KEY)
		return 0;
	for (i = 0; i < len; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') ||
		    (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return 0;
	return 1;
}

int
bp_add(struct bp_msg *m, const char *key, const char *val)
{
	if (m->nfields >= BP_MAX_FIELDS)
		return BP_ETOOMANY;
	if (!key_valid(key, strlen(key)) || val == NULL ||
	    strchr(val, '\n') != NULL)
		return BP_ESYNTAX;
	strcpy(m->fields[m->nfields].kbuf, key);
	m->fields[m->nfields].key = m->fields[m->nfields].kbuf;
	m->fields[m->nfields].val = val;
	m->nfields++;
	return BP_OK;
}

int
bp_addf(struct bp_msg *m, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return BP_ENOMEM;
	if ((rc = bp_add(m, key, s)) != BP_OK) {
		free(s);
		return rc;
	}
	m->owned |= UINT64_C(1) << (m->nfields - 1);
	return BP_OK;
}

char *
bp_u64toa(uint64_t v, char buf[BP_NUM_LEN])
{
	char tmp[BP_NUM_LEN];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return buf;
}

int
bp_add_u64(struct bp_msg *m, const char *key, uint64_t val)
{
	if (m->nfields >= BP_MAX_FIELDS)
		return BP_ETOOMANY;
	/* The field's own buffer: valid as long as the message. */
	return bp_add(m, key, bp_u64toa(val, m->fields[m->nfields].nbuf));
}

/* Messages have a dozen fields: a first-byte test spares most strcmp()s. */
const char *
bp_get(const struct bp_msg *m, const char *key)
{
	size_t i;

	for (i = 0; i < m->nfields; i++)
		if (m->fields[i].key[0] == key[0] &&
		    strcmp(m->fields[i].key, key) == 0)
			return m->fields[i].val;
	return NULL;
}

int
bp_get_u64(const struct bp_msg *m, const char *key, uint64_t *out)
{
	const char *v = bp_get(m, key);
	uint64_t n = 0, d;

	if (v == NULL || *v == '\0')
		return -1;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9')
			return -1;
		d = (uint64_t)(*v - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -1;	/* out of range */
		n = n * 10 + d;
	}
	*out = n;
	return 0;
}

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static size_t
put_str(uint8_t *buf, size_t off, const char *s)
{
	size_t n = strlen(s);

	memcpy(buf + off, s, n);
	return off + n;
}

long
bp_encode(const struct bp_msg *m, uint8_t **out)
{
	size_t i, len = 0, off;
	uint8_t *buf;

	for (i = 0; i < m->nfields; i++)
		len += strlen(m->fields[i].key) + strlen(m->fields[i].val) + 2;
	if (len > BP_MAX_BODY)
		return BP_ETOOBIG;
	if ((buf = malloc(BP_HDR_LEN + len)) == NULL)
		return BP_ENOMEM;
	buf[0] = BP_MAGIC0;
	buf[1] = BP_MAGIC1;
	buf[2] = BP_VERSION;
	buf[3] = m->type;
	put_u32(buf + 4, m->id);
	put_u32(buf + 8, len);
	off = BP_HDR_LEN;
	for (i = 0; i < m->nfields; i++) {
		off = put_str(buf, off, m->fields[i].key);
		buf[off++] = '=';
		off = put_str(buf, off, m->fields[i].val);
		buf[off++] = '\n';
	}
	*out = buf;
	return (long)off;
}

/* Split a NUL-terminated body of "k=v\n" lines into m->fields. */
static int
split_body(struct bp_msg *m, char *p, char *end)
{
	char *nl, *eq;

	while (p < end) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			return BP_ESYNTAX;
		*nl = '\0';
		if ((eq = strchr(p, '=')) == NULL)
			return BP_ESYNTAX;
		*eq = '\0';
		if (!key_valid(p, eq - p))
			return BP_ESYNTAX;
		if (bp_get(m, p) != NULL)
			return BP_ESYNTAX;
		if (m->nfields >= BP_MAX_FIELDS)
			return BP_ETOOMANY;
		m->fields[m->nfields].key = p;
		m->fields[m->nfields].val = eq + 1;
		m->nfields++;
		p = nl + 1;
	}
	return BP_OK;
}

int
bp_parse(const uint8_t *buf, size_t len, struct bp_msg *m, size_t *used)
{
	uint32_t blen;
	int rc;

	if (len >= 1 && buf[0] != BP_MAGIC0)
		return BP_EMAGIC;
	if (len >= 2 && buf[1] != BP_MAGIC1)
		return BP_EMAGIC;
	if (len >= 3 && buf[2] != BP_VERSION)
		return BP_EVERSION;
	if (len < BP_HDR_LEN)
		return BP_MORE;
	blen = get_u32(buf + 8);
	if (blen > BP_MAX_BODY)
		return BP_ETOOBIG;
	if (len < BP_HDR_LEN + (size_t)blen)
		return BP_MORE;
	if (memchr(buf + BP_HDR_LEN, '\0', blen) != NULL)
		return BP_ESYNTAX;

	bp_init(m, buf[3], get_u32(buf + 4));
	if ((m->body = malloc(blen + 1)) == NULL)
		return BP_ENOMEM;
	memcpy(m->body, buf + BP_HDR_LEN, blen);
	m->body[blen] = '\0';
	if ((rc = split_body(m, m->body, m->body + blen)) != BP_OK) {
		bp_free(m);
		return rc;
	}
	*used = BP_HDR_LEN + blen;
	return BP_OK;
}

const char *
bp_strerror(int rc)
{
	switch (rc) {
	case BP_OK:		return "ok";
	case BP_MORE:		return "incomplete frame";
	case BP_EMAGIC:		return "not a bankproto frame (bad magic)";
	case BP_EVERSION:	return "unsupported protocol version";
	case BP_ETOOBIG:	return "frame body too large";
	case BP_ESYNTAX:	return "malformed frame body";
	case BP_ETOOMANY:	return "too many fields";
	case BP_ECONNECT:	return "cannot connect to bankd";
	case BP_ETIMEOUT:	return "bankd did not answer within the deadline";
	case BP_EIO:		return "connection to bankd failed";
	case BP_EREPLY:		return "reply does not match the request";
	case BP_ENOMEM:		return "out of memory";
	case BP_ECRED:		return "cannot make a MUNGE credential";
	case BP_EADDR:		return "not an address (tcp:ADDRESS:PORT, an IP "
				    "literal and a port)";
	case BP_ENOCRED:	return "a request over TCP needs a MUNGE "
				    "credential (bp_call_tcp, bankctl -S "
				    "tcp:ADDRESS:PORT)";
	}
	return "unknown error";
}

const char *
bp_type_name(uint8_t type)
{
	switch (type & ~BP_REPLY) {
	case BP_T_STATUS:	return "status";
	case BP_T_CHECK:	return "check";
	case BP_T_ESTIMATE:	return "estimate";
	case BP_T_START:	return "start";
	case BP_T_END:		return "end";
	case BP_T_QUEUE:	return "queue";
	case BP_T_SHOW:		return "show";
	case BP_T_RETRY:	return "retry";
	case BP_T_DROP:		return "drop";
	case BP_T_PAUSE:	return "pause";
	case BP_T_RESUME:	return "resume";
	case BP_T_HOLDS:	return "holds";
	case BP_T_PRICES:	return "prices";
	case BP_T_BALANCE:	return "balance";
	case BP_T_BACKFILL:	return "backfill";
	}
	return "unknown";
}
