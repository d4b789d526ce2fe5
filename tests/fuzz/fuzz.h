/*
 * fuzz.h - what the harnesses share: a private scratch directory, made
 * once per process and removed at exit, and small file helpers.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry points. */
int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The scratch directory (mkdtemp under $TMPDIR); exits if it cannot be. */
const char *fuzz_dir(void);

/* "<fuzz_dir()>/<name>" into buf; exits if it does not fit. */
char	*fuzz_path(char *buf, size_t len, const char *name);

/* Replace the file with data[0..len) and the given mode; exits on error. */
void	 fuzz_write(const char *path, const void *data, size_t len, int mode);

/*
 * Append to *buf (realloc'd, *len bytes so far) one journal record of
 * payload p: journal.h's header and CRC-32C, written again here so as
 * not to trust journal.c's.  n 0 appends nothing.
 */
void	 fuzz_journal_record(uint8_t **buf, size_t *len, const uint8_t *p,
	    size_t n);

/* Print why and abort: the harness found a broken promise. */
void	 fuzz_fail(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif /* FUZZ_H */
