/*
 * rfc3339.h - time as sluice writes it (RFC 3339, UTC, milliseconds:
 * 2026-11-22T01:23:45.123Z) and the calendar arithmetic under it.
 *
 * Times are int64 milliseconds since the Unix epoch, UTC.  Calendar
 * conversion is Howard Hinnant's days_from_civil, so no call here touches
 * the C library's time zone state except tz_*.
 */
#ifndef SLUICE_RFC3339_H
#define SLUICE_RFC3339_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RFC3339_LEN 24	/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */

int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Write ms as RFC3339_LEN characters (no NUL).  Years outside 0..9999 are
 * clamped to that range. */
void rfc3339_format(int64_t ms, char out[RFC3339_LEN]);

/* rfc3339_format() that keeps the date text of the last day it wrote:
 * consecutive records mostly share their day.  Zero the cache to start. */
struct rfc3339_cache {
	int64_t day;
	bool valid;
	char date[11];		/* "YYYY-MM-DDT" */
};
void rfc3339_format_cached(struct rfc3339_cache *c, int64_t ms,
    char out[RFC3339_LEN]);

/* Read an RFC 3339 / ISO 8601 time at the start of s[0, n):
 * YYYY-MM-DD[T ]HH:MM[:SS[.fraction]][Z|±HH[:]MM].  Returns the number of
 * characters read, or 0 when s does not start with such a time.  *has_zone
 * says whether a zone was given; without one *ms is the wall time read as
 * if it were UTC (convert it with tz_local_to_utc()). */
size_t rfc3339_scan(const char *s, size_t n, int64_t *ms, bool *has_zone);

/* A whole string that is an RFC 3339 time with a zone.  0 or -1. */
int rfc3339_parse(const char *s, size_t n, int64_t *ms);

/* rfc3339_scan() and rfc3339_parse() that keep the last minute read
 * ("YYYY-MM-DDTHH:MM", the part that costs most): consecutive records
 * mostly share it.  Zero the cache to start. */
struct rfc3339_minute {
	bool valid;
	char text[16];
	int64_t ms;
};
size_t rfc3339_scan_cached(struct rfc3339_minute *c, const char *s, size_t n,
    int64_t *ms, bool *has_zone);
int rfc3339_parse_cached(struct rfc3339_minute *c, const char *s, size_t n, int64_t *ms);

/* "Jan".."Dec" (any case) → 1..12; 0 when not a month. */
unsigned month_from_abbr(const char *s);

/* Conversion of wall-clock times in one zone to UTC. */
struct tz {
	bool utc;		/* zone is UTC: no conversion */
	int64_t day_key;	/* last local day whose offset was fixed */
	int64_t day_off_ms;	/* its offset (local - UTC) */
};

/* Set up conversion for zone (an IANA name such as Europe/Berlin, "UTC",
 * or NULL/"" for the TZ environment variable, UTC when that is unset).  Changes the TZ environment
 * variable of the process for non-UTC zones.  Returns 0, or -1 when the
 * zone is not known to the system. */
int tz_init(struct tz *tz, const char *zone);

/* Wall time in the zone (as rfc3339_scan() gives it) → UTC ms.  In a
 * daylight-saving overlap the earlier instant is chosen. */
int64_t tz_local_to_utc(struct tz *tz, int64_t local_ms);

#endif
