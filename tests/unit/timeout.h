/* SPDX-License-Identifier: ISC */
/*
 * Time budgets of Check test cases.  A case that loops over a large space
 * or waits on real time says what it needs in a plain build on a busy
 * machine; CLOCKWORK_TIME_FACTOR, which make check sets (1 in a plain
 * build, more under the sanitizers and valgrind), scales it.  Check then
 * multiplies it by CK_TIMEOUT_MULTIPLIER as well, when that is set.
 */
#ifndef TESTS_UNIT_TIMEOUT_H
#define TESTS_UNIT_TIMEOUT_H

#include <stdlib.h>

#include <check.h>

/* CLOCKWORK_TIME_FACTOR, or 1 when it is unset or not a number in 1-100. */
static inline double
time_factor(void)
{
	const char *s = getenv("CLOCKWORK_TIME_FACTOR");
	char *end;
	double f;

	if (s == NULL || *s == '\0')
		return 1;
	f = strtod(s, &end);
	return *end == '\0' && f >= 1 && f <= 100 ? f : 1;
}

/* Lets every test of tc run for seconds, scaled by the factor. */
static inline void
tcase_budget(TCase *tc, double seconds)
{
	tcase_set_timeout(tc, seconds * time_factor());
}

#endif
