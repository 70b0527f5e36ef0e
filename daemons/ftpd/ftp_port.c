/* SPDX-License-Identifier: ISC */
/*
 * PORT and EPRT arguments (RFC 959, RFC 2428) into socket addresses.
 * Parsing only: whether the address may be used is the caller's call.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <string.h>

#include "ftp_port.h"
#include "numparse.h"

/*
 * Parses PORT's "h1,h2,h3,h4,p1,p2" (each 0-255).  -1 on any other text.
 */
int
ftp_port_parse(const char *arg, struct sockaddr_in *sin)
{
	unsigned long v[6];
	char num[4];
	const char *p = arg;
	size_t n;
	int i;

	for (i = 0; i < 6; i++) {
		n = strspn(p, "0123456789");
		if (n == 0 || n >= sizeof(num))
			return -1;
		memcpy(num, p, n);
		num[n] = '\0';
		if (parse_ulong(num, 0, 255, &v[i]) == -1)
			return -1;
		p += n;
		if (i < 5 && *p++ != ',')
			return -1;
	}
	if (*p != '\0')
		return -1;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl((uint32_t)(v[0] << 24 | v[1] << 16 |
	    v[2] << 8 | v[3]));
	sin->sin_port = htons((unsigned short)(v[4] << 8 | v[5]));
	return 0;
}

/*
 * Parses EPRT's "<d><af><d><addr><d><port><d>" (RFC 2428), d being any
 * printable delimiter.  -1 EINVAL on bad text, -1 EAFNOSUPPORT for an af
 * other than 1 (IPv4) or 2 (IPv6).
 */
int
ftp_port_parse_eprt(const char *arg, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char d, fields[3][64];
	const char *p, *q;
	unsigned long port;
	size_t n;
	int i;

	d = arg[0];
	if (d < 33 || d > 126 || (d >= '0' && d <= '9'))
		goto bad;
	p = arg + 1;
	for (i = 0; i < 3; i++) {
		if ((q = strchr(p, d)) == NULL)
			goto bad;
		n = (size_t)(q - p);
		if (n == 0 || n >= sizeof(fields[i]))
			goto bad;
		memcpy(fields[i], p, n);
		fields[i][n] = '\0';
		p = q + 1;
	}
	if (*p != '\0' || parse_ulong(fields[2], 1, 65535, &port) == -1)
		goto bad;
	memset(ss, 0, sizeof(*ss));
	if (strcmp(fields[0], "1") == 0) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		if (inet_pton(AF_INET, fields[1], &sin->sin_addr) != 1)
			goto bad;
		*len = sizeof(*sin);
	} else if (strcmp(fields[0], "2") == 0) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		if (inet_pton(AF_INET6, fields[1], &sin6->sin6_addr) != 1)
			goto bad;
		*len = sizeof(*sin6);
	} else {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return 0;
bad:
	errno = EINVAL;
	return -1;
}
