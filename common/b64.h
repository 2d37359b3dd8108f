/*
 * b64.h - base64 (RFC 4648, standard alphabet, padded).
 */
#ifndef SLUICE_B64_H
#define SLUICE_B64_H

#include <stddef.h>

/* Bytes b64_encode() writes for n input bytes. */
#define B64_LEN(n) (((n) + 2) / 3 * 4)

/* Encode n bytes of in into out (B64_LEN(n) bytes, not NUL-terminated);
 * returns the length written. */
size_t b64_encode(char *out, const void *in, size_t n);

/* Decode n characters of in into out (at least n / 4 * 3 bytes); returns
 * the length written, or -1 when in is not padded base64. */
long b64_decode(void *out, const char *in, size_t n);

#endif
