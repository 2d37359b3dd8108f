/*
 * jstr.h - the text of a JSON string, read straight from the record's
 * bytes: escapes decoded, so two spellings of one string compare equal.
 *
 * The input is the text between the quotes of a string that jscan() has
 * already accepted (so every escape is well formed).  Nothing here
 * allocates; the caller owns every buffer.
 */
#ifndef SLUICE_JSTR_H
#define SLUICE_JSTR_H

#include <stdbool.h>
#include <stddef.h>

/* Decode the escapes of s[0, n) into out, which must have room for n
 * bytes (decoding never makes text longer).  \u escapes become UTF-8; a
 * lone surrogate becomes U+FFFD, so the result is valid UTF-8 whenever
 * the input was.  Returns the length written. */
size_t jstr_unescape(const char *s, size_t n, char *out);

/* Does the string text s[0, n) (escapes as written) decode to exactly
 * the bytes p[0, len)?  Cannot fail. */
bool jstr_equal(const char *s, size_t n, const char *p, size_t len);

#endif
