/*
 * test-misc.c - unit tests of the small modules: base64, the record hash,
 * checked command-line numbers and sizes, dotted paths and err_where().
 */
#include "b64.h"
#include "cli.h"
#include "err.h"
#include "hash.h"
#include "jpath.h"
#include "tap.h"

#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
test_b64(void)
{
	/* RFC 4648, section 10. */
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	char enc[16], dec[16];

	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		size_t n = strlen(vec[i][0]);
		size_t k = b64_encode(enc, vec[i][0], n);
		is_mem(enc, k, vec[i][1], strlen(vec[i][1]), "\"%s\" encodes as \"%s\"",
		    vec[i][0], vec[i][1]);
		long m = b64_decode(dec, vec[i][1], strlen(vec[i][1]));
		is_mem(dec, m < 0 ? 0 : (size_t)m, vec[i][0], m < 0 ? 1 : n,
		    "\"%s\" decodes to \"%s\"", vec[i][1], vec[i][0]);
	}
	is_int((long long)B64_LEN(0) + B64_LEN(1) + B64_LEN(3) + B64_LEN(4), 0 + 4 + 4 + 8,
	    "B64_LEN gives the padded length");

	/* Every byte value, at every length modulo 3. */
	unsigned char in[300], out[300];
	char text[B64_LEN(300)];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(255 - i);
	bool round = true;
	for (size_t n = 0; n <= sizeof(in) && round; n++) {
		size_t k = b64_encode(text, in, n);
		long m = b64_decode(out, text, k);
		round = k == B64_LEN(n) && m == (long)n && memcmp(in, out, n) == 0;
	}
	ok(round, "every length from 0 to 300 bytes of any byte value round-trips");

	static const char *const bad[][2] = {
		{ "Zg=", "a length that is not a multiple of 4" },
		{ "Zm9vY", "five characters" },
		{ "Zm9v!A==", "a character outside the alphabet" },
		{ "Zm9v YQ=", "a space" },
		{ "Zg=a", "a character after padding" },
		{ "Z===", "three padding characters" },
		{ "====", "padding alone" },
		{ "Zg==Zm9v", "padding before the end" },
		{ "Zm9v-_==", "the URL-safe alphabet" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(b64_decode(dec, bad[i][0], strlen(bad[i][0])), -1,
		    "base64 with %s is rejected (\"%s\")", bad[i][1], bad[i][0]);
}

static void
hex(const char *s, size_t n, uint64_t seed, char out[33])
{
	struct hash128 h = hash128_seed(seed);
	hash128_update(&h, s, n);
	hash128_hex(h, n, out);
	out[32] = '\0';
}

static int
by_text(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
test_hash(void)
{
	char a[33], b[33];

	hex("hello world", 11, 0, a);
	hex("hello world", 11, 0, b);
	is_str(a, b, "the same input and seed give the same hash");
	ok(strspn(a, "0123456789abcdef") == 32, "the hash is 32 lower-case hex digits");
	hex("hello worle", 11, 0, b);
	ok(strcmp(a, b) != 0, "inputs differing in the last byte hash differently");
	hex("Hello world", 11, 0, b);
	ok(strcmp(a, b) != 0, "inputs differing in the first byte hash differently");
	hex("hello world", 11, 1, b);
	ok(strcmp(a, b) != 0, "a different seed gives a different hash");
	ok(strncmp(a, b, 16) != 0 && strcmp(a + 16, b + 16) != 0,
	    "both 64-bit halves change with the seed");
	hex("", 0, 0, a);
	hex("\0", 1, 0, b);
	ok(strcmp(a, b) != 0, "the empty input and one NUL byte hash differently");
	hex("abcdefgh", 8, 0, a);
	hex("abcdefgh\0", 9, 0, b);
	ok(strcmp(a, b) != 0, "a trailing NUL after a whole word changes the hash");

	/* Same bytes, different total: the length is mixed in at the end. */
	struct hash128 h = hash128_seed(0);
	hash128_update(&h, "abc", 3);
	hash128_hex(h, 3, a);
	hash128_hex(h, 4, b);
	ok(memcmp(a, b, 32) != 0, "the total length given is part of the hash");

	/* No two of 10000 short keys collide in their first 64 bits. */
	static char seen[10000][17];
	bool distinct = true;
	for (int i = 0; i < 10000; i++) {
		char key[16], full[33];
		int n = snprintf(key, sizeof(key), "k%d", i);
		hex(key, (size_t)n, 0, full);
		memcpy(seen[i], full, 16);
		seen[i][16] = '\0';
	}
	qsort(seen, 10000, sizeof(seen[0]), by_text);
	for (int i = 1; i < 10000; i++)
		distinct = distinct && strcmp(seen[i - 1], seen[i]) != 0;
	ok(distinct, "10000 similar keys give 10000 different hashes");
}

static void
test_number(void)
{
	long long v;
	const char *why;

	v = 0;
	ok(cli_number("42", 0, 100, &v, &why) == 0 && v == 42, "42 in [0, 100] is 42");
	ok(cli_number("-5", -10, 10, &v, &why) == 0 && v == -5, "-5 in [-10, 10] is -5");
	ok(cli_number("0", 0, 0, &v, &why) == 0 && v == 0, "0 in [0, 0] is 0");
	ok(cli_number("1", 1, 10, &v, &why) == 0 && v == 1, "the minimum itself is accepted");
	ok(cli_number("10", 1, 10, &v, &why) == 0 && v == 10, "the maximum itself is accepted");
	ok(cli_number("9223372036854775807", LLONG_MIN, LLONG_MAX, &v, &why) == 0 && v == LLONG_MAX,
	    "LLONG_MAX is read");
	ok(cli_number("-9223372036854775808", LLONG_MIN, LLONG_MAX, &v, &why) == 0 && v == LLONG_MIN,
	    "LLONG_MIN is read");

	static const struct {
		const char *in;
		long long min, max;
		const char *why, *what;
	} bad[] = {
		{ "0", 1, 10, "too small", "one below the minimum" },
		{ "11", 1, 10, "too large", "one above the maximum" },
		{ "-1", 0, 10, "too small", "a negative number where none is allowed" },
		{ "9223372036854775808", LLONG_MIN, LLONG_MAX, "too large", "a number past LLONG_MAX" },
		{ "-9223372036854775809", LLONG_MIN, LLONG_MAX, "too small", "a number past LLONG_MIN" },
		{ "", 0, 10, "invalid", "the empty string" },
		{ "abc", 0, 10, "invalid", "letters" },
		{ "12x", 0, 100, "invalid", "a number with trailing letters" },
		{ "1.5", 0, 10, "invalid", "a fraction" },
		{ " 1", 0, 10, "invalid", "a leading space" },
		{ "1 ", 0, 10, "invalid", "a trailing space" },
		{ "+1", 0, 10, "invalid", "a plus sign" },
		{ "-", 0, 10, "invalid", "a lone minus" },
		{ "0x10", 0, 100, "invalid", "hexadecimal" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		v = 777;
		int rc = cli_number(bad[i].in, bad[i].min, bad[i].max, &v, &why);
		if (!ok(rc == -1 && why != NULL && strcmp(why, bad[i].why) == 0 && v == 777,
		    "cli_number rejects %s (\"%s\") as %s", bad[i].what, bad[i].in, bad[i].why))
			fprintf(stderr, "#   got rc %d, why %s\n", rc, why ? why : "(null)");
	}
	why = NULL;
	ok(cli_number(NULL, 0, 10, &v, &why) == -1 && why != NULL && strcmp(why, "invalid") == 0,
	    "cli_number rejects a missing value as invalid");
}

static void
test_size(void)
{
	static const struct {
		const char *in;
		unsigned long long want;
	} good[] = {
		{ "0", 0 }, { "512", 512 }, { "1K", 1024 }, { "1k", 1024 }, { "2M", 2097152 },
		{ "3m", 3145728 }, { "1G", 1073741824 }, { "1KiB", 1024 }, { "1KB", 1024 },
		{ "5MB", 5242880 }, { "4GiB", 4294967296ULL },
		{ "18446744073709551615", UINT64_MAX }, { "17179869183G", 17179869183ULL << 30 },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t v = 1;
		const char *why = NULL;
		int rc = cli_size(good[i].in, 0, UINT64_MAX, &v, &why);
		if (!ok(rc == 0 && v == good[i].want, "size \"%s\" is %llu bytes", good[i].in,
		    good[i].want))
			fprintf(stderr, "#   got rc %d, %llu (%s)\n", rc, (unsigned long long)v,
			    why ? why : "");
	}

	static const struct {
		const char *in;
		uint64_t min, max;
		const char *why, *what;
	} bad[] = {
		{ "1K", 0, 1000, "too large", "1K over a maximum of 1000" },
		{ "1K", 0, 1023, "too large", "1K over a maximum of 1023" },
		{ "1", 2, 10, "too small", "1 under a minimum of 2" },
		{ "1K", 1025, UINT64_MAX, "too small", "1K under a minimum of 1025" },
		{ "18446744073709551616", 0, UINT64_MAX, "too large", "a number past UINT64_MAX" },
		{ "17179869184G", 0, UINT64_MAX, "too large", "gigabytes past UINT64_MAX" },
		{ "", 0, 10, "invalid", "the empty string" },
		{ "-1", 0, 10, "invalid", "a negative size" },
		{ "K", 0, 10, "invalid", "a suffix without a number" },
		{ "1T", 0, UINT64_MAX, "invalid", "an unknown suffix" },
		{ "1Kx", 0, UINT64_MAX, "invalid", "text after the suffix" },
		{ "1.5M", 0, UINT64_MAX, "invalid", "a fraction" },
		{ " 1", 0, 10, "invalid", "a leading space" },
		{ "1 K", 0, UINT64_MAX, "invalid", "a space before the suffix" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 777;
		const char *why = NULL;
		int rc = cli_size(bad[i].in, bad[i].min, bad[i].max, &v, &why);
		if (!ok(rc == -1 && why != NULL && strcmp(why, bad[i].why) == 0 && v == 777,
		    "cli_size rejects %s (\"%s\") as %s", bad[i].what, bad[i].in, bad[i].why))
			fprintf(stderr, "#   got rc %d, why %s\n", rc, why ? why : "(null)");
	}
	uint64_t v;
	const char *why = NULL;
	ok(cli_size("1024", 1024, 1024, &v, &why) == 0 && v == 1024 &&
	    cli_size("1K", 1024, 1024, &v, &why) == 0 && v == 1024,
	    "a size equal to both bounds is accepted, with or without suffix");
}

static json_t *
load(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, 0, &je);
	if (v == NULL) {
		fprintf(stderr, "# bad test JSON: %s\n", je.text);
		exit(2);
	}
	return v;
}

static long long
int_at(json_t *root, const char *path)
{
	json_t *v = jpath_get(root, path);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static void
test_jpath(void)
{
	json_t *doc = load("{\"source\":{\"ip\":1,\"geo\":{\"cc\":2}},\"host.name\":3,"
	    "\"a.b\":{\"c\":4},\"a\":{\"b\":{\"c\":5,\"d\":6}},\"s\":\"str\",\"x\":{\"y.z\":7},"
	    "\"\":{\"e\":8}}");

	is_int(int_at(doc, "source.ip"), 1, "a nested path finds the value");
	is_int(int_at(doc, "source.geo.cc"), 2, "a path three levels deep finds the value");
	is_int(int_at(doc, "host.name"), 3, "a flat dotted key is found by its path");
	is_int(int_at(doc, "a.b.c"), 4, "the longest flat key wins over descending");
	is_int(int_at(doc, "x.y.z"), 7, "a flat dotted key below a nested object is found");
	ok(json_is_object(jpath_get(doc, "source")), "a one-step path gives the member");
	ok(jpath_get(doc, "source.port") == NULL, "a missing last step gives NULL");
	ok(jpath_get(doc, "nope.ip") == NULL, "a missing first step gives NULL");
	ok(jpath_get(doc, "s.len") == NULL, "a step into a string gives NULL");
	ok(jpath_get(doc, "source.ip.x") == NULL, "a step into a number gives NULL");
	is_int(int_at(doc, ".e"), 8, "an empty first step names the empty key");
	json_t *src = jpath_get(doc, "source");
	ok(jpath_getn(doc, "source.ipXYZ", 6) == src, "jpath_getn reads only the n bytes given");
	size_t refs = doc->refcount;
	jpath_get(doc, "source.ip");
	is_int((long long)doc->refcount, (long long)refs, "jpath_get takes no reference");

	is_int(jpath_set(doc, "new.deep.leaf", json_integer(9)), 0,
	    "jpath_set creates missing intermediate objects");
	is_int(int_at(doc, "new.deep.leaf"), 9, "and the value is found there");
	is_int(jpath_set(doc, "source.port", json_integer(10)), 0,
	    "jpath_set adds to an existing object");
	ok(int_at(doc, "source.port") == 10 && int_at(doc, "source.ip") == 1,
	    "and leaves its other members");
	is_int(jpath_set(doc, "source.ip", json_integer(11)), 0, "jpath_set replaces a value");
	is_int(int_at(doc, "source.ip"), 11, "the value is replaced");
	is_int(jpath_set(doc, "top", json_string("t")), 0, "jpath_set sets a top-level key");
	is_str(json_string_value(jpath_get(doc, "top")), "t", "and it is there");

	char *before = json_dumps(doc, JSON_SORT_KEYS);
	is_int(jpath_set(doc, "s.sub", json_integer(12)), -1,
	    "jpath_set fails when a step is a string");
	is_int(jpath_set(doc, "source.ip.sub", json_integer(13)), -1,
	    "jpath_set fails when a deeper step is a number");
	char *after = json_dumps(doc, JSON_SORT_KEYS);
	is_str(after, before, "a failed jpath_set leaves the document as it was");
	free(before);
	free(after);

	json_t *arr = json_array();
	is_int(jpath_set(arr, "a", json_integer(1)), -1, "jpath_set fails on a root that is no object");
	is_int((long long)json_array_size(arr), 0, "and leaves that root alone");
	json_decref(arr);

	json_t *kept = json_integer(14);
	json_incref(kept);
	jpath_set(doc, "s.sub", kept);
	is_int((long long)kept->refcount, 1, "a failed jpath_set releases the value it was given");
	json_decref(kept);
	json_decref(doc);
}

static void
test_hash_u64(void)
{
	static const uint64_t vals[] = { 0, 1, 0x0102030405060708ULL, UINT64_MAX };
	bool same = true;

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		unsigned char le[8];
		for (int k = 0; k < 8; k++)
			le[k] = (unsigned char)(vals[i] >> (8 * k));
		struct hash128 a = hash128_seed(7), b = hash128_seed(7);
		hash128_update(&a, "prefix", 6);
		hash128_update(&b, "prefix", 6);
		hash128_update(&a, le, 8);
		hash128_u64(&b, vals[i]);
		same = same && a.lo == b.lo && a.hi == b.hi;
	}
	ok(same, "hash128_u64 equals hash128_update of the value's little-endian bytes");
}

static void
test_err(void)
{
	struct sl_err e;
	char out[600];

	is_int(err_set(&e, "rules/ssh.yaml", 12, 5, "unknown modifier \"%s\"", "contians"), -1,
	    "err_set returns -1");
	err_where(&e, out, sizeof(out));
	is_str(out, "rules/ssh.yaml:12:5: unknown modifier \"contians\"",
	    "err_where writes file:line:col: msg");
	err_set(&e, "rules/ssh.yaml", 0, 0, "cannot read: %s", "No such file");
	err_where(&e, out, sizeof(out));
	is_str(out, "rules/ssh.yaml: cannot read: No such file",
	    "without a line err_where writes file: msg");
	err_set(&e, NULL, 3, 4, "out of memory");
	err_where(&e, out, sizeof(out));
	is_str(out, "out of memory", "without a file err_where writes the message alone");
	err_set(&e, "f", 7, 8, "message");
	err_where(&e, out, 7);
	is_str(out, "f:7:8:", "err_where cuts its text to the size given, NUL included");
	is_int(err_set(NULL, "f", 1, 1, "x"), -1, "err_set with no struct still returns -1");

	char longmsg[1000];
	memset(longmsg, 'm', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	err_set(&e, NULL, 0, 0, "%s", longmsg);
	ok(strlen(e.msg) == sizeof(e.msg) - 1, "a message longer than the struct is cut, not overflowed");
}

int
main(void)
{
	test_b64();
	test_hash();
	test_number();
	test_size();
	test_jpath();
	test_err();
	test_hash_u64();
	return done();
}
