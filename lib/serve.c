/* SPDX-License-Identifier: ISC */
/*
 * The start-up every daemon shares, after its options and after it has
 * read what only root may read: the listening sockets (from systemd,
 * from a predecessor's hand-over, or bound), the event base with its
 * signals, the server on top, and, when started as root, the drop to
 * an unprivileged user (--user) before anyone is served.  Failures
 * exit with the sysexits code that says why.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sysexits.h>
#include <unistd.h>

#include "handover.h"
#include "life.h"
#include "log.h"
#include "privs.h"
#include "serve.h"

static int	serve_who(const struct cli_common *, struct privs_user *);

/*
 * Whom to become once listening: started as root, --user or the
 * daemon's default (1); otherwise nobody else (0), as long as --user,
 * if given, names the user we already are.  Exits 78 for an unknown
 * user or root, 77 for another user when not started as root.
 */
static int
serve_who(const struct cli_common *cli, struct privs_user *who)
{
	char err[256];

	if (!cli->user_given && geteuid() != 0)
		return 0;
	if (privs_lookup(cli->user, who, err, sizeof(err)) == -1)
		fatalx(EX_CONFIG, "--user: %s", err);
	if (geteuid() == 0)
		return 1;
	if (who->uid != geteuid() || who->gid != getegid())
		fatalx(EX_NOPERM, "--user %s: only a daemon started as root can "
		    "change its user", cli->user);
	return 0;
}

/*
 * Returns the running server and its base; never returns on failure:
 * nothing to listen on is a usage error (64), a socket that cannot be
 * bound is unavailable (69), a --user that cannot be (78, 77), the rest
 * an OS error (71).  A predecessor's clients wait for handover_adopt(),
 * once the daemon has read its blob.
 */
struct server *
serve_open(const struct cli_common *cli, const struct server_ops *ops,
    struct server_limits *limits, void *arg, struct event_base **basep,
    struct listen_set *set)
{
	struct privs_user who;
	struct server *srv;
	char err[512];
	int drop;

	drop = serve_who(cli, &who);
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
	if (drop) {
		if (privs_drop(&who, err, sizeof(err)) == -1)
			fatalx(EX_OSERR, "cannot drop root: %s", err);
		log_info("running as %s (uid %lu, gid %lu)", who.name,
		    (unsigned long)who.uid, (unsigned long)who.gid);
	}
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
