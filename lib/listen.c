/* SPDX-License-Identifier: ISC */
/*
 * Listening sockets.  Socket activation comes first: when systemd (or
 * systemd-socket-activate) hands us sockets we serve exactly those and
 * bind nothing.  Otherwise every -l HOST:PORT / -p PORT is bound here.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "addr.h"
#include "listen.h"
#include "numparse.h"

static int	listen_bind_one(const struct addrinfo *, struct listen_set *,
		    char *, size_t);
static int	listen_bind_spec(const struct listen_spec *,
		    struct listen_set *, char *, size_t);

/* "PORT" for -p: every address, both families. */
int
listen_spec_port(const char *arg, struct listen_spec *spec)
{
	unsigned long port;

	if (parse_ulong(arg, 1, 65535, &port) == -1)
		return -1;
	spec->host[0] = '\0';
	snprintf(spec->port, sizeof(spec->port), "%lu", port);
	return 0;
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" for -l. */
int
listen_spec_parse(const char *arg, struct listen_spec *spec)
{
	unsigned long port;

	if (addr_split_hostport(arg, spec->host, sizeof(spec->host),
	    spec->port, sizeof(spec->port)) == -1)
		return -1;
	return parse_ulong(spec->port, 1, 65535, &port);
}

static int
listen_bind_one(const struct addrinfo *ai, struct listen_set *set,
    char *err, size_t errlen)
{
	int fd, on = 1;

	if (set->nfds == LISTEN_MAX) {
		snprintf(err, errlen, "too many listening sockets");
		errno = EMFILE;
		return -1;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* Each family gets its own socket, so that logs show plain IPv4. */
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	set->fds[set->nfds++] = fd;
	return 0;
}

static int
listen_bind_spec(const struct listen_spec *spec, struct listen_set *set,
    char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	int rc, bound = 0, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(spec->host[0] ? spec->host : NULL, spec->port,
	    &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", spec->host, gai_strerror(rc));
		errno = EINVAL;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (listen_bind_one(ai, set, err, errlen) == 0)
			bound++;
		else if (!(spec->host[0] == '\0' &&
		    errno == EAFNOSUPPORT))
			saved = errno;
	}
	freeaddrinfo(res);
	/* For -p, one family missing (no IPv6 here) is fine; an error is not. */
	if (bound == 0 || saved != 0) {
		if (saved == 0)
			saved = EADDRNOTAVAIL;
		snprintf(err, errlen, "cannot listen on %s%s%s:%s: %s",
		    strchr(spec->host, ':') ? "[" : "", spec->host,
		    strchr(spec->host, ':') ? "]" : "", spec->port,
		    strerror(saved));
		errno = saved;
		return -1;
	}
	return 0;
}

/*
 * The sockets systemd (or systemd-socket-activate) handed us, into an
 * empty set: listening stream sockets, and under the name "handover" the
 * capsules a predecessor left in the fd store (lib/handover.c).  -1 with
 * a message in err when one of them is neither.
 */
int
listen_activated(struct listen_set *set, char *err, size_t errlen)
{
	char **names = NULL;
	int n, i, fd, rc = -1;

	memset(set, 0, sizeof(*set));
	n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		snprintf(err, errlen, "sd_listen_fds: %s", strerror(-n));
		errno = -n;
		return -1;
	}
	for (i = 0; i < n; i++) {
		fd = SD_LISTEN_FDS_START + i;
		if (names != NULL && names[i] != NULL &&
		    strcmp(names[i], "handover") == 0) {
			if (set->ncapsules == LISTEN_MAX)
				close(fd);
			else
				set->capsules[set->ncapsules++] = fd;
			continue;
		}
		if (set->nfds == LISTEN_MAX) {
			snprintf(err, errlen, "%d sockets handed over, at "
			    "most %d served", n, LISTEN_MAX);
			errno = EMFILE;
			goto out;
		}
		if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
			snprintf(err, errlen, "fd %d handed over is not a "
			    "listening stream socket", fd);
			errno = ENOTSOCK;
			goto out;
		}
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		set->fds[set->nfds++] = fd;
	}
	set->activated = set->nfds > 0;
	rc = 0;
out:
	if (names != NULL) {
		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	return rc;
}

/* Binds every -l HOST:PORT / -p PORT; -1 with a message in err. */
int
listen_bind(const struct listen_spec *specs, int nspecs,
    struct listen_set *set, char *err, size_t errlen)
{
	int i;

	if (nspecs == 0) {
		snprintf(err, errlen, "no socket handed over by systemd and "
		    "no -p/--port or -l/--listen given");
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < nspecs; i++)
		if (listen_bind_spec(&specs[i], set, err, errlen) == -1) {
			listen_close(set);
			return -1;
		}
	return 0;
}

/*
 * Fills set with the sockets to serve: systemd's, else the ones bound
 * here.  Returns -1 with a message in err when nothing was handed over
 * and nothing could be bound.
 */
int
listen_open(const struct listen_spec *specs, int nspecs,
    struct listen_set *set, char *err, size_t errlen)
{
	if (listen_activated(set, err, errlen) == -1)
		return -1;
	if (set->nfds > 0)
		return 0;
	return listen_bind(specs, nspecs, set, err, errlen);
}

void
listen_close(struct listen_set *set)
{
	int i;

	for (i = 0; i < set->nfds; i++)
		close(set->fds[i]);
	set->nfds = 0;
}
