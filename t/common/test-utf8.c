/*
 * test-utf8.c - unit tests of UTF-8 validation against RFC 3629: what is
 * valid, what is not, and how long the valid prefix is.
 *
 * Each input is checked from an exact-size copy (so reading past the end
 * shows under the address sanitizer) and also after 11 ASCII bytes, so the
 * same bytes are seen once by the byte loop and once after the eight-byte
 * fast path.
 */
#include "utf8.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAD "abcdefghijk"
#define PADLEN (sizeof(PAD) - 1)

static size_t
prefix(const char *s, size_t n)
{
	char *copy = malloc(n ? n : 1);
	memcpy(copy, s, n);
	size_t k = utf8_valid_prefix(copy, n);
	free(copy);
	return k;
}

/* The valid prefix of s alone and of s after PAD must agree. */
static void
check(const char *s, size_t n, size_t want, const char *what)
{
	char *padded = malloc(PADLEN + n);
	memcpy(padded, PAD, PADLEN);
	memcpy(padded + PADLEN, s, n);
	size_t alone = prefix(s, n), after = prefix(padded, PADLEN + n);
	free(padded);
	if (!ok(alone == want && after == PADLEN + want, "%s (valid prefix %zu of %zu)",
	    what, want, n))
		fprintf(stderr, "#   got %zu alone, %zu after padding\n", alone, after - PADLEN);
}

#define CHECK(lit, want, what) check((lit), sizeof(lit) - 1, (want), (what))

static void
test_valid(void)
{
	CHECK("", 0, "the empty string is valid");
	CHECK("plain ASCII text, longer than eight bytes", 41, "ASCII is valid");
	CHECK("a\0b", 3, "a NUL byte is valid UTF-8 (U+0000)");
	CHECK("\x7f", 1, "U+007F is valid");
	CHECK("\xc2\x80", 2, "U+0080, the smallest two-byte character, is valid");
	CHECK("\xc3\xa9t\xc3\xa9", 5, "two-byte characters between ASCII are valid");
	CHECK("\xdf\xbf", 2, "U+07FF, the largest two-byte character, is valid");
	CHECK("\xe0\xa0\x80", 3, "U+0800, the smallest three-byte character, is valid");
	CHECK("\xe2\x82\xac", 3, "the euro sign is valid");
	CHECK("\xed\x9f\xbf", 3, "U+D7FF, just below the surrogates, is valid");
	CHECK("\xee\x80\x80", 3, "U+E000, just above the surrogates, is valid");
	CHECK("\xef\xbf\xbf", 3, "U+FFFF is valid");
	CHECK("\xf0\x90\x80\x80", 4, "U+10000, the smallest four-byte character, is valid");
	CHECK("\xf0\x9f\x98\x80", 4, "an emoji is valid");
	CHECK("\xf4\x8f\xbf\xbf", 4, "U+10FFFF, the largest character, is valid");
	CHECK("1234567\xc3\xa9" "89", 11, "a character across an eight-byte boundary is valid");
}

static void
test_invalid(void)
{
	CHECK("\xc0\x80", 0, "an overlong NUL (C0 80) is invalid");
	CHECK("\xc1\xbf", 0, "an overlong two-byte form (C1 BF) is invalid");
	CHECK("\xe0\x80\x80", 0, "an overlong three-byte NUL (E0 80 80) is invalid");
	CHECK("\xe0\x9f\xbf", 0, "an overlong U+07FF in three bytes (E0 9F BF) is invalid");
	CHECK("\xf0\x80\x80\x80", 0, "an overlong four-byte NUL (F0 80 80 80) is invalid");
	CHECK("\xf0\x8f\xbf\xbf", 0, "an overlong U+FFFF in four bytes (F0 8F BF BF) is invalid");
	CHECK("\xed\xa0\x80", 0, "a high surrogate (ED A0 80) is invalid");
	CHECK("\xed\xbf\xbf", 0, "a low surrogate (ED BF BF) is invalid");
	CHECK("\xed\xa0\xbd\xed\xb8\x80", 0, "a surrogate pair in CESU-8 is invalid");
	CHECK("\xf4\x90\x80\x80", 0, "U+110000 (F4 90 80 80) is invalid");
	CHECK("\xf5\x80\x80\x80", 0, "a lead byte F5 is invalid");
	CHECK("\xf8\x88\x80\x80\x80", 0, "a five-byte form is invalid");
	CHECK("\xfe", 0, "the byte FE is invalid");
	CHECK("\xff", 0, "the byte FF is invalid");
	CHECK("\x80", 0, "a lone continuation byte is invalid");
	CHECK("a\xbf" "b", 1, "a continuation byte after ASCII ends the valid prefix");
	CHECK("\xc3", 0, "a two-byte character cut after its lead byte is invalid");
	CHECK("\xe2\x82", 0, "a three-byte character cut after two bytes is invalid");
	CHECK("\xf0\x9f\x98", 0, "a four-byte character cut after three bytes is invalid");
	CHECK("ok\xf0\x9f", 2, "a cut character at the end leaves the text before it valid");
	CHECK("\xc3" "a", 0, "a lead byte followed by ASCII is invalid");
	CHECK("\xe2\x28\xa1", 0, "a bad second byte of three is invalid");
	CHECK("\xe2\x82\x28", 0, "a bad third byte of three is invalid");
	CHECK("\xf0\x9f\x98\x28", 0, "a bad fourth byte of four is invalid");
	CHECK("\xc3\xa9\xc3\xa9\xff\xc3\xa9", 4, "the valid prefix stops at the first bad byte");
}

static void
test_valid_fn(void)
{
	ok(utf8_valid("\xc3\xa9", 2), "utf8_valid says yes for valid text");
	ok(!utf8_valid("\xc3\xa9\xff", 3), "utf8_valid says no when a byte is bad");
	ok(utf8_valid("\xff", 0), "utf8_valid looks only at the n bytes given");
	ok(!utf8_valid("\xc3\xa9", 1), "utf8_valid says no for a character cut by n");
}

int
main(void)
{
	test_valid();
	test_invalid();
	test_valid_fn();
	return done();
}
