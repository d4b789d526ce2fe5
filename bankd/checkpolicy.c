/*
 * checkpolicy.c - the API gave no usable answer in time (down, an error,
 * past decision_ms): the site's policy decides.  on_api_unavailable is
 * allow, deny, or cached: what the cache knows, of any age, else
 * on_unknown.  The reason names the setting that decided, so that a
 * refused user and the operator both see why.
 */
#include <inttypes.h>
#include <stdio.h>

#include "bankd.h"
#include "cache.h"
#include "checkint.h"
#include "conf.h"
#include "money.h"

/* Under "cached", why what is known does not decide. */
static const char *
known_words(const struct check *ck, char *out, size_t len)
{
	char ca[MONEY_FMT_LEN];

	if (!cache_knows(ck->bd->cache, ck->account, CACHE_ACCOUNT) &&
	    !cache_knows(ck->bd->cache, ck->account, (long)ck->uid))
		snprintf(out, len, "nothing is known of account %s yet",
		    ck->account);
	else
		snprintf(out, len, "what is known of account %s does not "
		    "cover %s SU (this job and the holds of queued ones)",
		    ck->account, money_format(check_cost_account(ck), ca));
	return out;
}

void
checkpolicy_decide(struct check *ck, const char *why)
{
	enum conf_policy p = ck->bd->conf.on_api_unavailable;
	const char *known;
	char reason[1400], words[1000];
	enum known v;

	if (p == POLICY_CACHED && (v = checkverdict_from_cache(ck, ANY_AGE, &known)) !=
	    KNOWN_NOTHING) {
		if (v == KNOWN_ALLOW)
			snprintf(reason, sizeof(reason), "%s (the API could not "
			    "answer: %s; decided from what it said before)",
			    known, why);
		else {
			checkverdict_refusal(ck, ck->failed_limit, known, words,
			    sizeof(words));
			snprintf(reason, sizeof(reason), "%s (the API could not "
			    "answer: %s; decided from what it said before)",
			    words, why);
		}
		checkverdict_finish(ck, v == KNOWN_ALLOW, "cache (API unavailable)",
		    reason);
		return;
	}
	/* Name the setting that decided: on_unknown, under "cached". */
	if (p == POLICY_CACHED)
		snprintf(reason, sizeof(reason), "the accounting API could not "
		    "answer (%s) and %s; policy on_unknown=%s "
		    "(on_api_unavailable=cached)", why, known_words(ck, words,
		    sizeof(words)), conf_policy_name(ck->bd->conf.on_unknown));
	else
		snprintf(reason, sizeof(reason), "the accounting API could not "
		    "answer (%s); policy on_api_unavailable=%s", why,
		    conf_policy_name(p));
	if (p == POLICY_CACHED)
		p = ck->bd->conf.on_unknown;
	/* Its decision line (checkverdict.c) is a warning. */
	checkverdict_finish(ck, p == POLICY_ALLOW, "policy", reason);
}
