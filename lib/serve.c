/* SPDX-License-Identifier: ISC */
/*
 * The start-up every daemon shares, after its options: the listening
 * sockets (from systemd, from a predecessor's hand-over, or bound), the
 * event base with its signals, and the server on top.  Failures exit
 * with the sysexits code that says why.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sysexits.h>

#include "handover.h"
#include "life.h"
#include "log.h"
#include "serve.h"

/*
 * Returns the running server and its base; never returns on failure:
 * nothing to listen on is a usage error (64), a socket that cannot be
 * bound is unavailable (69), the rest an OS error (71).  A predecessor's
 * clients wait for handover_adopt(), once the daemon has read its blob.
 */
struct server *
serve_open(const struct cli_common *cli, const struct server_ops *ops,
    struct server_limits *limits, void *arg, struct event_base **basep,
    struct listen_set *set)
{
	struct server *srv;
	char err[512];

	if (listen_activated(set, err, sizeof(err)) == -1)
		fatalx(EX_UNAVAILABLE, "%s", err);
	handover_receive(set, ops->handover != NULL ? ops->handover->name :
	    NULL);
	if (set->nfds == 0 && listen_bind(cli->listen, cli->nlisten, set, err,
	    sizeof(err)) == -1) {
		if (cli->nlisten == 0 && errno == EINVAL)
			cli_usage_error("%s", err);
		fatalx(EX_UNAVAILABLE, "%s", err);
	}
	if ((*basep = life_base_new()) == NULL)
		fatalx(EX_OSERR, "cannot create the event base");
	limits->max_clients = cli->max_clients;
	if ((srv = server_new(*basep, set, ops, limits, arg)) == NULL)
		fatalx(EX_OSERR, "cannot watch the listening sockets");
	return srv;
}

/* "serving 2 sockets from systemd, " and the daemon's own details. */
void
serve_log_ready(const struct listen_set *set, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	log_info("serving %d socket%s%s, %s", set->nfds,
	    set->nfds == 1 ? "" : "s", set->activated ? " from systemd" :
	    set->inherited ? " handed over" : "", what);
}
