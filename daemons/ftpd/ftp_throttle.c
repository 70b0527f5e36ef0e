/* SPDX-License-Identifier: ISC */
/*
 * Failed logins, per address and per user name.  Each failure doubles the
 * delay before the next answer (from the --login-delay base, up to
 * FTP_THROTTLE_DELAY_MAX), by whichever counts more: the address's
 * failures (guessing many names from one place) or the name's (guessing
 * one password from many places).  A good login forgives its name only:
 * logging in to an account of one's own does not buy another round of
 * guesses at someone else's, nor from the same address.
 *
 * Both tables are fixed: when one is full, the entry with the fewest
 * failures (the oldest among them) makes room, so that a flood of
 * single failures under ever new names or addresses neither grows them
 * nor pushes out the one being guessed at; an entry quiet for
 * FTP_THROTTLE_FORGET seconds starts afresh.  IPv6 addresses count by
 * their /64, which one client usually holds whole.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "ftp_throttle.h"

static struct ftp_throttle_entry *ftp_throttle_find(
	    struct ftp_throttle_table *, const char *, time_t, int);
static unsigned	ftp_throttle_count(struct ftp_throttle_table *,
		    const char *, time_t);
static void	ftp_throttle_host(const char *, char *, size_t);

/*
 * The record of key; with create, a new one if there is none (a free
 * slot, else the one with the fewest failures, the oldest of those).
 * Records older than FTP_THROTTLE_FORGET are void.
 */
static struct ftp_throttle_entry *
ftp_throttle_find(struct ftp_throttle_table *t, const char *key, time_t now,
    int create)
{
	struct ftp_throttle_entry *f, *room = NULL;
	size_t i;

	for (i = 0; i < FTP_THROTTLE_MAX; i++) {
		f = &t->e[i];
		if (f->count != 0 && now - f->last > FTP_THROTTLE_FORGET)
			f->count = 0;
		if (f->count != 0 && strcmp(f->key, key) == 0)
			return f;
		if (room == NULL || f->count < room->count ||
		    (f->count == room->count && f->last < room->last))
			room = f;
	}
	if (!create)
		return NULL;
	memset(room, 0, sizeof(*room));
	snprintf(room->key, sizeof(room->key), "%s", key);
	return room;
}

/* One more failure of key at now: the failures counted so far. */
static unsigned
ftp_throttle_count(struct ftp_throttle_table *t, const char *key, time_t now)
{
	struct ftp_throttle_entry *f = ftp_throttle_find(t, key, now, 1);

	if (f->count < FTP_THROTTLE_COUNT_MAX)
		f->count++;
	f->last = now;
	return f->count;
}

/* The key of an address: IPv4 as it is, IPv6 as its /64. */
static void
ftp_throttle_host(const char *host, char *key, size_t cap)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET6, host, a) != 1) {
		snprintf(key, cap, "%s", host);
		return;
	}
	memset(a + 8, 0, 8);
	if (inet_ntop(AF_INET6, a, text, sizeof(text)) == NULL)
		snprintf(key, cap, "%s", host);
	else
		snprintf(key, cap, "%s/64", text);
}

/*
 * One more failed login from host as name at now: returns the delay
 * before it is answered, base seconds doubled for each earlier failure
 * of the address or of the name (whichever has more), and both counts.
 */
double
ftp_throttle_fail(struct ftp_throttle *t, const char *host, const char *name,
    time_t now, double base, struct ftp_throttle_counts *counts)
{
	char key[FTP_THROTTLE_KEY_MAX];
	unsigned n;
	double secs;

	ftp_throttle_host(host, key, sizeof(key));
	counts->host = ftp_throttle_count(&t->hosts, key, now);
	counts->name = ftp_throttle_count(&t->names, name, now);
	n = counts->host > counts->name ? counts->host : counts->name;
	secs = base * (double)(1U << (n - 1 < 16 ? n - 1 : 16));
	return secs > FTP_THROTTLE_DELAY_MAX ? FTP_THROTTLE_DELAY_MAX : secs;
}

/* A good login as name: that name's failures are forgotten. */
void
ftp_throttle_forgive(struct ftp_throttle *t, const char *name, time_t now)
{
	struct ftp_throttle_entry *f = ftp_throttle_find(&t->names, name, now,
	    0);

	if (f != NULL)
		f->count = 0;
}
