/*
 * fuzz_toml - bankctl migrate-config's TOML reader (bankctl/ctl_toml.c)
 * on any bytes: it reads the file or refuses it with "NAME:LINE: why",
 * never crashes, leaks or reads past a bound; what it reads keeps its
 * promises (every key and table within the bounds, numbers plain
 * decimals as written).
 */
#include <stdio.h>
#include <string.h>

#include "ctl_toml.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void
check_number(const char *t)
{
	size_t i, n = strlen(t);

	if (n == 0 || n > TOML_NUMBER_MAX)
		fuzz_fail("number of %zu characters", n);
	for (i = 0; i < n; i++)
		if (strchr("0123456789.-", t[i]) == NULL)
			fuzz_fail("number '%s' is not a plain decimal", t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct toml_doc doc;
	char err[512];
	size_t i;
	FILE *fp;

	if ((fp = fmemopen((void *)data, len, "r")) == NULL)
		return 0;
	memset(&doc, 0, sizeof(doc));
	if (toml_read(fp, "in.toml", &doc, err, sizeof(err)) != 0) {
		if (strncmp(err, "in.toml", 7) != 0)
			fuzz_fail("an error that names no file: %s", err);
	} else {
		if (doc.nkv > TOML_KEYS_MAX || doc.ntables > TOML_TABLES_MAX)
			fuzz_fail("%zu keys, %zu tables", doc.nkv,
			    doc.ntables);
		for (i = 0; i < doc.nkv; i++) {
			if (strlen(doc.kv[i].key) > TOML_KEY_MAX)
				fuzz_fail("a key of %zu bytes",
				    strlen(doc.kv[i].key));
			if (doc.kv[i].kind == TOML_NUMBER)
				check_number(doc.kv[i].text);
			if (doc.kv[i].kind == TOML_ARRAY &&
			    doc.kv[i].nitems > TOML_ITEMS_MAX)
				fuzz_fail("%zu items", doc.kv[i].nitems);
		}
	}
	toml_free(&doc);
	fclose(fp);
	return 0;
}
