/*
 * ctl_script.c - a job script's #SBATCH options, read as sbatch 22.05
 * reads them (src/sbatch/opt.c: _opt_batch_script, get_argument), so that
 * estimate JOBSCRIPT prices what sbatch JOBSCRIPT would submit:
 *
 *   - a line beginning "#SBATCH" (or the old "#SLURM") gives options;
 *   - other comment lines and blank lines are skipped; the first line
 *     with anything else (the first command) ends the options;
 *   - a line is split at white space; ' and " group characters, a
 *     backslash takes the next character as it is, and an unquoted '#'
 *     ends the line (a comment);
 *   - "hetjob" (or "packjob") starts the next component: only the first
 *     is read here, and the caller is told.
 *
 * Everything read is bounded: a line at most CTL_SCRIPT_LINE bytes, at
 * most CTL_SCRIPT_ARGS options, at most CTL_SCRIPT_LINES lines before the
 * first command; past any of them the script is refused, naming the line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"

/* Why a word could not be split: 0 none, else the unmatched quote. */
static const char *
script_word(const char *p, char *out, size_t outlen, size_t *used,
    int *unmatched)
{
	char q = '\0';
	int esc = 0;
	size_t n = 0;

	*unmatched = 0;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || *p == '#') {
		*used = 0;
		return NULL;
	}
	while (*p != '\0' && *p != '\n' && (q != '\0' ||
	    !isspace((unsigned char)*p))) {
		if (esc)
			esc = 0;
		else if (*p == '\\') {
			esc = 1;
			p++;
			continue;
		} else if (q != '\0') {
			if (*p == q) {
				q = '\0';
				p++;
				continue;
			}
		} else if (*p == '"' || *p == '\'') {
			q = *p++;
			continue;
		} else if (*p == '#')
			break;
		if (n + 1 < outlen)
			out[n++] = *p;
		p++;
	}
	out[n] = '\0';
	*unmatched = q;
	*used = n;
	return p;
}

int
ctl_script_split(const char *line, struct ctl_script *sc, size_t lineno,
    char *why, size_t len)
{
	char *word;
	const char *p = line;
	size_t used;
	int q;

	if ((word = malloc(strlen(line) + 1)) == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	while ((p = script_word(p, word, strlen(line) + 1, &used, &q)) !=
	    NULL) {
		if (q != 0) {
			snprintf(why, len, "line %zu: unmatched %c", lineno,
			    q);
			free(word);
			return -1;
		}
		if (sc->argc + 1 >= CTL_SCRIPT_ARGS) {
			snprintf(why, len, "line %zu: more than %d options",
			    lineno, CTL_SCRIPT_ARGS - 2);
			free(word);
			return -1;
		}
		if ((sc->argv[sc->argc] = strdup(word)) == NULL) {
			snprintf(why, len, "out of memory");
			free(word);
			return -1;
		}
		sc->line[sc->argc++] = lineno;
		sc->argv[sc->argc] = NULL;
	}
	free(word);
	return 0;
}

/* "hetjob" or "packjob" alone as the first word: the next component. */
static int
script_het(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return (strncasecmp(p, "hetjob", 6) == 0 && (p[6] == '\0' ||
	    isspace((unsigned char)p[6]))) || (strncasecmp(p, "packjob", 7) ==
	    0 && (p[7] == '\0' || isspace((unsigned char)p[7])));
}

/* Anything but white space before a '#' or the end: a command. */
static int
script_is_cmd(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return *p != '\0' && *p != '#';
}

int
ctl_script_read(FILE *fp, struct ctl_script *sc, char *why, size_t len)
{
	static char line[CTL_SCRIPT_LINE + 2];
	const char *p;
	size_t lineno = 0, n;
	int rc = 0;

	memset(sc, 0, sizeof(*sc));
	sc->argv[sc->argc++] = "sbatch";
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if (lineno > CTL_SCRIPT_LINES) {
			snprintf(why, len, "more than %d lines before the "
			    "first command", CTL_SCRIPT_LINES);
			rc = -1;
			break;
		}
		n = strlen(line);
		if (n > CTL_SCRIPT_LINE || (n == sizeof(line) - 1 &&
		    line[n - 1] != '\n')) {
			snprintf(why, len, "line %zu: longer than %d bytes",
			    lineno, CTL_SCRIPT_LINE);
			rc = -1;
			break;
		}
		if (strncmp(line, "#SBATCH", 7) == 0)
			p = line + 7;
		else if (strncmp(line, "#SLURM", 6) == 0)
			p = line + 6;
		else if (script_is_cmd(line))
			break;
		else
			continue;
		if (script_het(p)) {
			sc->het = 1;
			break;
		}
		if ((rc = ctl_script_split(p, sc, lineno, why, len)) != 0)
			break;
	}
	if (rc == 0 && ferror(fp)) {
		snprintf(why, len, "%s", strerror(errno));
		rc = -1;
	}
	return rc;
}

void
ctl_script_free(struct ctl_script *sc)
{
	int i;

	for (i = 1; i < sc->argc; i++)
		free(sc->argv[i]);
	sc->argc = 0;
}
