/*
 * rfc3339.c - RFC 3339 reading and writing, calendar arithmetic, and
 * local-to-UTC conversion with a one-hour cache (log lines arrive in time
 * order, so nearly every line hits the hour of the line before).
 */
#include "rfc3339.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdio.h>
#include <unistd.h>

int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static inline void
two(char *o, unsigned v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
}

/* "HH:MM:SS.mmmZ" for rem ms into the day, at out + 11. */
static void
clock_text(char out[RFC3339_LEN], int64_t rem)
{
	unsigned msec = (unsigned)(rem % 1000), sec = (unsigned)(rem / 1000);
	two(out + 11, sec / 3600);
	out[13] = ':';
	two(out + 14, sec / 60 % 60);
	out[16] = ':';
	two(out + 17, sec % 60);
	out[19] = '.';
	out[20] = (char)('0' + msec / 100);
	two(out + 21, msec % 100);
	out[23] = 'Z';
}

void
rfc3339_format(int64_t ms, char out[RFC3339_LEN])
{
	/* Floor division that neither negates ms nor multiplies back, either
	 * of which overflows near INT64_MIN. */
	int64_t days = ms / 86400000, rem = ms % 86400000;
	if (rem < 0) {
		days--;
		rem += 86400000;
	}
	int64_t y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		/* Outside what four digits can say: the nearest end of it. */
		rfc3339_format(y < 0 ? days_from_civil(0, 1, 1) * 86400000 :
		    days_from_civil(9999, 12, 31) * 86400000 + 86399999, out);
		return;
	}
	two(out, (unsigned)(y / 100));
	two(out + 2, (unsigned)(y % 100));
	out[4] = '-';
	two(out + 5, m);
	out[7] = '-';
	two(out + 8, d);
	out[10] = 'T';
	clock_text(out, rem);
}

void
rfc3339_format_cached(struct rfc3339_cache *c, int64_t ms, char out[RFC3339_LEN])
{
	int64_t days = ms >= 0 ? ms / 86400000 : -((-(ms + 1)) / 86400000) - 1;
	if (!c->valid || days != c->day) {
		rfc3339_format(ms, out);
		memcpy(c->date, out, 11);
		c->day = days;
		c->valid = true;
		return;
	}
	memcpy(out, c->date, 11);
	clock_text(out, ms - days * 86400000);
}

/* Read exactly k digits at s; -1 when they are not all digits. */
static int
digits(const char *s, size_t n, size_t k)
{
	int v = 0;
	if (n < k)
		return -1;
	for (size_t i = 0; i < k; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static unsigned
days_in_month(int64_t y, unsigned m)
{
	static const unsigned dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

/* Two digits at p as a number, or a negative number. */
static inline int
two_digits(const char *p)
{
	unsigned a = (unsigned)(unsigned char)p[0] - '0', b = (unsigned)(unsigned char)p[1] - '0';
	return a < 10 && b < 10 ? (int)(a * 10 + b) : -100;
}

/* Timestamps are read once per record, nearly all of them in one shape:
 * the fixed fields are read in place, two digits at a time.  First the
 * 16 characters up to the minute, "YYYY-MM-DD[T ]HH:MM", as ms since
 * the epoch; false when they are no such time. */
static bool
scan_minute(const char *s, int64_t *ms)
{
	int c = two_digits(s), y = two_digits(s + 2);
	if (c < 0 || y < 0 || s[4] != '-' || s[7] != '-')
		return false;
	y += c * 100;
	int mo = two_digits(s + 5), d = two_digits(s + 8);
	if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo))
		return false;
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return false;
	int h = two_digits(s + 11), mi = two_digits(s + 14);
	if (h < 0 || h > 23 || s[13] != ':' || mi < 0 || mi > 59)
		return false;
	*ms = (days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60) *
	    (int64_t)1000;
	return true;
}

/* The rest, from the 17th character, given the minute's ms. */
static size_t
scan_rest(const char *s, size_t n, int64_t minute, int64_t *ms, bool *has_zone)
{
	size_t i = 16;
	int sec = 0, frac = 0;
	if (i < n && s[i] == ':') {
		sec = n >= 19 ? two_digits(s + 17) : -1;
		if (sec < 0 || sec > 60)	/* 60: a leap second, kept as :59.999 */
			return 0;
		i += 3;
		if (i < n && (s[i] == '.' || s[i] == ',')) {
			size_t j = i + 1;
			int scale = 100;
			while (j < n && s[j] >= '0' && s[j] <= '9') {
				frac += (s[j] - '0') * scale;
				scale /= 10;
				j++;
			}
			if (j == i + 1)
				return 0;
			i = j;
		}
	}
	int64_t t = minute + (sec == 60 ? 59 : sec) * 1000 + (sec == 60 ? 999 : frac);
	*has_zone = false;
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		*has_zone = true;
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		int oh = digits(s + i + 1, n - i - 1, 2);
		size_t j = i + 3;
		if (oh < 0 || oh > 23)
			return 0;
		if (j < n && s[j] == ':')
			j++;
		int om = digits(s + j, n - j, 2);
		if (om < 0 || om > 59)
			return 0;
		int off = (oh * 60 + om) * 60000;
		t -= s[i] == '+' ? off : -off;
		*has_zone = true;
		i = j + 2;
	}
	*ms = t;
	return i;
}

size_t
rfc3339_scan(const char *s, size_t n, int64_t *ms, bool *has_zone)
{
	int64_t minute;
	if (n < 16 || !scan_minute(s, &minute))
		return 0;
	return scan_rest(s, n, minute, ms, has_zone);
}

size_t
rfc3339_scan_cached(struct rfc3339_minute *c, const char *s, size_t n, int64_t *ms,
    bool *has_zone)
{
	if (n < 16)
		return 0;
	if (!c->valid || memcmp(s, c->text, 16) != 0) {
		c->valid = scan_minute(s, &c->ms);
		if (!c->valid)
			return 0;
		memcpy(c->text, s, 16);
	}
	return scan_rest(s, n, c->ms, ms, has_zone);
}

int
rfc3339_parse(const char *s, size_t n, int64_t *ms)
{
	bool zone;
	size_t used = rfc3339_scan(s, n, ms, &zone);
	return used == n && used > 0 && zone ? 0 : -1;
}

int
rfc3339_parse_cached(struct rfc3339_minute *c, const char *s, size_t n, int64_t *ms)
{
	bool zone;
	size_t used = rfc3339_scan_cached(c, s, n, ms, &zone);
	return used == n && used > 0 && zone ? 0 : -1;
}

unsigned
month_from_abbr(const char *s)
{
	/* Three letters folded to lower case (| 0x20) as one number. */
	if (s[0] == '\0' || s[1] == '\0')
		return 0;
	uint32_t k = (uint32_t)((unsigned char)s[0] | 0x20) << 16 |
	    (uint32_t)((unsigned char)s[1] | 0x20) << 8 | ((unsigned char)s[2] | 0x20);
#define M(a, b, c) ((uint32_t)(a) << 16 | (uint32_t)(b) << 8 | (uint32_t)(c))
	switch (k) {
	case M('j', 'a', 'n'): return 1;
	case M('f', 'e', 'b'): return 2;
	case M('m', 'a', 'r'): return 3;
	case M('a', 'p', 'r'): return 4;
	case M('m', 'a', 'y'): return 5;
	case M('j', 'u', 'n'): return 6;
	case M('j', 'u', 'l'): return 7;
	case M('a', 'u', 'g'): return 8;
	case M('s', 'e', 'p'): return 9;
	case M('o', 'c', 't'): return 10;
	case M('n', 'o', 'v'): return 11;
	case M('d', 'e', 'c'): return 12;
	default: return 0;
	}
#undef M
}

int
tz_init(struct tz *tz, const char *zone)
{
	memset(tz, 0, sizeof(*tz));
	tz->day_key = INT64_MIN;
	if (zone == NULL || *zone == '\0') {
		/* No zone given: TZ, and UTC when it is unset (not the
		 * machine's /etc/localtime: output must not depend on it). */
		zone = getenv("TZ");
		if (zone == NULL || *zone == '\0') {
			tz->utc = true;
			return 0;
		}
		if (*zone == ':')
			zone++;
	}
	if (strcmp(zone, "UTC") == 0 || strcmp(zone, "Z") == 0 ||
	    strcmp(zone, "Etc/UTC") == 0 || strcmp(zone, "GMT") == 0 ||
	    strcmp(zone, "UTC0") == 0) {
		tz->utc = true;
		return 0;
	}
	/* POSIX TZ strings are accepted too; reject unknown names, which
	 * glibc would otherwise take silently as UTC. */
	char path[512];
	if (strchr(zone, '/') != NULL || isupper((unsigned char)zone[0])) {
		snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
		if (strstr(zone, "..") != NULL || access(path, R_OK) != 0)
			return -1;
	}
	if (setenv("TZ", zone, 1) != 0)
		return -1;
	tzset();
	return 0;
}

/* The zone's offset from UTC at instant t (seconds), in ms. */
static int64_t
offset_at(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return (int64_t)tm.tm_gmtoff * 1000;
}

/*
 * A wall time L maps to L - offset for an offset the zone has at that
 * instant.  Take the offsets a day before and a day after: when they agree
 * the whole local day has that offset (zones change at most twice a year)
 * and it is cached per day; otherwise try both, keep the one that holds,
 * the earlier instant when both do (a fall-back overlap), and the offset
 * from before when neither does (a spring-forward gap).
 */
int64_t
tz_local_to_utc(struct tz *tz, int64_t local_ms)
{
	if (tz->utc)
		return local_ms;
	int64_t day = local_ms >= 0 ? local_ms / 86400000 :
	    -((-(local_ms + 1)) / 86400000) - 1;
	if (day == tz->day_key)
		return local_ms - tz->day_off_ms;

	int64_t secs = day * 86400;
	int64_t before = offset_at(secs - 86400), after = offset_at(secs + 2 * 86400);
	if (before == after) {
		tz->day_key = day;
		tz->day_off_ms = before;
		return local_ms - before;
	}
	int64_t t1 = local_ms - before, t2 = local_ms - after;
	bool ok1 = offset_at(t1 / 1000 - (t1 % 1000 < 0)) == before;
	bool ok2 = offset_at(t2 / 1000 - (t2 % 1000 < 0)) == after;
	if (ok1 && ok2)
		return t1 < t2 ? t1 : t2;
	if (ok2)
		return t2;
	return t1;
}
