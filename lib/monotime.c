/* SPDX-License-Identifier: ISC */
/*
 * The monotonic clock: what timeouts and delays are measured on, since it
 * never jumps when the wall clock is set.  libevent keeps its timers on
 * the same clock.
 */
#include <time.h>

#include "monotime.h"

/* Microseconds since an arbitrary start. */
uint64_t
monotime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The same as a timeval, for timeradd() and timersub(). */
void
monotime_tv(struct timeval *tv)
{
	uint64_t us = monotime_us();

	tv->tv_sec = (time_t)(us / 1000000);
	tv->tv_usec = (suseconds_t)(us % 1000000);
}
