/*
 * job_submit/inline - the ORIGINAL design, for benchmarks only: ask the
 * API synchronously from inside slurmctld, with a fresh connection for
 * every submission, as the first-generation plugins did.  Never install
 * it: it is here so bench/submit_throughput.py can measure what slurm-bank
 * saves against it in the same run.
 *
 * Environment of slurmctld: BANK_INLINE_URL (API base), BANK_INLINE_TOKEN,
 * BANK_INLINE_PRICE (SU per CPU-hour, a whole number, for the estimate).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "slurm/slurm_errno.h"
#include "src/common/slurm_xlator.h"
#include "src/slurmctld/slurmctld.h"

const char plugin_name[] = "Inline API check (benchmark baseline only)";
const char plugin_type[] = "job_submit/inline";
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

struct sink {
	char	buf[4096];
	size_t	len;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n, room = sizeof(s->buf) - 1 - s->len;

	memcpy(s->buf + s->len, p, len < room ? len : room);
	s->len += len < room ? len : room;
	s->buf[s->len] = '\0';
	return len;
}

extern int
init(void)
{
	return SLURM_SUCCESS;
}

extern int
fini(void)
{
	return SLURM_SUCCESS;
}

extern int
job_submit(job_desc_msg_t *jd, uint32_t submit_uid, char **err_msg)
{
	const char *url = getenv("BANK_INLINE_URL");
	const char *tok = getenv("BANK_INLINE_TOKEN");
	long price = getenv("BANK_INLINE_PRICE") ?
	    strtol(getenv("BANK_INLINE_PRICE"), NULL, 10) : 1;
	long cpus = jd->min_cpus != NO_VAL && jd->min_cpus ? jd->min_cpus : 1;
	long mins = jd->time_limit != NO_VAL ? jd->time_limit : 60;
	long cents = price * cpus * mins * 100 / 60;
	struct curl_slist *hdr = NULL;
	struct sink body = { .len = 0 };
	char full[1024], auth[256];
	CURL *c;
	int ok;

	if (url == NULL || tok == NULL || jd->account == NULL)
		return SLURM_SUCCESS;
	snprintf(full, sizeof(full), "%s/can_submit_job/%ld.%02ld/%u/%s/", url,
	    cents / 100, cents % 100, jd->user_id != NO_VAL ? jd->user_id :
	    submit_uid, jd->account);
	snprintf(auth, sizeof(auth), "Authorization: Token %s", tok);
	if ((c = curl_easy_init()) == NULL)
		return SLURM_SUCCESS;
	hdr = curl_slist_append(NULL, auth);
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	ok = curl_easy_perform(c) != CURLE_OK ||	/* fail open, as they did */
	    (strstr(body.buf, "\"success\": false") == NULL &&
	    strstr(body.buf, "\"success\":false") == NULL);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	if (ok)
		return SLURM_SUCCESS;
	*err_msg = xstrdup("inline: the API refused the job");
	return ESLURM_ACCOUNTING_POLICY;
}

extern int
job_modify(job_desc_msg_t *jd, job_record_t *job, uint32_t modify_uid)
{
	(void)jd;
	(void)job;
	(void)modify_uid;
	return SLURM_SUCCESS;
}
