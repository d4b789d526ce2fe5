/*
 * fuzz_conf.c - bank.yaml's loader (common/conf.c on common/yamltree.c),
 * which also runs inside slurmctld: the input is the file.  The same
 * bytes are then an API token, from a token file and inline.
 *
 * Promises checked (the harness aborts otherwise):
 *  - a refused file gets a NUL-terminated "FILE:LINE: what" (or
 *    "FILE: why") error naming it;
 *  - a loaded one has what conf.h says: absolute socket and directories,
 *    a URL with a host and without a trailing slash, exactly one of token and token_file,
 *    decision_ms below submit_ms;
 *  - a token read is one word, and an error names where it was read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"

static char	 conf_file[512];
static char	 token_file[512];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_path(conf_file, sizeof(conf_file), "bank.yaml");
	fuzz_path(token_file, sizeof(token_file), "token");
	return 0;
}

static void
check_error(const char *err, size_t len, const char *name, int at_start)
{
	if (memchr(err, '\0', len) == NULL)
		fuzz_fail("an error message without its NUL");
	if (at_start && (strncmp(err, name, strlen(name)) != 0 ||
	    err[strlen(name)] != ':'))
		fuzz_fail("error '%s' does not start with '%s:'", err, name);
	if (!at_start && strstr(err, name) == NULL)
		fuzz_fail("error '%s' does not name %s", err, name);
}

static void
check_loaded(const struct bank_conf *cf)
{
	size_t n = strlen(cf->api_url);

	if (cf->socket[0] != '/' || cf->state_dir[0] != '/' ||
	    cf->spool_dir[0] != '/')
		fuzz_fail("a relative socket, state_dir or spool_dir loaded");
	if (n > 0 && cf->api_url[n - 1] == '/')
		fuzz_fail("api.url '%s' kept its trailing slash", cf->api_url);
	if (strstr(cf->api_url, "://") == NULL ||
	    strstr(cf->api_url, "://")[3] == '\0')
		fuzz_fail("api.url '%s' names no host", cf->api_url);
	if ((cf->api_token == NULL) == (cf->api_token_file == NULL))
		fuzz_fail("not exactly one of token and token_file");
	if (cf->decision_ms >= cf->submit_deadline_ms)
		fuzz_fail("decision_ms %d not below submit_ms %d",
		    cf->decision_ms, cf->submit_deadline_ms);
	if (strcmp(cf->path, conf_file) != 0)
		fuzz_fail("path '%s' is not the file loaded", cf->path);
}

/* What bankd and the plugins ask of a loaded configuration. */
static void
use_loaded(const struct bank_conf *cf)
{
	int64_t micro;
	size_t i;

	for (i = 0; i < cf->nprices; i++) {
		if (!conf_price(cf, cf->prices[i].partition, &micro) ||
		    conf_price_entry(cf, cf->prices[i].partition) == NULL)
			fuzz_fail("partition '%s' listed but not found",
			    cf->prices[i].partition);
	}
	if (conf_price(cf, NULL, &micro) || micro != cf->default_price)
		fuzz_fail("no partition is not the default price");
	(void)conf_price(cf, "", &micro);
	for (i = 0; i < cf->nqos; i++)
		(void)conf_qos_multiplier(cf, cf->qos[i].name);
	if (conf_qos_multiplier(cf, NULL) != 1000000)
		fuzz_fail("no QoS is not x1");
	(void)conf_qos_multiplier(cf, "normal");
	(void)conf_policy_name(cf->on_api_unavailable);
	(void)conf_policy_name(cf->on_unknown);
}

static void
check_token(const struct bank_conf *cf, const char *src)
{
	char err[512], *token = NULL;

	memset(err, 'x', sizeof(err));
	if (conf_read_token(cf, &token, err, sizeof(err)) != 0) {
		check_error(err, sizeof(err), src, 0);
		return;
	}
	if (token[0] == '\0' || strpbrk(token, " \t\r\n") != NULL)
		fuzz_fail("token '%s' is not one word", token);
	free(token);
}

/* Both ways a token reaches bankd: token_file, and token: inline. */
static void
fuzz_token(const uint8_t *data, size_t size)
{
	struct bank_conf cf;
	char *inline_token;

	memset(&cf, 0, sizeof(cf));
	cf.path = conf_file;
	fuzz_write(token_file, data, size, 0600);
	cf.api_token_file = token_file;
	check_token(&cf, token_file);

	/* Inline, it is a YAML string: no NUL inside. */
	if ((inline_token = strndup((const char *)data, size)) == NULL)
		return;
	cf.api_token = inline_token;
	check_token(&cf, conf_file);
	free(inline_token);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bank_conf cf;
	char err[512];

	fuzz_write(conf_file, data, size, 0600);
	memset(err, 'x', sizeof(err));
	if (conf_load(conf_file, &cf, err, sizeof(err)) != 0)
		check_error(err, sizeof(err), conf_file, 1);
	else {
		check_loaded(&cf);
		use_loaded(&cf);
		/* A token_file would be any file on this host: not read. */
		if (cf.api_token != NULL)
			check_token(&cf, conf_file);
		conf_free(&cf);
	}
	fuzz_token(data, size);
	return 0;
}
