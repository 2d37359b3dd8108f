/*
 * log.h - diagnostics on stderr, one line each: "program: what".
 *
 * The program name is set once at start (log_init); it is the only state
 * here.  log_limited() rate-limits per-record warnings so a flood of bad
 * input cannot flood the terminal or the journal.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

enum { LOG_QUIET = -1, LOG_NORMAL = 0, LOG_VERBOSE = 1 };

void log_init(const char *program, int verbosity);
const char *log_program(void);
int log_verbosity(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "program: file:line:col: msg" */
void log_err(const struct sl_err *e);

/* A limiter: at most `burst` messages per `period_s` seconds; the number
 * held back is reported with the next message let through. */
struct log_limit {
	unsigned burst, period_s;
	int64_t window;		/* start of the current period, seconds */
	unsigned used;
	uint64_t held;
};

/* Warn through limiter l (unless quiet). */
void log_limited(struct log_limit *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
