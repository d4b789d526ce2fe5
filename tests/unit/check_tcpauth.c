/*
 * check_tcpauth.c: unit tests of what binds a request over TCP to its
 * MUNGE credential: SHA-256 against the FIPS 180-2 vectors (sha256.c),
 * bp_digest() (the frame without its cred field), and tcpauth_check()
 * with a stubbed decoder standing in for munged: a good credential, a
 * replayed one, an expired one, one of another request, none.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bankproto.h"
#include "peer.h"
#include "sha256.h"
#include "tcpauth.h"

static void
hex(const uint8_t d[SHA256_LEN], char out[2 * SHA256_LEN + 1])
{
	int i;

	for (i = 0; i < SHA256_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

START_TEST(fips_vectors)
{
	static const struct {
		const char	*in, *want;
	} t[] = {
		{ "abc", "ba7816bf8f01cfea414140de5dae2223"
		    "b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		    "248d6a61d20638b8e5c026930c3e6039"
		    "a33ce45964ff2167f6ecedd419db06c1" },
		{ "", "e3b0c44298fc1c149afbf4c8996fb924"
		    "27ae41e4649b934ca495991b7852b855" },
	};
	uint8_t d[SHA256_LEN];
	char h[2 * SHA256_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		sha256(t[i].in, strlen(t[i].in), d);
		hex(d, h);
		ck_assert_str_eq(h, t[i].want);
	}
}
END_TEST

/* A million 'a', fed in pieces that straddle the blocks. */
START_TEST(fips_million_a)
{
	static char chunk[997];
	struct sha256 s;
	uint8_t d[SHA256_LEN];
	char h[2 * SHA256_LEN + 1];
	size_t left = 1000000, n;

	memset(chunk, 'a', sizeof(chunk));
	sha256_init(&s);
	while (left > 0) {
		n = left < sizeof(chunk) ? left : sizeof(chunk);
		sha256_update(&s, chunk, n);
		left -= n;
	}
	sha256_final(&s, d);
	hex(d, h);
	ck_assert_str_eq(h, "cdc76e5c9914fb9281a1c7e284d73e67"
	    "f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

/* Every length across the 55/56/64 padding edges: pieces == whole. */
START_TEST(split_equals_whole)
{
	uint8_t buf[200], a[SHA256_LEN], b[SHA256_LEN];
	struct sha256 s;
	size_t len, cut;

	for (len = 0; len < sizeof(buf); len++)
		buf[len] = (uint8_t)(len * 7 + 1);
	for (len = 0; len <= 130; len++)
		for (cut = 0; cut <= len; cut += 13) {
			sha256(buf, len, a);
			sha256_init(&s);
			sha256_update(&s, buf, cut);
			sha256_update(&s, buf + cut, len - cut);
			sha256_final(&s, b);
			ck_assert_mem_eq(a, b, SHA256_LEN);
		}
}
END_TEST

/* ---- a stub of munged -------------------------------------------------- */

struct stub {
	enum tcpauth_rc	 rc;
	uint8_t		 payload[64];
	size_t		 plen;
	uid_t		 uid;
	gid_t		 gid;
	int		 calls;
};

static enum tcpauth_rc
stub_decode(void *arg, const char *cred, uint8_t *payload, size_t cap,
    size_t *plen, uid_t *uid, gid_t *gid, char *why, size_t whylen)
{
	struct stub *st = arg;

	(void)cred;
	st->calls++;
	memcpy(payload, st->payload, st->plen < cap ? st->plen : cap);
	*plen = st->plen;
	*uid = st->uid;
	*gid = st->gid;
	if (st->rc != TA_OK)
		snprintf(why, whylen, "stub says %s", tcpauth_name(st->rc));
	return st->rc;
}

/* A request as bankd receives it, cred= anywhere among its fields. */
static void
received(struct bp_msg *m, const char *cred, int cred_first)
{
	struct bp_msg out;
	uint8_t *frame;
	size_t used;
	long len;

	bp_init(&out, BP_T_ESTIMATE, 42);
	if (cred_first && cred != NULL)
		bp_add(&out, BP_CRED_KEY, cred);
	bp_add(&out, "partitions", "normal");
	bp_add(&out, "num_tasks", "4");
	if (!cred_first && cred != NULL)
		bp_add(&out, BP_CRED_KEY, cred);
	len = bp_encode(&out, &frame);
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(bp_parse(frame, (size_t)len, m, &used), BP_OK);
	free(frame);
	bp_free(&out);
}

/* The digest the sender binds: of the request before the credential. */
static void
digest_of_request(uint8_t d[BP_DIGEST_LEN], const char *tasks)
{
	struct bp_msg m;

	bp_init(&m, BP_T_ESTIMATE, 42);
	bp_add(&m, "partitions", "normal");
	bp_add(&m, "num_tasks", tasks);
	ck_assert_int_eq(bp_digest(&m, d), BP_OK);
	bp_free(&m);
}

START_TEST(digest_ignores_cred)
{
	uint8_t a[BP_DIGEST_LEN], b[BP_DIGEST_LEN], c[BP_DIGEST_LEN];
	struct bp_msg m;

	digest_of_request(a, "4");
	received(&m, "MUNGE:xyz:", 0);
	ck_assert_int_eq(bp_digest(&m, b), BP_OK);
	bp_free(&m);
	ck_assert_mem_eq(a, b, BP_DIGEST_LEN);
	/* Where the credential sits does not matter. */
	received(&m, "MUNGE:other:", 1);
	ck_assert_int_eq(bp_digest(&m, b), BP_OK);
	bp_free(&m);
	ck_assert_mem_eq(a, b, BP_DIGEST_LEN);
	/* One byte of the body changes it. */
	digest_of_request(c, "5");
	ck_assert(memcmp(a, c, BP_DIGEST_LEN) != 0);
}
END_TEST

static void
stub_good(struct stub *st)
{
	memset(st, 0, sizeof(*st));
	st->rc = TA_OK;
	digest_of_request(st->payload, "4");
	st->plen = BP_DIGEST_LEN;
	st->uid = 47001;
	st->gid = 47001;
}

START_TEST(good_credential)
{
	struct stub st;
	struct bp_msg m;
	struct peer p;
	char msg[256];

	stub_good(&st);
	received(&m, "MUNGE:good:", 0);
	ck_assert_int_eq(tcpauth_check(stub_decode, &st, &m, &p, msg,
	    sizeof(msg)), TA_OK);
	ck_assert_int_eq(p.uid, 47001);
	ck_assert_int_eq(p.gid, 47001);
	ck_assert_int_eq(p.how, PEER_MUNGE);
	/* No handler sees the credential; the rest is as sent. */
	ck_assert_ptr_null(bp_get(&m, BP_CRED_KEY));
	ck_assert_uint_eq(m.nfields, 2);
	ck_assert_str_eq(bp_get(&m, "num_tasks"), "4");
	bp_free(&m);
}
END_TEST

START_TEST(refusals)
{
	static const struct {
		enum tcpauth_rc	 rc;
		const char	*says;
	} t[] = {
		{ TA_REPLAYED, "used before (a replay)" },
		{ TA_EXPIRED, "has expired" },
		{ TA_BAD, "cannot be decoded (stub says undecodable" },
		{ TA_UNAVAILABLE, "cannot verify the MUNGE credential now" },
	};
	struct stub st;
	struct bp_msg m;
	struct peer p;
	char msg[256];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		stub_good(&st);
		st.rc = t[i].rc;
		received(&m, "MUNGE:x:", 0);
		ck_assert_int_eq(tcpauth_check(stub_decode, &st, &m, &p, msg,
		    sizeof(msg)), t[i].rc);
		ck_assert_msg(strstr(msg, t[i].says) != NULL, "%s", msg);
		bp_free(&m);
	}
}
END_TEST

START_TEST(payload_of_another_request)
{
	struct stub st;
	struct bp_msg m;
	struct peer p;
	char msg[256];

	/* A good credential, captured, under a body with 5 tasks. */
	stub_good(&st);
	digest_of_request(st.payload, "5");
	received(&m, "MUNGE:good:", 0);
	ck_assert_int_eq(tcpauth_check(stub_decode, &st, &m, &p, msg,
	    sizeof(msg)), TA_MISMATCH);
	ck_assert_ptr_nonnull(strstr(msg, "not this request's digest"));
	bp_free(&m);
	/* A payload that is no digest at all: too short, too long. */
	stub_good(&st);
	st.plen = 31;
	received(&m, "MUNGE:good:", 0);
	ck_assert_int_eq(tcpauth_check(stub_decode, &st, &m, &p, msg,
	    sizeof(msg)), TA_MISMATCH);
	bp_free(&m);
	stub_good(&st);
	st.plen = 64;
	received(&m, "MUNGE:good:", 0);
	ck_assert_int_eq(tcpauth_check(stub_decode, &st, &m, &p, msg,
	    sizeof(msg)), TA_MISMATCH);
	bp_free(&m);
}
END_TEST

START_TEST(no_credential)
{
	struct stub st;
	struct bp_msg m;
	struct peer p;
	char msg[256];

	stub_good(&st);
	received(&m, NULL, 0);
	ck_assert_int_eq(tcpauth_check(stub_decode, &st, &m, &p, msg,
	    sizeof(msg)), TA_NOCRED);
	ck_assert_int_eq(st.calls, 0);
	bp_free(&m);
	received(&m, "", 0);
	ck_assert_int_eq(tcpauth_check(stub_decode, &st, &m, &p, msg,
	    sizeof(msg)), TA_NOCRED);
	bp_free(&m);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tcpauth");
	TCase *tc = tcase_create("sha256");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, fips_vectors);
	tcase_add_test(tc, fips_million_a);
	tcase_add_test(tc, split_equals_whole);
	suite_add_tcase(s, tc);
	tc = tcase_create("credential");
	tcase_add_test(tc, digest_ignores_cred);
	tcase_add_test(tc, good_credential);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, payload_of_another_request);
	tcase_add_test(tc, no_credential);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
