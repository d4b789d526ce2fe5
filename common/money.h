/*
 * money.h - exact decimal amounts.  No binary floating point touches an
 * amount that is charged: prices are integers in micro-SU (1e-6 SU per
 * CPU-hour), amounts are integers in cents (1e-2 SU).
 */
#ifndef MONEY_H
#define MONEY_H

#include <stdint.h>

#define MONEY_PRICE_SCALE	6	/* price decimals kept: micro-SU */
#define MONEY_FMT_LEN		32

/*
 * Parse a non-negative decimal ("12", "0.5", "1.250000") with at most
 * `scale` decimal places into value * 10^scale.  0 or -1 (with *why set to
 * a static reason) on anything else: signs, exponents, NaN, too many
 * places, overflow.
 */
int	 money_parse(const char *s, int scale, int64_t *out, const char **why);

/* Format cents as "12.34" ("-0.05" for negatives) into buf. */
char	*money_format(int64_t cents, char buf[MONEY_FMT_LEN]);

/* Format a micro-SU price as a trimmed decimal ("1.5", "0"). */
char	*money_format_price(int64_t micro, char buf[MONEY_FMT_LEN]);

/*
 * price x cpus x seconds / 3600, in cents, rounded half-up, computed
 * exactly in 128-bit integers.  Saturates at INT64_MAX.
 */
int64_t	 money_cost(int64_t price_micro, uint64_t cpus, uint64_t seconds);

#endif /* MONEY_H */
