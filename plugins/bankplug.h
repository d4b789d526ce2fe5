/*
 * bankplug.h - what the three plugins share: finding and reading bank.yaml
 * and logging through the host daemon's log.
 */
#ifndef BANKPLUG_H
#define BANKPLUG_H

#include "conf.h"

/*
 * Load bank.yaml: `path` if given, else the file beside slurm.conf (as
 * Slurm finds its other configuration files).  0, or -1 with err.
 */
int	 bankplug_conf_load(const char *path, struct bank_conf *, char *err,
	    size_t errlen);

#endif /* BANKPLUG_H */
