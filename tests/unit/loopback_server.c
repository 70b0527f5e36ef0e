/* SPDX-License-Identifier: ISC */
/* Test fixture: a lib/server on a free 127.0.0.1 port, driven by hand. */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "listen.h"
#include "server.h"
#include "loopback_server.h"

/* A new base and a server listening with the given backlog; its address in *addr. */
struct server *
loopback_server_start(struct event_base **basep, const struct server_ops *ops,
    const struct server_limits *limits, struct sockaddr_in *addr, int backlog)
{
	struct listen_set set;
	struct server *srv;
	socklen_t len = sizeof(*addr);
	int fd;

	*basep = event_base_new();
	ck_assert_ptr_nonnull(*basep);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), 0);
	ck_assert_int_eq(listen(fd, backlog), 0);
	getsockname(fd, (struct sockaddr *)addr, &len);
	memset(&set, 0, sizeof(set));
	set.fds[0] = fd;
	set.nfds = 1;
	srv = server_new(*basep, &set, ops, limits, NULL);
	ck_assert_ptr_nonnull(srv);
	return srv;
}

/* Runs the loop for about ms milliseconds. */
void
loopback_spin(struct event_base *base, int ms)
{
	int i;

	for (i = 0; i < ms; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}
