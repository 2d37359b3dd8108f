/*
 * clock.h - the two clocks the programs read: the wall clock (the time a
 * record is decided at, stamps written out) and the monotonic clock
 * (timeouts, backoff, rate limits of messages), which no clock step can
 * move backwards.
 */
#ifndef SLUICE_CLOCK_H
#define SLUICE_CLOCK_H

#include <stdint.h>

/* Microseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t clock_wall_us(void);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME), the unit of event
 * times. */
int64_t clock_wall_ms(void);

/* Milliseconds of CLOCK_MONOTONIC: only differences mean anything. */
int64_t clock_mono_ms(void);

#endif
