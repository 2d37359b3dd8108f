/*
 * tap.h - the few TAP helpers the unit tests of common/ share.
 *
 * Each test program is one translation unit, so the counters live here as
 * statics.  Results go to stdout as "ok N desc" / "not ok N desc";
 * what a failed check got and wanted goes to stderr as "#" lines, after
 * stdout is flushed so the two stay in order on a terminal.  done() prints
 * the plan last and returns the exit status, so main() ends with
 * `return done();`.
 */
#ifndef SLUICE_TAP_H
#define SLUICE_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

static inline void tap_vline(bool pass, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static inline void
tap_vline(bool pass, const char *fmt, va_list ap)
{
	tap_count++;
	if (!pass)
		tap_failed++;
	printf("%sok %d ", pass ? "" : "not ", tap_count);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
}

static inline bool ok(bool pass, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline bool
ok(bool pass, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vline(pass, fmt, ap);
	va_end(ap);
	return pass;
}

static inline bool is_str(const char *got, const char *want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline bool
is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;
	bool pass = got != NULL && want != NULL ? strcmp(got, want) == 0 : got == want;

	va_start(ap, fmt);
	tap_vline(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		fprintf(stderr, "#   got:  \"%s\"\n#   want: \"%s\"\n",
		    got ? got : "(null)", want ? want : "(null)");
	return pass;
}

static inline bool is_int(long long got, long long want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline bool
is_int(long long got, long long want, const char *fmt, ...)
{
	va_list ap;
	bool pass = got == want;

	va_start(ap, fmt);
	tap_vline(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		fprintf(stderr, "#   got:  %lld\n#   want: %lld\n", got, want);
	return pass;
}

/* Byte strings that may hold NUL: lengths and bytes must both agree. */
static inline bool is_mem(const void *got, size_t glen, const void *want,
    size_t wlen, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static inline bool
is_mem(const void *got, size_t glen, const void *want, size_t wlen,
    const char *fmt, ...)
{
	va_list ap;
	bool pass = glen == wlen && (glen == 0 || memcmp(got, want, glen) == 0);

	va_start(ap, fmt);
	tap_vline(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		fprintf(stderr, "#   got:  %zu bytes \"%.*s\"\n#   want: %zu bytes \"%.*s\"\n",
		    glen, (int)(glen > 200 ? 200 : glen), got ? (const char *)got : "",
		    wlen, (int)(wlen > 200 ? 200 : wlen), want ? (const char *)want : "");
	return pass;
}

static inline void skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline void
skip(const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("ok %d # skip ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Print the plan; the exit status for main(): 0 when every test passed. */
static inline int
done(void)
{
	printf("1..%d\n", tap_count);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

#endif
