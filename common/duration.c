/*
 * duration.c - parse and format durations.
 */
#include "duration.h"

#include <stdio.h>
#include <string.h>

static const struct unit {
	const char *name;
	int64_t ms;
} units[] = {
	/* Longest names first, so "ms" is not read as "m" then "s". */
	{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	{ "d", 86400000 }, { "w", 604800000 },
};

int
duration_parse(const char *s, int64_t *ms, const char **why)
{
	int64_t total = 0;
	const char *p = s;

	if (s == NULL || *s == '\0') {
		*why = "empty duration";
		return -1;
	}
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	while (*p) {
		int64_t n = 0;
		const char *digits = p;
		while (*p >= '0' && *p <= '9') {
			if (n > (INT64_MAX - 9) / 10) {
				*why = "duration too large";
				return -1;
			}
			n = n * 10 + (*p++ - '0');
		}
		if (p == digits) {
			*why = "expected a number (as in 250ms, 10s, 5m, 2h, 7d)";
			return -1;
		}
		const struct unit *u = NULL;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t len = strlen(units[i].name);
			if (strncmp(p, units[i].name, len) == 0 &&
			    !(p[len] >= 'a' && p[len] <= 'z')) {
				u = &units[i];
				p += len;
				break;
			}
		}
		if (u == NULL) {
			*why = *p ? "unknown unit (use ms, s, m, h, d or w)"
			    : "missing unit (as in 250ms, 10s, 5m, 2h, 7d)";
			return -1;
		}
		if (n > (INT64_MAX - total) / u->ms) {
			*why = "duration too large";
			return -1;
		}
		total += n * u->ms;
	}
	*ms = total;
	return 0;
}

size_t
duration_format(int64_t ms, char *out, size_t size)
{
	size_t len = 0;

	if (size == 0)
		return 0;
	out[0] = '\0';
	if (ms <= 0)
		return (size_t)snprintf(out, size, "%s", ms == 0 ? "0s" : "-");
	for (size_t i = sizeof(units) / sizeof(units[0]) - 1; i < sizeof(units) / sizeof(units[0]) && ms > 0; i--) {
		if (units[i].ms == 604800000)
			continue;	/* "7d" reads better than "1w" */
		int64_t n = ms / units[i].ms;
		if (n == 0)
			continue;
		ms -= n * units[i].ms;
		int w = snprintf(out + len, size - len, "%lld%s", (long long)n, units[i].name);
		if (w < 0 || (size_t)w >= size - len) {
			out[len] = '\0';	/* end at the last whole unit, as the length says */
			break;
		}
		len += (size_t)w;
	}
	return len;
}
