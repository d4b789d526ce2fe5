/*
 * check_logkv.c: unit tests of bankd's key=value log lines (logkv.c)
 * and of how log.c writes them: the quoting a logfmt reader undoes, a
 * hostile value that cannot forge a pair or a line, a cut line that
 * stays parseable, the level filter, and the journal's <N> prefix.
 */
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "logkv.h"

/*
 * A logfmt reader, as a log shipper's: the value of key in line, into
 * out; 0, or -1 when the line does not parse or has no such key.
 */
static int
kv_get(const char *line, const char *key, char *out, size_t len)
{
	const char *p = line;
	char k[128], v[LOGKV_LEN + 1];
	size_t kn, vn;

	while (*p != '\0') {
		for (kn = 0; *p != '\0' && *p != '=' && *p != ' '; p++)
			if (kn < sizeof(k) - 1)
				k[kn++] = *p;
		k[kn] = '\0';
		if (*p++ != '=')
			return -1;
		vn = 0;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\0')
					return -1;	/* unclosed */
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				else if (*p == '\\')
					return -1;
				v[vn++] = *p;
			}
			p++;
		} else
			for (; *p != '\0' && *p != ' '; p++) {
				if (*p == '"' || *p == '=')
					return -1;
				v[vn++] = *p;
			}
		v[vn] = '\0';
		if (*p == ' ')
			p++;
		else if (*p != '\0')
			return -1;
		if (strcmp(k, key) == 0) {
			snprintf(out, len, "%s", v);
			return 0;
		}
	}
	return -1;
}

START_TEST(bare_and_quoted)
{
	struct logkv kv;

	logkv_init(&kv);
	logkv_u64(&kv, "job", 1234);
	logkv_str(&kv, "event", "decision");
	logkv_str(&kv, "reason", "account fc_a has 3.00 SU left");
	logkv_str(&kv, "empty", "");
	logkv_str(&kv, "none", NULL);
	logkv_str(&kv, "eq", "a=b");
	logkv_str(&kv, "q", "say \"hi\"");
	logkv_str(&kv, "bs", "C:\\dir");
	ck_assert_str_eq(logkv_line(&kv), "job=1234 event=decision "
	    "reason=\"account fc_a has 3.00 SU left\" empty=\"\" eq=\"a=b\" "
	    "q=\"say \\\"hi\\\"\" bs=\"C:\\\\dir\"");
	ck_assert_int_eq(kv.cut, 0);
}
END_TEST

START_TEST(numbers)
{
	struct logkv kv;

	logkv_init(&kv);
	logkv_u64(&kv, "a", 0);
	logkv_u64(&kv, "b", UINT64_MAX);
	logkv_i64(&kv, "c", -1);
	logkv_i64(&kv, "d", INT64_MIN);
	logkv_i64(&kv, "e", INT64_MAX);
	logkv_money(&kv, "f", 123456);
	logkv_money(&kv, "g", 5);
	logkv_fmt(&kv, "h", "%.0f", 12.6);
	ck_assert_str_eq(logkv_line(&kv), "a=0 b=18446744073709551615 c=-1 "
	    "d=-9223372036854775808 e=9223372036854775807 f=1234.56 g=0.05 "
	    "h=13");
}
END_TEST

/*
 * A user's name or an API message aimed at the log: a newline, a
 * carriage return, an escape sequence, a pair of its own.  Read back,
 * each is its one value, with '?' for the control characters, and no
 * forged key appears.
 */
START_TEST(hostile)
{
	static const char *evil[] = {
		"x\njob=666 event=delivery outcome=delivered",
		"\r\033[2Jcleared",
		"a\" job=666 b=\"",
		"trail\\",
		"\\\"",
		"\x7f",
	};
	char got[LOGKV_LEN + 1], want[256];
	struct logkv kv;
	size_t i, j;

	for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		logkv_init(&kv);
		logkv_u64(&kv, "job", 7);
		logkv_str(&kv, "reason", evil[i]);
		logkv_str(&kv, "end", "yes");
		ck_assert_ptr_null(strchr(logkv_line(&kv), '\n'));
		ck_assert_ptr_null(strchr(logkv_line(&kv), '\r'));
		ck_assert_ptr_null(strchr(logkv_line(&kv), '\033'));
		ck_assert_int_eq(kv_get(logkv_line(&kv), "reason", got,
		    sizeof(got)), 0);
		snprintf(want, sizeof(want), "%s", evil[i]);
		for (j = 0; want[j] != '\0'; j++)
			if ((unsigned char)want[j] < 0x20 || want[j] == 0x7f)
				want[j] = '?';
		ck_assert_str_eq(got, want);
		ck_assert_int_eq(kv_get(logkv_line(&kv), "job", got,
		    sizeof(got)), 0);
		ck_assert_str_eq(got, "7");
		ck_assert_int_eq(kv_get(logkv_line(&kv), "end", got,
		    sizeof(got)), 0);
		ck_assert_int_eq(kv_get(logkv_line(&kv), "outcome", got,
		    sizeof(got)), -1);
	}
}
END_TEST

/* A value too long is cut, closed with ...", and the line still parses. */
START_TEST(cut)
{
	char big[3 * LOGKV_LEN], got[LOGKV_LEN + 1];
	struct logkv kv;
	size_t len;

	memset(big, '"', sizeof(big) - 1);	/* each one takes two bytes */
	big[sizeof(big) - 1] = '\0';
	logkv_init(&kv);
	logkv_u64(&kv, "job", 42);
	logkv_str(&kv, "reason", big);
	logkv_str(&kv, "after", "dropped");
	len = strlen(logkv_line(&kv));
	ck_assert_uint_le(len, LOGKV_LEN);
	ck_assert_uint_ge(len, LOGKV_LEN - 2);
	ck_assert_int_eq(kv.cut, 1);
	ck_assert_int_eq(kv_get(logkv_line(&kv), "reason", got, sizeof(got)),
	    0);
	ck_assert_str_eq(got + strlen(got) - 3, "...");
	ck_assert_int_eq(got[0], '"');
	ck_assert_int_eq(kv_get(logkv_line(&kv), "after", got, sizeof(got)),
	    -1);
	ck_assert_int_eq(kv_get(logkv_line(&kv), "job", got, sizeof(got)), 0);

	/* A bare value that does not fit is left out whole. */
	memset(big, 'a', sizeof(big) - 1);
	logkv_init(&kv);
	logkv_u64(&kv, "job", 42);
	logkv_str(&kv, "name", big);
	ck_assert_str_eq(logkv_line(&kv), "job=42");
	ck_assert_int_eq(kv.cut, 1);
}
END_TEST

/* What log.c wrote to stderr (a file here) since offset *at. */
static void
written(int fd, off_t *at, char *out, size_t len)
{
	ssize_t n = pread(fd, out, len - 1, *at);

	ck_assert_int_ge(n, 0);
	out[n] = '\0';
	*at += n;
}

static int
stderr_to(const char *path, int *saved)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	*saved = dup(STDERR_FILENO);
	ck_assert_int_ge(*saved, 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	return fd;
}

static void
stderr_back(int fd, int saved, const char *path)
{
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	unlink(path);
}

/* Plain stderr: "bankd: [level: ]pairs", free text as msg, levels. */
START_TEST(plain_lines)
{
	char path[] = "/tmp/check_logkv.XXXXXX", out[4096];
	struct logkv kv;
	int fd, saved, tmp;
	off_t at = 0;

	ck_assert_int_ge(tmp = mkstemp(path), 0);
	close(tmp);
	unsetenv("JOURNAL_STREAM");
	fd = stderr_to(path, &saved);
	log_init(0, 0);
	log_info("listening on %s", "/run/bank sock");
	log_debug("not at info");
	log_warn("a \"quoted\" word");
	logkv_init(&kv);
	logkv_u64(&kv, "job", 9);
	logkv_str(&kv, "event", "delivery");
	log_kv(LOG_LEVEL_ERR, &kv);
	log_kv(LOG_LEVEL_DEBUG, &kv);
	written(fd, &at, out, sizeof(out));
	ck_assert_str_eq(out, "bankd: msg=\"listening on /run/bank sock\"\n"
	    "bankd: warning: msg=\"a \\\"quoted\\\" word\"\n"
	    "bankd: error: job=9 event=delivery\n");

	/* log.level warn: info goes; -d (verbose) beats bank.yaml. */
	log_set_level(LOG_LEVEL_WARN);
	log_info("gone");
	log_warn("kept");
	ck_assert_int_eq(log_enabled(LOG_LEVEL_INFO), 0);
	written(fd, &at, out, sizeof(out));
	ck_assert_str_eq(out, "bankd: warning: msg=kept\n");
	log_init(0, 1);
	log_set_level(LOG_LEVEL_ERR);
	log_debug("still");
	written(fd, &at, out, sizeof(out));
	ck_assert_str_eq(out, "bankd: debug: msg=still\n");
	stderr_back(fd, saved, path);
}
END_TEST

/*
 * stderr is the journal when its device and inode are JOURNAL_STREAM's:
 * "<N>pairs", no name, no level word.  Another file (stderr redirected
 * since) is plain.
 */
START_TEST(journal_lines)
{
	char path[] = "/tmp/check_logkv.XXXXXX", out[4096], js[64];
	struct stat st;
	int fd, saved, tmp;
	off_t at = 0;

	ck_assert_int_ge(tmp = mkstemp(path), 0);
	close(tmp);
	fd = stderr_to(path, &saved);
	ck_assert_int_eq(fstat(fd, &st), 0);
	snprintf(js, sizeof(js), "%ju:%ju", (uintmax_t)st.st_dev,
	    (uintmax_t)st.st_ino);
	setenv("JOURNAL_STREAM", js, 1);
	log_init(0, 1);
	log_err("e");
	log_warn("w");
	log_info("i");
	log_debug("d");
	written(fd, &at, out, sizeof(out));
	ck_assert_str_eq(out, "<3>msg=e\n<4>msg=w\n<6>msg=i\n<7>msg=d\n");

	snprintf(js, sizeof(js), "%ju:%ju", (uintmax_t)st.st_dev,
	    (uintmax_t)st.st_ino + 1);
	setenv("JOURNAL_STREAM", js, 1);
	log_init(0, 0);
	log_info("i");
	written(fd, &at, out, sizeof(out));
	ck_assert_str_eq(out, "bankd: msg=i\n");
	setenv("JOURNAL_STREAM", "garbage", 1);
	log_init(0, 0);
	log_info("i");
	written(fd, &at, out, sizeof(out));
	ck_assert_str_eq(out, "bankd: msg=i\n");
	unsetenv("JOURNAL_STREAM");
	stderr_back(fd, saved, path);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("logkv");
	TCase *tc = tcase_create("logkv");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, bare_and_quoted);
	tcase_add_test(tc, numbers);
	tcase_add_test(tc, hostile);
	tcase_add_test(tc, cut);
	tcase_add_test(tc, plain_lines);
	tcase_add_test(tc, journal_lines);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
