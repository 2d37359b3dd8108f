/*
 * test-jscan.c - unit tests of the JSON validator: what it accepts, every
 * kind of error it reports, nesting limits and the member spans.
 *
 * Every input is copied into a buffer of exactly its length, so a scan
 * that reads one byte too far shows up under the address sanitizer.
 */
#include "jscan.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXM 8

static struct jscan_member members[MAXM];
static size_t count;
static struct jscan_err err;

/* Scan n bytes of s from an exact-size copy; returns the type or 0. */
static char
scan(const char *s, size_t n)
{
	char *copy = malloc(n ? n : 1);
	char t;

	memcpy(copy, s, n);
	memset(&err, 0, sizeof(err));
	count = 12345;
	t = jscan(copy, n, members, MAXM, &count, &err);
	free(copy);
	return t;
}

static char
scanz(const char *s)
{
	return scan(s, strlen(s));
}

static void
test_valid(void)
{
	is_int(scanz("{}"), '{', "an empty object is an object");
	is_int((long long)count, 0, "an empty object has no members");
	is_int(scanz("{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}"), '{',
	    "an object with nested values is valid");
	is_int(scanz(" \t\r\n{ \"a\" : 1 , \"b\" : [ ] } \n"), '{',
	    "white space around and inside the value is allowed");
	is_int(scanz("[]"), '[', "an empty array is an array");
	is_int((long long)count, 0, "an array has no members counted");
	is_int(scanz("[1,\"x\",{},[],true,false,null,-0.5e+3]"), '[',
	    "an array of every kind of value is valid");
	is_int(scanz("\"str\""), '"', "a string alone is a string value");
	is_int(scanz("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00\""), '"',
	    "every escape JSON defines is accepted");
	is_int(scanz("\"\xc3\xa9\xff\""), '"', "bytes above 0x7f are not checked here");
	is_int(scanz("0"), '0', "0 is a number");
	is_int(scanz("-12.5E-3"), '0', "a negative number with fraction and exponent is a number");
	is_int(scanz("1e5"), '0', "an exponent without sign is allowed");
	is_int(scanz("true"), 't', "true is a literal");
	is_int(scanz("false"), 'f', "false is a literal");
	is_int(scanz("null"), 'n', "null is a literal");
	is_int(scanz("{\"a\":{}}"), '{', "an object holding an empty object is valid");
}

static char *
nested(size_t depth, char open, char close)
{
	char *s = malloc(2 * depth + 1);
	memset(s, open, depth);
	memset(s + depth, close, depth);
	s[2 * depth] = '\0';
	return s;
}

static void
test_depth(void)
{
	char *s = nested(1000, '[', ']');
	is_int(scanz(s), '[', "1000 nested arrays are accepted");
	free(s);

	s = nested(JSCAN_MAX_DEPTH, '[', ']');
	is_int(scanz(s), '[', "JSCAN_MAX_DEPTH nested arrays are accepted");
	free(s);

	s = nested(3000, '[', ']');
	is_int(scanz(s), 0, "3000 nested arrays are rejected");
	is_str(err.msg, "nested too deeply", "with \"nested too deeply\"");
	is_int((long long)err.pos, JSCAN_MAX_DEPTH, "at the first bracket past the limit");
	free(s);

	/* Objects and arrays alternating, 1000 deep: {"a":[{"a":[...]}]} */
	size_t levels = 1000, n = 0;
	s = malloc(levels * 8 + 1);
	for (size_t i = 0; i < levels; i++)
		n += (size_t)sprintf(s + n, i % 2 ? "[" : "{\"a\":");
	for (size_t i = levels; i-- > 0;)
		s[n++] = i % 2 ? ']' : '}';
	s[n] = '\0';
	is_int(scanz(s), '{', "1000 levels of objects and arrays alternating are accepted");
	free(s);
}

struct bad {
	const char *in;
	const char *msg;
	size_t pos;
	const char *what;
};

static const struct bad bad[] = {
	{ "", "empty input", 0, "empty input" },
	{ "  \n", "empty input", 3, "white space alone" },
	{ "\"abc", "unterminated string", 4, "a string without its closing quote" },
	{ "\"abc\\", "unterminated string", 5, "a string ending in a backslash" },
	{ "{\"a", "unterminated string", 3, "a key without its closing quote" },
	{ "\"a\\x\"", "invalid escape in string", 2, "an unknown escape \\x" },
	{ "\"\\u12G4\"", "invalid escape in string", 1, "a \\u escape with a non-hex digit" },
	{ "\"\\u123\"", "invalid escape in string", 1, "a \\u escape with three digits" },
	{ "\"\\u12", "invalid escape in string", 1, "a \\u escape cut off by the end" },
	{ "\"a\x01\"", "control character in string", 2, "a raw control byte in a string" },
	{ "\"a\nb\"", "control character in string", 2, "a raw newline in a string" },
	{ "[\"a\tb\"]", "control character in string", 3, "a raw tab in a string" },
	{ "-", "invalid number", 0, "a lone minus" },
	{ "1.", "invalid number", 0, "a number ending in a point" },
	{ "1.e5", "invalid number", 0, "a point without digits after it" },
	{ ".5", "invalid number", 0, "a number starting with a point" },
	{ "1e", "invalid number", 0, "an exponent without digits" },
	{ "1e+", "invalid number", 0, "an exponent with a sign and no digits" },
	{ "-a", "invalid number", 0, "a minus before a letter" },
	{ "+1", "invalid number", 0, "a leading plus" },
	{ "01", "trailing characters after the value", 1, "a leading zero" },
	{ "[01]", "expected ',' or ']'", 2, "a leading zero inside an array" },
	{ "{\"a\":01}", "expected ',' or '}'", 6, "a leading zero as a member value" },
	{ "tru", "invalid literal", 0, "a cut-off true" },
	{ "nul", "invalid literal", 0, "a cut-off null" },
	{ "True", "invalid number", 0, "a capitalised literal" },
	{ "falsy", "invalid literal", 0, "a misspelt false" },
	{ "{} x", "trailing characters after the value", 3, "text after the value" },
	{ "1 2", "trailing characters after the value", 2, "two values" },
	{ "{\"a\":1}}", "trailing characters after the value", 7, "a closing brace too many" },
	{ "{\"a\" 1}", "expected ':'", 5, "a member without its colon" },
	{ "{\"a\"", "expected ':'", 4, "a key at the end of input" },
	{ "{\"a\":1 \"b\":2}", "expected ',' or '}'", 7, "members without a comma" },
	{ "[1 2]", "expected ',' or ']'", 3, "elements without a comma" },
	{ "[1,]", "invalid number", 3, "a trailing comma in an array" },
	{ "{\"a\":1,}", "expected a string key", 7, "a trailing comma in an object" },
	{ "{a:1}", "expected a string key", 1, "an unquoted key" },
	{ "{1:1}", "expected a string key", 1, "a number as key" },
	{ "[1,2", "unexpected end of input", 4, "an array not closed" },
	{ "{\"a\":", "unexpected end of input", 5, "a member without a value" },
	{ "{\"a\":[1}", "expected ',' or ']'", 7, "a brace closing an array" },
	{ "[", "unexpected end of input", 1, "a lone bracket" },
};

static void
test_errors(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct bad *b = &bad[i];
		char t = scanz(b->in);
		bool right = t == 0 && err.msg != NULL && strcmp(err.msg, b->msg) == 0 &&
		    err.pos == b->pos;
		if (!ok(right, "%s is rejected with \"%s\" at %zu", b->what, b->msg, b->pos))
			fprintf(stderr, "#   got type %d, \"%s\" at %zu\n", t,
			    err.msg ? err.msg : "(none)", err.pos);
	}
	/* A NUL byte is a control byte: the length, not a terminator, rules. */
	is_int(scan("\"a\0b\"", 5), 0, "a NUL byte inside a string is rejected");
	is_int(scan("{}\0", 3), 0, "a NUL byte after the value is trailing garbage");
}

static bool
span(const struct jscan_member *m, const char *key, const char *val, char type)
{
	return m->klen == strlen(key) && memcmp(m->key, key, m->klen) == 0 &&
	    m->vlen == strlen(val) && memcmp(m->val, val, m->vlen) == 0 &&
	    m->type == type;
}

static void
test_members(void)
{
	static const char rec[] =
	    "{ \"s\" : \"x\\\"y\" , \"n\":-1.5e3,\"t\":true,\"f\":false,\"z\":null,"
	    "\"o\":{\"in\":[1,{\"deep\":2}]},\"a\":[ 1 , [] ],\"e\\u00e9\":{} }";
	struct jscan_member m[MAXM];
	size_t n = 0;
	struct jscan_err e;

	is_int(jscan(rec, sizeof(rec) - 1, m, MAXM, &n, &e), '{', "the sample record is an object");
	is_int((long long)n, 8, "it has 8 top-level members; nested keys are not counted");
	ok(span(&m[0], "s", "\"x\\\"y\"", '"'),
	    "a string member's key, value with its quotes and escapes, and type");
	ok(span(&m[1], "n", "-1.5e3", '0'), "a number member's span and type");
	ok(span(&m[2], "t", "true", 't'), "a true member's span and type");
	ok(span(&m[3], "f", "false", 'f'), "a false member's span and type");
	ok(span(&m[4], "z", "null", 'n'), "a null member's span and type");
	ok(span(&m[5], "o", "{\"in\":[1,{\"deep\":2}]}", '{'),
	    "an object member's span covers the whole nested object");
	ok(span(&m[6], "a", "[ 1 , [] ]", '['), "an array member's span covers the whole array");
	ok(span(&m[7], "e\\u00e9", "{}", '{'),
	    "a key's escapes are left as written and an empty object is a value");
	ok(m[0].key == rec + 3 && m[0].val == rec + 8,
	    "spans point into the caller's text, not into a copy");

	struct jscan_member few[2];
	is_int(jscan(rec, sizeof(rec) - 1, few, 2, &n, &e), '{',
	    "a record with more members than room is still valid");
	is_int((long long)n, 8, "count says how many members there are beyond max");
	ok(span(&few[0], "s", "\"x\\\"y\"", '"') && span(&few[1], "n", "-1.5e3", '0'),
	    "the first max members are stored");

	is_int((long long)jscan(rec, sizeof(rec) - 1, NULL, 0, NULL, &e), '{',
	    "no member array and no count are needed to validate");

	struct jscan_member inner[MAXM];
	size_t k = jscan_members(m[5].val, m[5].vlen, inner, MAXM);
	ok(k == 1 && span(&inner[0], "in", "[1,{\"deep\":2}]", '['),
	    "jscan_members lists the members of a nested object value");
	is_int((long long)jscan_members(m[6].val, m[6].vlen, inner, MAXM), 0,
	    "jscan_members of an array is 0");
}

/* jscan_members walks validated text without checking it; on every
 * object it must list exactly the members jscan finds. */
static void
test_members_agree(void)
{
	static const char *const objs[] = {
		"{}",
		" { } ",
		"{\"a\":1}",
		"{ \"a\" : 1 , \"b\" : \"x\" }",
		"{\"s\":\"}{][,:\\\"\\\\\",\"t\":true}",
		"{\"k\\\"ey\":[1,[2,{\"x\":\"]\"}],[]],\"n\":null}",
		"{\"o\":{\"p\":{\"q\":{}}},\"f\":false,\"e\":-1.5e-3}",
		"{\"a\":\t[ 1 ,\n2 ]\r\n,\"b\":{ \"c\" : [ ] } }",
		"{\"long\":\"0123456789abcdef0123456789abcdef\\u00e9\\n\",\"z\":0}",
	};
	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
		const char *o = objs[i];
		size_t n = strlen(o), want = 0;
		struct jscan_member a[MAXM], b[MAXM];
		struct jscan_err e;
		bool same = jscan(o, n, a, MAXM, &want, &e) == '{';
		size_t got = jscan_members(o, n, b, MAXM);
		same = same && got == want;
		for (size_t j = 0; same && j < got && j < MAXM; j++)
			same = a[j].key == b[j].key && a[j].klen == b[j].klen &&
			    a[j].val == b[j].val && a[j].vlen == b[j].vlen &&
			    a[j].type == b[j].type;
		if (!ok(same, "jscan_members agrees with jscan on object %zu", i))
			fprintf(stderr, "#   jscan %zu members, jscan_members %zu\n", want, got);
	}
	struct jscan_member one[1];
	is_int((long long)jscan_members("{\"a\":1,\"b\":2,\"c\":3}", 19, one, 1), 3,
	    "jscan_members counts members beyond max");
	ok(one[0].klen == 1 && one[0].key[0] == 'a' && one[0].vlen == 1,
	    "and stores the first max of them");
}

static void
test_tape(void)
{
	static const char rec[] =
	    "{\"a\":1,\"b\":{\"c\":{\"d\":2},\"e\":[{\"f\":3}]},\"g\":{},\"h\":\"x\"}";
	struct jscan_member m[16];
	size_t n = 0;
	struct jscan_err e;
	static const struct { const char *key; size_t depth, next; } want[] = {
		{ "a", 1, 1 }, { "b", 1, 6 }, { "c", 2, 4 }, { "d", 3, 4 }, { "e", 2, 6 },
		{ "f", 4, 6 }, { "g", 1, 7 }, { "h", 1, 8 },
	};
	is_int(jscan_tape(rec, sizeof(rec) - 1, m, 16, &n, &e), '{', "jscan_tape validates");
	is_int((long long)n, 8, "the tape holds the members of every object");
	bool right = n == 8;
	for (size_t i = 0; right && i < 8; i++)
		right = m[i].klen == 1 && m[i].key[0] == want[i].key[0] &&
		    m[i].depth == want[i].depth && m[i].next == want[i].next;
	ok(right, "in text order, with depths and the index after each subtree");
	ok(span(&m[1], "b", "{\"c\":{\"d\":2},\"e\":[{\"f\":3}]}", '{') &&
	    span(&m[3], "d", "2", '0') && span(&m[6], "g", "{}", '{'),
	    "nested spans are whole values");
	struct jscan_member few[3];
	is_int(jscan_tape(rec, sizeof(rec) - 1, few, 3, &n, &e), '{', "a tape longer than room is still valid");
	is_int((long long)n, 8, "and counted whole");
	is_int(jscan_tape("{\"a\":[1,}", 10, m, 16, &n, &e), 0, "jscan_tape rejects what jscan rejects");
	is_str(e.msg, "invalid number", "with the same message");
}

int
main(void)
{
	test_valid();
	test_depth();
	test_errors();
	test_members();
	test_members_agree();
	test_tape();
	return done();
}
