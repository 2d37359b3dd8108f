/*
 * test-time.c - unit tests of durations, RFC 3339 times, the calendar
 * arithmetic under them and local-to-UTC conversion in named zones.
 *
 * The time zone tests come last: tz_init() changes TZ for the process.
 */
#include "duration.h"
#include "rfc3339.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static void
test_duration_parse(void)
{
	static const struct {
		const char *in;
		long long ms;
	} good[] = {
		{ "250ms", 250 }, { "10s", 10 * SEC }, { "5m", 5 * MIN }, { "2h", 2 * HOUR },
		{ "7d", 7 * DAY }, { "2w", 14 * DAY }, { "1h30m", HOUR + 30 * MIN },
		{ "0", 0 }, { "0s", 0 }, { "1d2h3m4s5ms", DAY + 2 * HOUR + 3 * MIN + 4 * SEC + 5 },
		{ "90s", 90 * SEC }, { "106751991167d", 106751991167LL * DAY },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t ms = -1;
		const char *why = NULL;
		int rc = duration_parse(good[i].in, &ms, &why);
		if (!ok(rc == 0 && ms == good[i].ms, "duration \"%s\" is %lld ms", good[i].in,
		    good[i].ms))
			fprintf(stderr, "#   got rc %d, %lld ms (%s)\n", rc, (long long)ms,
			    why ? why : "");
	}

	static const struct {
		const char *in, *why, *what;
	} bad[] = {
		{ "", "empty duration", "an empty duration" },
		{ "10", "missing unit (as in 250ms, 10s, 5m, 2h, 7d)", "a number without a unit" },
		{ "00", "missing unit (as in 250ms, 10s, 5m, 2h, 7d)", "00 without a unit" },
		{ "1h30", "missing unit (as in 250ms, 10s, 5m, 2h, 7d)", "a last number without a unit" },
		{ "5x", "unknown unit (use ms, s, m, h, d or w)", "an unknown unit" },
		{ "5min", "unknown unit (use ms, s, m, h, d or w)", "a unit longer than known ones" },
		{ "5 s", "unknown unit (use ms, s, m, h, d or w)", "a space before the unit" },
		{ "-5s", "expected a number (as in 250ms, 10s, 5m, 2h, 7d)", "a negative duration" },
		{ "s", "expected a number (as in 250ms, 10s, 5m, 2h, 7d)", "a unit without a number" },
		{ "1hh", "unknown unit (use ms, s, m, h, d or w)", "a doubled unit" },
		{ "99999999999999999999ms", "duration too large", "a number past int64" },
		{ "106751991168d", "duration too large", "days past int64 milliseconds" },
		{ "106751991167d1d", "duration too large", "a sum past int64 milliseconds" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms = 12345;
		const char *why = NULL;
		int rc = duration_parse(bad[i].in, &ms, &why);
		if (!ok(rc == -1 && why != NULL && strcmp(why, bad[i].why) == 0 && ms == 12345,
		    "%s (\"%s\") is rejected: %s", bad[i].what, bad[i].in, bad[i].why))
			fprintf(stderr, "#   got rc %d, why \"%s\"\n", rc, why ? why : "(null)");
	}
}

static void
test_duration_format(void)
{
	static const struct {
		long long ms;
		const char *text;
	} cases[] = {
		{ 0, "0s" }, { 1, "1ms" }, { 250, "250ms" }, { 10 * SEC, "10s" },
		{ 5 * MIN, "5m" }, { 2 * HOUR, "2h" }, { 7 * DAY, "7d" },
		{ HOUR + 30 * MIN, "1h30m" }, { 14 * DAY, "14d" },
		{ DAY + HOUR + MIN + SEC + 1, "1d1h1m1s1ms" },
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = duration_format(cases[i].ms, buf, sizeof(buf));
		if (!ok(n == strlen(cases[i].text) && strcmp(buf, cases[i].text) == 0,
		    "%lld ms is formatted as %s", cases[i].ms, cases[i].text))
			fprintf(stderr, "#   got \"%s\" (%zu)\n", buf, n);
	}

	static const long long values[] = {
		1, 999, 1000, 1001, 59999, 60000, 3599999, 3600000, 86399999, 86400000,
		604800000, 123456789, 987654321012, INT64_MAX,
	};
	bool all = true;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		int64_t back = -1;
		const char *why;
		duration_format(values[i], buf, sizeof(buf));
		if (duration_parse(buf, &back, &why) != 0 || back != values[i]) {
			fprintf(stderr, "#   %lld -> \"%s\" -> %lld\n", values[i], buf, (long long)back);
			all = false;
		}
	}
	ok(all, "duration_format's text parses back to the same milliseconds");

	size_t n = duration_format(HOUR + 30 * MIN, buf, 4);
	ok(n == 2 && strcmp(buf, "1h") == 0,
	    "a buffer too small for the next unit ends at a whole unit, and the length says so");
	n = duration_format(HOUR, buf, 1);
	ok(n == 0 && buf[0] == '\0', "a buffer of one byte gets an empty string");
}

static const char *
fmt(int64_t ms)
{
	static char out[RFC3339_LEN + 1];

	memset(out, '?', sizeof(out));
	rfc3339_format(ms, out);
	out[RFC3339_LEN] = '\0';
	return out;
}

static void
test_format(void)
{
	is_str(fmt(0), "1970-01-01T00:00:00.000Z", "epoch 0 is 1970-01-01T00:00:00.000Z");
	is_str(fmt(1234567890123), "2009-02-13T23:31:30.123Z", "milliseconds are written");
	is_str(fmt(1714979289007), "2024-05-06T07:08:09.007Z", "small milliseconds get leading zeros");
	is_str(fmt(1709208000000), "2024-02-29T12:00:00.000Z", "a leap day is written");
	is_str(fmt(-1), "1969-12-31T23:59:59.999Z", "1 ms before the epoch is the last ms of 1969");
	is_str(fmt(-DAY), "1969-12-31T00:00:00.000Z", "a whole day before the epoch is midnight");
	is_str(fmt(-DAY - 1), "1969-12-30T23:59:59.999Z", "just over a day before the epoch");
	is_str(fmt(-62135596800000LL), "0001-01-01T00:00:00.000Z", "year 1 is written");
	is_str(fmt(-62167219200000LL), "0000-01-01T00:00:00.000Z", "year 0 is written");
	is_str(fmt(253402300799999LL), "9999-12-31T23:59:59.999Z", "the last ms of year 9999");
	ok(strncmp(fmt(253402300800000LL), "9999-", 5) == 0, "year 10000 is clamped to 9999");
	ok(strncmp(fmt(INT64_MAX), "9999-", 5) == 0, "the latest int64 time is clamped to 9999");
	ok(strncmp(fmt(-62167219200001LL), "0000-", 5) == 0, "a time before year 0 is clamped to 0000");
	ok(strncmp(fmt(INT64_MIN), "0000-", 5) == 0, "the earliest int64 time is clamped to 0000");
}

/* rfc3339_scan of an exact-size copy of s. */
static size_t
scan(const char *s, int64_t *ms, bool *zone)
{
	size_t n = strlen(s);
	char *copy = malloc(n ? n : 1);

	memcpy(copy, s, n);
	*ms = -1;
	*zone = false;
	size_t k = rfc3339_scan(copy, n, ms, zone);
	free(copy);
	return k;
}

static void
test_scan(void)
{
	static const struct {
		const char *in;
		size_t used;
		long long ms;
		bool zone;
		const char *what;
	} good[] = {
		{ "2024-05-06T07:08:09Z", 20, 1714979289000, true, "a time in UTC with Z" },
		{ "2024-05-06t07:08:09z", 20, 1714979289000, true, "lower-case t and z" },
		{ "2024-05-06T08:08:09+01:00", 25, 1714979289000, true, "an offset +01:00" },
		{ "2024-05-06T01:38:09-0530", 24, 1714979289000, true, "an offset -0530 without colon" },
		{ "2024-05-06T07:08:09.1Z", 22, 1714979289100, true, "a fraction .1 as 100 ms" },
		{ "2024-05-06T07:08:09.123456Z", 27, 1714979289123, true, "a fraction .123456 cut to ms" },
		{ "2024-05-06T07:08:09,5Z", 22, 1714979289500, true, "a decimal comma" },
		{ "2024-05-06T07:08:09", 19, 1714979289000, false, "no zone" },
		{ "2024-05-06 07:08:09Z", 20, 1714979289000, true, "a space separator" },
		{ "2024-05-06T07:08Z", 17, 1714979280000, true, "no seconds" },
		{ "2024-05-06T07:08:09Z trailing", 20, 1714979289000, true, "text after the time" },
		{ "2024-02-29T12:00:00Z", 20, 1709208000000, true, "Feb 29 in a leap year" },
		{ "2000-02-29T00:00:00Z", 20, 951782400000, true, "Feb 29 in 2000" },
		{ "1969-12-31T23:59:59.999Z", 24, -1, true, "a time before the epoch" },
		{ "2016-12-31T23:59:60Z", 20, 1483228799999, true, "a leap second as :59.999" },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t ms;
		bool zone;
		size_t used = scan(good[i].in, &ms, &zone);
		if (!ok(used == good[i].used && ms == good[i].ms && zone == good[i].zone,
		    "%s is read: \"%s\"", good[i].what, good[i].in))
			fprintf(stderr, "#   got %zu chars, %lld ms, zone %d\n", used,
			    (long long)ms, zone);
	}

	static const struct {
		const char *in, *what;
	} bad[] = {
		{ "2023-02-29T00:00:00Z", "Feb 29 in a common year" },
		{ "1900-02-29T00:00:00Z", "Feb 29 in 1900" },
		{ "2024-02-30T00:00:00Z", "Feb 30" },
		{ "2024-04-31T00:00:00Z", "April 31" },
		{ "2024-13-01T00:00:00Z", "month 13" },
		{ "2024-00-01T00:00:00Z", "month 0" },
		{ "2024-01-00T00:00:00Z", "day 0" },
		{ "2024-01-01T24:00:00Z", "hour 24" },
		{ "2024-01-01T23:60:00Z", "minute 60" },
		{ "2024-01-01T23:59:61Z", "second 61" },
		{ "2024-01-01X23:59:00Z", "a bad separator" },
		{ "2024-01-01T23:59:00.Z", "a point without fraction digits" },
		{ "2024-01-01T23:59:00+1:00", "a one-digit offset hour" },
		{ "2024-01-01T23:59:00+24:00", "an offset of 24 hours" },
		{ "2024-01-01T23:59:00+01:6", "a cut-off offset" },
		{ "2024-01-01T23:59:00+01", "an offset without minutes" },
		{ "2024-01-01T23:59:0", "one digit of seconds" },
		{ "2024-01-01T23:5", "a cut-off minute" },
		{ "2024-1-01T23:59:00Z", "a one-digit month" },
		{ "24-01-01T23:59:00Z", "a two-digit year" },
		{ "", "the empty string" },
		{ "not a time at all", "text" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms;
		bool zone;
		size_t used = scan(bad[i].in, &ms, &zone);
		if (!ok(used == 0, "%s is not a time: \"%s\"", bad[i].what, bad[i].in))
			fprintf(stderr, "#   got %zu chars, %lld ms\n", used, (long long)ms);
	}

	int64_t ms = 0;
	is_int(rfc3339_parse("2024-05-06T07:08:09.5+02:00", 27, &ms), 0,
	    "rfc3339_parse accepts a whole time with a zone");
	is_int(ms, 1714972089500, "and gives its UTC milliseconds");
	is_int(rfc3339_parse("2024-05-06T07:08:09", 19, &ms), -1, "rfc3339_parse rejects a time without a zone");
	is_int(rfc3339_parse("2024-05-06T07:08:09Z ", 21, &ms), -1,
	    "rfc3339_parse rejects text after the time");
	is_int(rfc3339_parse("", 0, &ms), -1, "rfc3339_parse rejects the empty string");

	char out[RFC3339_LEN];
	bool zone;
	rfc3339_format(1234567890123, out);
	ok(rfc3339_scan(out, sizeof(out), &ms, &zone) == RFC3339_LEN && ms == 1234567890123 && zone,
	    "what rfc3339_format writes rfc3339_scan reads back");
}

static unsigned
dim(int64_t y, unsigned m)
{
	static const unsigned d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

static void
test_calendar(void)
{
	is_int(days_from_civil(1970, 1, 1), 0, "1970-01-01 is day 0");
	is_int(days_from_civil(2000, 3, 1), 11017, "2000-03-01 is day 11017");
	is_int(days_from_civil(1, 1, 1), -719162, "0001-01-01 is day -719162");
	is_int(days_from_civil(9999, 12, 31), 2932896, "9999-12-31 is day 2932896");
	is_int(days_from_civil(1969, 12, 31), -1, "1969-12-31 is day -1");

	/* Every day of about 5,500 years, either side of the epoch: each maps
	 * back to itself and is the day after the one before. */
	int64_t py = 0;
	unsigned pm = 0, pd = 0;
	bool round = true, next = true;
	for (int64_t z = -1000000; z <= 1000000 && (round || next); z++) {
		int64_t y;
		unsigned m, d;
		civil_from_days(z, &y, &m, &d);
		if (days_from_civil(y, m, d) != z || m < 1 || m > 12 || d < 1 || d > dim(y, m)) {
			fprintf(stderr, "#   day %lld -> %lld-%u-%u\n", (long long)z, (long long)y, m, d);
			round = false;
		}
		if (z > -1000000 && !((y == py && m == pm && d == pd + 1) ||
		    (y == py && m == pm + 1 && d == 1 && pd == dim(py, pm)) ||
		    (y == py + 1 && m == 1 && d == 1 && pm == 12 && pd == 31))) {
			fprintf(stderr, "#   day %lld: %lld-%u-%u after %lld-%u-%u\n", (long long)z,
			    (long long)y, m, d, (long long)py, pm, pd);
			next = false;
		}
		py = y;
		pm = m;
		pd = d;
	}
	ok(round, "civil_from_days and days_from_civil round-trip over 2,000,001 days");
	ok(next, "consecutive days are consecutive dates across months, years and leap days");

	is_int(month_from_abbr("Jan"), 1, "Jan is month 1");
	is_int(month_from_abbr("dec"), 12, "dec is month 12");
	is_int(month_from_abbr("SEP"), 9, "SEP is month 9");
	is_int(month_from_abbr("Foo"), 0, "Foo is no month");
	is_int(month_from_abbr("Ju"), 0, "a two-letter prefix is no month");
	is_int(month_from_abbr(""), 0, "the empty string is no month");
}

/* Local wall time y-m-d h:mi as ms "as if UTC", the way rfc3339_scan gives it. */
static int64_t
wall(int64_t y, unsigned m, unsigned d, unsigned h, unsigned mi)
{
	return days_from_civil(y, m, d) * DAY + h * HOUR + mi * MIN;
}

static void
test_tz(void)
{
	struct tz tz;

	is_int(tz_init(&tz, "UTC"), 0, "tz_init knows UTC");
	is_int(tz_local_to_utc(&tz, 1714979289123), 1714979289123, "UTC wall time is UTC");
	is_int(tz_init(&tz, "No/Such_Zone"), -1, "tz_init fails for a zone the system does not know");
	is_int(tz_init(&tz, "Europe/../../../etc/passwd"), -1, "tz_init refuses a path out of zoneinfo");

	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0) {
		skip("/usr/share/zoneinfo/Europe/Berlin is missing");
		skip("/usr/share/zoneinfo/Europe/Berlin is missing");
		skip("/usr/share/zoneinfo/Europe/Berlin is missing");
		skip("/usr/share/zoneinfo/Europe/Berlin is missing");
		skip("/usr/share/zoneinfo/Europe/Berlin is missing");
		return;
	}
	is_int(tz_init(&tz, "Europe/Berlin"), 0, "tz_init knows Europe/Berlin");
	int64_t summer = wall(2024, 7, 1, 12, 34);
	is_int(tz_local_to_utc(&tz, summer + 567), summer - 2 * HOUR + 567,
	    "Berlin summer time is UTC+2");
	int64_t winter = wall(2024, 1, 15, 12, 34);
	is_int(tz_local_to_utc(&tz, winter), winter - HOUR, "Berlin winter time is UTC+1");
	is_int(tz_local_to_utc(&tz, summer), summer - 2 * HOUR,
	    "going back to summer after winter gives summer's offset again");
	/* 2024-10-27 02:30 happened twice in Berlin: 00:30Z and 01:30Z. */
	is_int(tz_local_to_utc(&tz, wall(2024, 10, 27, 2, 30)), wall(2024, 10, 27, 0, 30),
	    "in the autumn overlap the earlier instant is chosen");
}

static void
test_format_cached(void)
{
	struct rfc3339_cache c;
	static const int64_t times[] = {
		0, 1, 86399999, 86400000, 86400001, 1763774625123LL, 1763774625999LL,
		1763769600000LL, 1763769599999LL, -1, -86400000, -86400001, 0,
	};
	char a[RFC3339_LEN], b[RFC3339_LEN];
	bool same = true;

	memset(&c, 0, sizeof(c));
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		rfc3339_format(times[i], a);
		rfc3339_format_cached(&c, times[i], b);
		if (memcmp(a, b, RFC3339_LEN) != 0) {
			same = false;
			fprintf(stderr, "# %lld: %.24s vs %.24s\n", (long long)times[i], a, b);
		}
	}
	ok(same, "the cached formatter writes what the plain one does, across day boundaries and before 1970");
}

/* The scanner reads its fixed fields in place: over good stamps and every
 * one-byte corruption of them (bad digits, separators, lengths, leap
 * seconds, February 29th, lower-case letters, other zones),
 * rfc3339_parse() must say what rfc3339_scan() says, and every stamp in
 * UTC that is taken must be the instant timegm() gives for its fields. */
static void
test_scan_corrupted(void)
{
	static const char *const base[] = {
		"2026-11-22T00:00:00.086Z", "2026-11-22T23:59:59Z", "2024-02-29T12:30:45.999Z",
		"2023-02-29T12:30:45.000Z", "1970-01-01T00:00:60.123Z", "9999-12-31T23:59:59.999Z",
		"0000-01-01T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-22t00:00:00Z",
		"2026-11-22 00:00:00.5Z", "2026-11-22T00:00:00.086+01:00",
	};
	static const char subst[] = "0123456789:-.TtZz +/ a\x7f";
	unsigned long tried = 0, wrong = 0;
	/* One minute cache through it all: each corruption meets the minute
	 * of the stamp before it, and then its own. */
	struct rfc3339_minute cache = { 0 };
	for (size_t b = 0; b < sizeof(base) / sizeof(base[0]); b++) {
		size_t n = strlen(base[b]);
		for (size_t i = 0; i <= n; i++)
			for (size_t c = 0; c < sizeof(subst) - 1; c++) {
				char t[40];
				memcpy(t, base[b], n + 1);
				size_t len = n;
				if (i < n)
					t[i] = subst[c];
				else if (c < 3)
					len = n - 1 - c;	/* shorter */
				else if (c > 3)
					continue;
				int64_t a = 0, want = 0;
				bool zone = false;
				size_t used = rfc3339_scan(t, len, &want, &zone);
				bool ok_want = used == len && used > 0 && zone;
				bool ok_got = rfc3339_parse(t, len, &a) == 0;
				tried++;
				for (int k = 0; k < 2; k++) {
					int64_t cached = 0;
					bool ok_cached = rfc3339_parse_cached(&cache, t, len, &cached) == 0;
					if ((ok_cached != ok_got || (ok_got && cached != a)) && wrong++ < 5)
						fprintf(stderr, "#   \"%.*s\": parse %d %lld, cached %d %lld\n",
						    (int)len, t, ok_got, (long long)a, ok_cached,
						    (long long)cached);
				}
				int y, mo, d, h, mi, sec = 0, used_f = 0;
				if (ok_got && (t[len - 1] == 'Z' || t[len - 1] == 'z') &&
				    sscanf(t, "%4d-%2d-%2d%*c%2d:%2d%n", &y, &mo, &d, &h, &mi, &used_f) == 5) {
					struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
						.tm_hour = h, .tm_min = mi };
					long long frac = 0;
					if (t[16] == ':') {
						sscanf(t + 17, "%2d", &sec);
						size_t j = 20;
						for (int scale = 100; j < len - 1 && scale > 0; j++, scale /= 10)
							frac += (t[j] - '0') * scale;
					}
					tm.tm_sec = sec == 60 ? 59 : sec;
					long long oracle = (long long)timegm(&tm) * 1000 + (sec == 60 ? 999 : frac);
					if (oracle != a && wrong++ < 5)
						fprintf(stderr, "#   \"%.*s\": %lld, timegm says %lld\n",
						    (int)len, t, (long long)a, oracle);
				}
				if (ok_want != ok_got || (ok_got && a != want)) {
					if (wrong++ < 5)
						fprintf(stderr, "#   \"%.*s\": parse %d %lld, scan %d %lld\n",
						    (int)len, t, ok_got, (long long)a, ok_want, (long long)want);
				}
			}
	}
	ok(wrong == 0 && tried > 3000,
	    "rfc3339_parse agrees with rfc3339_scan, rfc3339_parse_cached and timegm on "
	    "%lu stamps and corruptions", tried);
}

int
main(void)
{
	test_duration_parse();
	test_duration_format();
	test_format();
	test_scan();
	test_calendar();
	test_tz();
	test_format_cached();
	test_scan_corrupted();
	return done();
}
