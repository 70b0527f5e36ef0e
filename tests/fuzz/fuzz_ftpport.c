/* SPDX-License-Identifier: ISC */
/*
 * PORT and EPRT arguments (ftp_port_parse(), ftp_port_parse_eprt()),
 * checked against what the RFCs allow: PORT is six decimal numbers
 * 0-255 separated by commas and nothing else; EPRT is
 * <d>1|2<d>address<d>port<d> with a printable non-digit delimiter, an
 * address of its family and a port 1-65535.  Whatever parses gives back
 * an address and port that match the text.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <string.h>

#include "ftp_port.h"
#include "fuzz.h"

static int	fuzz_port_model(const char *, unsigned *);
static void	fuzz_eprt_check(const char *, const struct sockaddr_storage *,
		    socklen_t);

/* PORT by the letter: six fields of 1-3 digits, each at most 255. */
static int
fuzz_port_model(const char *s, unsigned *v)
{
	int i, n;

	for (i = 0; i < 6; i++) {
		v[i] = 0;
		for (n = 0; s[n] >= '0' && s[n] <= '9'; n++)
			v[i] = v[i] * 10 + (unsigned)(s[n] - '0');
		if (n == 0 || n > 3 || v[i] > 255)
			return -1;
		s += n;
		if (i < 5 && *s++ != ',')
			return -1;
	}
	return *s == '\0' ? 0 : -1;
}

static void
fuzz_eprt_check(const char *s, const struct sockaddr_storage *ss,
    socklen_t len)
{
	char d = s[0], want[80], got[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	const char *f1, *f2, *f3;
	unsigned port;

	FUZZ_CHECK(d >= 33 && d <= 126 && !(d >= '0' && d <= '9'));
	FUZZ_CHECK(s[strlen(s) - 1] == d);
	f1 = s + 1;
	FUZZ_CHECK((f2 = strchr(f1, d)) != NULL);
	f2++;
	FUZZ_CHECK((f3 = strchr(f2, d)) != NULL);
	f3++;
	FUZZ_CHECK((size_t)(strchr(f2, d) - f2) < sizeof(want));
	memcpy(want, f2, (size_t)(strchr(f2, d) - f2));
	want[strchr(f2, d) - f2] = '\0';
	if (ss->ss_family == AF_INET) {
		FUZZ_CHECK(len == sizeof(*sin));
		FUZZ_CHECK(f1[0] == '1' && f1[1] == d);
		port = ntohs(sin->sin_port);
		FUZZ_CHECK(inet_ntop(AF_INET, &sin->sin_addr, got,
		    sizeof(got)) != NULL);
		/* inet_pton takes only dotted quads: the text is canonical. */
		FUZZ_CHECK(strcmp(got, want) == 0);
	} else {
		FUZZ_CHECK(ss->ss_family == AF_INET6);
		FUZZ_CHECK(len == sizeof(*sin6));
		FUZZ_CHECK(f1[0] == '2' && f1[1] == d);
		port = ntohs(sin6->sin6_port);
		FUZZ_CHECK(inet_pton(AF_INET6, want, got) == 1);
		FUZZ_CHECK(memcmp(got, &sin6->sin6_addr, 16) == 0);
	}
	FUZZ_CHECK(port >= 1 && port <= 65535);
	FUZZ_CHECK((unsigned)strtoul(f3, NULL, 10) == port);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	socklen_t len;
	unsigned v[6];
	char *s;
	int rc, mrc;

	/* A command argument: NUL-terminated, no NUL inside. */
	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';

	rc = ftp_port_parse(s, &sin);
	mrc = fuzz_port_model(s, v);
	FUZZ_CHECK(rc == mrc);
	if (rc == 0) {
		FUZZ_CHECK(sin.sin_family == AF_INET);
		FUZZ_CHECK(ntohl(sin.sin_addr.s_addr) == (v[0] << 24 |
		    v[1] << 16 | v[2] << 8 | v[3]));
		FUZZ_CHECK(ntohs(sin.sin_port) == (v[4] << 8 | v[5]));
	}

	len = 0;
	errno = 0;
	if (size > 0 && ftp_port_parse_eprt(s, &ss, &len) == 0)
		fuzz_eprt_check(s, &ss, len);
	else if (size > 0)
		FUZZ_CHECK(errno == EINVAL || errno == EAFNOSUPPORT);
	free(s);
	return 0;
}
