/*
 * duration.h - durations as operators write them: 250ms, 10s, 5m, 2h, 7d,
 * and sums of those (1h30m).  Stored as milliseconds.
 */
#ifndef SLUICE_DURATION_H
#define SLUICE_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Parse s.  Returns 0, or -1 with *why saying what is wrong.  A bare
 * number without a unit is an error ("10" could mean anything), except 0. */
int duration_parse(const char *s, int64_t *ms, const char **why);

/* Format ms the way duration_parse() reads it, largest units first
 * ("1h30m", "250ms", "0s").  Returns the length written (< size). */
size_t duration_format(int64_t ms, char *out, size_t size);

#endif
