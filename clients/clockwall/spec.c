/* SPDX-License-Identifier: ISC */
/*
 * Which clocks to show.  On the command line a clock is NAME=HOST:PORT, as
 * in the original exercise; without arguments the wall shows the clocks
 * configured on this host, one clock@PORT.env per clockd instance, named
 * after its TZ= (Asia/Tokyo is Tokyo, America/New_York is New York).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "numparse.h"
#include "spec.h"
#include "text.h"

static int	spec_host_ok(const char *);
static int	spec_cmp(const void *, const void *);
static int	spec_read_file(int, const char *, char *, size_t);

/*
 * A host is an IPv4 or bracketed IPv6 literal or a name of letters,
 * digits, '-', '_' and dots: anything else cannot be a host and is a
 * usage error before any resolver sees it.
 */
static int
spec_host_ok(const char *h)
{
	struct in6_addr a6;
	const char *p;

	if (inet_pton(AF_INET6, h, &a6) == 1)
		return 1;
	if (*h == '\0' || *h == '-' || *h == '.')
		return 0;
	for (p = h; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')
			continue;
		if (*p == '.' && p[1] != '.')
			continue;
		return 0;
	}
	return 1;
}

/*
 * Parses "NAME=HOST:PORT" (HOST may be [V6], or empty for localhost) into
 * sp.  On error returns -1 with a sentence for the user in err.
 */
int
spec_parse(const char *arg, struct spec *sp, int utf8, char *err,
    size_t errlen)
{
	const char *eq, *hp, *colon;
	unsigned long port;
	size_t namelen;
	char host[SPEC_HOST_MAX + 2];

	memset(sp, 0, sizeof(*sp));
	if ((eq = strchr(arg, '=')) == NULL) {
		snprintf(err, errlen, "'%s' is not NAME=HOST:PORT", arg);
		return -1;
	}
	namelen = (size_t)(eq - arg);
	hp = eq + 1;
	if (namelen == 0) {
		snprintf(err, errlen, "no name before '=' in '%s'", arg);
		return -1;
	}
	if (namelen >= SPEC_NAME_MAX) {
		snprintf(err, errlen, "name longer than %d bytes in '%s'",
		    SPEC_NAME_MAX - 1, arg);
		return -1;
	}
	/* Cleaning changes nothing in a printable name. */
	if (text_clean(sp->name, sizeof(sp->name), arg, namelen, utf8) !=
	    namelen || memcmp(sp->name, arg, namelen) != 0) {
		snprintf(err, errlen, "unprintable characters in the name "
		    "of '%s'", arg);
		return -1;
	}
	if (*hp == '\0') {
		snprintf(err, errlen, "no HOST:PORT after '=' in '%s'", arg);
		return -1;
	}
	colon = strrchr(hp, ':');
	if (colon == NULL || colon[1] == '\0' ||
	    (hp[0] == '[' && colon[-1] != ']')) {
		snprintf(err, errlen, "no port in '%s' (NAME=HOST:PORT)", arg);
		return -1;
	}
	if (hp[0] != '[' && memchr(hp, ':', (size_t)(colon - hp)) != NULL) {
		snprintf(err, errlen, "IPv6 address without brackets in '%s' "
		    "(NAME=[V6]:PORT)", arg);
		return -1;
	}
	if (addr_split_hostport(hp, host, sizeof(host), sp->port,
	    sizeof(sp->port)) == -1 || strlen(host) >= SPEC_HOST_MAX) {
		snprintf(err, errlen, "bad HOST:PORT in '%s'", arg);
		return -1;
	}
	if (parse_ulong(sp->port, 1, 65535, &port) == -1) {
		snprintf(err, errlen, "bad port '%s' in '%s' (1-65535)",
		    sp->port, arg);
		return -1;
	}
	if (host[0] == '\0')
		strcpy(host, "localhost");
	if (!spec_host_ok(host) || (hp[0] == '[' &&
	    strchr(host, ':') == NULL)) {
		snprintf(err, errlen, "bad host '%s' in '%s'", host, arg);
		return -1;
	}
	strcpy(sp->host, host);
	return 0;
}

/*
 * The name a zone shows on the wall: the last part of the TZ value, with
 * spaces for underscores ("America/New_York" is "New York", ":Asia/Tokyo"
 * is "Tokyo", "UTC" stays).  -1 when nothing is left.
 */
int
spec_zone_name(const char *tz, char *name, size_t cap, int utf8)
{
	const char *last;
	char *p;

	if (*tz == ':')
		tz++;
	if ((last = strrchr(tz, '/')) != NULL)
		tz = last + 1;
	if (*tz == '\0' || cap == 0)
		return -1;
	text_clean(name, cap, tz, strlen(tz), utf8);
	for (p = name; *p != '\0'; p++)
		if (*p == '_')
			*p = ' ';
	return 0;
}

/*
 * Finds TZ= in the text of an EnvironmentFile (NUL-terminated): comments
 * (# or ;) and blank lines skipped, the value optionally quoted, the last
 * assignment winning as in systemd.  1 found, 0 not there, -1 too long.
 */
int
spec_env_tz(const char *text, char *tz, size_t cap)
{
	const char *line, *end, *p, *v, *vend;
	int found = 0;
	size_t len;

	for (line = text; *line != '\0'; line = *end == '\0' ? end : end + 1) {
		if ((end = strchr(line, '\n')) == NULL)
			end = line + strlen(line);
		for (p = line; p < end && (*p == ' ' || *p == '\t'); p++)
			;
		if (p == end || *p == '#' || *p == ';')
			continue;
		if ((size_t)(end - p) < 3 || strncmp(p, "TZ", 2) != 0)
			continue;
		for (v = p + 2; v < end && (*v == ' ' || *v == '\t'); v++)
			;
		if (v == end || *v != '=')
			continue;
		for (v++; v < end && (*v == ' ' || *v == '\t'); v++)
			;
		vend = end;
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t' ||
		    vend[-1] == '\r'))
			vend--;
		if (vend - v >= 2 && (*v == '"' || *v == '\'') &&
		    vend[-1] == *v) {
			v++;
			vend--;
		}
		len = (size_t)(vend - v);
		if (len >= cap)
			return -1;
		memcpy(tz, v, len);
		tz[len] = '\0';
		found = 1;
	}
	return found;
}

/* Reads at most cap - 1 bytes of the file name in dirfd, NUL-terminated. */
static int
spec_read_file(int dirfd, const char *name, char *buf, size_t cap)
{
	ssize_t n;
	size_t len = 0;
	int fd;

	/* Symlinks are followed, as systemd does; a FIFO cannot block us. */
	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) ==
	    -1)
		return -1;
	while (len < cap - 1) {
		n = read(fd, buf + len, cap - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return 0;
}

static int
spec_cmp(const void *a, const void *b)
{
	const struct spec *sa = a, *sb = b;

	return atoi(sa->port) - atoi(sb->port);
}

/*
 * Reads the clocks configured in dir: one per clock@PORT.env, at
 * localhost:PORT, named after its TZ= (clock@PORT when it sets none),
 * sorted by port.  -1 with a sentence in err when dir cannot be read or
 * holds more than max.
 */
int
spec_config_read(const char *dir, struct spec *specs, size_t max,
    size_t *np, int utf8, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;
	unsigned long port;
	size_t n = 0, len;
	char portbuf[SPEC_PORT_MAX], tz[SPEC_HOST_MAX], *buf;
	int r;

	if ((buf = malloc(SPEC_ENV_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", dir,
		    strerror(errno));
		free(buf);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 10 || strncmp(de->d_name, "clock@", 6) != 0 ||
		    strcmp(de->d_name + len - 4, ".env") != 0 ||
		    len - 10 >= sizeof(portbuf))
			continue;
		memcpy(portbuf, de->d_name + 6, len - 10);
		portbuf[len - 10] = '\0';
		if (parse_ulong(portbuf, 1, 65535, &port) == -1)
			continue;
		if (n == max) {
			snprintf(err, errlen, "more than %zu clocks in %s",
			    max, dir);
			closedir(d);
			free(buf);
			return -1;
		}
		memset(&specs[n], 0, sizeof(specs[n]));
		snprintf(specs[n].port, sizeof(specs[n].port), "%lu", port);
		strcpy(specs[n].host, "localhost");
		r = -1;
		if (spec_read_file(dirfd(d), de->d_name, buf,
		    SPEC_ENV_MAX) == -1)
			log_warn("%s/%s", dir, de->d_name);
		else if ((r = spec_env_tz(buf, tz, sizeof(tz))) == -1)
			log_warnx("%s/%s: TZ= too long", dir, de->d_name);
		if (r != 1 || spec_zone_name(tz, specs[n].name,
		    sizeof(specs[n].name), utf8) == -1)
			snprintf(specs[n].name, sizeof(specs[n].name),
			    "clock@%lu", port);
		n++;
	}
	closedir(d);
	free(buf);
	qsort(specs, n, sizeof(specs[0]), spec_cmp);
	*np = n;
	return 0;
}

/* What a clock's host is looked up with: TCP, either family. */
void
spec_hints(struct addrinfo *hints)
{
	memset(hints, 0, sizeof(*hints));
	hints->ai_family = AF_UNSPEC;
	hints->ai_socktype = SOCK_STREAM;
	hints->ai_flags = AI_NUMERICSERV;
}

/* Whether a getaddrinfo() error says the name does not exist. */
int
spec_unknown_host(int gai_error)
{
	switch (gai_error) {
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
	case EAI_ADDRFAMILY:
#endif
		return 1;
	default:
		return 0;
	}
}

/*
 * Whether host always means the same addresses: an address, or
 * "localhost", which is the loopback (RFC 6761).  Such a host is not
 * looked up again before a reconnection.
 */
int
spec_host_fixed(const char *host)
{
	struct in6_addr a;

	return inet_pton(AF_INET, host, &a) == 1 ||
	    inet_pton(AF_INET6, host, &a) == 1 ||
	    strcasecmp(host, "localhost") == 0;
}

/*
 * Resolves the clock's host at start.  The result says whether the name
 * is unknown (a usage error) or the resolver failed (unavailable).
 * "localhost" is the loopback even where no resolver says so (a minimal
 * system without /etc/hosts).
 */
enum spec_resolve_result
spec_resolve(const struct spec *sp, struct addrinfo **res, char *err,
    size_t errlen)
{
	struct addrinfo hints;
	int r;

	spec_hints(&hints);
	if ((r = getaddrinfo(sp->host, sp->port, &hints, res)) == 0)
		return SPEC_RESOLVED;
	if (strcasecmp(sp->host, "localhost") == 0 &&
	    getaddrinfo(NULL, sp->port, &hints, res) == 0)
		return SPEC_RESOLVED;
	snprintf(err, errlen, "%s: cannot resolve '%s': %s", sp->name,
	    sp->host, gai_strerror(r));
	return spec_unknown_host(r) ? SPEC_UNKNOWN_HOST : SPEC_RESOLVE_FAILED;
}
