/*
 * log.c - one line per event, to stderr (plain, or systemd's journal)
 * or syslog.
 */
#include <sys/stat.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "logkv.h"

enum log_out {
	OUT_PLAIN,		/* "bankd: warning: ..." */
	OUT_JOURNAL,		/* "<4>...": journald reads the priority */
	OUT_SYSLOG,
};

static enum log_out log_out;
static enum log_level log_level = LOG_LEVEL_INFO;
static int log_forced;		/* bankd -d: debug, whatever bank.yaml says */

static const struct {
	int		 pri;		/* syslog's, and sd-daemon's <N> */
	const char	*tag;
} levels[] = {
	[LOG_LEVEL_ERR] = { LOG_ERR, "error: " },
	[LOG_LEVEL_WARN] = { LOG_WARNING, "warning: " },
	[LOG_LEVEL_INFO] = { LOG_INFO, "" },
	[LOG_LEVEL_DEBUG] = { LOG_DEBUG, "debug: " },
};

/*
 * systemd sets JOURNAL_STREAM=DEV:INODE when it connects stderr to the
 * journal; a stderr redirected since (a shell, a test) is another file.
 */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;
	char extra;

	if (js == NULL || sscanf(js, "%ju:%ju%c", &dev, &ino, &extra) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

void
log_init(int to_syslog, int verbose)
{
	log_forced = verbose;
	log_level = verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
	if (to_syslog) {
		log_out = OUT_SYSLOG;
		openlog("bankd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	} else
		log_out = stderr_is_journal() ? OUT_JOURNAL : OUT_PLAIN;
}

void
log_set_level(enum log_level l)
{
	if (!log_forced && l >= LOG_LEVEL_ERR && l <= LOG_LEVEL_DEBUG)
		log_level = l;
}

int
log_enabled(enum log_level l)
{
	return l <= log_level;
}

/*
 * One write per line: stderr is unbuffered, and three writes per line
 * would let lines from a crash or another writer interleave.
 */
static void
line_write(enum log_level l, const char *pairs)
{
	char line[LOGKV_LEN + 64];
	size_t len, i;
	int n;

	if (log_out == OUT_SYSLOG) {
		syslog(levels[l].pri, "%s", pairs);
		return;
	}
	if (log_out == OUT_JOURNAL)
		n = snprintf(line, sizeof(line), "<%d>%s", levels[l].pri,
		    pairs);
	else
		n = snprintf(line, sizeof(line), "bankd: %s%s", levels[l].tag,
		    pairs);
	len = n < 0 ? 0 : (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;		/* cut, still one line */
	/* logkv replaced them already; this is the line's own guard. */
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
}

void
log_kv(enum log_level l, const struct logkv *kv)
{
	if (log_enabled(l))
		line_write(l, logkv_line(kv));
}

static void	vlog(enum log_level, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));

/* A line in words: its text is the value of msg. */
static void
vlog(enum log_level l, const char *fmt, va_list ap)
{
	char text[LOGKV_LEN];
	struct logkv kv;

	(void)vsnprintf(text, sizeof(text), fmt, ap);
	logkv_init(&kv);
	logkv_str(&kv, "msg", text);
	line_write(l, logkv_line(&kv));
}

#define LOG_FN(name, level)				\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
							\
	if (!log_enabled(level))			\
		return;					\
	va_start(ap, fmt);				\
	vlog(level, fmt, ap);				\
	va_end(ap);					\
}

LOG_FN(log_err, LOG_LEVEL_ERR)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)
