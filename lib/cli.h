/* SPDX-License-Identifier: ISC */
/* The command-line options every daemon shares. */
#ifndef CLOCKWORK_CLI_H
#define CLOCKWORK_CLI_H

#include <getopt.h>

#include "listen.h"

enum {
	CLI_OPT_VERSION = 0x100,
	CLI_OPT_MAX_CLIENTS,
	CLI_OPT_USER,
	CLI_OPT_DAEMON_FIRST = 0x200	/* daemons number theirs from here */
};

#define CLI_COMMON_SHORTOPTS	"hl:p:qv"
#define CLI_COMMON_LONGOPTS						\
	{ "help",	 no_argument,	    NULL, 'h' },		\
	{ "listen",	 required_argument, NULL, 'l' },		\
	{ "max-clients", required_argument, NULL, CLI_OPT_MAX_CLIENTS }, \
	{ "port",	 required_argument, NULL, 'p' },		\
	{ "quiet",	 no_argument,	    NULL, 'q' },		\
	{ "user",	 required_argument, NULL, CLI_OPT_USER },	\
	{ "verbose",	 no_argument,	    NULL, 'v' },		\
	{ "version",	 no_argument,	    NULL, CLI_OPT_VERSION }

/* Lines for --help, after the daemon's own. */
#define CLI_COMMON_HELP							\
	"  -p, --port N          listen on port N, every address (also -port N)\n" \
	"  -l, --listen H:P      listen on HOST:PORT or [V6]:PORT; repeatable\n" \
	"      --max-clients N   serve at most N clients at once\n"	\
	"      --user NAME       started as root: serve as NAME once "	\
	"listening\n"							\
	"  -v, --verbose         log more (debug)\n"			\
	"  -q, --quiet           log only warnings and errors\n"	\
	"  -h, --help            show this help and exit\n"		\
	"      --version         show the version and exit\n"		\
	"\n"								\
	"Sockets handed over by systemd (LISTEN_FDS) are served instead of\n" \
	"-p/-l.  Exit status: 0 on a clean stop, 64 usage, 69/71 unavailable/\n" \
	"OS error, 78 configuration.\n"

/* Descriptors kept free for logs, timers and the daemon's own files. */
#define CLI_RESERVED_FDS	32

/* Whom a daemon started as root becomes, unless --user says otherwise. */
#define CLI_DEFAULT_USER	"nobody"

struct cli_common {
	struct listen_spec	 listen[LISTEN_MAX];
	int			 nlisten;
	int			 verbosity;
	unsigned long		 max_clients;
	const char		*user;		/* to become if root */
	int			 user_given;	/* --user, not the default */
};

void	cli_go_style(int, char **);
int	cli_common_option(struct cli_common *, int, const char *);
void	cli_usage_error(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	cli_version(void) __attribute__((noreturn));
void	cli_init(struct cli_common *, const char *);
void	cli_default_user(struct cli_common *, const char *);
void	cli_usage_hint(void) __attribute__((noreturn));
const char *cli_progname(void);

#endif
