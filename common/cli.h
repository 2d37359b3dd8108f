/*
 * cli.h - what every program's option parsing shares: checked numbers and
 * sizes (in the manner of OpenBSD's strtonum), --version, usage errors.
 *
 * Nothing here exits: the functions return a status and the program picks
 * the exit code (EX_USAGE for a bad command line).
 */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

#include <stdint.h>

/* sysexits(3) codes, named here so no program needs <sysexits.h>. */
enum {
	EX_OK_ = 0,
	EXIT_USAGE = 64, EXIT_DATAERR = 65, EXIT_NOINPUT = 66,
	EXIT_UNAVAILABLE = 69, EXIT_SOFTWARE = 70, EXIT_IOERR = 74,
	EXIT_CONFIG = 78,
	EXIT_PIPE = 128 + 13	/* what a shell reports for a SIGPIPE death */
};

/* Parse a whole decimal integer in [min, max].  Returns 0, or -1 with *why
 * set to "invalid", "too small" or "too large". */
int cli_number(const char *s, long long min, long long max, long long *out,
    const char **why);

/* Parse a byte size: digits with an optional K, M or G suffix (powers of
 * 1024), in [min, max].  Same return convention as cli_number(). */
int cli_size(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    const char **why);

/* The index of arg in names (a NULL-terminated list of the words an
 * option takes), or -1 when it is none of them. */
int cli_choice(const char *arg, const char *const *names);

struct jw;
struct reject;

/* Write out the reject file, then w.  Returns 0; EXIT_PIPE when w's
 * reader went away (the program ends quietly); or EXIT_IOERR, with errno
 * in w->err, for the program to report. */
int cli_flush(struct jw *w, struct reject *rj);

/* Print "program (sluice) VERSION" on stdout. */
void cli_version(void);

/* Print "program: message" and "Try 'program --help'." on stderr;
 * returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
