/* SPDX-License-Identifier: ISC */
/* Test fixture: a lib/server on a free 127.0.0.1 port, driven by hand. */
#ifndef CLOCKWORK_TEST_LOOPBACK_SERVER_H
#define CLOCKWORK_TEST_LOOPBACK_SERVER_H

#include <netinet/in.h>

struct event_base;
struct server;
struct server_limits;
struct server_ops;

struct server *loopback_server_start(struct event_base **,
	    const struct server_ops *, const struct server_limits *,
	    struct sockaddr_in *, int);
void	loopback_spin(struct event_base *, int);

#endif
