/* SPDX-License-Identifier: ISC */
/*
 * FTP sessions: the control connection.  Command lines are read with a
 * bound (an over-long line gets 500 and is skipped, never buffered),
 * parsed by ftp_cmd, checked against the verb table's flags in one place
 * (login, argument, right to write) and handed to one handler each.
 * While a transfer runs, only ABOR, STAT, NOOP, HELP and QUIT are served
 * at once; any other command waits for the transfer's end.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "addr.h"
#include "ftp_cmd.h"
#include "ftp_list.h"
#include "ftp_path.h"
#include "ftp_reply.h"
#include "ftpd.h"
#include "lineio.h"
#include "log.h"
#include "numparse.h"
#include "server.h"

#define FTP_STAT_MAX		(256 * 1024)	/* STAT PATH text at most */
#define FTP_MAX_FAILURES	3	/* failed logins before we hang up */
#define FTP_REPLY_MAX		(FTP_LINE_MAX + 256)

typedef int (*ftp_handler)(struct ftp_session *, char *);

static int	ftp_session_input(struct ftp_session *);
static int	ftp_session_command(struct ftp_session *, char *, size_t);
static void	ftp_session_delay_cb(evutil_socket_t, short, void *);
static int	ftp_session_idle(struct ftp_session *, int);
static int	ftp_transfer_refused(struct ftp_session *, int *);
static int	ftp_transfer_not_started(struct ftp_session *);
static int	ftp_reply_buffer(struct ftp_session *, struct evbuffer *);
static int	ftp_reply_errno(struct ftp_session *, int, const char *, int);
static int	ftp_resolve(struct ftp_session *, const char *, char *);
static int	ftp_list_cmd(struct ftp_session *, char *,
		    enum ftp_list_style);
static void	ftp_quote(char *, size_t, const char *);
static int	ftp_session_target_ok(struct ftp_session *,
		    const struct sockaddr *);

static int	ftp_cmd_abor(struct ftp_session *, char *);
static int	ftp_cmd_acct(struct ftp_session *, char *);
static int	ftp_cmd_allo(struct ftp_session *, char *);
static int	ftp_cmd_auth(struct ftp_session *, char *);
static int	ftp_session_clear_data(const struct ftp_session *);
static int	ftp_cmd_ccc(struct ftp_session *, char *);
static int	ftp_cmd_pbsz(struct ftp_session *, char *);
static int	ftp_cmd_prot(struct ftp_session *, char *);
static int	ftp_cmd_cdup(struct ftp_session *, char *);
static int	ftp_cmd_cwd(struct ftp_session *, char *);
static int	ftp_cmd_appe(struct ftp_session *, char *);
static int	ftp_cmd_dele(struct ftp_session *, char *);
static int	ftp_cmd_mkd(struct ftp_session *, char *);
static int	ftp_cmd_rmd(struct ftp_session *, char *);
static int	ftp_cmd_rnfr(struct ftp_session *, char *);
static int	ftp_cmd_rnto(struct ftp_session *, char *);
static int	ftp_cmd_stor(struct ftp_session *, char *);
static int	ftp_cmd_stou(struct ftp_session *, char *);
static int	ftp_store(struct ftp_session *, char *, enum ftp_verb);
static int	ftp_parent(struct ftp_session *, const char *, char *,
		    const char **);
static struct ftp_fail *ftp_fail_find(struct ftpd *, const char *, int);
static int	ftp_site_chmod(struct ftp_session *, char *);
static void	ftp_session_login_failed(struct ftp_session *);
static int	ftp_session_login_ok(struct ftp_session *,
		    const struct ftp_user *);
static void	ftp_session_xferlog(struct ftp_session *,
		    enum ftp_xfer_result, const char *, unsigned long long,
		    double);
static int	ftp_cmd_eprt(struct ftp_session *, char *);
static int	ftp_cmd_epsv(struct ftp_session *, char *);
static int	ftp_cmd_feat(struct ftp_session *, char *);
static int	ftp_cmd_help(struct ftp_session *, char *);
static int	ftp_cmd_list(struct ftp_session *, char *);
static int	ftp_cmd_mdtm(struct ftp_session *, char *);
static int	ftp_cmd_mlsd(struct ftp_session *, char *);
static int	ftp_cmd_mlst(struct ftp_session *, char *);
static int	ftp_cmd_mode(struct ftp_session *, char *);
static int	ftp_cmd_nlst(struct ftp_session *, char *);
static int	ftp_cmd_noimpl(struct ftp_session *, char *);
static int	ftp_cmd_noop(struct ftp_session *, char *);
static int	ftp_cmd_opts(struct ftp_session *, char *);
static int	ftp_cmd_pass(struct ftp_session *, char *);
static int	ftp_cmd_pasv(struct ftp_session *, char *);
static int	ftp_cmd_port(struct ftp_session *, char *);
static int	ftp_cmd_pwd(struct ftp_session *, char *);
static int	ftp_cmd_quit(struct ftp_session *, char *);
static int	ftp_cmd_rest(struct ftp_session *, char *);
static int	ftp_cmd_retr(struct ftp_session *, char *);
static int	ftp_cmd_site(struct ftp_session *, char *);
static int	ftp_cmd_size(struct ftp_session *, char *);
static int	ftp_cmd_stat(struct ftp_session *, char *);
static int	ftp_cmd_stru(struct ftp_session *, char *);
static int	ftp_cmd_syst(struct ftp_session *, char *);
static int	ftp_cmd_type(struct ftp_session *, char *);
static int	ftp_cmd_user(struct ftp_session *, char *);

static const ftp_handler ftp_handlers[FTP_V_COUNT] = {
	[FTP_V_ABOR] = ftp_cmd_abor,
	[FTP_V_ACCT] = ftp_cmd_acct,
	[FTP_V_ALLO] = ftp_cmd_allo,
	[FTP_V_APPE] = ftp_cmd_appe,
	[FTP_V_AUTH] = ftp_cmd_auth,
	[FTP_V_CCC] = ftp_cmd_ccc,
	[FTP_V_CDUP] = ftp_cmd_cdup,
	[FTP_V_CWD] = ftp_cmd_cwd,
	[FTP_V_DELE] = ftp_cmd_dele,
	[FTP_V_EPRT] = ftp_cmd_eprt,
	[FTP_V_EPSV] = ftp_cmd_epsv,
	[FTP_V_FEAT] = ftp_cmd_feat,
	[FTP_V_HELP] = ftp_cmd_help,
	[FTP_V_LIST] = ftp_cmd_list,
	[FTP_V_MDTM] = ftp_cmd_mdtm,
	[FTP_V_MKD] = ftp_cmd_mkd,
	[FTP_V_MLSD] = ftp_cmd_mlsd,
	[FTP_V_MLST] = ftp_cmd_mlst,
	[FTP_V_MODE] = ftp_cmd_mode,
	[FTP_V_NLST] = ftp_cmd_nlst,
	[FTP_V_NOOP] = ftp_cmd_noop,
	[FTP_V_OPTS] = ftp_cmd_opts,
	[FTP_V_PASS] = ftp_cmd_pass,
	[FTP_V_PASV] = ftp_cmd_pasv,
	[FTP_V_PBSZ] = ftp_cmd_pbsz,
	[FTP_V_PORT] = ftp_cmd_port,
	[FTP_V_PROT] = ftp_cmd_prot,
	[FTP_V_PWD] = ftp_cmd_pwd,
	[FTP_V_QUIT] = ftp_cmd_quit,
	[FTP_V_REIN] = ftp_cmd_noimpl,
	[FTP_V_REST] = ftp_cmd_rest,
	[FTP_V_RETR] = ftp_cmd_retr,
	[FTP_V_RMD] = ftp_cmd_rmd,
	[FTP_V_RNFR] = ftp_cmd_rnfr,
	[FTP_V_RNTO] = ftp_cmd_rnto,
	[FTP_V_SITE] = ftp_cmd_site,
	[FTP_V_SIZE] = ftp_cmd_size,
	[FTP_V_SMNT] = ftp_cmd_noimpl,
	[FTP_V_STAT] = ftp_cmd_stat,
	[FTP_V_STOR] = ftp_cmd_stor,
	[FTP_V_STOU] = ftp_cmd_stou,
	[FTP_V_STRU] = ftp_cmd_stru,
	[FTP_V_SYST] = ftp_cmd_syst,
	[FTP_V_TYPE] = ftp_cmd_type,
	[FTP_V_USER] = ftp_cmd_user,
};

/* A new control connection: --max-per-ip, then the greeting. */
int
ftp_session_accepted(struct conn *c)
{
	static const char busy[] = "421 Too many connections from your "
	    "address.\r\n";
	static const char hello[] = "220 clockwork-ftpd ready.\r\n";
	struct ftpd *d = server_arg(conn_server(c));
	struct ftp_session *s;
	struct conn *o;
	unsigned long same = 0;

	conn_set_data(c, NULL);
	if (d->cfg.max_per_ip != 0) {
		for (o = server_first(d->srv); o != NULL; o = server_next(o))
			if (strcmp(conn_host(o), conn_host(c)) == 0)
				same++;
		if (same > d->cfg.max_per_ip) {
			conn_refuse(c, busy, "%lu sessions from this address "
			    "(--max-per-ip)", same - 1);
			return -1;
		}
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	s->d = d;
	s->c = c;
	s->rootfd = -1;
	s->facts = FTP_FACT_DEFAULT;
	strcpy(s->cwd, "/");
	if ((s->delay_ev = evtimer_new(d->base, ftp_session_delay_cb,
	    s)) == NULL) {
		free(s);
		return -1;
	}
	conn_set_data(c, s);
	return conn_send(c, hello, sizeof(hello) - 1);
}

/* The one place a session's state is freed (the server's teardown). */
void
ftp_session_closed(struct conn *c, const char *why)
{
	struct ftp_session *s = conn_data(c);
	char epath[512];

	if (s == NULL)
		return;
	if (ftp_data_path(s)[0] != '\0') {
		log_escape(epath, sizeof(epath), ftp_data_path(s),
		    strlen(ftp_data_path(s)));
		log_peer(LOG_NOTICE, conn_peer(c), "%s of %s "
		    "cut: the session ended", s->incoming ? "upload" :
		    "download", epath);
	}
	ftp_data_close(s);
	event_free(s->delay_ev);
	if (s->auth_job != NULL && s->d->auth_cancel != NULL)
		s->d->auth_cancel(s->d, s);
	free(s->held);
	free(s->rnfr);
	if (s->rootfd != -1 && s->rootfd != s->d->cfg.rootfd)
		close(s->rootfd);
	free(s);
	conn_set_data(c, NULL);
}

/*
 * Graceful stop: an idle session is told at once; one in a transfer is
 * told when the transfer ends (within the server's grace period).
 */
void
ftp_session_stopping(struct conn *c)
{
	struct ftp_session *s = conn_data(c);

	if (s == NULL) {
		conn_close_after_flush(c, "shutdown");
		return;
	}
	if (ftp_data_busy(s)) {
		s->stopping = 1;
		return;
	}
	if (ftp_reply(s, FTP_UNAVAILABLE, "Service shutting down.") == -1)
		return;
	conn_close_after_flush(c, "shutdown");
}

void
ftp_session_readable(struct conn *c)
{
	(void)ftp_session_input(conn_data(c));
}

/*
 * Reads and runs whole command lines until none is left or the session
 * pauses.  Returns -1 when the session is gone.
 */
static int
ftp_session_input(struct ftp_session *s)
{
	struct evbuffer *in;
	struct evbuffer_ptr eol;
	char line[FTP_LINE_MAX];
	enum line_result r;
	size_t len;
	int was;

	while (!s->paused && !conn_closing(s->c)) {
		/* Fetched each time: AUTH TLS puts a new buffer in. */
		in = conn_input(s->c);
		r = line_read(in, line, sizeof(line), &len);
		if (r == LINE_NONE)
			break;
		if (r == LINE_TOO_LONG) {
			/* Skip to the end of the line, holding nothing. */
			eol = evbuffer_search_eol(in, NULL, NULL,
			    EVBUFFER_EOL_LF);
			evbuffer_drain(in, eol.pos == -1 ?
			    evbuffer_get_length(in) : (size_t)eol.pos + 1);
			was = s->discarding;
			s->discarding = eol.pos == -1;
			if (!was && ftp_reply(s, FTP_BAD_COMMAND,
			    "Command line too long.") == -1)
				return -1;
			continue;
		}
		if (s->discarding) {
			s->discarding = 0;	/* the tail of a long line */
			continue;
		}
		if (ftp_session_command(s, line, len) == -1)
			return -1;
	}
	return 0;
}

/* After a transfer: the held command, then whatever else has arrived. */
void
ftp_session_resume(struct ftp_session *s)
{
	char *held;
	int r;

	if (s->held != NULL) {
		held = s->held;
		s->held = NULL;
		s->paused = 0;
		r = ftp_session_command(s, held, s->heldlen);
		free(held);
		if (r == -1)
			return;
	}
	(void)ftp_session_input(s);
}

/* Parses, checks and runs one command.  -1: the session is gone. */
static int
ftp_session_command(struct ftp_session *s, char *line, size_t len)
{
	const struct ftp_cmd *cmd;
	char *verb, *arg, *copy = NULL, shown[256];
	enum ftp_parse r;

	if (ftp_data_busy(s)) {
		/* Keep the raw line in case it has to wait. */
		if ((copy = malloc(len + 1)) == NULL) {
			conn_close(s->c, "out of memory");
			return -1;
		}
		memcpy(copy, line, len);
		copy[len] = '\0';
	}
	r = ftp_cmd_parse(line, len, &verb, &arg);
	if (r == FTP_PARSE_EMPTY) {
		free(copy);
		return 0;
	}
	if (r != FTP_PARSE_OK || (cmd = ftp_cmd_lookup(verb)) == NULL) {
		free(copy);
		log_escape(shown, sizeof(shown), line, strnlen(line, 64));
		log_peer(LOG_DEBUG, conn_peer(s->c),
		    "bad command '%s'", shown);
		if (r == FTP_PARSE_NUL)
			return ftp_reply(s, FTP_BAD_ARGS, "NUL bytes are not "
			    "allowed.");
		return ftp_reply(s, FTP_BAD_COMMAND, "Unknown command.");
	}
	if (copy != NULL) {
		if (!(cmd->flags & FTP_CMD_XFER)) {
			s->held = copy;
			s->heldlen = len;
			s->paused = 1;
			return 0;
		}
		free(copy);
	}
	if (cmd->id == FTP_V_PASS)
		strcpy(shown, "****");
	else
		log_escape(shown, sizeof(shown), arg != NULL ? arg : "",
		    arg != NULL ? strlen(arg) : 0);
	log_peer(LOG_DEBUG, conn_peer(s->c), "%s %s", verb,
	    shown);

	if ((cmd->flags & FTP_CMD_LOGIN) && s->login != FTP_LOGIN_DONE)
		return ftp_reply(s, FTP_NOT_LOGGED_IN, "Please login with USER "
		    "and PASS.");
	if (cmd->flags & FTP_CMD_NOIMPL)
		return ftp_reply(s, FTP_NOT_IMPL, "%s not implemented.", verb);
	if ((cmd->flags & FTP_CMD_ARG) && arg == NULL)
		return ftp_reply(s, FTP_BAD_ARGS, "%s needs an argument.",
		    verb);
	if ((cmd->flags & FTP_CMD_WRITE) && !s->may_write)
		return ftp_reply(s, FTP_FILE_FAIL, "Permission denied.");
	if (s->rnfr != NULL && cmd->id != FTP_V_RNTO) {
		/* RNTO must come right after RNFR. */
		free(s->rnfr);
		s->rnfr = NULL;
	}
	return ftp_handlers[cmd->id](s, arg);
}

/*
 * Sends one reply line "CODE text".  CR and LF in the text (a client's
 * path) become '?', so a reply is always one line.  -1: the session is
 * gone.
 */
int
ftp_reply(struct ftp_session *s, int code, const char *fmt, ...)
{
	char buf[FTP_REPLY_MAX];
	va_list ap;
	int n, m;
	char *p;

	n = snprintf(buf, sizeof(buf), "%03d ", code);
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	if ((size_t)m >= sizeof(buf) - (size_t)n - 2)
		m = (int)(sizeof(buf) - (size_t)n - 3);
	n += m;
	for (p = buf; p < buf + n; p++)
		if (*p == '\r' || *p == '\n')
			*p = '?';
	buf[n++] = '\r';
	buf[n++] = '\n';
	return conn_send(s->c, buf, (size_t)n);
}

/* Sends a multi-line reply made in b (which it frees). */
static int
ftp_reply_buffer(struct ftp_session *s, struct evbuffer *b)
{
	size_t len = evbuffer_get_length(b);
	unsigned char *p = evbuffer_pullup(b, -1);
	int r;

	if (p == NULL && len > 0) {
		evbuffer_free(b);
		conn_close(s->c, "out of memory");
		return -1;
	}
	r = conn_send(s->c, p, len);
	evbuffer_free(b);
	return r;
}

/* 550 (or code) for a path the kernel or the resolver refused. */
static int
ftp_reply_errno(struct ftp_session *s, int code, const char *arg, int err)
{
	const char *what;

	switch (err) {
	case ENOENT:
		what = "No such file or directory";
		break;
	case ENOTDIR:
		what = "Not a directory";
		break;
	case ENAMETOOLONG:
		what = "File name too long";
		break;
	case EISDIR:
		what = "Is a directory";
		break;
	case EACCES:
	case EPERM:
	case ELOOP:
	case EXDEV:
		what = "Permission denied";
		break;
	default:
		what = "Cannot open it";
		break;
	}
	return ftp_reply(s, code, "%.*s: %s.", 512, arg != NULL ? arg : "",
	    what);
}

/* A client path into the canonical virtual path (FTP_PATH_MAX + 1). */
static int
ftp_resolve(struct ftp_session *s, const char *arg, char *out)
{
	return ftp_path_resolve(s->cwd, arg != NULL ? arg : "", out,
	    FTP_PATH_MAX + 1);
}

/* The control idle timeout is off while a transfer runs. */
static int
ftp_session_idle(struct ftp_session *s, int on)
{
	return conn_set_idle(s->c, on ? &s->d->cfg.idle : NULL);
}

/* RFC 959 quoting for 257: a '"' in a path is doubled. */
static void
ftp_quote(char *out, size_t cap, const char *in)
{
	size_t o = 0;

	for (; *in != '\0' && o + 3 < cap; in++) {
		if (*in == '"')
			out[o++] = '"';
		out[o++] = *in;
	}
	out[o] = '\0';
}

/*
 * The end of a transfer, from ftp_data: the reply, the transfer log and
 * the control idle timeout back on.  -1: the session is gone.
 */
int
ftp_session_xfer_report(struct ftp_session *s, enum ftp_xfer_result result,
    const char *path, unsigned long long bytes, double secs, const char *why)
{
	static const char *names[] = { "ok", "no-connection", "closed",
	    "timeout", "local-error", "aborted", "no-space", "quota",
	    "tls-refused" };
	char f_user[96], f_path[FTP_PATH_MAX + 32], f_bytes[48], f_secs[48],
	    f_res[48], epath[512];
	const char *fields[] = { f_user, f_path, f_bytes, f_secs, f_res, NULL };
	int code, r;

	snprintf(f_user, sizeof(f_user), "FTP_USER=%s", s->user);
	snprintf(f_path, sizeof(f_path), "FTP_PATH=%s", path);
	snprintf(f_bytes, sizeof(f_bytes), "FTP_BYTES=%llu", bytes);
	snprintf(f_secs, sizeof(f_secs), "FTP_SECONDS=%.3f", secs);
	snprintf(f_res, sizeof(f_res), "FTP_RESULT=%s", names[result]);
	log_escape(epath, sizeof(epath), path, strlen(path));
	log_fields(result == FTP_XR_OK ? LOG_INFO : LOG_NOTICE, fields,
	    "%s: %s %s %s %s: %llu bytes in %.3f s: %s", conn_host(s->c),
	    s->incoming ? "received" : "sent", epath,
	    s->incoming ? "from" : "to", s->user, bytes, secs,
	    result == FTP_XR_OK ? "ok" : why);
	if (s->xfer_file && s->d->cfg.xferlog_fd != -1)
		ftp_session_xferlog(s, result, path, bytes, secs);
	s->incoming = 0;
	s->xfer_file = 0;
	ftp_session_idle(s, 1);
	switch (result) {
	case FTP_XR_OK:
		r = ftp_reply(s, FTP_XFER_DONE, "Transfer complete.");
		break;
	case FTP_XR_NO_CONN:
		r = ftp_reply(s, FTP_NO_DATA_CONN, "Failed to establish "
		    "connection.");
		break;
	case FTP_XR_LOCAL:
		r = ftp_reply(s, FTP_LOCAL_ERROR, "Local error: %s.", why);
		break;
	case FTP_XR_TIMEOUT:
		r = ftp_reply(s, FTP_XFER_ABORTED, "Data connection timed "
		    "out.");
		break;
	case FTP_XR_ABORTED:
		r = ftp_reply(s, FTP_XFER_ABORTED, "Transfer aborted.");
		break;
	case FTP_XR_NOSPACE:
		r = ftp_reply(s, FTP_NO_SPACE, "Insufficient storage space: "
		    "%s.", why);
		break;
	case FTP_XR_QUOTA:
		r = ftp_reply(s, FTP_QUOTA, "Exceeded storage allocation: "
		    "%s.", why);
		break;
	case FTP_XR_TLS:
		r = ftp_reply(s, FTP_TLS_DATA_FAILED, "TLS data connection "
		    "refused: %s.", why);
		break;
	case FTP_XR_CLOSED:
	default:
		code = FTP_XFER_ABORTED;
		r = ftp_reply(s, code, "Connection closed; transfer aborted.");
		break;
	}
	if (r == -1)
		return -1;
	if (s->stopping) {
		if (ftp_reply(s, FTP_UNAVAILABLE, "Service shutting down.") ==
		    -1)
			return -1;
		conn_close_after_flush(s->c, "shutdown");
		return -1;
	}
	return 0;
}

/*
 * One line of the wu-ftpd xferlog(5) format for a file transfer:
 * "time secs host bytes path a|b _ o|i a|r user ftp 0 * c|i", the path's
 * blanks and control bytes made '_' so that fields stay fields.
 */
static void
ftp_session_xferlog(struct ftp_session *s, enum ftp_xfer_result result,
    const char *path, unsigned long long bytes, double secs)
{
	char line[FTP_PATH_MAX + 512], when[64], *p;
	time_t now = time(NULL);
	struct tm tm;
	int n, pstart;

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		return;
	n = snprintf(line, sizeof(line), "%s %.0f %s %llu %n%s %c _ %c %c %s "
	    "ftp 0 * %c\n", when, secs < 1 ? 1 : secs, conn_host(s->c), bytes,
	    &pstart, path, s->ascii ? 'a' : 'b', s->incoming ? 'i' : 'o',
	    s->anonymous ? 'a' : 'r', s->user,
	    result == FTP_XR_OK ? 'c' : 'i');
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	for (p = line + pstart; *p != '\0' && p < line + pstart +
	    (int)strlen(path); p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			*p = '_';
	if (write(s->d->cfg.xferlog_fd, line, (size_t)n) != n)
		log_warn("xferlog");
}

/* The delay after a failed login is over: say so, go on reading. */
static void
ftp_session_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_session *s = arg;

	s->paused = 0;
	if (ftp_reply(s, FTP_NOT_LOGGED_IN, "Login incorrect.") == -1)
		return;
	if (s->failures >= FTP_MAX_FAILURES) {
		conn_close_after_flush(s->c, "too many failed logins");
		return;
	}
	(void)ftp_session_input(s);
}

static int
ftp_cmd_user(struct ftp_session *s, char *arg)
{
	if (s->login == FTP_LOGIN_DONE)
		return ftp_reply(s, FTP_NOT_LOGGED_IN, "Can't change to "
		    "another user.");
	if (strlen(arg) >= sizeof(s->user))
		return ftp_reply(s, FTP_BAD_ARGS, "User name too long.");
	if (s->d->cfg.require_tls && !s->tls &&
	    strcasecmp(arg, "anonymous") != 0 && strcasecmp(arg, "ftp") != 0)
		return ftp_reply(s, FTP_NOT_LOGGED_IN, "TLS required: send "
		    "AUTH TLS before logging in.");
	strcpy(s->user, arg);
	s->anonymous = strcasecmp(arg, "anonymous") == 0 ||
	    strcasecmp(arg, "ftp") == 0;
	s->login = FTP_LOGIN_USER;
	return ftp_reply(s, FTP_NEED_PASS, "Please specify the password.");
}

/*
 * The failure record of an address; with create, a new one (the oldest
 * record makes room).  Records older than FTP_FAILS_FORGET are void.
 */
static struct ftp_fail *
ftp_fail_find(struct ftpd *d, const char *host, int create)
{
	struct ftp_fail *f, *oldest = NULL;
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < FTP_FAILS_MAX; i++) {
		f = &d->fails[i];
		if (f->count != 0 && now - f->last > FTP_FAILS_FORGET)
			f->count = 0;
		if (f->count != 0 && strcmp(f->host, host) == 0)
			return f;
		/* A free slot first, else the one left alone longest. */
		if (oldest == NULL || (oldest->count != 0 && (f->count == 0 ||
		    f->last < oldest->last)))
			oldest = f;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->host, sizeof(oldest->host), "%s", host);
	return oldest;
}

/*
 * Anonymous users get the --root (read-only unless --anon-write); users
 * of --users their home.  An unknown user and a wrong password fail
 * alike (ftp_session_login_failed).
 */
static int
ftp_cmd_pass(struct ftp_session *s, char *arg)
{
	const struct ftp_user *u = NULL;
	int r;

	if (s->login == FTP_LOGIN_DONE)
		return ftp_reply(s, FTP_LOGGED_IN, "Already logged in.");
	if (s->login != FTP_LOGIN_USER)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "Login with USER first.");
	if (s->anonymous) {
		s->login = FTP_LOGIN_DONE;
		s->rootfd = s->d->cfg.rootfd;
		s->may_write = s->d->cfg.anon_write;
		strcpy(s->user, "anonymous");
		log_peer(LOG_INFO, conn_peer(s->c),
		    "anonymous login%s", s->may_write ? " (may write)" : "");
		return ftp_reply(s, FTP_LOGGED_IN, "Login successful.");
	}
	s->login = FTP_LOGIN_NONE;
	if (s->d->auth_start != NULL) {
		/* On the worker thread: this session waits, nobody else. */
		s->paused = 1;
		r = s->d->auth_start(s->d, s, s->user, arg != NULL ? arg : "");
		if (arg != NULL)
			explicit_bzero(arg, strlen(arg));
		if (r == -1)
			ftp_session_login_failed(s);
		return 0;
	}
	r = s->d->cfg.check_user == NULL ? 0 : s->d->cfg.check_user(
	    &s->d->cfg.users, s->user, arg != NULL ? arg : "", &u);
	if (arg != NULL)
		explicit_bzero(arg, strlen(arg));
	if (r == 1)
		return ftp_session_login_ok(s, u);
	ftp_session_login_failed(s);
	return 0;
}

/*
 * A failed login: counted for the address, answered after a delay that
 * doubles with each failure from it (up to FTP_FAILS_DELAY_MAX), on a
 * timer: other sessions go on.  The session stays paused until then.
 */
static void
ftp_session_login_failed(struct ftp_session *s)
{
	struct ftp_fail *f;
	struct timeval delay;
	char shown[FTP_USER_MAX * 4];
	double secs;

	log_escape(shown, sizeof(shown), s->user, strlen(s->user));
	s->login = FTP_LOGIN_NONE;
	s->failures++;
	f = ftp_fail_find(s->d, conn_host(s->c), 1);
	if (f->count < 30)
		f->count++;
	f->last = time(NULL);
	secs = ((double)s->d->cfg.login_delay.tv_sec +
	    (double)s->d->cfg.login_delay.tv_usec / 1e6) *
	    (double)(1U << (f->count - 1 < 16 ? f->count - 1 : 16));
	if (secs > FTP_FAILS_DELAY_MAX)
		secs = FTP_FAILS_DELAY_MAX;
	log_peer(LOG_NOTICE, conn_peer(s->c),
	    "failed login as '%s' (%u from this address, %.1f s delay)",
	    shown, f->count, secs);
	delay.tv_sec = (time_t)secs;
	delay.tv_usec = (suseconds_t)((secs - (double)delay.tv_sec) * 1e6);
	s->paused = 1;
	evtimer_add(s->delay_ev, &delay);
}

/*
 * The worker's answer on a password: u is the user, or NULL for a wrong
 * password or an unknown user.  A user whose home cannot be opened fails
 * at once (it is a configuration fault, not a guess).
 */
void
ftp_session_auth_done(struct ftp_session *s, const struct ftp_user *u)
{
	if (u == NULL) {
		ftp_session_login_failed(s);
		return;
	}
	s->paused = 0;
	if (ftp_session_login_ok(s, u) == -1)
		return;
	(void)ftp_session_input(s);
}

/* The right password: into the user's home.  -1: the session is gone. */
static int
ftp_session_login_ok(struct ftp_session *s, const struct ftp_user *u)
{
	struct ftp_fail *f;
	char shown[FTP_USER_MAX * 4];
	int fd;

	log_escape(shown, sizeof(shown), s->user, strlen(s->user));
	fd = open(u->home, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		log_peer(LOG_WARNING, conn_peer(s->c),
		    "login as '%s': home %s: %s", shown, u->home,
		    strerror(errno));
		return ftp_reply(s, FTP_NOT_LOGGED_IN, "Cannot open your home "
		    "directory.");
	}
	s->login = FTP_LOGIN_DONE;
	s->rootfd = fd;
	s->may_write = u->rw;
	if ((f = ftp_fail_find(s->d, conn_host(s->c), 0)) != NULL)
		f->count = 0;
	log_peer(LOG_INFO, conn_peer(s->c), "login as '%s'%s",
	    shown, s->may_write ? " (may write)" : "");
	return ftp_reply(s, FTP_LOGGED_IN, "Login successful.");
}

/*
 * AUTH TLS (RFC 4217): 234 in clear, then the handshake on the same
 * connection.  Bytes sent after the command, before our reply, cannot be
 * told apart from the handshake: such a client is refused.
 */
static int
ftp_cmd_auth(struct ftp_session *s, char *arg)
{
	struct conn *c = s->c;

	if (s->d->cfg.tls_ctx == NULL || s->d->tls == NULL)
		return ftp_reply(s, FTP_NOT_IMPL, "AUTH not implemented.");
	if (strcasecmp(arg, "TLS") != 0 && strcasecmp(arg, "TLS-C") != 0 &&
	    strcasecmp(arg, "SSL") != 0)
		return ftp_reply(s, FTP_BAD_PARAM, "Only AUTH TLS is "
		    "supported.");
	if (s->tls)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "TLS is already on.");
	if (evbuffer_get_length(conn_input(c)) != 0)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "Wait for the reply to "
		    "AUTH before the handshake.");
	if (s->d->tls->sid_new(s->tls_sid) == -1)
		return ftp_reply(s, FTP_TLS_UNAVAILABLE, "TLS not available "
		    "now.");
	if (ftp_reply(s, FTP_AUTH_OK, "AUTH TLS OK.") == -1)
		return -1;
	if (conn_output_len(c) != 0) {
		conn_close(c, "AUTH TLS: the reply could not be sent at once");
		return -1;
	}
	if (s->d->tls->starttls(c, s->d->cfg.tls_ctx, s->tls_sid) == -1) {
		conn_close(c, errno == ENOMEM ? "AUTH TLS: out of memory" :
		    "AUTH TLS: cannot switch");
		return -1;
	}
	s->tls = 1;
	log_peer(LOG_DEBUG, conn_peer(c), "TLS handshake");
	return 0;
}

/* CCC would put the control connection back in clear text: never. */
static int
ftp_cmd_ccc(struct ftp_session *s, char *arg)
{
	if (s->d->cfg.tls_ctx == NULL)
		return ftp_reply(s, FTP_NOT_IMPL, "CCC not implemented.");
	return ftp_reply(s, FTP_TLS_POLICY, "CCC refused: the control "
	    "connection stays protected.");
}

/* PBSZ: TLS needs no buffer size; any value becomes 0. */
static int
ftp_cmd_pbsz(struct ftp_session *s, char *arg)
{
	unsigned long v;

	if (s->d->cfg.tls_ctx == NULL)
		return ftp_reply(s, FTP_NOT_IMPL, "PBSZ not implemented.");
	if (!s->tls)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "PBSZ needs AUTH TLS "
		    "first.");
	if (parse_ulong(arg, 0, 4294967295UL, &v) == -1)
		return ftp_reply(s, FTP_BAD_ARGS, "Bad buffer size.");
	s->pbsz = 1;
	return ftp_reply(s, FTP_OK, "PBSZ=0");
}

/* PROT P: data connections in TLS; PROT C: in clear (unless refused). */
static int
ftp_cmd_prot(struct ftp_session *s, char *arg)
{
	if (s->d->cfg.tls_ctx == NULL)
		return ftp_reply(s, FTP_NOT_IMPL, "PROT not implemented.");
	if (!s->tls || !s->pbsz)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "PROT needs AUTH TLS "
		    "and PBSZ first.");
	if (strcasecmp(arg, "P") == 0) {
		s->prot_p = 1;
		return ftp_reply(s, FTP_OK, "PROT now Private.");
	}
	if (strcasecmp(arg, "C") == 0) {
		if (s->d->cfg.require_tls && s->login == FTP_LOGIN_DONE &&
		    !s->anonymous)
			return ftp_reply(s, FTP_TLS_POLICY, "PROT C refused: "
			    "data connections must be protected.");
		s->prot_p = 0;
		return ftp_reply(s, FTP_OK, "PROT now Clear.");
	}
	if (strcasecmp(arg, "S") == 0 || strcasecmp(arg, "E") == 0)
		return ftp_reply(s, FTP_PROT_UNSUPPORTED, "PROT %s not "
		    "supported.", arg);
	return ftp_reply(s, FTP_BAD_PARAM, "Unknown PROT level.");
}

/* --require-tls: a named user's transfers only under PROT P. */
static int
ftp_session_clear_data(const struct ftp_session *s)
{
	return s->d->cfg.require_tls && !s->anonymous && !s->prot_p;
}

static int
ftp_cmd_acct(struct ftp_session *s, char *arg)
{
	return ftp_reply(s, FTP_NOT_NEEDED, "ACCT not needed.");
}

static int
ftp_cmd_allo(struct ftp_session *s, char *arg)
{
	return ftp_reply(s, FTP_NOT_NEEDED, "ALLO not needed.");
}

static int
ftp_cmd_noimpl(struct ftp_session *s, char *arg)
{
	return ftp_reply(s, FTP_NOT_IMPL, "Command not implemented.");
}

static int
ftp_cmd_syst(struct ftp_session *s, char *arg)
{
	return ftp_reply(s, FTP_SYSTEM, "UNIX Type: L8");
}

static int
ftp_cmd_noop(struct ftp_session *s, char *arg)
{
	return ftp_reply(s, FTP_OK, "NOOP ok.");
}

static int
ftp_cmd_quit(struct ftp_session *s, char *arg)
{
	ftp_data_close(s);
	if (ftp_reply(s, FTP_GOODBYE, "Goodbye.") == -1)
		return -1;
	conn_close_after_flush(s->c, "quit");
	return -1;
}

static int
ftp_cmd_pwd(struct ftp_session *s, char *arg)
{
	char q[2 * FTP_PATH_MAX + 4];

	ftp_quote(q, sizeof(q), s->cwd);
	return ftp_reply(s, FTP_CREATED, "\"%s\" is the current directory.",
	    q);
}

static int
ftp_cmd_cwd(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1];
	int fd, sub, err;

	if (ftp_resolve(s, arg, path) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	fd = ftp_path_open(s->rootfd, path, O_PATH | O_DIRECTORY, 0);
	if (fd == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	/* Looking up "." in it needs the search right a cd needs. */
	sub = openat(fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	err = errno;
	close(fd);
	if (sub == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, err);
	close(sub);
	strcpy(s->cwd, path);
	return ftp_reply(s, FTP_FILE_OK, "Directory successfully changed.");
}

static int
ftp_cmd_cdup(struct ftp_session *s, char *arg)
{
	char up[] = "..";

	return ftp_cmd_cwd(s, up);
}

static int
ftp_cmd_type(struct ftp_session *s, char *arg)
{
	if (strcasecmp(arg, "I") == 0 || strcasecmp(arg, "L 8") == 0 ||
	    strcasecmp(arg, "L8") == 0) {
		s->ascii = 0;
		return ftp_reply(s, FTP_OK, "Switching to Binary mode.");
	}
	if (strcasecmp(arg, "A") == 0 || strcasecmp(arg, "A N") == 0) {
		s->ascii = 1;
		return ftp_reply(s, FTP_OK, "Switching to ASCII mode.");
	}
	return ftp_reply(s, FTP_BAD_PARAM, "Unsupported TYPE '%.16s'.", arg);
}

static int
ftp_cmd_mode(struct ftp_session *s, char *arg)
{
	if (strcasecmp(arg, "S") == 0)
		return ftp_reply(s, FTP_OK, "Mode set to S.");
	if (strcasecmp(arg, "B") == 0 || strcasecmp(arg, "C") == 0)
		return ftp_reply(s, FTP_BAD_PARAM, "Only MODE S is supported.");
	return ftp_reply(s, FTP_BAD_ARGS, "Unknown MODE.");
}

static int
ftp_cmd_stru(struct ftp_session *s, char *arg)
{
	if (strcasecmp(arg, "F") == 0)
		return ftp_reply(s, FTP_OK, "Structure set to F.");
	if (strcasecmp(arg, "R") == 0 || strcasecmp(arg, "P") == 0)
		return ftp_reply(s, FTP_BAD_PARAM, "Only STRU F is supported.");
	return ftp_reply(s, FTP_BAD_ARGS, "Unknown STRU.");
}

static int
ftp_cmd_feat(struct ftp_session *s, char *arg)
{
	struct evbuffer *b;
	char facts[128];

	if ((b = evbuffer_new()) == NULL)
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	if (ftp_list_facts_feat(facts, sizeof(facts), s->facts) == -1)
		facts[0] = '\0';
	evbuffer_add_printf(b, "211-Features:\r\n%s"
	    " EPRT\r\n EPSV\r\n MDTM\r\n MLST %s\r\n PASV\r\n%s"
	    " REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n"
	    "211 End\r\n", s->d->cfg.tls_ctx != NULL ? " AUTH TLS\r\n" : "",
	    facts, s->d->cfg.tls_ctx != NULL ? " PBSZ\r\n PROT\r\n" : "");
	return ftp_reply_buffer(s, b);
}

static int
ftp_cmd_help(struct ftp_session *s, char *arg)
{
	const struct ftp_cmd *t, *cmd;
	struct evbuffer *b;
	size_t n, i, k;
	char *p;

	if (arg != NULL) {
		for (p = arg; *p != '\0'; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		if ((cmd = ftp_cmd_lookup(arg)) == NULL)
			return ftp_reply(s, FTP_BAD_ARGS, "Unknown command "
			    "'%.8s'.", arg);
		return ftp_reply(s, FTP_HELP, "Syntax: %s%s%s", cmd->verb,
		    cmd->help[0] != '\0' ? " " : "", cmd->help);
	}
	if ((b = evbuffer_new()) == NULL)
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	evbuffer_add_printf(b, "214-The following commands are "
	    "recognized.\r\n");
	t = ftp_cmd_table(&n);
	for (i = 0, k = 0; i < n; i++) {
		/* What this session may do: no writing verbs if it may not. */
		if ((t[i].flags & FTP_CMD_WRITE) && !s->may_write)
			continue;
		evbuffer_add_printf(b, "%s%-5s", k % 10 == 0 ? " " : "",
		    t[i].verb);
		if (++k % 10 == 0)
			evbuffer_add_printf(b, "\r\n");
	}
	if (k % 10 != 0)
		evbuffer_add_printf(b, "\r\n");
	evbuffer_add_printf(b, "214 Help OK.\r\n");
	return ftp_reply_buffer(s, b);
}

/* OPTS UTF8 ON (we always are), OPTS MLST facts. */
static int
ftp_cmd_opts(struct ftp_session *s, char *arg)
{
	char *opt = arg, *val, *tok, *save = NULL, facts[128], out[128];
	unsigned mask, bit;
	size_t len = 0;
	int n;

	if ((val = strchr(arg, ' ')) != NULL)
		*val++ = '\0';
	if (strcasecmp(opt, "UTF8") == 0 || strcasecmp(opt, "UTF-8") == 0) {
		if (val == NULL || strcasecmp(val, "ON") == 0)
			return ftp_reply(s, FTP_OK, "Always in UTF8 mode.");
		return ftp_reply(s, FTP_BAD_PARAM, "UTF8 cannot be turned "
		    "off.");
	}
	if (strcasecmp(opt, "MLST") != 0)
		return ftp_reply(s, FTP_BAD_ARGS, "Option not understood.");
	ftp_list_facts_parse(val, &mask);
	s->facts = mask;
	/* The reply lists the facts now in use. */
	out[0] = '\0';
	if (ftp_list_facts_feat(facts, sizeof(facts), 0) > 0) {
		for (tok = strtok_r(facts, ";", &save), bit = 1; tok != NULL;
		    tok = strtok_r(NULL, ";", &save), bit <<= 1) {
			if (!(mask & bit))
				continue;
			n = snprintf(out + len, sizeof(out) - len, "%s;", tok);
			if (n > 0 && (size_t)n < sizeof(out) - len)
				len += (size_t)n;
		}
	}
	return ftp_reply(s, FTP_OK, "MLST OPTS %s", out);
}

/* PASV and PORT are off after EPSV ALL (RFC 2428). */
static int
ftp_cmd_pasv(struct ftp_session *s, char *arg)
{
	char buf[128];

	if (s->epsv_all)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "EPSV ALL in effect.");
	if (ftp_data_passive(s, 0, buf, sizeof(buf)) == -1)
		return ftp_reply(s, FTP_NO_DATA_CONN, "%s", buf);
	return ftp_reply(s, FTP_PASV, "%s", buf);
}

static int
ftp_cmd_epsv(struct ftp_session *s, char *arg)
{
	char buf[128];

	if (arg != NULL && strcasecmp(arg, "ALL") == 0) {
		s->epsv_all = 1;
		return ftp_reply(s, FTP_OK, "EPSV ALL ok.");
	}
	if (arg != NULL && strcmp(arg, "1") != 0 && strcmp(arg, "2") != 0)
		return ftp_reply(s, FTP_BAD_PROTO, "Network protocol not "
		    "supported, use (1,2)");
	if (ftp_data_passive(s, 1, buf, sizeof(buf)) == -1)
		return ftp_reply(s, FTP_NO_DATA_CONN, "%s", buf);
	return ftp_reply(s, FTP_EPSV, "%s", buf);
}

/*
 * PORT and EPRT may name only the client's own address and a port of
 * 1024 or more (RFC 2577): no bounce to anyone else, no privileged port.
 */
static int
ftp_session_target_ok(struct ftp_session *s, const struct sockaddr *sa)
{
	char host[ADDR_STRLEN];
	unsigned port;

	if (addr_format(sa, host, sizeof(host), &port) == -1)
		return -1;
	if (addr_same_host(sa, conn_peer(s->c)) &&
	    port >= 1024)
		return 0;
	log_peer(LOG_WARNING, conn_peer(s->c),
	    "refused a data connection to %s port %u", host, port);
	return -1;
}

static int
ftp_cmd_port(struct ftp_session *s, char *arg)
{
	struct sockaddr_in sin;

	if (s->epsv_all)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "EPSV ALL in effect.");
	if (ftp_data_parse_port(arg, &sin) == -1)
		return ftp_reply(s, FTP_BAD_ARGS, "Illegal PORT command.");
	if (ftp_session_target_ok(s, (struct sockaddr *)&sin) == -1)
		return ftp_reply(s, FTP_BAD_PARAM, "PORT refused: only to "
		    "your own address, port 1024 or above.");
	if (ftp_data_active(s, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	return ftp_reply(s, FTP_OK, "PORT command successful. Consider "
	    "using PASV.");
}

static int
ftp_cmd_eprt(struct ftp_session *s, char *arg)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (s->epsv_all)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "EPSV ALL in effect.");
	if (ftp_data_parse_eprt(arg, &ss, &len) == -1)
		return errno == EAFNOSUPPORT ?
		    ftp_reply(s, FTP_BAD_PROTO, "Network protocol not "
		    "supported, use (1,2)") :
		    ftp_reply(s, FTP_BAD_ARGS, "Illegal EPRT command.");
	if (ftp_session_target_ok(s, (struct sockaddr *)&ss) == -1)
		return ftp_reply(s, FTP_BAD_PARAM, "EPRT refused: only to "
		    "your own address, port 1024 or above.");
	if (ftp_data_active(s, (struct sockaddr *)&ss, len) == -1)
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	return ftp_reply(s, FTP_OK, "EPRT command successful.");
}

static int
ftp_cmd_rest(struct ftp_session *s, char *arg)
{
	unsigned long v;

	if (parse_ulong(arg, 0, (unsigned long)INT64_MAX, &v) == -1)
		return ftp_reply(s, FTP_BAD_ARGS, "Bad restart position.");
	s->rest = v;
	return ftp_reply(s, FTP_NEED_INFO, "Restart position accepted (%lu).",
	    v);
}

/* RETR: a plain file the daemon can read, from REST's offset. */

/*
 * Whether a transfer may start: a data connection must be set up, and
 * protected when TLS requires it.  1 when refused (the reply is sent, its
 * result in *rc), 0 to go on.
 */
static int
ftp_transfer_refused(struct ftp_session *s, int *rc)
{
	if (!ftp_data_ready(s))
		*rc = ftp_reply(s, FTP_NO_DATA_CONN, "Use PORT or PASV first.");
	else if (ftp_session_clear_data(s))
		*rc = ftp_reply(s, FTP_TLS_DATA_REQUIRED, "Data connections "
		    "must be protected: use PROT P.");
	else
		return 0;
	return 1;
}

/* The data connection could not start: idle again, and say so. */
static int
ftp_transfer_not_started(struct ftp_session *s)
{
	ftp_session_idle(s, 1);
	return ftp_reply(s, FTP_NO_DATA_CONN, "Failed to establish "
	    "connection.");
}
static int
ftp_cmd_retr(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1];
	unsigned long long rest = s->rest;
	struct stat st;
	int fd, rc;

	s->rest = 0;
	if (ftp_transfer_refused(s, &rc))
		return rc;
	if (ftp_resolve(s, arg, path) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	fd = ftp_path_open(s->rootfd, path, O_RDONLY | O_NONBLOCK, 0);
	if (fd == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ftp_reply(s, FTP_FILE_FAIL, "%.512s: Not a plain file.",
		    arg);
	}
	if (ftp_reply(s, FTP_OPENING_DATA, "Opening %s mode data connection "
	    "for %.512s (%lld bytes).", s->ascii ? "ASCII" : "BINARY", arg,
	    (long long)st.st_size) == -1) {
		close(fd);
		return -1;
	}
	ftp_session_idle(s, 0);
	s->xfer_file = 1;
	if (ftp_data_send_file(s, fd, (off_t)rest, st.st_size, s->ascii,
	    path) == -1) {
		return ftp_transfer_not_started(s);
	}
	return 0;
}

/*
 * LIST, NLST and MLSD.  ls-style options ("-a", "-la") before the path
 * are skipped, as clients expect.
 */
static int
ftp_list_cmd(struct ftp_session *s, char *arg, enum ftp_list_style style)
{
	char path[FTP_PATH_MAX + 1];
	struct ftp_listing *l;
	struct stat st;
	int rc;

	while (style != FTP_LIST_FACTS && arg != NULL && arg[0] == '-') {
		arg += strcspn(arg, " ");
		arg += strspn(arg, " ");
		if (*arg == '\0')
			arg = NULL;
	}
	if (ftp_transfer_refused(s, &rc))
		return rc;
	if (ftp_resolve(s, arg, path) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	if (style == FTP_LIST_FACTS) {
		if (ftp_path_stat(s->rootfd, path, &st) == -1)
			return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
		if (!S_ISDIR(st.st_mode))
			return ftp_reply_errno(s, FTP_FILE_FAIL, arg, ENOTDIR);
	}
	l = ftp_listing_open(s->rootfd, path, arg, style, s->facts,
	    s->may_write);
	if (l == NULL)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg != NULL ? arg :
		    s->cwd, errno);
	if (ftp_reply(s, FTP_OPENING_DATA, "Here comes the directory "
	    "listing.") == -1) {
		ftp_listing_free(l);
		return -1;
	}
	ftp_session_idle(s, 0);
	if (ftp_data_send_listing(s, l, path) == -1) {
		return ftp_transfer_not_started(s);
	}
	return 0;
}

static int
ftp_cmd_list(struct ftp_session *s, char *arg)
{
	return ftp_list_cmd(s, arg, FTP_LIST_LONG);
}

static int
ftp_cmd_nlst(struct ftp_session *s, char *arg)
{
	return ftp_list_cmd(s, arg, FTP_LIST_NAMES);
}

static int
ftp_cmd_mlsd(struct ftp_session *s, char *arg)
{
	return ftp_list_cmd(s, arg, FTP_LIST_FACTS);
}

/* MLST: the facts of one path, on the control connection. */
static int
ftp_cmd_mlst(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1], line[FTP_LIST_LINE_MAX];
	struct evbuffer *b;
	struct stat st;
	int n;

	if (ftp_resolve(s, arg, path) == -1 ||
	    ftp_path_stat(s->rootfd, path, &st) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg != NULL ? arg :
		    s->cwd, errno);
	n = ftp_list_facts(line, sizeof(line), path, &st,
	    S_ISDIR(st.st_mode) ? (s->may_write ? "flcdmpe" : "el") :
	    (s->may_write ? "adfrw" : "r"), s->facts, NULL);
	if (n < 0)
		return ftp_reply(s, FTP_FILE_FAIL, "Name too long.");
	if ((b = evbuffer_new()) == NULL)
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	evbuffer_add_printf(b, "250-Listing %s\r\n ", path);
	evbuffer_add(b, line, (size_t)n);
	evbuffer_add_printf(b, "250 End\r\n");
	return ftp_reply_buffer(s, b);
}

static int
ftp_cmd_size(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1];
	struct stat st;

	if (ftp_resolve(s, arg, path) == -1 ||
	    ftp_path_stat(s->rootfd, path, &st) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	if (!S_ISREG(st.st_mode))
		return ftp_reply(s, FTP_FILE_FAIL, "%.512s: Not a plain file.",
		    arg);
	return ftp_reply(s, FTP_FILE_STATUS, "%lld", (long long)st.st_size);
}

static int
ftp_cmd_mdtm(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1], when[32];
	struct stat st;

	/* "MDTM YYYYMMDDHHMMSS path" sets the time: a write. */
	if (strlen(arg) > 15 && strspn(arg, "0123456789") == 14 &&
	    arg[14] == ' ' && !s->may_write)
		return ftp_reply(s, FTP_FILE_FAIL, "Permission denied.");
	if (ftp_resolve(s, arg, path) == -1 ||
	    ftp_path_stat(s->rootfd, path, &st) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	if (!S_ISREG(st.st_mode) ||
	    ftp_list_time(when, sizeof(when), st.st_mtime) == -1)
		return ftp_reply(s, FTP_FILE_FAIL, "%.512s: Not a plain file.",
		    arg);
	return ftp_reply(s, FTP_FILE_STATUS, "%s", when);
}

/*
 * STAT: the session's state (or a transfer's progress), or, with a path,
 * its listing on the control connection (at most FTP_STAT_MAX bytes).
 */
static int
ftp_cmd_stat(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1];
	unsigned long long sent, total;
	struct ftp_listing *l;
	struct evbuffer *b;

	if (arg == NULL || ftp_data_busy(s)) {
		if ((b = evbuffer_new()) == NULL)
			return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
		ftp_data_progress(s, &sent, &total);
		evbuffer_add_printf(b, "211-clockwork-ftpd status:\r\n"
		    " Connected to %s\r\n Logged in as %s\r\n"
		    " TYPE: %s, MODE: S, STRU: F\r\n", conn_host(s->c),
		    s->user[0] != '\0' ? s->user : "(nobody)",
		    s->ascii ? "ASCII" : "BINARY");
		if (ftp_data_busy(s))
			evbuffer_add_printf(b, " Transfer: %llu of %llu bytes"
			    " sent\r\n", sent, total);
		else
			evbuffer_add_printf(b, " No transfer running\r\n");
		evbuffer_add_printf(b, "211 End of status\r\n");
		return ftp_reply_buffer(s, b);
	}
	while (arg != NULL && arg[0] == '-') {
		arg += strcspn(arg, " ");
		arg += strspn(arg, " ");
		if (*arg == '\0')
			arg = NULL;
	}
	if (ftp_resolve(s, arg, path) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	if ((l = ftp_listing_open(s->rootfd, path, arg, FTP_LIST_LONG,
	    s->facts, s->may_write)) == NULL)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg != NULL ? arg :
		    s->cwd, errno);
	if ((b = evbuffer_new()) == NULL) {
		ftp_listing_free(l);
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	}
	evbuffer_add_printf(b, "213-Status of %s:\r\n", path);
	(void)ftp_listing_fill(l, b, FTP_STAT_MAX);
	ftp_listing_free(l);
	evbuffer_add_printf(b, "213 End of status\r\n");
	return ftp_reply_buffer(s, b);
}

/* ABOR: 426 for the transfer cut (ftp_data sends it), then 226. */
static int
ftp_cmd_abor(struct ftp_session *s, char *arg)
{
	int r;

	if ((r = ftp_data_abort(s)) == -1)
		return -1;
	ftp_session_idle(s, 1);
	if (r == 1)
		return ftp_reply(s, FTP_XFER_DONE, "ABOR successful.");
	return ftp_reply(s, FTP_ABOR_NO_XFER, "No transfer to abort.");
}

static int
ftp_cmd_site(struct ftp_session *s, char *arg)
{
	if (strcasecmp(arg, "HELP") == 0)
		return ftp_reply(s, FTP_HELP, s->may_write ?
		    "SITE CHMOD HELP" : "SITE HELP");
	if (strncasecmp(arg, "CHMOD ", 6) == 0)
		return ftp_site_chmod(s, arg + 6);
	return ftp_reply(s, FTP_BAD_COMMAND, "Unknown SITE command.");
}

/*
 * The parent directory of a client path, opened beneath the root, and
 * the last component (into name's buffer).  -1 with errno set.
 */
static int
ftp_parent(struct ftp_session *s, const char *arg, char *path,
    const char **namep)
{
	char dir[FTP_PATH_MAX + 1];

	if (ftp_resolve(s, arg, path) == -1 ||
	    ftp_path_split(path, dir, sizeof(dir), namep) == -1)
		return -1;
	return ftp_path_open(s->rootfd, dir, O_PATH | O_DIRECTORY, 0);
}

/*
 * STOR, APPE, STOU (and REST + STOR): the data go to a new file aside in
 * the same directory, which replaces the target only when the upload
 * ends cleanly.  APPE and REST start it as a copy of the old file (all
 * of it, or its first REST bytes).
 */
static int
ftp_store(struct ftp_session *s, char *arg, enum ftp_verb verb)
{
	char path[FTP_PATH_MAX + 1], tmp[64], unique[40];
	unsigned long long rest = s->rest;
	const char *name;
	struct stat st;
	off_t keep = 0, off = 0;
	ssize_t n;
	int dirfd, fd = -1, old, err, i, rc;

	s->rest = 0;
	if (ftp_transfer_refused(s, &rc))
		return rc;
	if (verb == FTP_V_STOU) {
		snprintf(unique, sizeof(unique), "ftp%08lx",
		    (unsigned long)random());
		arg = unique;
	}
	if ((dirfd = ftp_parent(s, arg, path, &name)) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	for (i = 0; verb == FTP_V_STOU && i < 100 &&
	    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0; i++) {
		snprintf(unique, sizeof(unique), "ftp%08lx",
		    (unsigned long)random());
		name = unique;
		snprintf(strrchr(path, '/') + 1, sizeof(path) -
		    (size_t)(strrchr(path, '/') + 1 - path), "%s", unique);
	}
	old = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (old == -1 && errno != ENOENT) {
		err = errno;
		close(dirfd);
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, err == ELOOP ?
		    EACCES : err);
	}
	if (old != -1 && (fstat(old, &st) == -1 || !S_ISREG(st.st_mode))) {
		close(old);
		close(dirfd);
		return ftp_reply(s, FTP_FILE_FAIL, "%.512s: Not a plain file.",
		    arg);
	}
	if (old != -1)
		keep = verb == FTP_V_APPE ? st.st_size :
		    (off_t)rest < st.st_size ? (off_t)rest : st.st_size;
	else if (rest > 0) {
		close(dirfd);
		return ftp_reply(s, FTP_FILE_FAIL, "%.512s: Nothing to "
		    "resume.", arg);
	}
	for (i = 0; i < 100 && fd == -1; i++) {
		snprintf(tmp, sizeof(tmp), ".ftp-upload.%08lx%08lx",
		    (unsigned long)random(), (unsigned long)random());
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd == -1 && errno != EEXIST)
			break;
	}
	if (fd == -1) {
		err = errno;
		if (old != -1)
			close(old);
		close(dirfd);
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, err);
	}
	if (old != -1)
		(void)fchmod(fd, st.st_mode & 0777);
	/* The part kept from the old file, copied in the kernel. */
	while (off < keep) {
		n = copy_file_range(old, &off, fd, NULL, (size_t)(keep - off),
		    0);
		if (n <= 0) {
			err = n == 0 ? EIO : errno;
			close(old);
			close(fd);
			(void)unlinkat(dirfd, tmp, 0);
			close(dirfd);
			return ftp_reply(s, err == ENOSPC ? FTP_NO_SPACE :
			    FTP_LOCAL_ERROR, "Cannot keep the old data: %s.",
			    strerror(err));
		}
	}
	if (old != -1)
		close(old);
	if ((verb == FTP_V_STOU ? ftp_reply(s, FTP_OPENING_DATA, "FILE: %s",
	    name) : ftp_reply(s, FTP_OPENING_DATA, "Ok to send data.")) ==
	    -1) {
		close(fd);
		(void)unlinkat(dirfd, tmp, 0);
		close(dirfd);
		return -1;
	}
	ftp_session_idle(s, 0);
	s->incoming = 1;
	s->xfer_file = 1;
	if (ftp_data_recv_file(s, dirfd, tmp, fd, name, keep, s->ascii,
	    path) == -1) {
		s->incoming = 0;
		return ftp_transfer_not_started(s);
	}
	return 0;
}

static int
ftp_cmd_stor(struct ftp_session *s, char *arg)
{
	return ftp_store(s, arg, FTP_V_STOR);
}

static int
ftp_cmd_appe(struct ftp_session *s, char *arg)
{
	return ftp_store(s, arg, FTP_V_APPE);
}

static int
ftp_cmd_stou(struct ftp_session *s, char *arg)
{
	return ftp_store(s, arg, FTP_V_STOU);
}

static int
ftp_cmd_dele(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1];
	const char *name;
	struct stat st;
	int dirfd, r;

	if ((dirfd = ftp_parent(s, arg, path, &name)) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode)) {
		close(dirfd);
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, EISDIR);
	}
	r = unlinkat(dirfd, name, 0);
	close(dirfd);
	if (r == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	log_peer(LOG_INFO, conn_peer(s->c), "%s deleted %s",
	    s->user, path);
	return ftp_reply(s, FTP_FILE_OK, "Delete operation successful.");
}

static int
ftp_cmd_mkd(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1], q[2 * FTP_PATH_MAX + 4];
	const char *name;
	int dirfd, r;

	if ((dirfd = ftp_parent(s, arg, path, &name)) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	r = mkdirat(dirfd, name, 0777);
	close(dirfd);
	if (r == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	ftp_quote(q, sizeof(q), path);
	return ftp_reply(s, FTP_CREATED, "\"%s\" created.", q);
}

static int
ftp_cmd_rmd(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1];
	const char *name;
	int dirfd, r;

	if ((dirfd = ftp_parent(s, arg, path, &name)) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	r = unlinkat(dirfd, name, AT_REMOVEDIR);
	close(dirfd);
	if (r == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	return ftp_reply(s, FTP_FILE_OK, "Remove directory operation "
	    "successful.");
}

static int
ftp_cmd_rnfr(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1];
	const char *name;
	struct stat st;
	int dirfd, r;

	if ((dirfd = ftp_parent(s, arg, path, &name)) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	r = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW);
	close(dirfd);
	if (r == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	if ((s->rnfr = strdup(path)) == NULL)
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	return ftp_reply(s, FTP_NEED_INFO, "Ready for RNTO.");
}

static int
ftp_cmd_rnto(struct ftp_session *s, char *arg)
{
	char from[FTP_PATH_MAX + 1], path[FTP_PATH_MAX + 1];
	const char *fname, *name;
	int fdir, tdir, r, err;

	if (s->rnfr == NULL)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "RNFR required first.");
	fdir = ftp_parent(s, s->rnfr, from, &fname);
	free(s->rnfr);
	s->rnfr = NULL;
	if (fdir == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	if ((tdir = ftp_parent(s, arg, path, &name)) == -1) {
		err = errno;
		close(fdir);
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, err);
	}
	r = renameat(fdir, fname, tdir, name);
	err = errno;
	close(fdir);
	close(tdir);
	if (r == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, err);
	return ftp_reply(s, FTP_FILE_OK, "Rename successful.");
}

/* SITE CHMOD MODE PATH: permission bits only (no set-id, no sticky). */
static int
ftp_site_chmod(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1], *sp, *end;
	const char *name;
	unsigned long mode;
	int dirfd, fd, err;

	if (!s->may_write)
		return ftp_reply(s, FTP_FILE_FAIL, "Permission denied.");
	if ((sp = strchr(arg, ' ')) == NULL)
		return ftp_reply(s, FTP_BAD_ARGS, "SITE CHMOD MODE PATH.");
	*sp++ = '\0';
	errno = 0;
	mode = strtoul(arg, &end, 8);
	if (*arg == '\0' || *end != '\0' || errno != 0 || mode > 0777)
		return ftp_reply(s, FTP_BAD_ARGS, "Bad mode (000-777).");
	if ((dirfd = ftp_parent(s, sp, path, &name)) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, sp, errno);
	/* Opened without following a symlink: chmod reaches only it. */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	err = errno;
	close(dirfd);
	if (fd == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, sp, err == ELOOP ?
		    EACCES : err);
	if (fchmod(fd, (mode_t)mode) == -1) {
		err = errno;
		close(fd);
		return ftp_reply_errno(s, FTP_FILE_FAIL, sp, err);
	}
	close(fd);
	return ftp_reply(s, FTP_OK, "SITE CHMOD command ok.");
}
