/* SPDX-License-Identifier: ISC */
/* How far a clock is from ours, from the moments its lines arrive. */
#ifndef CLOCKWALL_OFFSET_H
#define CLOCKWALL_OFFSET_H

#include <stddef.h>
#include <time.h>

#define OFFSET_WINDOW	9	/* lines the median is taken over */
#define OFFSET_PERIOD	900	/* a line's MM:SS gives the time modulo this */
#define OFFSET_TEXT_MAX	24	/* bytes of "+0.004s" and the like */

struct offset_filter {
	double		 samples[OFFSET_WINDOW];	/* seconds */
	unsigned	 n;		/* held, at most OFFSET_WINDOW */
	unsigned	 next;		/* the oldest, replaced next */
};

int	offset_line_seconds(const char *, size_t);
double	offset_sample(const struct timespec *, unsigned long, int);
void	offset_add(struct offset_filter *, double);
int	offset_get(const struct offset_filter *, double *);
void	offset_reset(struct offset_filter *);
int	offset_format(double, char *, size_t);

#endif
