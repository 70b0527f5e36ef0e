/* SPDX-License-Identifier: ISC */
/*
 * clockwork-ftpd-passwd: manages the users file of clockwork-ftpd
 * (--users).  add, del, passwd and list; the password is read from
 * standard input (without echo on a terminal); the file is rewritten
 * atomically.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ftp_users.h"

#define PASSWD_DEFAULT_FILE	SYSCONFDIR "/clockwork/ftpd.users"

static void	usage(int) __attribute__((noreturn));
static char	*read_password(void);

static const char *prog = "clockwork-ftpd-passwd";

static void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "Usage: %s [-f FILE] add NAME HOME [rw|ro]\n"
	    "       %s [-f FILE] passwd NAME\n"
	    "       %s [-f FILE] del NAME\n"
	    "       %s [-f FILE] list\n"
	    "Manage the users of clockwork-ftpd (--users FILE).  The password\n"
	    "is read from standard input.\n"
	    "\n"
	    "  -f, --file FILE   the users file (default %s)\n"
	    "  -h, --help        show this help and exit\n"
	    "      --version     show the version and exit\n",
	    prog, prog, prog, prog, PASSWD_DEFAULT_FILE);
	exit(code);
}

/* One line from stdin, without echo when it is a terminal. */
static char *
read_password(void)
{
	char *line = NULL, *p;
	size_t cap = 0;
	ssize_t n;

	if (isatty(STDIN_FILENO)) {
		if ((p = getpass("Password: ")) == NULL)
			return NULL;
		return strdup(p);
	}
	if ((n = getline(&line, &cap, stdin)) <= 0) {
		free(line);
		return NULL;
	}
	if (line[n - 1] == '\n')
		line[n - 1] = '\0';
	return line;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "file",	required_argument, NULL, 'f' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ "version",	no_argument,	   NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *file = PASSWD_DEFAULT_FILE, *verb;
	struct ftp_users us;
	struct ftp_user *u = NULL, nu;
	char err[512], *pw, *hash;
	size_t i;
	int ch;

	while ((ch = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			file = optarg;
			break;
		case 'h':
			usage(EX_OK);
		case 'V':
			printf("%s (%s) %s\n", prog, PACKAGE_NAME,
			    PACKAGE_VERSION);
			return EX_OK;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage(EX_USAGE);
	verb = argv[0];
	if (ftp_users_load(file, &us, err, sizeof(err)) == -1) {
		if (errno != ENOENT || strcmp(verb, "add") != 0) {
			fprintf(stderr, "%s: %s\n", prog, err);
			return errno == ENOENT ? EX_NOINPUT : EX_CONFIG;
		}
		memset(&us, 0, sizeof(us));
	}
	if (strcmp(verb, "list") == 0 && argc == 1) {
		for (i = 0; i < us.n; i++)
			printf("%s %s %s\n", us.users[i].name,
			    us.users[i].home, us.users[i].rw ? "rw" : "ro");
		ftp_users_free(&us);
		return EX_OK;
	}
	if (argc < 2)
		usage(EX_USAGE);
	if (!ftp_users_name_ok(argv[1])) {
		fprintf(stderr, "%s: bad name '%s' (letters, digits, . _ -)\n",
		    prog, argv[1]);
		return EX_DATAERR;
	}
	for (i = 0; i < us.n; i++)
		if (strcmp(us.users[i].name, argv[1]) == 0)
			u = &us.users[i];
	if (strcmp(verb, "del") == 0 && argc == 2) {
		if (u == NULL) {
			fprintf(stderr, "%s: no user %s\n", prog, argv[1]);
			return EX_NOUSER;
		}
		ftp_user_free(u);
		memmove(u, u + 1, (size_t)(&us.users[us.n] - (u + 1)) *
		    sizeof(*u));
		us.n--;
	} else if ((strcmp(verb, "add") == 0 && (argc == 3 || (argc == 4 &&
	    (strcmp(argv[3], "rw") == 0 || strcmp(argv[3], "ro") == 0)))) ||
	    (strcmp(verb, "passwd") == 0 && argc == 2)) {
		if (verb[0] == 'a' && u != NULL) {
			fprintf(stderr, "%s: %s exists\n", prog, argv[1]);
			return EX_DATAERR;
		}
		if (verb[0] == 'p' && u == NULL) {
			fprintf(stderr, "%s: no user %s\n", prog, argv[1]);
			return EX_NOUSER;
		}
		if (verb[0] == 'a' && (argv[2][0] != '/' ||
		    strchr(argv[2], ':') != NULL ||
		    strchr(argv[2], '\n') != NULL)) {
			fprintf(stderr, "%s: the home must be an absolute "
			    "path without ':'\n", prog);
			return EX_DATAERR;
		}
		if ((pw = read_password()) == NULL || *pw == '\0') {
			fprintf(stderr, "%s: no password given\n", prog);
			return EX_DATAERR;
		}
		hash = ftp_users_hash(pw);
		explicit_bzero(pw, strlen(pw));
		free(pw);
		if (hash == NULL) {
			fprintf(stderr, "%s: cannot hash the password\n", prog);
			return EX_SOFTWARE;
		}
		if (u != NULL) {
			free(u->hash);
			u->hash = hash;
		} else {
			memset(&nu, 0, sizeof(nu));
			nu.name = strdup(argv[1]);
			nu.home = strdup(argv[2]);
			nu.hash = hash;
			nu.rw = argc == 4 && strcmp(argv[3], "rw") == 0;
			u = reallocarray(us.users, us.n + 1, sizeof(*u));
			if (u == NULL || nu.name == NULL || nu.home == NULL) {
				fprintf(stderr, "%s: out of memory\n", prog);
				return EX_OSERR;
			}
			us.users = u;
			us.users[us.n++] = nu;
		}
	} else
		usage(EX_USAGE);
	if (ftp_users_save(file, &us) == -1) {
		fprintf(stderr, "%s: %s: %s\n", prog, file, strerror(errno));
		ftp_users_free(&us);
		return EX_CANTCREAT;
	}
	ftp_users_free(&us);
	return EX_OK;
}
