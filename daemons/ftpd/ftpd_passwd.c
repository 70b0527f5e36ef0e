/* SPDX-License-Identifier: ISC */
/*
 * clockwork-ftpd-passwd: manages the users file of clockwork-ftpd
 * (--users).  add, del, passwd and list; the password is read from
 * standard input (without echo on a terminal); the file is rewritten
 * atomically, keeping its mode and owners.  add makes the user's home
 * when it is missing, owned by the service's user (clockwork-ftp), so
 * that the packaged unit can write there.  A running clockwork-ftpd
 * reads the file again on SIGHUP (systemctl reload clockwork-ftpd).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ftp_users.h"

#define PASSWD_DEFAULT_FILE	SYSCONFDIR "/clockwork/ftpd.users"
#define PASSWD_HOME_MODE	0750	/* the service's user and group */
#define PASSWD_HOMES_MODE	0755	/* FTP_USERS_HOMES itself */

enum {
	OPT_HOME = 0x100,
	OPT_OWNER,
	OPT_RO,
	OPT_RW,
	OPT_VERSION,
};

/* The command line: the file, and add's options. */
struct passwd_opts {
	const char	*file;
	const char	*home;		/* --home, or the old HOME argument */
	const char	*owner;		/* --owner, or FTP_USERS_OWNER */
	int		 rw;		/* --rw (1), --ro (0) */
};

static void	usage(int) __attribute__((noreturn));
static void	passwd_options(int, char **, struct passwd_opts *);
static int	passwd_add(struct passwd_opts *, int, char **);
static int	passwd_add_args(struct passwd_opts *, int, char **, char *,
		    size_t);
static int	passwd_del(struct passwd_opts *, int, char **);
static int	passwd_passwd(struct passwd_opts *, int, char **);
static int	passwd_list(struct passwd_opts *, int, char **);
static int	passwd_load(const char *, struct ftp_users *, int);
static int	passwd_load_user(const char *, const char *, struct ftp_users *,
		    struct ftp_user **);
static int	passwd_save(const char *, struct ftp_users *);
static int	passwd_name(const char *);
static struct ftp_user *passwd_find(struct ftp_users *, const char *);
static char	*passwd_hash(void);
static char	*read_password(void);
static int	passwd_home(const char *, const char *, int);
static int	passwd_mkdir(const char *, mode_t, const struct passwd *);

static const char *prog = "clockwork-ftpd-passwd";

static void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "Usage: %s [-f FILE] add NAME [--home DIR] [--rw] [--owner USER]\n"
	    "       %s [-f FILE] passwd NAME\n"
	    "       %s [-f FILE] del NAME\n"
	    "       %s [-f FILE] list\n"
	    "Manage the users of clockwork-ftpd (--users FILE).  The password\n"
	    "is read from standard input.  Then: systemctl reload "
	    "clockwork-ftpd\n"
	    "\n"
	    "  -f, --file FILE   the users file (default %s)\n"
	    "      --home DIR    add: the user's home (default %s/NAME),\n"
	    "                    made if missing\n"
	    "      --rw          add: the user may write (default read-only)\n"
	    "      --owner USER  add: owner of a new home (default %s)\n"
	    "  -h, --help        show this help and exit\n"
	    "      --version     show the version and exit\n",
	    prog, prog, prog, prog, PASSWD_DEFAULT_FILE, FTP_USERS_HOMES,
	    FTP_USERS_OWNER);
	exit(code);
}

/* Options anywhere on the line (getopt permutes); operands stay. */
static void
passwd_options(int argc, char **argv, struct passwd_opts *o)
{
	static const struct option longopts[] = {
		{ "file",	required_argument, NULL, 'f' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ "home",	required_argument, NULL, OPT_HOME },
		{ "owner",	required_argument, NULL, OPT_OWNER },
		{ "ro",		no_argument,	   NULL, OPT_RO },
		{ "rw",		no_argument,	   NULL, OPT_RW },
		{ "version",	no_argument,	   NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->file = PASSWD_DEFAULT_FILE;
	o->rw = -1;
	while ((ch = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o->file = optarg;
			break;
		case 'h':
			usage(EX_OK);
		case OPT_HOME:
			o->home = optarg;
			break;
		case OPT_OWNER:
			o->owner = optarg;
			break;
		case OPT_RO:
			o->rw = 0;
			break;
		case OPT_RW:
			o->rw = 1;
			break;
		case OPT_VERSION:
			printf("%s (%s) %s\n", prog, PACKAGE_NAME,
			    PACKAGE_VERSION);
			exit(EX_OK);
		default:
			usage(EX_USAGE);
		}
	}
}

int
main(int argc, char **argv)
{
	static const struct {
		const char	*verb;
		int		(*run)(struct passwd_opts *, int, char **);
	} verbs[] = {
		{ "add", passwd_add },
		{ "del", passwd_del },
		{ "list", passwd_list },
		{ "passwd", passwd_passwd },
	};
	struct passwd_opts o;
	size_t i;

	passwd_options(argc, argv, &o);
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage(EX_USAGE);
	if (strcmp(argv[0], "add") != 0 && (o.home != NULL || o.rw != -1 ||
	    o.owner != NULL))
		usage(EX_USAGE);
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[0], verbs[i].verb) == 0)
			return verbs[i].run(&o, argc - 1, argv + 1);
	usage(EX_USAGE);
}

/*
 * add's operands: NAME [--home DIR] [--rw], or the older NAME HOME
 * [rw|ro]; the home, absolute, into home.  EX_OK or why not.
 */
static int
passwd_add_args(struct passwd_opts *o, int argc, char **argv, char *home,
    size_t cap)
{
	int n;

	if (argc == 3 && o->rw == -1 && (strcmp(argv[2], "rw") == 0 ||
	    strcmp(argv[2], "ro") == 0)) {
		o->rw = argv[2][1] == 'w';
		argc--;
	}
	if (argc == 2 && o->home == NULL)
		o->home = argv[1];
	else if (argc != 1)
		usage(EX_USAGE);
	if (!passwd_name(argv[0]))
		return EX_DATAERR;
	if (o->home == NULL)
		n = snprintf(home, cap, "%s/%s", FTP_USERS_HOMES, argv[0]);
	else
		n = snprintf(home, cap, "%s", o->home);
	if (n < 0 || (size_t)n >= cap || home[0] != '/' ||
	    strpbrk(home, ":\n") != NULL) {
		fprintf(stderr, "%s: the home must be an absolute path without "
		    "':'\n", prog);
		return EX_DATAERR;
	}
	return EX_OK;
}

/*
 * add: the user, with a password from stdin.  The home is made first: a
 * user is never listed without one.
 */
static int
passwd_add(struct passwd_opts *o, int argc, char **argv)
{
	struct ftp_users us;
	struct ftp_user nu, *grown;
	char home[4096];
	int r;

	if ((r = passwd_add_args(o, argc, argv, home, sizeof(home))) !=
	    EX_OK || (r = passwd_load(o->file, &us, 1)) != EX_OK)
		return r;
	memset(&nu, 0, sizeof(nu));
	nu.rw = o->rw == 1;
	if (passwd_find(&us, argv[0]) != NULL) {
		fprintf(stderr, "%s: %s exists\n", prog, argv[0]);
		r = EX_DATAERR;
	} else if ((nu.hash = passwd_hash()) == NULL)
		r = EX_DATAERR;
	else
		r = passwd_home(home, o->owner, o->home == NULL);
	if (r != EX_OK) {
		free(nu.hash);
		ftp_users_free(&us);
		return r;
	}
	nu.name = strdup(argv[0]);
	nu.home = strdup(home);
	grown = reallocarray(us.users, us.n + 1, sizeof(*grown));
	if (grown == NULL || nu.name == NULL || nu.home == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(EX_OSERR);
	}
	us.users = grown;
	us.users[us.n++] = nu;
	return passwd_save(o->file, &us);
}

/* del NAME: the user goes, the home and its files stay. */
static int
passwd_del(struct passwd_opts *o, int argc, char **argv)
{
	struct ftp_users us;
	struct ftp_user *u;
	int r;

	if (argc != 1)
		usage(EX_USAGE);
	if ((r = passwd_load_user(o->file, argv[0], &us, &u)) != EX_OK)
		return r;
	ftp_user_free(u);
	memmove(u, u + 1, (size_t)(&us.users[us.n] - (u + 1)) * sizeof(*u));
	us.n--;
	return passwd_save(o->file, &us);
}

/* passwd NAME: a new password, the rest unchanged. */
static int
passwd_passwd(struct passwd_opts *o, int argc, char **argv)
{
	struct ftp_users us;
	struct ftp_user *u;
	char *hash;
	int r;

	if (argc != 1)
		usage(EX_USAGE);
	if ((r = passwd_load_user(o->file, argv[0], &us, &u)) != EX_OK)
		return r;
	if ((hash = passwd_hash()) == NULL) {
		ftp_users_free(&us);
		return EX_DATAERR;
	}
	free(u->hash);
	u->hash = hash;
	return passwd_save(o->file, &us);
}

/* list: name, home and access, one user a line. */
static int
passwd_list(struct passwd_opts *o, int argc, char **argv)
{
	struct ftp_users us;
	size_t i;
	int r;

	if (argc != 0)
		usage(EX_USAGE);
	if ((r = passwd_load(o->file, &us, 0)) != EX_OK)
		return r;
	for (i = 0; i < us.n; i++)
		printf("%s %s %s\n", us.users[i].name, us.users[i].home,
		    us.users[i].rw ? "rw" : "ro");
	ftp_users_free(&us);
	return EX_OK;
}

/* The file into us; a missing one is empty when missing_ok. */
static int
passwd_load(const char *file, struct ftp_users *us, int missing_ok)
{
	char err[512];

	if (ftp_users_load(file, us, err, sizeof(err)) == 0)
		return EX_OK;
	if (errno == ENOENT && missing_ok) {
		memset(us, 0, sizeof(*us));
		return EX_OK;
	}
	fprintf(stderr, "%s: %s\n", prog, err);
	return errno == ENOENT ? EX_NOINPUT : EX_CONFIG;
}

/*
 * us into the file, then frees us.  An existing file keeps its mode and
 * owners; a new one is for root and the service's group (0640) when
 * that group exists and we are root, else for us alone (0600).
 */
static int
passwd_save(const char *file, struct ftp_users *us)
{
	struct stat st;
	struct group *gr;
	mode_t mode = 0600;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int r = EX_OK;

	if (stat(file, &st) == 0) {
		mode = st.st_mode & 07777;
		if (st.st_uid != geteuid())
			uid = st.st_uid;
		if (st.st_gid != getegid())
			gid = st.st_gid;
	} else if (geteuid() == 0 && (gr = getgrnam(FTP_USERS_OWNER)) !=
	    NULL) {
		mode = 0640;
		gid = gr->gr_gid;
	}
	if (ftp_users_save(file, us, mode, uid, gid) == -1) {
		fprintf(stderr, "%s: %s: %s\n", prog, file, strerror(errno));
		r = EX_CANTCREAT;
	}
	ftp_users_free(us);
	return r;
}

/* The file into us, and name's entry in *up; us is freed on failure. */
static int
passwd_load_user(const char *file, const char *name, struct ftp_users *us,
    struct ftp_user **up)
{
	int r;

	if (!passwd_name(name))
		return EX_DATAERR;
	if ((r = passwd_load(file, us, 0)) != EX_OK)
		return r;
	if ((*up = passwd_find(us, name)) == NULL) {
		fprintf(stderr, "%s: no user %s\n", prog, name);
		ftp_users_free(us);
		return EX_NOUSER;
	}
	return EX_OK;
}

static int
passwd_name(const char *name)
{
	if (ftp_users_name_ok(name))
		return 1;
	fprintf(stderr, "%s: bad name '%s' (letters, digits, . _ -)\n", prog,
	    name);
	return 0;
}

static struct ftp_user *
passwd_find(struct ftp_users *us, const char *name)
{
	return (struct ftp_user *)ftp_users_find(us, name);
}

/* The password from stdin, hashed; NULL (said why) when there is none. */
static char *
passwd_hash(void)
{
	char *pw, *hash;

	if ((pw = read_password()) == NULL || *pw == '\0') {
		free(pw);
		fprintf(stderr, "%s: no password given\n", prog);
		return NULL;
	}
	hash = ftp_users_hash(pw);
	explicit_bzero(pw, strlen(pw));
	free(pw);
	if (hash == NULL)
		fprintf(stderr, "%s: cannot hash the password\n", prog);
	return hash;
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

/*
 * The home, made when missing (and FTP_USERS_HOMES first, for a default
 * home).  As root, a new home goes to owner, by default the service's
 * user when it exists; otherwise it is ours.  An existing home is left as
 * it is.
 */
static int
passwd_home(const char *home, const char *owner, int is_default)
{
	const struct passwd *pw = NULL;
	struct stat st;

	if (stat(home, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return EX_OK;
		fprintf(stderr, "%s: %s is not a directory\n", prog, home);
		return EX_DATAERR;
	}
	if (owner != NULL && geteuid() != 0) {
		fprintf(stderr, "%s: --owner: only root can give a home away\n",
		    prog);
		return EX_NOPERM;
	}
	if (geteuid() == 0)
		pw = getpwnam(owner != NULL ? owner : FTP_USERS_OWNER);
	if (pw == NULL && owner != NULL) {
		fprintf(stderr, "%s: no user %s\n", prog, owner);
		return EX_NOUSER;
	}
	if (is_default && passwd_mkdir(FTP_USERS_HOMES, PASSWD_HOMES_MODE,
	    NULL) != EX_OK)
		return EX_CANTCREAT;
	return passwd_mkdir(home, PASSWD_HOME_MODE, pw);
}

/* One directory, if missing, given to pw's user and group if not NULL. */
static int
passwd_mkdir(const char *dir, mode_t mode, const struct passwd *pw)
{
	if (mkdir(dir, mode) == -1) {
		if (errno == EEXIST)
			return EX_OK;
		fprintf(stderr, "%s: %s: %s\n", prog, dir, strerror(errno));
		return EX_CANTCREAT;
	}
	if (chmod(dir, mode) == -1 || (pw != NULL && chown(dir, pw->pw_uid,
	    pw->pw_gid) == -1)) {
		fprintf(stderr, "%s: %s: %s\n", prog, dir, strerror(errno));
		rmdir(dir);
		return EX_CANTCREAT;
	}
	return EX_OK;
}
