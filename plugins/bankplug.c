/*
 * bankplug.c - configuration lookup shared by the plugins.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bankplug.h"

/* Exported by libslurm but declared only in Slurm's internal headers. */
extern char	*slurm_get_extra_conf_path(char *conf_name);
extern void	 slurm_xfree(void **);

int
bankplug_conf_load(const char *path, struct bank_conf *cf, char *err,
    size_t errlen)
{
	char *found = NULL;
	int rc;

	if (path == NULL || *path == '\0')
		path = found = slurm_get_extra_conf_path("bank.yaml");
	if (path == NULL) {
		snprintf(err, errlen, "cannot locate bank.yaml beside slurm.conf");
		return -1;
	}
	rc = conf_load(path, cf, err, errlen);
	if (found != NULL)
		slurm_xfree((void **)&found);
	return rc;
}

void
bankplug_add_str(struct bp_msg *m, const char *key, const char *v)
{
	if (v != NULL && *v != '\0' && strchr(v, '\n') == NULL)
		bp_addf(m, key, "%s", v);
}

void
bankplug_add_hold(struct bp_msg *m, const char *admin_comment)
{
	const char *p;

	if (admin_comment != NULL &&
	    (p = strstr(admin_comment, "bank_hold=")) != NULL)
		bp_addf(m, "hold", "%llu", strtoull(p + 10, NULL, 10));
}
