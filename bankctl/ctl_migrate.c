/*
 * ctl_migrate.c - bankctl migrate-config: the original slurm-banking-
 * plugins' /etc/slurm/bank-config.toml as bank.yaml.
 *
 *	bankctl migrate-config bank-config.toml [-o bank.yaml]
 *	    [--token-file PATH]
 *
 * What the Rust plugins read of it (slurm_banking/src/prices_config.rs,
 * accounting.rs and each plugin's entry point), and where it goes:
 *
 *	[Enable] enable_job_submit_plugin	plugins.job_submit
 *	[Enable] enable_spank_plugin		plugins.spank
 *	[Enable] enable_job_complete_plugin	plugins.jobcomp
 *	[PartitionPrice] NAME = PRICE		prices.partitions.NAME
 *	[API] url				api.url
 *	[API] token				api.token, or the file
 *						--token-file names
 *
 * It is carried as the plugins behaved: a switch that is absent was off
 * (they read unwrap_or(false)), an unlisted partition cost 0 (so
 * prices.default is "0"), a missing url was http://localhost:8080, and
 * names were case-insensitive (config-rs 0.9 lowercases every key, so a
 * partition written "GPU" priced Slurm's partition "gpu" only).  Prices
 * are the text of the file, checked by money_parse(): never a float.
 * [QosMultiplier] (read by versions before 0.1.7 only), every other
 * table and key is listed on stderr as not carried over.
 *
 * Exit 0 with bank.yaml written (stdout without -o); 2 on a usage error
 * or a file it refuses (the line and what is wrong on stderr; nothing
 * written); 1 when a file cannot be read or written.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_toml.h"
#include "lim.h"
#include "money.h"

#define MIG_TOKEN_MAX		511	/* conf_read_token()'s buffer */
#define MIG_DEFAULT_URL		"http://localhost:8080"
#define MIG_DEFAULT_TOKEN_FILE	"/etc/slurm/bank-token"

enum mig_sect { SECT_OTHER, SECT_ENABLE, SECT_PRICE, SECT_API, SECT_QOS };

/* The three switches, as the Rust plugins name them. */
static const struct {
	const char	*toml, *yaml;
} switches[] = {
	{ "enable_job_submit_plugin",	"job_submit" },
	{ "enable_spank_plugin",	"spank" },
	{ "enable_job_complete_plugin",	"jobcomp" },
};
#define NSWITCH	(sizeof(switches) / sizeof(switches[0]))

struct mig {
	const char		*src;
	const struct toml_doc	*doc;
	const struct toml_kv	*sw[NSWITCH];
	const struct toml_kv	*url, *token;
	const char		*token_file;	/* --token-file */
	FILE			*notes;	/* said once all is well */
	char			*err;
	size_t			 errlen;
};

static int	refuse(struct mig *, const struct toml_kv *, const char *,
		    ...) __attribute__((format(printf, 3, 4)));

static int
refuse(struct mig *m, const struct toml_kv *kv, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(m->err, m->errlen, "%s:%d: [%s] %s: ", m->src,
	    kv->line, kv->table, kv->key);
	if (n < 0 || (size_t)n >= m->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(m->err + n, m->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static void
not_carried(struct mig *m, const struct toml_kv *kv, const char *why)
{
	fprintf(m->notes, "bankctl: not carried over: %s:%d: ", m->src,
	    kv->line);
	if (kv->table[0] != '\0') {
		fprintf(m->notes, "[");
		ctl_put(m->notes, kv->table, 0);
		fprintf(m->notes, "] ");
	}
	ctl_put(m->notes, kv->key, 0);
	fprintf(m->notes, ": %s\n", why);
}

static enum mig_sect
sect_of(const char *table)
{
	/* config-rs 0.9 folded every name to lower case. */
	if (strcasecmp(table, "Enable") == 0)
		return SECT_ENABLE;
	if (strcasecmp(table, "PartitionPrice") == 0)
		return SECT_PRICE;
	if (strcasecmp(table, "API") == 0)
		return SECT_API;
	if (strcasecmp(table, "QosMultiplier") == 0)
		return SECT_QOS;
	return SECT_OTHER;
}

/* Names that differ only in case were one name to the original plugins. */
static int
check_table_folds(struct mig *m)
{
	const struct toml_table *a, *b;
	size_t i, j;

	for (i = 0; i < m->doc->ntables; i++)
		for (j = i + 1; j < m->doc->ntables; j++) {
			a = &m->doc->tables[i];
			b = &m->doc->tables[j];
			if (strcasecmp(a->name, b->name) != 0)
				continue;
			snprintf(m->err, m->errlen, "%s:%d: table [%s] is [%s] "
			    "of line %d to the original plugins (they ignore "
			    "case): merge them", m->src, b->line, b->name,
			    a->name, a->line);
			return -1;
		}
	return 0;
}

static int
check_folds(struct mig *m)
{
	const struct toml_doc *d = m->doc;
	size_t i, j;

	if (check_table_folds(m) != 0)
		return -1;
	for (i = 0; i < d->nkv; i++)
		for (j = i + 1; j < d->nkv; j++)
			if (strcasecmp(d->kv[i].table, d->kv[j].table) == 0 &&
			    strcasecmp(d->kv[i].key, d->kv[j].key) == 0)
				return refuse(m, &d->kv[j], "the same key as "
				    "'%s' of line %d to the original plugins "
				    "(they ignore case): keep one",
				    d->kv[i].key, d->kv[i].line);
	return 0;
}

static int
take_enable(struct mig *m, const struct toml_kv *kv)
{
	size_t i;

	for (i = 0; i < NSWITCH; i++)
		if (strcasecmp(kv->key, switches[i].toml) == 0)
			break;
	if (i == NSWITCH) {
		not_carried(m, kv, "no such switch (the plugins read "
		    "enable_job_submit_plugin, enable_spank_plugin and "
		    "enable_job_complete_plugin)");
		return 0;
	}
	if (kv->kind != TOML_BOOL)
		return refuse(m, kv, "must be true or false");
	m->sw[i] = kv;
	return 0;
}

static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= LIM_PARTITION_LEN && strspn(s,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_.-") == n;
}

static int
check_price(struct mig *m, const struct toml_kv *kv)
{
	const char *why;
	int64_t micro;

	if (!name_ok(kv->key))
		return refuse(m, kv, "not a partition name bank.yaml takes "
		    "(1 to %d letters, digits, '_', '.', '-')",
		    LIM_PARTITION_LEN);
	if (kv->kind != TOML_NUMBER && kv->kind != TOML_STRING)
		return refuse(m, kv, "a price must be a decimal number");
	if (money_parse(kv->text, MONEY_PRICE_SCALE, &micro, &why) != 0)
		return refuse(m, kv, "price '%s': %s (bank.yaml prices are "
		    "exact decimals, at most %d places)", kv->text, why,
		    MONEY_PRICE_SCALE);
	return 0;
}

/* printable ASCII but quotes and backslash: safe in a "..." YAML scalar. */
static int
plain_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~' || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

static int
take_api(struct mig *m, const struct toml_kv *kv)
{
	const char *u, *h;

	if (strcasecmp(kv->key, "url") != 0 &&
	    strcasecmp(kv->key, "token") != 0) {
		not_carried(m, kv, "the plugins read only url and token "
		    "of [API]");
		return 0;
	}
	if (kv->kind != TOML_STRING)
		return refuse(m, kv, "must be a string");
	if (strcasecmp(kv->key, "token") == 0) {
		m->token = kv;
		return 0;
	}
	u = kv->text;
	h = strncmp(u, "https://", 8) == 0 ? u + 8 :
	    strncmp(u, "http://", 7) == 0 ? u + 7 : NULL;
	if (h == NULL || *h == '\0' || *h == '/')
		return refuse(m, kv, "'%s' is not an http:// or https:// URL "
		    "with a host", u);
	if (!plain_ascii(u))
		return refuse(m, kv, "a URL of printable ASCII without "
		    "spaces, quotes or backslashes is needed");
	m->url = kv;
	return 0;
}

static int
take(struct mig *m, const struct toml_kv *kv)
{
	switch (sect_of(kv->table)) {
	case SECT_ENABLE:
		return take_enable(m, kv);
	case SECT_PRICE:
		return check_price(m, kv);
	case SECT_API:
		return take_api(m, kv);
	case SECT_QOS:
		not_carried(m, kv, "the plugins ignore [QosMultiplier] since "
		    "0.1.7; prices.qos in bank.yaml would apply it");
		return 0;
	case SECT_OTHER:
		break;
	}
	not_carried(m, kv, kv->table[0] == '\0' ? "a key outside any table, "
	    "which the plugins do not read" : "a table the plugins do not "
	    "read");
	return 0;
}

/* The key itself: "Token <key>" is the header's form, bank.yaml's too. */
static int
token_key(struct mig *m, char *out)
{
	const char *s = m->token->text;

	while (*s == ' ')
		s++;
	if (strncmp(s, "Token ", 6) == 0)
		s += 6;
	while (*s == ' ')
		s++;
	if (*s == '\0')
		return 1;
	if (strlen(s) > MIG_TOKEN_MAX || !plain_ascii(s))
		return refuse(m, m->token, "the token must be one word of "
		    "printable ASCII (at most %d characters), optionally after "
		    "'Token '", MIG_TOKEN_MAX);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/* The file's name in a comment: one line, printable. */
static void
put_comment_text(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++)
		fputc(*s >= ' ' && *s <= '~' ? *s : '?', fp);
}

static void
emit_api(struct mig *m, FILE *fp, const char *key)
{
	const char *url = m->url != NULL ? m->url->text : MIG_DEFAULT_URL;
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	fprintf(fp, "api:\n  url: \"%.*s\"\n", (int)n, url);
	if (m->url == NULL)
		fprintf(m->notes, "bankctl: note: no [API] url: api.url is the "
		    "plugins' default, %s\n", MIG_DEFAULT_URL);
	if (key != NULL && m->token_file == NULL) {
		fprintf(fp, "  # Inline, as in bank-config.toml: better in a "
		    "file of mode 0600\n  # named by token_file.\n"
		    "  token: \"%s\"\n", key);
		fprintf(m->notes, "bankctl: warning: the API token is inline "
		    "in bank.yaml: put it in a file of mode 0600 and name it "
		    "with api.token_file (or run again with --token-file)\n");
		return;
	}
	fprintf(fp, "  token_file: \"%s\"\n", m->token_file != NULL ?
	    m->token_file : MIG_DEFAULT_TOKEN_FILE);
	if (key == NULL)
		fprintf(m->notes, "bankctl: note: no [API] token: write the "
		    "key to %s (mode 0600) before starting bankd\n",
		    m->token_file != NULL ? m->token_file :
		    MIG_DEFAULT_TOKEN_FILE);
}

static void
emit_plugins(struct mig *m, FILE *fp)
{
	size_t i;

	fprintf(fp, "\n# [Enable]: a switch the file left out was off.\n"
	    "plugins:\n");
	for (i = 0; i < NSWITCH; i++) {
		fprintf(fp, "  %s: %s\n", switches[i].yaml, m->sw[i] != NULL ?
		    m->sw[i]->text : "false");
		if (m->sw[i] == NULL)
			fprintf(m->notes, "bankctl: note: no [Enable] %s: the "
			    "plugin was off, plugins.%s is false\n",
			    switches[i].toml, switches[i].yaml);
	}
}

static void
emit_prices(struct mig *m, FILE *fp)
{
	const struct toml_kv *kv;
	char name[LIM_PARTITION_LEN + 1];
	size_t i, j, n = 0;

	fprintf(fp, "\n# [PartitionPrice]: SU per CPU-hour.  The original "
	    "plugins charged\n# nothing in a partition not listed.\n"
	    "prices:\n  default: \"0\"\n");
	for (i = 0; i < m->doc->nkv; i++) {
		kv = &m->doc->kv[i];
		if (sect_of(kv->table) != SECT_PRICE)
			continue;
		if (n++ == 0)
			fprintf(fp, "  partitions:\n");
		for (j = 0; kv->key[j] != '\0'; j++)
			name[j] = kv->key[j] >= 'A' && kv->key[j] <= 'Z' ?
			    (char)(kv->key[j] - 'A' + 'a') : kv->key[j];
		name[j] = '\0';
		fprintf(fp, "    \"%s\": \"%s\"\n", name, kv->text);
		if (strcmp(name, kv->key) != 0)
			fprintf(m->notes, "bankctl: note: %s:%d: partition "
			    "'%s' is carried as '%s': the plugins lowercased "
			    "it, so it priced Slurm's partition '%s' only\n",
			    m->src, kv->line, kv->key, name, name);
	}
}

/* Anything the plugins read: else this is some other TOML file. */
static int
known_table(const struct mig *m)
{
	size_t i;

	for (i = 0; i < m->doc->ntables; i++)
		if (sect_of(m->doc->tables[i].name) != SECT_OTHER &&
		    sect_of(m->doc->tables[i].name) != SECT_QOS)
			return 1;
	return 0;
}

/* bank.yaml in memory: 0, or -1 with the file's fault in m->err. */
static int
translate(struct mig *m, char **yaml, size_t *len)
{
	char key[MIG_TOKEN_MAX + 1];
	FILE *fp;
	size_t i;
	int rc;

	if (check_folds(m) != 0)
		return -1;
	if (!known_table(m)) {
		snprintf(m->err, m->errlen, "%s: none of the tables [Enable], "
		    "[PartitionPrice] and [API]: not the original plugins' "
		    "bank-config.toml", m->src);
		return -1;
	}
	for (i = 0; i < m->doc->nkv; i++)
		if (take(m, &m->doc->kv[i]) != 0)
			return -1;
	rc = m->token != NULL ? token_key(m, key) : 1;
	if (rc < 0)
		return -1;
	if ((fp = open_memstream(yaml, len)) == NULL) {
		snprintf(m->err, m->errlen, "out of memory");
		return -1;
	}
	fprintf(fp, "# bank.yaml, migrated by `bankctl migrate-config` from ");
	put_comment_text(fp, m->src);
	fprintf(fp, ",\n# the original slurm-banking-plugins' configuration.  "
	    "Check it with\n# `bankd --check-config`; etc/bank.yaml describes "
	    "every other setting\n# (socket, deadlines, policy, holds).\n\n");
	emit_api(m, fp, rc == 0 ? key : NULL);
	emit_plugins(m, fp);
	emit_prices(m, fp);
	explicit_bzero(key, sizeof(key));
	if (fclose(fp) != 0) {
		snprintf(m->err, m->errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* A new file (never replaced, never through a link), all of buf. */
static int
write_new(const char *path, mode_t mode, const char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1) {
		fprintf(stderr, "bankctl: %s: %s%s\n", path, strerror(errno),
		    errno == EEXIST ? " (not replaced)" : "");
		return -1;
	}
	while (off < len) {
		if ((n = write(fd, buf + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	if (off < len || fsync(fd) != 0 || close(fd) != 0) {
		fprintf(stderr, "bankctl: %s: %s\n", path, strerror(errno));
		if (off < len)
			close(fd);
		unlink(path);
		return -1;
	}
	return 0;
}

static int
write_out(struct mig *m, const char *out, const char *yaml, size_t len)
{
	char key[MIG_TOKEN_MAX + 2];
	int inline_token = m->token != NULL && m->token_file == NULL;

	if (m->token_file != NULL && m->token != NULL &&
	    token_key(m, key) == 0) {
		strcat(key, "\n");
		if (write_new(m->token_file, 0600, key, strlen(key)) != 0) {
			explicit_bzero(key, sizeof(key));
			return -1;
		}
		explicit_bzero(key, sizeof(key));
	}
	if (out == NULL) {
		if (fwrite(yaml, 1, len, stdout) != len || fflush(stdout)) {
			fprintf(stderr, "bankctl: stdout: %s\n",
			    strerror(errno));
			return -1;
		}
		return 0;
	}
	/* With the token inside, only its owner may read it. */
	if (write_new(out, inline_token ? 0600 : 0644, yaml, len) != 0) {
		if (m->token_file != NULL && m->token != NULL)
			unlink(m->token_file);
		return -1;
	}
	return 0;
}

/* A refusal: it quotes the file, so through ctl_put(). */
static void
say(const char *err)
{
	fprintf(stderr, "bankctl: ");
	ctl_put(stderr, err, 0);
	fprintf(stderr, "\n");
}

static FILE *
open_input(const char *path, int *rc)
{
	struct stat st;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL) {
		fprintf(stderr, "bankctl: %s: %s\n", path, strerror(errno));
		*rc = 1;
		return NULL;
	}
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "bankctl: %s: not a regular file\n", path);
		fclose(fp);
		*rc = 2;
		return NULL;
	}
	return fp;
}

int
ctl_cmd_migrate(const char *sock, int argc, char **argv)
{
	struct toml_doc doc;
	struct mig m;
	const char *in = NULL, *out = NULL;
	char err[512], *yaml = NULL, *notes = NULL;
	size_t len = 0, nlen = 0;
	FILE *fp;
	int i, rc = 2;

	(void)sock;
	memset(&m, 0, sizeof(m));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc && out == NULL)
			out = argv[++i];
		else if (strcmp(argv[i], "--token-file") == 0 && i + 1 < argc &&
		    m.token_file == NULL)
			m.token_file = argv[++i];
		else if (argv[i][0] != '-' && in == NULL)
			in = argv[i];
		else
			ctl_usage();
	}
	if (in == NULL)
		ctl_usage();
	if (m.token_file != NULL && (m.token_file[0] != '/' ||
	    !plain_ascii(m.token_file))) {
		ctl_complain("--token-file", m.token_file, "an absolute path "
		    "of printable ASCII without spaces or quotes");
		return 2;
	}
	if ((fp = open_input(in, &rc)) == NULL)
		return rc;
	if (toml_read(fp, in, &doc, err, sizeof(err)) != 0) {
		fclose(fp);
		say(err);
		return 2;
	}
	fclose(fp);
	m.src = in;
	m.doc = &doc;
	m.err = err;
	m.errlen = sizeof(err);
	if ((m.notes = open_memstream(&notes, &nlen)) == NULL) {
		toml_free(&doc);
		return 1;
	}
	rc = 2;
	if (translate(&m, &yaml, &len) != 0)
		say(err);
	else
		rc = write_out(&m, out, yaml, len) == 0 ? 0 : 1;
	fclose(m.notes);
	if (rc == 0)
		fputs(notes, stderr);
	free(notes);
	if (yaml != NULL)
		explicit_bzero(yaml, len);
	free(yaml);
	toml_free(&doc);
	return rc;
}
