/* SPDX-License-Identifier: ISC */
/* The monotonic clock, for timeouts, delays and countdowns. */
#ifndef CLOCKWORK_MONOTIME_H
#define CLOCKWORK_MONOTIME_H

#include <sys/time.h>

#include <stdint.h>

uint64_t monotime_us(void);
void	monotime_tv(struct timeval *);

#endif
