/* SPDX-License-Identifier: ISC */
/*
 * Range-checked numbers (ports, limits, delays and timeouts given on the
 * command line): whatever the text, an accepted value is within its range
 * and a timeval is normalised.
 */
#include <ctype.h>
#include <string.h>

#include "fuzz.h"
#include "numparse.h"

/* The ranges the programs use, and the extremes. */
static const unsigned long ulong_max[] = { 1, 65535, 100000, 0x7fffffffUL,
    (unsigned long)-1 };
static const double sec_max[] = { 1, 3600, 86400, 1e6 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct timeval tv;
	unsigned long v, min, max;
	double dmin, dmax;
	char *s;
	size_t i;

	if (size < 1)
		return 0;
	max = ulong_max[data[0] % (sizeof(ulong_max) / sizeof(ulong_max[0]))];
	min = data[0] & 0x80 ? 1 : 0;
	dmax = sec_max[data[0] % (sizeof(sec_max) / sizeof(sec_max[0]))];
	dmin = data[0] & 0x40 ? 0.001 : 0;
	if ((s = malloc(size)) == NULL)
		abort();
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	v = max + 1;
	if (parse_ulong(s, min, max, &v) == 0) {
		FUZZ_CHECK(v >= min && v <= max);
		for (i = 0; s[i] != '\0'; i++)
			FUZZ_CHECK(isdigit((unsigned char)s[i]));
	} else
		FUZZ_CHECK(v == max + 1);

	memset(&tv, 0, sizeof(tv));
	if (parse_seconds(s, dmin, dmax, &tv) == 0) {
		FUZZ_CHECK(tv.tv_sec >= 0 && tv.tv_sec <= (time_t)dmax);
		FUZZ_CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
		FUZZ_CHECK(tv.tv_sec < (time_t)dmax || tv.tv_usec == 0);
	}
	free(s);
	return 0;
}
