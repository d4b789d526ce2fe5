/*
 * fuzz_frame.c - bankproto frames (libbankproto/frame.c) as bankd's
 * conn.c takes them: whatever bytes a client sends, parsed frame after
 * frame from one buffer until one is incomplete or broken.
 *
 * Each frame parsed must keep frame.c's promises, or the harness aborts:
 *  - it is no longer than the bytes given, and one byte fewer is BP_MORE;
 *  - bp_get() finds every field by its key, bp_get_u64() reads exactly
 *    the fields that are plain decimal numbers;
 *  - bp_encode() gives back the very bytes parsed, which parse again to
 *    the same fields;
 *  - the same fields added with bp_add()/bp_add_u64() encode to a frame
 *    that parses to the same values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bankproto.h"
#include "fuzz.h"

/* Keys bankd looks up (req.c, report.c). */
static const char *const keys[] = {
	"uid", "account", "partitions", "partition", "job_id", "qos", "cpus",
	"nodes", "num_nodes", "submit", "start", "end", "time_limit", "hold",
	"seq", "offset", "limit", "dead", "cost", "dry_run", "plugin",
	"tres_per_job", "part_info", "array_tasks", "mem_per_cpu", NULL
};

/* The decimal digits bp_get_u64() takes: no sign, no space, no excess. */
static int
u64_like(const char *v, uint64_t *n)
{
	uint64_t d;

	*n = 0;
	if (*v == '\0')
		return 0;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9')
			return 0;
		d = (uint64_t)(*v - '0');
		if (*n > (UINT64_MAX - d) / 10)
			return 0;
		*n = *n * 10 + d;
	}
	return 1;
}

static void
check_fields(const struct bp_msg *m)
{
	char digits[BP_NUM_LEN];
	const char *v;
	uint64_t n, want;
	size_t i;
	int ok;

	for (i = 0; keys[i] != NULL; i++) {
		v = bp_get(m, keys[i]);
		if (bp_get_u64(m, keys[i], &n) == 0 && v == NULL)
			fuzz_fail("bp_get_u64(%s) read a missing field", keys[i]);
	}
	for (i = 0; i < m->nfields; i++) {
		if (bp_get(m, m->fields[i].key) != m->fields[i].val)
			fuzz_fail("bp_get(%s) misses field %zu", m->fields[i].key,
			    i);
		ok = bp_get_u64(m, m->fields[i].key, &n) == 0;
		if (ok != u64_like(m->fields[i].val, &want) ||
		    (ok && n != want))
			fuzz_fail("bp_get_u64(%s) on '%s': %d", m->fields[i].key,
			    m->fields[i].val, ok);
		if (ok && strcmp(bp_u64toa(n, digits), m->fields[i].val) != 0 &&
		    m->fields[i].val[0] != '0')
			fuzz_fail("bp_u64toa(%s) is %s", m->fields[i].val,
			    digits);
	}
}

static void
same_fields(const struct bp_msg *a, const struct bp_msg *b, const char *what)
{
	size_t i;

	if (a->type != b->type || a->id != b->id || a->nfields != b->nfields)
		fuzz_fail("%s: type, id or field count differ", what);
	for (i = 0; i < a->nfields; i++)
		if (strcmp(a->fields[i].key, b->fields[i].key) != 0 ||
		    strcmp(a->fields[i].val, b->fields[i].val) != 0)
			fuzz_fail("%s: field %zu differs", what, i);
}

/* Parse what bp_encode() made of m; it must be all one frame. */
static void
reparse(const struct bp_msg *m, struct bp_msg *out, const char *what)
{
	uint8_t *buf;
	size_t used;
	long len;
	int rc;

	if ((len = bp_encode(m, &buf)) < 0)
		fuzz_fail("%s: bp_encode: %s", what, bp_strerror((int)len));
	if ((rc = bp_parse(buf, (size_t)len, out, &used)) != BP_OK)
		fuzz_fail("%s: its encoding does not parse: %s", what,
		    bp_strerror(rc));
	if (used != (size_t)len)
		fuzz_fail("%s: %zu of %ld bytes parsed", what, used, len);
	free(buf);
}

/* The same frame built field by field, as the plugins build theirs. */
static void
rebuild(const struct bp_msg *m)
{
	struct bp_msg b, back;
	uint64_t n, got;
	size_t i;
	int rc;

	bp_init(&b, m->type, m->id);
	for (i = 0; i < m->nfields; i++) {
		if (bp_get_u64(m, m->fields[i].key, &n) == 0)
			rc = bp_add_u64(&b, m->fields[i].key, n);
		else if (i == 0)
			rc = bp_addf(&b, m->fields[i].key, "%s",
			    m->fields[i].val);
		else
			rc = bp_add(&b, m->fields[i].key, m->fields[i].val);
		if (rc != BP_OK)
			fuzz_fail("bp_add(%s): %s", m->fields[i].key,
			    bp_strerror(rc));
	}
	/* Numbers lose their leading zeros; a body may only get shorter. */
	reparse(&b, &back, "rebuilt frame");
	for (i = 0; i < m->nfields; i++) {
		if (bp_get_u64(m, m->fields[i].key, &n) == 0) {
			if (bp_get_u64(&back, m->fields[i].key, &got) != 0 ||
			    got != n)
				fuzz_fail("number %s lost", m->fields[i].key);
		} else if (bp_get(&back, m->fields[i].key) == NULL ||
		    strcmp(bp_get(&back, m->fields[i].key),
		    m->fields[i].val) != 0)
			fuzz_fail("field %s lost", m->fields[i].key);
	}
	bp_free(&back);
	bp_free(&b);
}

static void
check_frame(const uint8_t *p, size_t used, const struct bp_msg *m)
{
	struct bp_msg back;
	uint8_t *buf;
	size_t n;
	long len;

	if (bp_parse(p, used - 1, &back, &n) != BP_MORE)
		fuzz_fail("a frame of %zu bytes less one is not BP_MORE", used);
	(void)bp_type_name(m->type);
	check_fields(m);
	if ((len = bp_encode(m, &buf)) < 0)
		fuzz_fail("bp_encode: %s", bp_strerror((int)len));
	if ((size_t)len != used || memcmp(buf, p, used) != 0)
		fuzz_fail("bp_encode: %ld bytes, not the %zu parsed", len,
		    used);
	free(buf);
	reparse(m, &back, "frame");
	same_fields(m, &back, "encoded frame");
	bp_free(&back);
	rebuild(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bp_msg m;
	size_t off = 0, used;
	int rc;

	/* conn.c: frame after frame until one is short or broken. */
	while (off < size) {
		used = 0;
		rc = bp_parse(data + off, size - off, &m, &used);
		(void)bp_strerror(rc);
		if (rc != BP_OK)
			break;
		if (used < BP_HDR_LEN || used > size - off)
			fuzz_fail("bp_parse used %zu of %zu bytes", used,
			    size - off);
		check_frame(data + off, used, &m);
		bp_free(&m);
		off += used;
	}
	return 0;
}
