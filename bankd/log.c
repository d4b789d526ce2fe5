/*
 * log.c - one line per event, to stderr or syslog.
 */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static int log_syslog;
static int log_verbose;

void
log_init(int to_syslog, int verbose)
{
	log_syslog = to_syslog;
	log_verbose = verbose;
	if (to_syslog)
		openlog("bankd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/*
 * One write per line: stderr is unbuffered, and three writes per line
 * would let lines from a crash or another writer interleave.
 */
static void	line_write(const char *, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));
static void	vlog(int, const char *, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));

static void
line_write(const char *tag, const char *fmt, va_list ap)
{
	char line[2048];
	size_t len, i;
	int n;

	n = snprintf(line, sizeof(line), "bankd: %s", tag);
	len = n < 0 ? 0 : (size_t)n;
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (n > 0)
		len += (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;		/* cut, still one line */
	/*
	 * Names and messages from users and the API are in these lines: a
	 * control character could forge a line or drive a terminal.
	 */
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
}

static void
vlog(int pri, const char *tag, const char *fmt, va_list ap)
{
	if (log_syslog) {
		vsyslog(pri, fmt, ap);
		return;
	}
	line_write(tag, fmt, ap);
}

#define LOG_FN(name, pri, tag, cond)			\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
							\
	if (!(cond))					\
		return;					\
	va_start(ap, fmt);				\
	vlog(pri, tag, fmt, ap);			\
	va_end(ap);					\
}

LOG_FN(log_err, LOG_ERR, "error: ", 1)
LOG_FN(log_warn, LOG_WARNING, "warning: ", 1)
LOG_FN(log_info, LOG_INFO, "", 1)
LOG_FN(log_debug, LOG_DEBUG, "debug: ", log_verbose)
