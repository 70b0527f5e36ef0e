/* SPDX-License-Identifier: ISC */
/* Range-checked numbers from the command line. */
#ifndef CLOCKWORK_NUMPARSE_H
#define CLOCKWORK_NUMPARSE_H

#include <sys/time.h>

int	parse_ulong(const char *, unsigned long, unsigned long, unsigned long *);
int	parse_seconds(const char *, double, double, struct timeval *);
int	parse_size(const char *, unsigned long long, unsigned long long,
	    unsigned long long *);

#endif
