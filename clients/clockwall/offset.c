/* SPDX-License-Identifier: ISC */
/*
 * How far a clock is from ours.  clockd writes each line right after the
 * second boundary of its own clock, and the line names that second.  So
 * when a line naming second S arrives at our time A (the kernel's receive
 * timestamp) after a one-way trip of D, the clock's S began at our A - D,
 * and the clock is ahead of ours by S - (A - D).  D is taken as half the
 * connection's round trip (TCP_INFO), which is right when both directions
 * take as long.
 *
 * The line is in the clock's own zone, and zones differ from ours by whole
 * quarters of an hour (every zone in use today), so only its minutes and
 * seconds are used, modulo 15 minutes: the offset is S - (A - D) reduced
 * into [-7.5 min, +7.5 min).  The fraction comes from the arrival phase,
 * the whole seconds from the line; a clock more than 7.5 minutes off shows
 * an offset wrong by a multiple of 15 minutes.
 *
 * One line can be late: the network delayed it, TCP resent it after a
 * loss, or clockd was slow to wake.  Each such line alone would make the
 * clock look behind, so the offset shown is the median of the last
 * OFFSET_WINDOW lines' offsets: late lines, up to almost half of them,
 * cannot move it, and symmetric jitter does not bias it (a minimum-delay
 * filter, as in NTP, would pick the fastest line of the window and so lean
 * on jitter that the one round trip measured at the handshake does not
 * share).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "offset.h"

#define IS_DIGIT(c)	((c) >= '0' && (c) <= '9')

/*
 * The seconds modulo OFFSET_PERIOD named by the line's last H:MM:SS (or
 * HH:MM:SS), from its minutes and seconds; -1 when the line names none.
 */
int
offset_line_seconds(const char *line, size_t len)
{
	size_t i;
	int mm, ss;

	/* From the end: "D:DD:DD" with a digit before the first colon. */
	for (i = len; i >= 7; i--) {
		const char *p = line + i - 7;

		if (!IS_DIGIT(p[0]) || p[1] != ':' || !IS_DIGIT(p[2]) ||
		    !IS_DIGIT(p[3]) || p[4] != ':' || !IS_DIGIT(p[5]) ||
		    !IS_DIGIT(p[6]))
			continue;
		if (i < len && IS_DIGIT(line[i]))
			continue;
		mm = (p[2] - '0') * 10 + (p[3] - '0');
		ss = (p[5] - '0') * 10 + (p[6] - '0');
		if (mm > 59 || ss > 60)
			continue;
		return (mm * 60 + ss) % OFFSET_PERIOD;
	}
	return -1;
}

/*
 * The offset one line gives: it named second sec (modulo OFFSET_PERIOD),
 * arrived at the wall-clock time at, over a round trip of rtt_us.
 */
double
offset_sample(const struct timespec *at, unsigned long rtt_us, int sec)
{
	double sent, off;

	sent = (double)(at->tv_sec % OFFSET_PERIOD) + at->tv_nsec / 1e9 -
	    (double)rtt_us / 2e6;
	off = fmod((double)sec - sent + OFFSET_PERIOD / 2.0, OFFSET_PERIOD);
	if (off < 0)
		off += OFFSET_PERIOD;
	return off - OFFSET_PERIOD / 2.0;
}

/* Takes one line's offset; the oldest of a full window goes. */
void
offset_add(struct offset_filter *f, double v)
{
	f->samples[f->next] = v;
	f->next = (f->next + 1) % OFFSET_WINDOW;
	if (f->n < OFFSET_WINDOW)
		f->n++;
}

void
offset_reset(struct offset_filter *f)
{
	memset(f, 0, sizeof(*f));
}

/* The median of the window into *v; -1 while it is empty. */
int
offset_get(const struct offset_filter *f, double *v)
{
	double s[OFFSET_WINDOW], t;
	unsigned i, j;

	if (f->n == 0)
		return -1;
	memcpy(s, f->samples, sizeof(s[0]) * f->n);
	for (i = 1; i < f->n; i++) {
		t = s[i];
		for (j = i; j > 0 && s[j - 1] > t; j--)
			s[j] = s[j - 1];
		s[j] = t;
	}
	*v = f->n % 2 ? s[f->n / 2] : (s[f->n / 2 - 1] + s[f->n / 2]) / 2;
	return 0;
}

/* "+0.004s", "-0.120s", "+2.503s": milliseconds, the sign always shown. */
int
offset_format(double v, char *buf, size_t cap)
{
	int r;

	v = round(v * 1000.0) / 1000.0;
	if (v == 0)
		v = 0;		/* no "-0.000s" */
	r = snprintf(buf, cap, "%+.3fs", v);
	return r < 0 || (size_t)r >= cap ? -1 : 0;
}
