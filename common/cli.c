/*
 * cli.c - checked command-line numbers, --version and usage errors.
 */
#include "cli.h"
#include "jw.h"
#include "log.h"
#include "reject.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "0"
#endif

int
cli_number(const char *s, long long min, long long max, long long *out,
    const char **why)
{
	char *end;
	long long v;

	errno = 0;
	if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9'))) {
		*why = "invalid";
		return -1;
	}
	v = strtoll(s, &end, 10);
	if (*end != '\0') {
		*why = "invalid";
		return -1;
	}
	if ((errno == ERANGE && v == LLONG_MIN) || v < min) {
		*why = "too small";
		return -1;
	}
	if ((errno == ERANGE && v == LLONG_MAX) || v > max) {
		*why = "too large";
		return -1;
	}
	*out = v;
	return 0;
}

int
cli_size(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    const char **why)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	if (s == NULL || *s < '0' || *s > '9') {
		*why = "invalid";
		return -1;
	}
	v = strtoull(s, &end, 10);
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mul = 1024; end++; break;
	case 'm': case 'M': mul = 1024 * 1024; end++; break;
	case 'g': case 'G': mul = 1024 * 1024 * 1024; end++; break;
	default: *why = "invalid"; return -1;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end != '\0') {
		*why = "invalid";
		return -1;
	}
	if (errno == ERANGE || v > max / mul) {
		*why = "too large";
		return -1;
	}
	v *= mul;
	if (v < min) {
		*why = "too small";
		return -1;
	}
	*out = v;
	return 0;
}

int
cli_choice(const char *arg, const char *const *names)
{
	for (int i = 0; names[i] != NULL; i++)
		if (strcmp(arg, names[i]) == 0)
			return i;
	return -1;
}

int
cli_flush(struct jw *w, struct reject *rj)
{
	if (rj != NULL)
		reject_flush(rj);
	if (jw_flush(w) == 0)
		return 0;
	return w->err == EPIPE ? EXIT_PIPE : EXIT_IOERR;
}

void
cli_version(void)
{
	printf("%s (sluice) %s\n", log_program(), SLUICE_VERSION);
}

int
cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", log_program());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", log_program());
	return EXIT_USAGE;
}
