/*
 * ctl.h - bankctl's parts: argument parsing (ctl_parse.c), output
 * (ctl_out.c), the call to bankd (ctl_call.c) and the commands (ctl_job.c,
 * ctl_queue.c; bankctl.c's table names them).  Every argument is
 * checked before anything is sent, against lim.h; everything bankd says
 * is printed through ctl_put() or ctl_json(), since it comes from users
 * and the API.
 */
#ifndef CTL_H
#define CTL_H

#include <stdint.h>
#include <stdio.h>

/*
 * Each parser returns 0, or -1 with why it refused (a sentence fragment
 * naming the accepted form) in why[0..len).
 */

/* A decimal of digits only (no sign, space or suffix) in [min, max]. */
int	 ctl_count(const char *, uint64_t min, uint64_t max, uint64_t *,
	    char *why, size_t len);
/* The same at the start of a string: *end is after the digits; 0, -1. */
int	 ctl_count_at(const char *, uint64_t min, uint64_t max, uint64_t *,
	    const char **end);

/*
 * A Slurm time limit (M, M:S, H:M:S, D-H, D-H:M, D-H:M:S) in minutes,
 * rounded up as Slurm does, at most LIM_MINUTES.  0 (also "0:0", -1,
 * INFINITE, UNLIMITED) is Slurm's "no limit".
 */
int	 ctl_time(const char *, uint32_t *minutes, char *why, size_t len);

/* A Slurm memory size (MiB, or K, M, G, T with an optional B) in MiB. */
int	 ctl_mem(const char *, uint64_t *mib, char *why, size_t len);

/* A user name, or a uid of digits at most LIM_UID. */
int	 ctl_uid(const char *, uint32_t *uid, char *why, size_t len);

/* A name to send (account, partition, QoS): 1..max bytes, one line. */
int	 ctl_name(const char *, size_t max, char *why, size_t len);

/*
 * Print s for a terminal, padded to |width| characters (left-aligned if
 * width > 0, right if < 0, none if 0).  Valid UTF-8 text is printed as
 * is; a backslash is doubled; C0 controls, DEL and each byte of invalid
 * UTF-8 are shown as \xNN; C1 controls, bidirectional formatting and the
 * line and paragraph separators as \uNNNN.  So no byte of s can move the
 * cursor, change colours or titles, or hide what is shown.
 */
void	 ctl_put(FILE *, const char *s, int width);
/* The characters ctl_put() prints for s (escapes included, no padding). */
size_t	 ctl_width(const char *s);

/*
 * s as a JSON string, quotes included: " and \ escaped; controls (C0,
 * DEL, C1) and the characters ctl_put() escapes as \u00NN / \uNNNN; each
 * byte of invalid UTF-8 as \udcNN (a lone low surrogate, Python's
 * "surrogateescape": decoding with it gives the original bytes back).
 */
void	 ctl_json(FILE *, const char *s);

/* "bankctl: WHAT 'VALUE': WHY" on stderr, VALUE through ctl_put(). */
void	 ctl_complain(const char *what, const char *value, const char *why);

/* A name argument (-A, --qos, ACCOUNT): 0, or -1 said on stderr. */
int	 ctl_name_arg(const char *opt, const char *s, size_t max);

/* ---- ctl_usage.c, ctl_call.c: talking to bankd ---------------------- */

#define CTL_DEADLINE_MS	5000
#define WHY_LEN		128

struct bp_msg;

/* What bankctl can do, and exit 2. */
void	 ctl_usage(void) __attribute__((noreturn));

extern int ctl_json_out;	/* --json */

/* Send req, print the reply; 0 unless bankd said error or deny. */
int	 ctl_call(const char *sock, struct bp_msg *req);
void	 ctl_call_failed(const char *sock, int rc);
/*
 * bp_call() to sock, a socket path or "tcp:ADDRESS:PORT" (with a MUNGE
 * credential made for the call, from munged at ctl_munge_socket).
 */
struct bp_msg;
int	 ctl_bp_call(const char *sock, int deadline_ms, const struct bp_msg *req,
	    struct bp_msg *rep);
extern const char *ctl_munge_socket;	/* NULL: libmunge's default */
void	 ctl_print_reply(const struct bp_msg *);
/* show, retry, drop (a report number, or NULL), pause, resume. */
int	 ctl_simple(const char *sock, uint8_t type, const char *seq);
/* A field of a reply, "" when bankd left it out. */
const char *ctl_field(const struct bp_msg *, const char *key);
/* Tab-separated columns, empty ones kept. */
void	 ctl_split(char *line, char **col, size_t n);
/* One table row: column i padded to width[i] (see ctl_put()). */
void	 ctl_row(char *const *col, const int *width, size_t n);
/* {"k": "v", ...} of columns; sep goes before it. */
void	 ctl_json_row(const char *sep, const char *const *keys,
	    char *const *col, size_t n);

/* ---- ctl_script.c: a job script's #SBATCH options, as sbatch reads them */

#define CTL_SCRIPT_LINE		4096	/* bytes of one line */
#define CTL_SCRIPT_LINES	100000	/* lines before the first command */
#define CTL_SCRIPT_ARGS		1024	/* options, argv[0] and NULL included */

struct ctl_script {
	int	 argc;			/* argv[0] is "sbatch" */
	char	*argv[CTL_SCRIPT_ARGS];
	size_t	 line[CTL_SCRIPT_ARGS];	/* where argv[i] was read */
	int	 het;			/* a hetjob separator ended it */
};

/* The options of fp's leading comment block: 0, or -1 and why. */
int	 ctl_script_read(FILE *, struct ctl_script *, char *why, size_t len);
/* line's words (after #SBATCH) appended to sc: 0, or -1 and why. */
int	 ctl_script_split(const char *line, struct ctl_script *, size_t lineno,
	    char *why, size_t len);
void	 ctl_script_free(struct ctl_script *);

/* ---- the commands (ctl_job.c, ctl_queue.c) -------------------------- */

int	 ctl_cmd_estimate(const char *sock, int argc, char **argv);
int	 ctl_cmd_check(const char *sock, const char *user, const char *acct,
	    const char *cost);
int	 ctl_cmd_prices(const char *sock);
int	 ctl_cmd_queue(const char *sock, int dead);
int	 ctl_cmd_holds(const char *sock, int argc, char **argv);
int	 ctl_cmd_balance(const char *sock, int argc, char **argv);
/* ctl_backfill.c: sacct's jobs the portal lacks or holds wrong. */
int	 ctl_cmd_backfill(const char *sock, int argc, char **argv);
/* ctl_migrate.c: bank-config.toml as bank.yaml; needs no bankd. */
int	 ctl_cmd_migrate(const char *sock, int argc, char **argv);

#endif /* CTL_H */
