/* SPDX-License-Identifier: ISC */
/* Socket addresses as text, and text as socket addresses. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

/*
 * Writes the host part of sa (IPv4-mapped IPv6 shown as plain IPv4) to buf
 * and its port to *port.  Returns -1 for families without an address.
 */
int
addr_format(const struct sockaddr *sa, char *buf, size_t cap, unsigned *port)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	struct in_addr v4;

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		if (inet_ntop(AF_INET, &sin->sin_addr, buf, cap) == NULL)
			return -1;
		*port = ntohs(sin->sin_port);
		return 0;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(&v4, &sin6->sin6_addr.s6_addr[12], sizeof(v4));
			if (inet_ntop(AF_INET, &v4, buf, cap) == NULL)
				return -1;
		} else if (inet_ntop(AF_INET6, &sin6->sin6_addr, buf,
		    cap) == NULL)
			return -1;
		*port = ntohs(sin6->sin6_port);
		return 0;
	default:
		errno = EAFNOSUPPORT;
		return -1;
	}
}

/* Same host, whatever the ports and whether IPv4 is mapped into IPv6. */
int
addr_same_host(const struct sockaddr *a, const struct sockaddr *b)
{
	char ha[ADDR_STRLEN], hb[ADDR_STRLEN];
	unsigned pa, pb;

	if (addr_format(a, ha, sizeof(ha), &pa) == -1 ||
	    addr_format(b, hb, sizeof(hb), &pb) == -1)
		return 0;
	return strcmp(ha, hb) == 0;
}

/*
 * Splits "HOST:PORT", "[V6]:PORT" or ":PORT" (empty host) into its parts.
 * Returns -1 with errno EINVAL when the text has no such shape or a part
 * does not fit.
 */
int
addr_split_hostport(const char *s, char *host, size_t hcap, char *port,
    size_t pcap)
{
	const char *colon, *hstart, *hend;
	size_t hlen;

	if (s[0] == '[') {
		hstart = s + 1;
		if ((hend = strchr(hstart, ']')) == NULL || hend[1] != ':')
			goto bad;
		colon = hend + 1;
	} else {
		hstart = s;
		if ((colon = strrchr(s, ':')) == NULL)
			goto bad;
		hend = colon;
		/* A bare IPv6 address must be bracketed. */
		if (memchr(s, ':', (size_t)(colon - s)) != NULL)
			goto bad;
	}
	hlen = (size_t)(hend - hstart);
	if (hlen >= hcap || strlen(colon + 1) >= pcap || colon[1] == '\0')
		goto bad;
	memcpy(host, hstart, hlen);
	host[hlen] = '\0';
	strcpy(port, colon + 1);
	return 0;
bad:
	errno = EINVAL;
	return -1;
}
