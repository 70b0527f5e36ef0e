/* SPDX-License-Identifier: ISC */
/*
 * Failed logins per address.  Each failure doubles the delay before the
 * next answer to that address (from the --login-delay base, up to
 * FTP_THROTTLE_DELAY_MAX), so that guessing passwords is slow from one
 * address and costs us nothing but a timer.  A fixed table: when it is
 * full, the address left alone longest makes room; an address forgiven
 * (a good login) or quiet for FTP_THROTTLE_FORGET seconds starts afresh.
 */
#include <stdio.h>
#include <string.h>

#include "ftp_throttle.h"

static struct ftp_throttle_entry *ftp_throttle_find(struct ftp_throttle *,
	    const char *, time_t, int);

/*
 * The record of host; with create, a new one if there is none.  Records
 * older than FTP_THROTTLE_FORGET are void.
 */
static struct ftp_throttle_entry *
ftp_throttle_find(struct ftp_throttle *t, const char *host, time_t now,
    int create)
{
	struct ftp_throttle_entry *f, *oldest = NULL;
	size_t i;

	for (i = 0; i < FTP_THROTTLE_MAX; i++) {
		f = &t->e[i];
		if (f->count != 0 && now - f->last > FTP_THROTTLE_FORGET)
			f->count = 0;
		if (f->count != 0 && strcmp(f->host, host) == 0)
			return f;
		/* A free slot first, else the one left alone longest. */
		if (oldest == NULL || (oldest->count != 0 && (f->count == 0 ||
		    f->last < oldest->last)))
			oldest = f;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->host, sizeof(oldest->host), "%s", host);
	return oldest;
}

/*
 * One more failure from host at now: returns the delay before it is
 * answered, base seconds doubled for each earlier failure, and the
 * failures counted so far in *count.
 */
double
ftp_throttle_fail(struct ftp_throttle *t, const char *host, time_t now,
    double base, unsigned *count)
{
	struct ftp_throttle_entry *f = ftp_throttle_find(t, host, now, 1);
	double secs;

	if (f->count < FTP_THROTTLE_COUNT_MAX)
		f->count++;
	f->last = now;
	secs = base * (double)(1U << (f->count - 1 < 16 ? f->count - 1 : 16));
	*count = f->count;
	return secs > FTP_THROTTLE_DELAY_MAX ? FTP_THROTTLE_DELAY_MAX : secs;
}

/* A good login from host: its failures are forgotten. */
void
ftp_throttle_forgive(struct ftp_throttle *t, const char *host, time_t now)
{
	struct ftp_throttle_entry *f = ftp_throttle_find(t, host, now, 0);

	if (f != NULL)
		f->count = 0;
}
