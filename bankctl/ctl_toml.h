/*
 * ctl_toml.h - the subset of TOML the original slurm-banking-plugins'
 * bank-config.toml is written in, read strictly for `bankctl
 * migrate-config` (ctl_migrate.c).  Only bankctl reads TOML, so it lives
 * here and not in common/.
 *
 * Read: [table] and [a.b] headers (bare or quoted parts), key = value with
 * a bare or quoted key, values "basic" and 'literal' strings, plain
 * decimals (kept as written: -?DIGITS[.DIGITS], so no float is ever
 * made), true and false, one-line arrays of strings, # comments.
 * Refused, with the line and what is wrong: everything else TOML has
 * (dates, exponents, hex, inf, multi-line strings, inline tables, [[x]],
 * dotted keys), control characters, invalid UTF-8, a NUL, a duplicate
 * key or table, and anything past the bounds below.
 */
#ifndef CTL_TOML_H
#define CTL_TOML_H

#include <stddef.h>
#include <stdio.h>

#define TOML_LINE_MAX	4096	/* bytes of a line, newline excluded */
#define TOML_LINES_MAX	100000	/* lines of a file */
#define TOML_KEY_MAX	128	/* bytes of a key or of a table's name */
#define TOML_VALUE_MAX	1024	/* bytes of a string (decoded) */
#define TOML_NUMBER_MAX	32	/* characters of a number */
#define TOML_ITEMS_MAX	256	/* strings of one array */
#define TOML_KEYS_MAX	10000	/* keys of a file */
#define TOML_TABLES_MAX	1000	/* tables of a file */

enum toml_kind {
	TOML_STRING,
	TOML_NUMBER,		/* text holds the digits as written */
	TOML_BOOL,		/* text is "true" or "false" */
	TOML_ARRAY,		/* of strings: items[0..nitems) */
};

struct toml_kv {
	char		*table;		/* "" before any header, or "a.b" */
	char		*key;
	enum toml_kind	 kind;
	char		*text;		/* NULL for TOML_ARRAY */
	char		**items;
	size_t		 nitems;
	int		 line;
};

struct toml_table {
	char		*name;
	int		 line;
};

struct toml_doc {
	struct toml_kv	*kv;
	size_t		 nkv;
	struct toml_table *tables;
	size_t		 ntables;
};

/* Read fp: 0, or -1 with "NAME:LINE: what is wrong" in err. */
int	 toml_read(FILE *fp, const char *name, struct toml_doc *,
	    char *err, size_t errlen);
void	 toml_free(struct toml_doc *);

#endif /* CTL_TOML_H */
