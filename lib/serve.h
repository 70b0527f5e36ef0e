/* SPDX-License-Identifier: ISC */
/* The start-up every daemon shares: sockets, event base, server. */
#ifndef CLOCKWORK_SERVE_H
#define CLOCKWORK_SERVE_H

#include "cli.h"
#include "listen.h"
#include "server.h"

struct server *serve_open(const struct cli_common *, const struct server_ops *,
	    struct server_limits *, void *, struct event_base **,
	    struct listen_set *);
void	serve_log_ready(const struct listen_set *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
