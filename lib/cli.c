/* SPDX-License-Identifier: ISC */
/*
 * The command-line options every daemon shares: where to listen, how much
 * to log, how many clients, --version.  Bad values are usage errors (64).
 */
#include <sys/resource.h>

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "log.h"
#include "numparse.h"

static const char *cli_prog = "clockwork";

/*
 * Defaults: --max-clients stays below the descriptor limit, so that a
 * flood is refused politely instead of running into EMFILE.
 */
void
cli_init(struct cli_common *c, const char *argv0)
{
	const char *slash = strrchr(argv0, '/');
	struct rlimit rl;

	cli_prog = slash != NULL ? slash + 1 : argv0;
	memset(c, 0, sizeof(*c));
	c->max_clients = 1024;
	c->user = CLI_DEFAULT_USER;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur > 64 + CLI_RESERVED_FDS)
		c->max_clients = (unsigned long)rl.rlim_cur - CLI_RESERVED_FDS;
}

/*
 * A daemon's own default for --user, where that user exists (e.g.
 * clockwork-ftpd's "ftp"); otherwise the default stays.
 */
void
cli_default_user(struct cli_common *c, const char *name)
{
	if (!c->user_given && getpwnam(name) != NULL)
		c->user = name;
}

const char *
cli_progname(void)
{
	return cli_prog;
}

/* After getopt's own complaint: the hint, and exit 64. */
void
cli_usage_hint(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", cli_prog);
	exit(EX_USAGE);
}

/*
 * The book's programs take Go-style flags (-port 8000); getopt would read
 * "-port" as -p with the argument "ort".  Rewrite it to --port before
 * getopt sees it.
 */
void
cli_go_style(int argc, char **argv)
{
	static char dashport[] = "--port";
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-port") == 0)
			argv[i] = dashport;
		else if (strncmp(argv[i], "-port=", 6) == 0)
			/* "-port=N" becomes "-pN" in place. */
			memmove(argv[i] + 2, argv[i] + 6,
			    strlen(argv[i] + 6) + 1);
	}
}

/* Prints "prog: message" and a hint, and exits 64. */
void
cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", cli_prog);
	exit(EX_USAGE);
}

void
cli_version(void)
{
	printf("%s (%s) %s\n", cli_prog, PACKAGE_NAME, PACKAGE_VERSION);
	exit(EX_OK);
}

/*
 * Handles one of the shared options.  Returns 1 when ch was one of them,
 * 0 when it is the daemon's own; exits 64 on a bad value.
 */
int
cli_common_option(struct cli_common *c, int ch, const char *arg)
{
	switch (ch) {
	case 'l':
	case 'p':
		if (c->nlisten == LISTEN_MAX)
			cli_usage_error("at most %d listening addresses",
			    LISTEN_MAX);
		if (ch == 'p' ?
		    listen_spec_port(arg, &c->listen[c->nlisten]) == -1 :
		    listen_spec_parse(arg, &c->listen[c->nlisten]) == -1)
			cli_usage_error(ch == 'p' ? "bad port '%s' (1-65535)" :
			    "bad listen address '%s' (HOST:PORT or [V6]:PORT)",
			    arg);
		c->nlisten++;
		return 1;
	case 'q':
		c->verbosity = LOG_VERBOSITY_QUIET;
		return 1;
	case 'v':
		c->verbosity = LOG_VERBOSITY_DEBUG;
		return 1;
	case CLI_OPT_MAX_CLIENTS:
		if (parse_ulong(arg, 1, 1000000, &c->max_clients) == -1)
			cli_usage_error("bad --max-clients '%s' (1-1000000)",
			    arg);
		return 1;
	case CLI_OPT_USER:
		if (*arg == '\0')
			cli_usage_error("bad --user '' (a user name)");
		c->user = arg;
		c->user_given = 1;
		return 1;
	case CLI_OPT_VERSION:
		cli_version();
	default:
		return 0;
	}
}
