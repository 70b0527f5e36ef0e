/* SPDX-License-Identifier: ISC */
/*
 * clockwork-ftpd: an FTP server on one event loop.  Anonymous users get
 * --root read-only; every path stays beneath it; data connections go
 * only to and from the control connection's peer.  This file reads the
 * options and runs the loop; doc/HACKING draws the modules and which may
 * call which.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli.h"
#include "ftp_session.h"
#include "ftp_work.h"
#include "ftpd.h"
#include "life.h"
#include "listen.h"
#include "log.h"
#include "numparse.h"
#include "sdnotify.h"
#include "serve.h"
#include "server.h"

#define FTPD_DEFAULT_ROOT	"/srv/ftp"
#define FTPD_DEFAULT_USER	"ftp"	/* started as root, where it exists */
#define FTPD_STATUS_EVERY	5	/* seconds between STATUS= updates */
#define FTPD_GRACE_SEC		10	/* for transfers to end at SIGTERM */
#define FTPD_WORKERS		1	/* threads for password checks */
#define FTPD_FILE_WORKERS	2	/* threads for file work */
#define FTPD_WORK_QUEUE		256	/* password checks waiting at most */
#define FTPD_MEMORY_DEFAULT	(128ULL << 20)	/* --transfer-memory */
#define FTPD_TRIM_SEC		1	/* memory back this long after */
#define FTPD_TRIM_THRESHOLD	(64 << 20)	/* free heap kept till then */
#define FTPD_ACCEPT_DEFAULT	60	/* --accept-timeout */
#define FTPD_TLS_WORKERS_MAX	8	/* threads for TLS, one per CPU */
/*
 * CPU-bound workers (password hashes, TLS) run a little nicer than the
 * loop: when all want the CPU, the loop, which answers every session,
 * gets it first (a bystander's reply waits less behind four downloads).
 */
#define FTPD_BULK_NICE		5

/* Files the options name, opened once logging has started. */
struct ftpd_files {
	const char	*xferlog;
	const char	*tls_cert;
	const char	*tls_key;
	int		 tls_optional;
};

enum {
	OPT_ACCEPT_TIMEOUT = CLI_OPT_DAEMON_FIRST,
	OPT_ANON_WRITE,
	OPT_DATA_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_LOGIN_DELAY,
	OPT_MAX_PER_IP,
	OPT_PASV_ADDRESS,
	OPT_PASV_PORTS,
	OPT_REQUIRE_TLS,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_TLS_OPTIONAL,
	OPT_TRANSFER_MEMORY,
	OPT_USERS,
	OPT_USERS_OPTIONAL,
	OPT_XFERLOG,
};

static void	ftpd_closed(struct conn *, const char *);

static const struct server_ops ftpd_ops = {
	.accepted = ftp_session_accepted,
	.readable = ftp_session_readable,
	.drained = ftp_session_drained,
	.stopping = ftp_session_stopping,
	.closed = ftpd_closed,
};

static void	ftpd_options(int, char **, struct ftpd *, struct cli_common *,
		    struct ftpd_files *);
static void	ftpd_option(int, const char *, struct ftpd *,
		    struct ftpd_files *);
static void	ftpd_seconds(const char *, const char *, double, double,
		    struct timeval *);
static void	ftpd_pasv_ports(const char *, struct ftp_data_conf *);
static void	ftpd_open(struct ftpd *, struct ftpd_files *);
static struct ftp_users *ftpd_users(const struct ftpd_config *, char *,
		    size_t);
static void	ftpd_reload(void *);
static int	ftpd_file_absent(const char *);
static void	ftpd_status_cb(evutil_socket_t, short, void *);
static void	ftpd_trim_cb(evutil_socket_t, short, void *);
static unsigned	ftpd_cpus(void);
static void	usage(void) __attribute__((noreturn));

/*
 * --tls-optional: a file that is not there or blank (white space only, as
 * a unit's stand-in credential) means no FTPS.
 */
static int
ftpd_file_absent(const char *path)
{
	char buf[64];
	ssize_t n, i;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	for (i = 0; i < n; i++)
		if (!isspace((unsigned char)buf[i]))
			return 0;
	return n >= 0 && n < (ssize_t)sizeof(buf);
}

static void
usage(void)
{
	printf("Usage: %s [options]\n"
	    "Serve files over FTP: a directory to anonymous users, read-only,\n"
	    "and named users their homes.\n"
	    "\n"
	    "  -r, --root DIR          directory served (default %s)\n"
	    "      --anon-write        anonymous users may write too\n"
	    "      --users FILE        named users: name:crypt-hash:home[:rw]\n"
	    "      --users-optional    no named users while FILE is missing\n"
	    "      --xferlog FILE      also log transfers there (xferlog(5))\n"
	    "      --pasv-ports LO-HI  passive data ports (default: any)\n"
	    "      --pasv-address IP   IPv4 address shown in PASV replies\n"
	    "      --max-per-ip N      sessions per client address "
	    "(default: no limit)\n"
	    "      --idle-timeout S    close idle sessions (default 300)\n"
	    "      --data-timeout S    give up on a stalled data connection "
	    "(default 300)\n"
	    "      --accept-timeout S  give up on a data connection not up "
	    "(default 60)\n"
	    "      --login-delay S     delay after a failed login "
	    "(default 1, grows)\n"
	    "      --transfer-memory N memory for listings and transfer "
	    "buffers,\n"
	    "                          all sessions together (default 128M)\n"
	    "      --tls-cert FILE     FTPS (AUTH TLS): PEM certificate chain\n"
	    "      --tls-key FILE      FTPS: its PEM private key\n"
	    "      --tls-optional      no FTPS if the files are missing or blank\n"
	    "      --require-tls       named users only over TLS\n"
	    CLI_COMMON_HELP
	    "\nSee clockwork-ftpd(8).\n", cli_progname(), FTPD_DEFAULT_ROOT);
	exit(EX_OK);
}

/* --pasv-ports LO-HI, within 1024-65535. */
static void
ftpd_pasv_ports(const char *arg, struct ftp_data_conf *dc)
{
	char lo[8];
	const char *dash = strchr(arg, '-');
	unsigned long l, h;

	if (dash == NULL || (size_t)(dash - arg) >= sizeof(lo))
		goto bad;
	memcpy(lo, arg, (size_t)(dash - arg));
	lo[dash - arg] = '\0';
	if (parse_ulong(lo, 1024, 65535, &l) == -1 ||
	    parse_ulong(dash + 1, 1024, 65535, &h) == -1 || h < l)
		goto bad;
	dc->pasv_lo = (unsigned)l;
	dc->pasv_hi = (unsigned)h;
	return;
bad:
	cli_usage_error("bad --pasv-ports '%s' (LO-HI within 1024-65535)",
	    arg);
}

/* A number of seconds within min-max, or a usage error naming opt. */
static void
ftpd_seconds(const char *opt, const char *arg, double min, double max,
    struct timeval *tv)
{
	if (parse_seconds(arg, min, max, tv) == -1)
		cli_usage_error("bad --%s '%s' (%g-%g seconds)", opt, arg, min,
		    max);
}

/* One option of the daemon's own (not lib/cli's). */
static void
ftpd_option(int ch, const char *arg, struct ftpd *d, struct ftpd_files *f)
{
	struct ftpd_config *cfg = &d->cfg;
	unsigned long long size;

	switch (ch) {
	case 'h':
		usage();
	case 'r':
		cfg->root = arg;
		break;
	case OPT_ANON_WRITE:
		cfg->anon_write = 1;
		break;
	case OPT_USERS:
		cfg->users_file = arg;
		break;
	case OPT_USERS_OPTIONAL:
		cfg->users_optional = 1;
		break;
	case OPT_XFERLOG:
		f->xferlog = arg;
		break;
	case OPT_ACCEPT_TIMEOUT:
		ftpd_seconds("accept-timeout", arg, 0.1, 86400,
		    &d->data.accept);
		break;
	case OPT_DATA_TIMEOUT:
		ftpd_seconds("data-timeout", arg, 0.1, 86400, &d->data.timeout);
		break;
	case OPT_IDLE_TIMEOUT:
		ftpd_seconds("idle-timeout", arg, 0.1, 86400, &cfg->idle);
		break;
	case OPT_LOGIN_DELAY:
		ftpd_seconds("login-delay", arg, 0, 60, &cfg->login_delay);
		break;
	case OPT_MAX_PER_IP:
		if (parse_ulong(arg, 1, 1000000, &cfg->max_per_ip) == -1)
			cli_usage_error("bad --max-per-ip '%s' (1-1000000)",
			    arg);
		break;
	case OPT_PASV_ADDRESS:
		if (inet_pton(AF_INET, arg, &d->data.pasv_addr) != 1)
			cli_usage_error("bad --pasv-address '%s' (an IPv4 "
			    "address)", arg);
		d->data.has_pasv_addr = 1;
		break;
	case OPT_PASV_PORTS:
		ftpd_pasv_ports(arg, &d->data);
		break;
	case OPT_REQUIRE_TLS:
		cfg->require_tls = 1;
		break;
	case OPT_TLS_CERT:
		f->tls_cert = arg;
		break;
	case OPT_TLS_KEY:
		f->tls_key = arg;
		break;
	case OPT_TLS_OPTIONAL:
		f->tls_optional = 1;
		break;
	case OPT_TRANSFER_MEMORY:
		if (parse_size(arg, 4ULL << 20, 1ULL << 40, &size) == -1)
			cli_usage_error("bad --transfer-memory '%s' (4M-1024G)",
			    arg);
		d->budget.max = (size_t)size;
		break;
	default:
		cli_usage_hint();
	}
}

/* The command line into d, cli and f, with the defaults first. */
static void
ftpd_options(int argc, char **argv, struct ftpd *d, struct cli_common *cli,
    struct ftpd_files *f)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "accept-timeout", required_argument, NULL,
		    OPT_ACCEPT_TIMEOUT },
		{ "anon-write",	no_argument, NULL, OPT_ANON_WRITE },
		{ "data-timeout", required_argument, NULL, OPT_DATA_TIMEOUT },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
		{ "login-delay", required_argument, NULL, OPT_LOGIN_DELAY },
		{ "max-per-ip",	required_argument, NULL, OPT_MAX_PER_IP },
		{ "pasv-address", required_argument, NULL, OPT_PASV_ADDRESS },
		{ "pasv-ports",	required_argument, NULL, OPT_PASV_PORTS },
		{ "require-tls", no_argument, NULL, OPT_REQUIRE_TLS },
		{ "tls-cert",	required_argument, NULL, OPT_TLS_CERT },
		{ "tls-key",	required_argument, NULL, OPT_TLS_KEY },
		{ "tls-optional", no_argument, NULL, OPT_TLS_OPTIONAL },
		{ "transfer-memory", required_argument, NULL,
		    OPT_TRANSFER_MEMORY },
		{ "root",	required_argument, NULL, 'r' },
		{ "users",	required_argument, NULL, OPT_USERS },
		{ "users-optional", no_argument, NULL, OPT_USERS_OPTIONAL },
		{ "xferlog",	required_argument, NULL, OPT_XFERLOG },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(f, 0, sizeof(*f));
	ftp_data_conf_init(&d->data);
	d->cfg.root = FTPD_DEFAULT_ROOT;
	d->cfg.idle.tv_sec = 300;
	d->cfg.login_delay.tv_sec = 1;
	d->cfg.xferlog_fd = -1;
	d->cfg.check_user = ftp_users_check;
	d->data.timeout.tv_sec = 300;
	d->budget.max = (size_t)FTPD_MEMORY_DEFAULT;
	cli_init(cli, argv[0]);
	cli_go_style(argc, argv);
	while ((ch = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "r:",
	    longopts, NULL)) != -1)
		if (!cli_common_option(cli, ch, optarg))
			ftpd_option(ch, optarg, d, f);
	if (optind < argc)
		cli_usage_error("unexpected argument '%s'", argv[optind]);
	/* Not up within 60 s (vsftpd's accept_timeout), or a shorter stall. */
	if (!timerisset(&d->data.accept)) {
		d->data.accept.tv_sec = FTPD_ACCEPT_DEFAULT;
		if (timercmp(&d->data.timeout, &d->data.accept, <))
			d->data.accept = d->data.timeout;
	}
	if (d->cfg.users_optional && d->cfg.users_file == NULL)
		cli_usage_error("--users-optional needs --users");
	cli_default_user(cli, FTPD_DEFAULT_USER);
	if ((f->tls_cert == NULL) != (f->tls_key == NULL))
		cli_usage_error("--tls-cert and --tls-key go together");
	if (d->cfg.require_tls && f->tls_cert == NULL)
		cli_usage_error("--require-tls needs --tls-cert and --tls-key");
}

/*
 * What the options name: the root, the transfer log, the users file and
 * FTPS's credentials.  Exits on any fault (78, or 73 for --xferlog).
 */
static void
ftpd_open(struct ftpd *d, struct ftpd_files *f)
{
	struct ftpd_config *cfg = &d->cfg;
	char err[512];

	if ((cfg->rootfd = open(cfg->root, O_PATH | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		fatal(EX_CONFIG, "root %s", cfg->root);
	if (f->xferlog != NULL && (cfg->xferlog_fd = open(f->xferlog,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) == -1)
		fatal(EX_CANTCREAT, "--xferlog %s", f->xferlog);
	if ((cfg->users = ftpd_users(cfg, err, sizeof(err))) == NULL)
		fatalx(EX_CONFIG, "%s", err);
	if (f->tls_cert != NULL && f->tls_optional && !cfg->require_tls &&
	    (ftpd_file_absent(f->tls_cert) || ftpd_file_absent(f->tls_key))) {
		log_info("FTPS off: %s or %s missing or blank (--tls-optional)",
		    f->tls_cert, f->tls_key);
		f->tls_cert = NULL;
	}
	if (f->tls_cert != NULL && (cfg->tls_ctx = ftp_tls_ctx_new(f->tls_cert,
	    f->tls_key, err, sizeof(err))) == NULL)
		fatalx(EX_CONFIG, "%s", err);
	if (cfg->tls_ctx != NULL)
		d->tls = &ftp_tls_ops;
	d->data.tls_ctx = cfg->tls_ctx;
	d->data.tls = d->tls;
}

/*
 * A session ended: its memory is freed, but glibc keeps freed heap for
 * later; a moment after the last of a wave of sessions it goes back to
 * the system, so that a burst of clients leaves no lasting RSS.
 */
static void
ftpd_closed(struct conn *c, const char *why)
{
	struct ftpd *d = server_arg(conn_server(c));
	struct timeval tv = { FTPD_TRIM_SEC, 0 };

	ftp_session_closed(c, why);
	/* Not pushed back by each close: a steady churn trims too. */
	if (!evtimer_pending(d->trim_ev, NULL))
		evtimer_add(d->trim_ev, &tv);
}

/* The CPUs this process may run on, for the TLS pool (1 to 8). */
static unsigned
ftpd_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > FTPD_TLS_WORKERS_MAX ? FTPD_TLS_WORKERS_MAX : (unsigned)n;
}

static void
ftpd_trim_cb(evutil_socket_t fd, short what, void *arg)
{
	malloc_trim(0);
}

/*
 * The named users: --users FILE, none without it, and none while FILE
 * is missing with --users-optional.  NULL with err set.
 */
static struct ftp_users *
ftpd_users(const struct ftpd_config *cfg, char *err, size_t cap)
{
	struct ftp_users *us;

	if (cfg->users_file != NULL) {
		us = ftp_users_open(cfg->users_file, err, cap);
		if (us != NULL || errno != ENOENT || !cfg->users_optional)
			return us;
		log_info("no named users for now (--users-optional): %s", err);
	}
	if ((us = ftp_users_new()) == NULL)
		snprintf(err, cap, "out of memory");
	return us;
}

/*
 * SIGHUP: the users file again.  New users may log in at once, removed
 * ones no more; sessions already logged in go on.  A file that cannot be
 * read or parsed leaves the users as they were.  The file is read in the
 * loop: it is the admin's, and ftp_users_load() reads at most
 * FTP_USERS_FILE_MAX bytes of it.  After a drop of root (--user) it is
 * read as that user.
 */
static void
ftpd_reload(void *arg)
{
	struct ftpd *d = arg;
	struct ftpd_config *cfg = &d->cfg;
	struct ftp_users *us;
	char err[512];

	if (cfg->users_file == NULL) {
		log_info("reload: no --users file, nothing to read");
		return;
	}
	log_info("SIGHUP: reloading");
	sdn_reloading();
	if ((us = ftpd_users(cfg, err, sizeof(err))) == NULL) {
		log_warnx("reload failed, keeping the %zu named users: %s",
		    cfg->users->n, err);
	} else {
		log_info("reload: %zu named users from %s (were %zu)", us->n,
		    cfg->users_file, cfg->users->n);
		ftp_users_unref(cfg->users);
		cfg->users = us;
	}
	sdn_ready();
}

static void
ftpd_status_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ftpd *d = arg;
	const struct server_stats *st = server_stats(d->srv);

	sdn_status("%lu sessions, %lu transfers running, %llu files and "
	    "%llu bytes sent, %llu files and %llu bytes received",
	    st->clients, d->transfers, d->files_sent, d->bytes_sent,
	    d->files_received, d->bytes_received);
}

int
main(int argc, char **argv)
{
	struct server_limits limits = {
		.max_output = FTP_CONTROL_MAX_OUTPUT,
		.max_input = 2 * FTP_LINE_MAX,
		.busy_reply = "421 Too many users, try again later.\r\n",
	};
	struct timeval every = { FTPD_STATUS_EVERY, 0 };
	struct life_stop stop = { .grace = { FTPD_GRACE_SEC, 0 } };
	static struct ftpd d;
	struct ftpd_config *cfg = &d.cfg;
	struct ftpd_files files;
	struct cli_common cli;
	struct listen_set set;

	ftpd_options(argc, argv, &d, &cli, &files);
	log_init(argv[0], cli.verbosity);
	ftpd_open(&d, &files);
	/* Upload names aside; O_EXCL makes them safe, this makes them vary. */
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	/* RLIMIT_FSIZE: a write fails with EFBIG (552), no signal. */
	signal(SIGXFSZ, SIG_IGN);
	/*
	 * Big buffers in mappings of their own, returned to the system when
	 * freed: a fixed threshold, where glibc's own would rise after the
	 * first free and keep them in the heap.  And no trimming of the heap
	 * on every free: TLS records are made on the workers and freed by
	 * the loop once sent, and trimming after each would give the pages
	 * back only to fault them in again (a third of a PROT P download's
	 * CPU, measured); the heap is trimmed once sessions end instead.
	 */
	(void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, FTPD_TRIM_THRESHOLD);
	limits.idle = cfg->idle;
	limits.idle_reply = "421 Idle too long, closing the session.\r\n";

	d.srv = serve_open(&cli, &ftpd_ops, &limits, &d, &d.base, &set);
	d.data.base = d.base;
	if ((d.status_ev = event_new(d.base, -1, EV_PERSIST, ftpd_status_cb,
	    &d)) == NULL || event_add(d.status_ev, &every) == -1 ||
	    (d.trim_ev = evtimer_new(d.base, ftpd_trim_cb, &d)) == NULL)
		fatalx(EX_OSERR, "cannot create the status timer");
	/*
	 * Off the loop: password checks, and file work (the copy behind
	 * APPE and REST, fsync, rename, unlink) wherever anyone may write.
	 */
	if (cfg->users_file != NULL && (d.work = ftp_work_new(d.base,
	    FTPD_WORKERS, FTPD_WORK_QUEUE, "ftpd-login", FTPD_BULK_NICE)) ==
	    NULL)
		fatal(EX_OSERR, "cannot start the login thread");
	if ((cfg->users_file != NULL || cfg->anon_write) && (d.files = ftp_work_new(
	    d.base, FTPD_FILE_WORKERS, FTPD_WORK_QUEUE, "ftpd-files", 0)) ==
	    NULL)
		fatal(EX_OSERR, "cannot start the file threads");
	/* PROT P data connections' TLS: one thread per CPU. */
	if (cfg->tls_ctx != NULL && (d.data.crypto = ftp_work_new(d.base,
	    ftpd_cpus(), FTPD_WORK_QUEUE, "ftpd-tls", FTPD_BULK_NICE)) == NULL)
		fatal(EX_OSERR, "cannot start the TLS threads");
	stop.srv = d.srv;
	stop.timer = d.status_ev;
	if (life_start(d.base, life_stop_server, &stop) == -1)
		fatalx(EX_OSERR, "cannot watch signals");
	life_on_reload(ftpd_reload, &d);

	serve_log_ready(&set, "root %s%s, %zu named users, max %lu clients%s",
	    cfg->root, cfg->anon_write ? " (anonymous may write)" : "",
	    cfg->users->n, cli.max_clients, cfg->tls_ctx == NULL ? "" :
	    cfg->require_tls ? ", FTPS required for named users" : ", FTPS");
	sdn_ready();
	sdn_status("0 sessions");
	if (event_base_dispatch(d.base) == -1)
		fatalx(EX_SOFTWARE, "event loop failed");

	log_info("stopped");
	life_end();
	event_free(d.status_ev);
	server_free(d.srv);
	event_free(d.trim_ev);
	ftp_work_free(d.work);
	ftp_work_free(d.files);
	ftp_work_free(d.data.crypto);
	event_base_free(d.base);
	close(cfg->rootfd);
	ftp_users_unref(cfg->users);
	ftp_tls_ctx_free(cfg->tls_ctx);
	if (cfg->xferlog_fd != -1)
		close(cfg->xferlog_fd);
	return EX_OK;
}
