/*
 * log.h - bankd's log: stderr (for systemd's journal) or syslog, every
 * line prefixed "bankd".
 */
#ifndef LOG_H
#define LOG_H

void	log_init(int to_syslog, int verbose);
void	log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif /* LOG_H */
