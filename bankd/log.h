/*
 * log.h - bankd's log: stderr or syslog, one line per event.
 *
 * A line is key=value pairs (logkv.h): the decision and delivery lines
 * are built as such, with the job first; the others' text is their
 * msg="...".  On a plain stderr a line reads "bankd: [level: ]pairs";
 * when stderr is systemd's journal (JOURNAL_STREAM names it) it is
 * "<N>pairs", N the syslog priority sd-daemon(3) reads, as journald
 * stamps the time and the unit itself.
 */
#ifndef LOG_H
#define LOG_H

struct logkv;

enum log_level {
	LOG_LEVEL_ERR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* verbose: debug, whatever log_set_level says later (bankd -d). */
void	log_init(int to_syslog, int verbose);
/* bank.yaml's log.level, at start and at each reload. */
void	log_set_level(enum log_level);
/* Whether a line of this level is written: build it only then. */
int	log_enabled(enum log_level);
void	log_kv(enum log_level, const struct logkv *);
void	log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif /* LOG_H */
