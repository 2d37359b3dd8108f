/*
 * test-jw.c - unit tests of the JSON writer: escaping, separators and
 * nesting, numbers, base64, and that what it writes is JSON jansson reads
 * back to the same values.
 */
#include "jw.h"
#include "tap.h"

#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The writer's buffer as a C string (memory writers only). */
static const char *
text(struct jw *w)
{
	char *p = jw_reserve(w, 1);
	if (p == NULL)
		return "(out of memory)";
	*p = '\0';
	return w->buf;
}

/* One value written alone, as text. */
static struct jw vw;

static const char *
dbl(double v)
{
	jw_reset(&vw);
	jw_double(&vw, v);
	return text(&vw);
}

static const char *
str(const char *s, size_t n)
{
	jw_reset(&vw);
	jw_str(&vw, s, n);
	return text(&vw);
}

#define STR(lit) str((lit), sizeof(lit) - 1)

static void
test_escaping(void)
{
	is_str(STR("plain"), "\"plain\"", "a plain string is written in quotes as it is");
	is_str(STR("a\"b"), "\"a\\\"b\"", "a quote is escaped");
	is_str(STR("a\\b"), "\"a\\\\b\"", "a backslash is escaped");
	is_str(STR("a\nb\tc\rd"), "\"a\\nb\\tc\\rd\"", "newline, tab and CR get their short escapes");
	is_str(STR("\b\f"), "\"\\b\\f\"", "backspace and form feed get their short escapes");
	is_str(STR("\x1f\x01"), "\"\\u001f\\u0001\"", "other control bytes are written as \\u00XX");
	is_str(STR("a\0b"), "\"a\\u0000b\"", "a NUL byte inside a string is escaped, not an end");
	is_str(STR("\x7f/\xc3\xa9\xe2\x82\xac"), "\"\x7f/\xc3\xa9\xe2\x82\xac\"",
	    "DEL, slash and UTF-8 are copied as they are");
	is_str(STR(""), "\"\"", "an empty string is two quotes");

	jw_reset(&vw);
	jw_obj_open(&vw);
	jw_key(&vw, "k\"\n", 3);
	jw_int(&vw, 1);
	jw_obj_close(&vw);
	is_str(text(&vw), "{\"k\\\"\\n\":1}", "keys are escaped like strings");

	jw_reset(&vw);
	jw_bytes(&vw, "\"", 1);
	jw_escaped(&vw, "a\"", 2);
	jw_escaped(&vw, "\\b", 2);
	jw_bytes(&vw, "\"", 1);
	is_str(text(&vw), "\"a\\\"\\\\b\"", "jw_escaped builds one string from pieces");
}

static void
test_nesting(void)
{
	struct jw *w = &vw;

	jw_reset(w);
	jw_obj_open(w);
	jw_keyz(w, "a");
	jw_arr_open(w);
	jw_int(w, 1);
	jw_obj_open(w);
	jw_keyz(w, "b");
	jw_arr_open(w);
	jw_arr_close(w);
	jw_keyz(w, "c");
	jw_obj_open(w);
	jw_obj_close(w);
	jw_obj_close(w);
	jw_arr_open(w);
	jw_arr_close(w);
	jw_strz(w, "s");
	jw_arr_close(w);
	jw_keyz(w, "d");
	jw_null(w);
	jw_keyz(w, "e");
	jw_bool(w, true);
	jw_keyz(w, "f");
	jw_bool(w, false);
	jw_keyz(w, "g");
	jw_raw(w, "{\"x\":[1,2]}", 11);
	jw_obj_close(w);
	jw_end(w);
	is_str(text(w),
	    "{\"a\":[1,{\"b\":[],\"c\":{}},[],\"s\"],\"d\":null,\"e\":true,\"f\":false,"
	    "\"g\":{\"x\":[1,2]}}\n",
	    "commas go between members and elements at every depth, none after keys");

	jw_reset(w);
	jw_arr_open(w);
	jw_arr_open(w);
	jw_arr_close(w);
	jw_arr_open(w);
	jw_int(w, 1);
	jw_arr_close(w);
	jw_arr_close(w);
	jw_end(w);
	jw_obj_open(w);
	jw_keyz(w, "n");
	jw_int(w, 2);
	jw_obj_close(w);
	jw_end(w);
	is_str(text(w), "[[],[1]]\n{\"n\":2}\n",
	    "jw_end ends a record: the next record starts without a comma");

	/* JW_MAX_DEPTH levels, with an element before and after each inner one. */
	jw_reset(w);
	for (int d = 0; d < JW_MAX_DEPTH; d++) {
		jw_arr_open(w);
		jw_int(w, d);
	}
	for (int d = JW_MAX_DEPTH - 1; d >= 0; d--) {
		jw_int(w, d);
		jw_arr_close(w);
	}
	json_error_t je;
	json_t *root = json_loads(text(w), 0, &je);
	bool right = root != NULL;
	json_t *cur = root;
	for (int d = 0; d < JW_MAX_DEPTH && right; d++) {
		size_t want = d == JW_MAX_DEPTH - 1 ? 2 : 3;
		right = json_is_array(cur) && json_array_size(cur) == want &&
		    json_integer_value(json_array_get(cur, 0)) == d &&
		    json_integer_value(json_array_get(cur, want - 1)) == d;
		cur = json_array_get(cur, 1);
	}
	ok(right, "%d nested arrays are written with the right commas", JW_MAX_DEPTH);
	json_decref(root);
}

static void
test_numbers(void)
{
	struct jw *w = &vw;

	jw_reset(w);
	jw_arr_open(w);
	jw_int(w, INT64_MIN);
	jw_int(w, INT64_MAX);
	jw_int(w, 0);
	jw_int(w, -1);
	jw_arr_close(w);
	is_str(text(w), "[-9223372036854775808,9223372036854775807,0,-1]",
	    "jw_int writes INT64_MIN, INT64_MAX, 0 and -1 exactly");

	jw_reset(w);
	jw_arr_open(w);
	static const int64_t small[] = { 9, 10, 99, 100, 200, 999, 1000, 65535 };
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++)
		jw_int(w, small[i]);
	jw_arr_close(w);
	is_str(text(w), "[9,10,99,100,200,999,1000,65535]",
	    "jw_int writes small numbers exactly on both sides of its 3-digit path");

	is_str(dbl(43.2), "43.2", "jw_double writes 43.2 as 43.2");
	is_str(dbl(0.1), "0.1", "jw_double writes 0.1 as 0.1");
	is_str(dbl(-2.5), "-2.5", "jw_double writes -2.5 as -2.5");
	is_str(dbl(3.0), "3", "a whole double is written as an integer");
	is_str(dbl(1e300), "1e+300", "jw_double writes 1e300 in exponent form");
	is_str(dbl(-1e300), "-1e+300", "jw_double writes -1e300 in exponent form");
	is_str(dbl(NAN), "null", "NaN is written as null");
	is_str(dbl(INFINITY), "null", "infinity is written as null");
	is_str(dbl(-INFINITY), "null", "minus infinity is written as null");
	is_str(dbl(9.2233720368547758e18), "9.223372036854776e+18",
	    "2^63 as a double is written in exponent form, not as a wrapped integer");
}

/* Doubles that need 15, 16 and 17 digits, tiny, huge and whole ones. */
static const double doubles[] = {
	0.1, 0.2, 0.1 + 0.2, 43.2, 1.0 / 3, 2.0 / 3, 1e-7, 123456.789, 5e-324,
	DBL_MIN, DBL_MAX, -DBL_MAX, 1e15, 1e16, 123456789012345678.0, -0.001,
	4.35, 0.3, 1e21, 9007199254740993.0, 1.7976931348623157e308, 2.2250738585072009e-308,
};

static void
test_roundtrip(void)
{
	struct jw *w = &vw;
	size_t nd = sizeof(doubles) / sizeof(doubles[0]);

	jw_reset(w);
	jw_obj_open(w);
	jw_keyz(w, "str");
	jw_strz(w, "q\" b\\ \x01 \n \t \xc3\xa9 \xf0\x9f\x98\x80");
	jw_keyz(w, "min");
	jw_int(w, INT64_MIN);
	jw_keyz(w, "max");
	jw_int(w, INT64_MAX);
	jw_keyz(w, "doubles");
	jw_arr_open(w);
	for (size_t i = 0; i < nd; i++)
		jw_double(w, doubles[i]);
	jw_arr_close(w);
	jw_keyz(w, "nested");
	jw_obj_open(w);
	jw_keyz(w, "a");
	jw_arr_open(w);
	jw_obj_open(w);
	jw_obj_close(w);
	jw_null(w);
	jw_bool(w, true);
	jw_arr_close(w);
	jw_obj_close(w);
	jw_obj_close(w);

	json_error_t je;
	json_t *root = json_loads(text(w), 0, &je);
	if (!ok(root != NULL, "the memory writer's output parses with jansson"))
		fprintf(stderr, "#   %s at %d: %s\n", je.text, je.position, text(w));
	is_str(json_string_value(json_object_get(root, "str")),
	    "q\" b\\ \x01 \n \t \xc3\xa9 \xf0\x9f\x98\x80",
	    "an escaped string reads back to the same bytes");
	ok(json_integer_value(json_object_get(root, "min")) == INT64_MIN,
	    "INT64_MIN reads back as INT64_MIN");
	ok(json_integer_value(json_object_get(root, "max")) == INT64_MAX,
	    "INT64_MAX reads back as INT64_MAX");
	json_t *arr = json_object_get(root, "doubles");
	size_t same = 0;
	for (size_t i = 0; i < json_array_size(arr) && i < nd; i++) {
		double got = json_number_value(json_array_get(arr, i));
		if (got == doubles[i])
			same++;
		else
			fprintf(stderr, "#   %.17g read back as %.17g\n", doubles[i], got);
	}
	is_int((long long)same, (long long)nd, "every double reads back equal to the one written");
	json_t *a = json_object_get(json_object_get(root, "nested"), "a");
	ok(json_is_array(a) && json_array_size(a) == 3 &&
	    json_is_object(json_array_get(a, 0)) && json_is_null(json_array_get(a, 1)) &&
	    json_is_true(json_array_get(a, 2)), "nested values read back in place");
	json_decref(root);

	/* Shortest: the text %g gives with the fewest digits that read back. */
	bool shortest = true;
	for (size_t i = 0; i < nd; i++) {
		char tmp[40];
		const char *got = dbl(doubles[i]);
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(tmp, sizeof(tmp), "%.*g", prec, doubles[i]);
			if (strtod(tmp, NULL) == doubles[i])
				break;
		}
		if (strcmp(got, tmp) != 0) {
			fprintf(stderr, "#   %s written, %s is shorter\n", got, tmp);
			shortest = false;
		}
	}
	ok(shortest, "jw_double writes no more digits than reading back needs");
}

static void
test_b64(void)
{
	struct jw *w = &vw;

	jw_reset(w);
	jw_arr_open(w);
	jw_b64(w, "foobar", 6);
	jw_b64(w, "f", 1);
	jw_b64(w, "", 0);
	jw_b64(w, "\0\xff\x80", 3);
	jw_arr_close(w);
	is_str(text(w), "[\"Zm9vYmFy\",\"Zg==\",\"\",\"AP+A\"]",
	    "jw_b64 writes padded base64 strings, separated like any value");
}

static void
test_growth(void)
{
	struct jw *w = &vw;
	size_t n = 300 * 1024;
	char *big = malloc(n);

	for (size_t i = 0; i < n; i++)
		big[i] = i % 1000 == 999 ? '"' : 'x';
	jw_reset(w);
	jw_str(w, big, n);
	json_t *v = json_loads(text(w), JSON_DECODE_ANY, NULL);
	ok(v != NULL && json_string_length(v) == n && memcmp(json_string_value(v), big, n) == 0,
	    "a string longer than the initial buffer is written whole");
	json_decref(v);
	free(big);
}

static void
test_fd(void)
{
	struct jw w;
	int p[2];
	char got[64];

	if (pipe(p) != 0) {
		perror("pipe");
		exit(2);
	}
	jw_init(&w, p[1]);
	jw_obj_open(&w);
	jw_keyz(&w, "a");
	jw_int(&w, 1);
	jw_obj_close(&w);
	jw_end(&w);
	is_int((long long)w.written, 0, "a small record stays buffered until a flush");
	is_int(jw_flush(&w), 0, "jw_flush succeeds on an open pipe");
	ssize_t n = read(p[0], got, sizeof(got));
	is_mem(got, n > 0 ? (size_t)n : 0, "{\"a\":1}\n", 8, "jw_flush writes the record");
	is_int((long long)w.written, 8, "written counts the bytes handed to write()");

	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	jw_strz(&w, "lost");
	jw_end(&w);
	is_int(jw_flush(&w), -1, "jw_flush fails when the reader has gone");
	is_int(w.err, EPIPE, "the failure is remembered as EPIPE");
	jw_strz(&w, "later");
	jw_end(&w);
	ok(jw_flush(&w) == -1 && w.written == 8, "later output is dropped");
	close(p[1]);
	jw_free(&w);
}

static void
test_mark(void)
{
	struct jw w;
	char path[] = "/tmp/test-jw-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0) {
		perror("mkstemp");
		exit(2);
	}
	unlink(path);
	jw_init(&w, fd);
	/* Records of 1001 bytes (998 in quotes and a newline) until a flush. */
	char rec[998];
	memset(rec, 'r', sizeof(rec));
	int records = 0;
	while (w.written == 0 && records < 1000) {
		jw_str(&w, rec, sizeof(rec));
		jw_end(&w);
		records++;
	}
	ok(w.written > 0 && w.written % 1001 == 0 && w.len == 0,
	    "jw_end flushes once past the mark and never splits a record (%d records)", records);
	char last;
	ok(w.written > 0 && pread(fd, &last, 1, (off_t)w.written - 1) == 1 && last == '\n',
	    "the file holds whole records after that flush");
	close(fd);
	jw_free(&w);
}

int
main(void)
{
	if (jw_init(&vw, -1) != 0) {
		perror("jw_init");
		return 2;
	}
	test_escaping();
	test_nesting();
	test_numbers();
	test_roundtrip();
	test_b64();
	test_growth();
	test_fd();
	test_mark();
	jw_free(&vw);
	return done();
}
