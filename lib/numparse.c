/* SPDX-License-Identifier: ISC */
/* Range-checked numbers from the command line. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "numparse.h"

/* Decimal integer in [min, max], nothing else around it; -1/EINVAL or ERANGE. */
int
parse_ulong(const char *s, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long v;
	char *end;

	if (s == NULL || *s < '0' || *s > '9') {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0') {
		errno = EINVAL;
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		errno = ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}

/* Seconds with an optional fraction ("0.2"), in [min, max], as a timeval. */
int
parse_seconds(const char *s, double min, double max, struct timeval *tv)
{
	double v;
	char *end;

	if (s == NULL || ((*s < '0' || *s > '9') && *s != '.')) {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || !isfinite(v)) {
		errno = EINVAL;
		return -1;
	}
	if (v < min || v > max) {
		errno = ERANGE;
		return -1;
	}
	tv->tv_sec = (time_t)v;
	tv->tv_usec = (suseconds_t)lround((v - (double)tv->tv_sec) * 1e6);
	if (tv->tv_usec >= 1000000) {
		tv->tv_sec++;
		tv->tv_usec -= 1000000;
	}
	return 0;
}

/*
 * A size in bytes, with an optional K, M or G (powers of 1024): "64M".
 * In [min, max]; -1/EINVAL or ERANGE.
 */
int
parse_size(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long v, unit = 1;
	char *end;

	if (s == NULL || *s < '0' || *s > '9') {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE) {
		errno = ERANGE;
		return -1;
	}
	switch (*end) {
	case 'K': case 'k':
		unit = 1ULL << 10;
		end++;
		break;
	case 'M': case 'm':
		unit = 1ULL << 20;
		end++;
		break;
	case 'G': case 'g':
		unit = 1ULL << 30;
		end++;
		break;
	}
	if (*end != '\0') {
		errno = EINVAL;
		return -1;
	}
	if (v > max / unit || v * unit < min || v * unit > max) {
		errno = ERANGE;
		return -1;
	}
	*out = v * unit;
	return 0;
}
