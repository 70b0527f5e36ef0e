/* SPDX-License-Identifier: ISC */
/*
 * Listen addresses from the command line: addr_split_hostport() and
 * listen_spec_parse() / listen_spec_port() on arbitrary text (which
 * clockwall also feeds with NAME=HOST:PORT parts), and addr_format() on
 * arbitrary socket addresses.  A split must give back exactly the text it
 * came from.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <string.h>

#include "addr.h"
#include "fuzz.h"
#include "listen.h"

static void	fuzz_split(const char *, size_t, size_t);
static void	fuzz_format(const uint8_t *, size_t);

/* One split with host and port buffers of exactly hcap and pcap bytes. */
static void
fuzz_split(const char *s, size_t hcap, size_t pcap)
{
	char *host, *port, *again;
	size_t hlen, need;

	if ((host = malloc(hcap)) == NULL || (port = malloc(pcap)) == NULL)
		abort();
	if (addr_split_hostport(s, host, hcap, port, pcap) == 0) {
		hlen = strlen(host);
		FUZZ_CHECK(hlen < hcap);
		FUZZ_CHECK(strlen(port) < pcap);
		FUZZ_CHECK(port[0] != '\0');
		need = hlen + strlen(port) + 4;
		if ((again = malloc(need)) == NULL)
			abort();
		if (s[0] == '[')
			snprintf(again, need, "[%s]:%s", host, port);
		else {
			FUZZ_CHECK(strchr(host, ':') == NULL);
			snprintf(again, need, "%s:%s", host, port);
		}
		FUZZ_CHECK(strcmp(again, s) == 0);
		free(again);
	}
	free(host);
	free(port);
}

/* Any bytes as a socket address of any family must format safely. */
static void
fuzz_format(const uint8_t *data, size_t size)
{
	struct sockaddr_storage ss;
	char buf[ADDR_STRLEN];
	unsigned port;

	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, data, size < sizeof(ss) ? size : sizeof(ss));
	if (size > 0)
		ss.ss_family = data[0] & 1 ? AF_INET6 : AF_INET;
	if (addr_format((struct sockaddr *)&ss, buf, sizeof(buf), &port) == 0) {
		FUZZ_CHECK(strlen(buf) < sizeof(buf));
		FUZZ_CHECK(port <= 65535);
		FUZZ_CHECK(addr_same_host((struct sockaddr *)&ss,
		    (struct sockaddr *)&ss));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct listen_spec spec;
	unsigned long port;
	char *s;

	/* Exact size plus the NUL, so that reads past the end are caught. */
	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';

	fuzz_split(s, sizeof(spec.host), sizeof(spec.port));
	fuzz_split(s, 1 + (size > 0 ? data[0] % 40 : 0),
	    1 + (size > 1 ? data[1] % 8 : 0));

	memset(&spec, 0xa5, sizeof(spec));
	if (listen_spec_parse(s, &spec) == 0) {
		FUZZ_CHECK(memchr(spec.host, '\0', sizeof(spec.host)) != NULL);
		FUZZ_CHECK(sscanf(spec.port, "%lu", &port) == 1);
		FUZZ_CHECK(port >= 1 && port <= 65535);
	}
	memset(&spec, 0xa5, sizeof(spec));
	if (listen_spec_port(s, &spec) == 0) {
		FUZZ_CHECK(spec.host[0] == '\0');
		FUZZ_CHECK(sscanf(spec.port, "%lu", &port) == 1);
		FUZZ_CHECK(port >= 1 && port <= 65535);
	}
	free(s);

	fuzz_format(data, size);
	return 0;
}
