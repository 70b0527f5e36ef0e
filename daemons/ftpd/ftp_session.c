/* SPDX-License-Identifier: ISC */
/*
 * FTP sessions: the control connection.  Command lines are read with a
 * bound (an over-long line gets 500 and is skipped, never buffered),
 * parsed by ftp_cmd, checked against the verb table's flags in one place
 * (login, argument, right to write) and handed to one handler each, in
 * the module of its kind: ftp_login (USER, PASS), ftp_secure (AUTH, PBSZ,
 * PROT, CCC), ftp_xfer (data connections and transfers), ftp_fs (files
 * and directories), or here for the session's own (FEAT, HELP, OPTS,
 * STAT, QUIT and the like).  While a transfer runs, only ABOR, STAT,
 * NOOP, HELP and QUIT are served at once; any other command waits for
 * the transfer's end.
 *
 * One command a turn of the loop: after each, the session goes to the
 * back of the loop's queue (its wake event) before the next, so that a
 * client that pipelines thousands of commands delays nobody.  While a
 * command is in progress (paused: a password on a worker, a delay, a
 * command held for a transfer) and while more than FTP_CONTROL_BACKLOG
 * of replies wait for the client to read them, the session reads
 * nothing: the kernel's buffers, then TCP, hold the client back.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "ftp_budget.h"
#include "ftp_cmd.h"
#include "ftp_control.h"
#include "ftp_fs.h"
#include "ftp_list.h"
#include "ftp_login.h"
#include "ftp_secure.h"
#include "ftp_session.h"
#include "ftp_xfer.h"
#include "ftpd.h"
#include "lineio.h"
#include "log.h"
#include "server.h"

typedef int (*ftp_handler)(struct ftp_session *, char *);

static int	ftp_session_input(struct ftp_session *);
static int	ftp_session_next(struct ftp_session *);
static void	ftp_session_wake_cb(evutil_socket_t, short, void *);
static int	ftp_session_command(struct ftp_session *, char *, size_t);
static int	ftp_session_run(struct ftp_session *, const struct ftp_cmd *,
		    const char *, char *);
static int	ftp_session_acct(struct ftp_session *, char *);
static int	ftp_session_allo(struct ftp_session *, char *);
static int	ftp_session_feat(struct ftp_session *, char *);
static int	ftp_session_help(struct ftp_session *, char *);
static int	ftp_session_noimpl(struct ftp_session *, char *);
static int	ftp_session_noop(struct ftp_session *, char *);
static int	ftp_session_opts(struct ftp_session *, char *);
static int	ftp_session_quit(struct ftp_session *, char *);
static int	ftp_session_stat(struct ftp_session *, char *);
static int	ftp_session_syst(struct ftp_session *, char *);

static const ftp_handler ftp_handlers[FTP_V_COUNT] = {
	[FTP_V_ABOR] = ftp_xfer_abor,
	[FTP_V_ACCT] = ftp_session_acct,
	[FTP_V_ALLO] = ftp_session_allo,
	[FTP_V_APPE] = ftp_xfer_appe,
	[FTP_V_AUTH] = ftp_secure_auth,
	[FTP_V_CCC] = ftp_secure_ccc,
	[FTP_V_CDUP] = ftp_fs_cdup,
	[FTP_V_CWD] = ftp_fs_cwd,
	[FTP_V_DELE] = ftp_fs_dele,
	[FTP_V_EPRT] = ftp_xfer_eprt,
	[FTP_V_EPSV] = ftp_xfer_epsv,
	[FTP_V_FEAT] = ftp_session_feat,
	[FTP_V_HELP] = ftp_session_help,
	[FTP_V_LIST] = ftp_xfer_list,
	[FTP_V_MDTM] = ftp_fs_mdtm,
	[FTP_V_MKD] = ftp_fs_mkd,
	[FTP_V_MLSD] = ftp_xfer_mlsd,
	[FTP_V_MLST] = ftp_fs_mlst,
	[FTP_V_MODE] = ftp_xfer_mode,
	[FTP_V_NLST] = ftp_xfer_nlst,
	[FTP_V_NOOP] = ftp_session_noop,
	[FTP_V_OPTS] = ftp_session_opts,
	[FTP_V_PASS] = ftp_login_pass,
	[FTP_V_PASV] = ftp_xfer_pasv,
	[FTP_V_PBSZ] = ftp_secure_pbsz,
	[FTP_V_PORT] = ftp_xfer_port,
	[FTP_V_PROT] = ftp_secure_prot,
	[FTP_V_PWD] = ftp_fs_pwd,
	[FTP_V_QUIT] = ftp_session_quit,
	[FTP_V_REIN] = ftp_session_noimpl,
	[FTP_V_REST] = ftp_xfer_rest,
	[FTP_V_RETR] = ftp_xfer_retr,
	[FTP_V_RMD] = ftp_fs_rmd,
	[FTP_V_RNFR] = ftp_fs_rnfr,
	[FTP_V_RNTO] = ftp_fs_rnto,
	[FTP_V_SITE] = ftp_fs_site,
	[FTP_V_SIZE] = ftp_fs_size,
	[FTP_V_SMNT] = ftp_session_noimpl,
	[FTP_V_STAT] = ftp_session_stat,
	[FTP_V_STOR] = ftp_xfer_stor,
	[FTP_V_STOU] = ftp_xfer_stou,
	[FTP_V_STRU] = ftp_xfer_stru,
	[FTP_V_SYST] = ftp_session_syst,
	[FTP_V_TYPE] = ftp_xfer_type,
	[FTP_V_USER] = ftp_login_user,
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
	s->ascii = 1;		/* RFC 959: TYPE A until the client says */
	strcpy(s->cwd, "/");
	if ((s->wake_ev = event_new(d->base, -1, 0, ftp_session_wake_cb,
	    s)) == NULL || ftp_login_init(s) == -1) {
		if (s->wake_ev != NULL)
			event_free(s->wake_ev);
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

	if (s == NULL)
		return;
	ftp_xfer_free(s, "the session ended");
	ftp_login_end(s);
	ftp_fs_end(s);
	event_free(s->wake_ev);
	free(s->held);
	free(s->rnfr);
	if (s->rootfd != -1 && s->rootfd != s->d->cfg.rootfd)
		close(s->rootfd);
	ftp_budget_give(&s->d->budget, &s->held_bytes, s->held_bytes);
	free(s);
	conn_set_data(c, NULL);
}

/*
 * All replies have gone out: what a STAT reply held is given back, and a
 * session that waited for its client to read runs its next command.
 */
void
ftp_session_drained(struct conn *c)
{
	struct ftp_session *s = conn_data(c);

	if (s == NULL)
		return;
	if (s->reply_bytes > 0) {
		ftp_budget_give(&s->d->budget, &s->held_bytes,
		    s->reply_bytes);
		s->reply_bytes = 0;
	}
	if (s->backlogged) {
		s->backlogged = 0;
		ftp_control_wake(s);
	}
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
	if (ftp_xfer_busy(s)) {
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
	struct ftp_session *s = conn_data(c);

	if (s != NULL && !s->scheduled)
		(void)ftp_session_input(s);
}

/*
 * Runs the next whole command line, if the session may: not paused, not
 * waiting for its client to read replies.  After one command the rest
 * waits for the next turn of the loop.  Returns -1 when the session is
 * gone.
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
		if (conn_output_len(s->c) > FTP_CONTROL_BACKLOG) {
			/*
			 * Replies first: ftp_session_drained() goes on, if
			 * the client reads them within the idle timeout.
			 */
			s->backlogged = 1;
			conn_read_pause(s->c);
			event_add(s->wake_ev, &s->d->cfg.idle);
			return 0;
		}
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
		return ftp_session_next(s);
	}
	if (!s->paused && !conn_closing(s->c))
		conn_read_resume(s->c);
	return 0;
}

/*
 * After a command: the session reads nothing while the command is in
 * progress; otherwise its next command waits for the next turn of the
 * loop (a zero timer: libevent runs it after the next poll, where an
 * event made active now would run before).
 */
static int
ftp_session_next(struct ftp_session *s)
{
	static const struct timeval zero = { 0, 0 };

	if (conn_closing(s->c))
		return -1;
	if (s->paused) {
		conn_read_pause(s->c);
		return 0;
	}
	s->scheduled = 1;
	event_add(s->wake_ev, &zero);
	return 0;
}

/*
 * The session's turn: a pause is over (ftp_control_wake(): a transfer
 * ended, a login was answered), or it has more to read.  The held
 * command, if any, or else the next one.  While its replies wait to be
 * read it is a timer instead, which ends a session whose client left
 * them unread for the idle timeout.
 */
static void
ftp_session_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_session *s = arg;
	char *held = s->held;
	int r;

	if (s->backlogged) {
		if (what & EV_TIMEOUT)
			conn_drop(s->c, "replies not read within the idle "
			    "timeout");
		return;		/* else ftp_session_drained() goes on */
	}
	event_del(s->wake_ev);
	s->paused = 0;
	s->scheduled = 0;
	if (held != NULL) {
		s->held = NULL;
		r = ftp_session_command(s, held, s->heldlen);
		free(held);
		if (r == -1)
			return;
		(void)ftp_session_next(s);
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

	if (ftp_xfer_busy(s)) {
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
		log_peer(LOG_DEBUG, conn_peer(s->c), "bad command '%s'", shown);
		if (r == FTP_PARSE_NUL)
			return ftp_reply(s, FTP_BAD_ARGS, "NUL bytes are not "
			    "allowed.");
		return ftp_reply(s, FTP_BAD_COMMAND, "Unknown command.");
	}
	if (copy != NULL && !(cmd->flags & FTP_CMD_XFER)) {
		/* Run once the transfer has ended (ftp_session_wake_cb). */
		s->held = copy;
		s->heldlen = len;
		s->paused = 1;
		return 0;
	}
	free(copy);
	return ftp_session_run(s, cmd, verb, arg);
}

/*
 * Runs a known command: logged (PASS masked), checked against the verb
 * table's flags, then handed to its handler.
 */
static int
ftp_session_run(struct ftp_session *s, const struct ftp_cmd *cmd,
    const char *verb, char *arg)
{
	char shown[256];

	if (cmd->id == FTP_V_PASS)
		strcpy(shown, "****");
	else
		log_escape(shown, sizeof(shown), arg != NULL ? arg : "",
		    arg != NULL ? strlen(arg) : 0);
	log_peer(LOG_DEBUG, conn_peer(s->c), "%s %s", verb, shown);
	if ((cmd->flags & FTP_CMD_LOGIN) && s->login != FTP_LOGIN_DONE)
		return ftp_reply(s, FTP_NOT_LOGGED_IN, "Please login with USER "
		    "and PASS.");
	if (cmd->flags & FTP_CMD_NOIMPL)
		return ftp_reply(s, FTP_NOT_IMPL, "%s not implemented.", verb);
	if ((cmd->flags & FTP_CMD_ARG) && arg == NULL)
		return ftp_reply(s, FTP_BAD_ARGS, "%s needs an argument.",
		    verb);
	/* A sequence error is one whatever the session may do. */
	if (cmd->id == FTP_V_RNTO && s->rnfr == NULL)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "RNFR required first.");
	if ((cmd->flags & FTP_CMD_WRITE) && !s->may_write)
		return ftp_reply(s, FTP_FILE_FAIL, "Permission denied.");
	if (s->rnfr != NULL && cmd->id != FTP_V_RNTO) {
		/* RNTO must come right after RNFR. */
		free(s->rnfr);
		s->rnfr = NULL;
	}
	if (ftp_handlers[cmd->id](s, arg) == -1)
		return -1;
	/* A data connection set up under the other PROT level goes. */
	if (cmd->id == FTP_V_PROT)
		ftp_xfer_prot_changed(s);
	return 0;
}

static int
ftp_session_acct(struct ftp_session *s, char *arg)
{
	return ftp_reply(s, FTP_NOT_NEEDED, "ACCT not needed.");
}

static int
ftp_session_allo(struct ftp_session *s, char *arg)
{
	return ftp_reply(s, FTP_NOT_NEEDED, "ALLO not needed.");
}

static int
ftp_session_noimpl(struct ftp_session *s, char *arg)
{
	return ftp_reply(s, FTP_NOT_IMPL, "Command not implemented.");
}

static int
ftp_session_syst(struct ftp_session *s, char *arg)
{
	return ftp_reply(s, FTP_SYSTEM, "UNIX Type: L8");
}

static int
ftp_session_noop(struct ftp_session *s, char *arg)
{
	return ftp_reply(s, FTP_OK, "NOOP ok.");
}

static int
ftp_session_quit(struct ftp_session *s, char *arg)
{
	ftp_xfer_free(s, NULL);
	if (ftp_reply(s, FTP_GOODBYE, "Goodbye.") == -1)
		return -1;
	conn_close_after_flush(s->c, "quit");
	return -1;
}

static int
ftp_session_feat(struct ftp_session *s, char *arg)
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
ftp_session_help(struct ftp_session *s, char *arg)
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
ftp_session_opts(struct ftp_session *s, char *arg)
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

/*
 * STAT: the session's state, or a transfer's progress while one runs;
 * with a path, its listing (ftp_fs.c).
 */
static int
ftp_session_stat(struct ftp_session *s, char *arg)
{
	unsigned long long sent, total;
	struct evbuffer *b;

	if (arg != NULL && !ftp_xfer_busy(s))
		return ftp_fs_stat(s, arg);
	if ((b = evbuffer_new()) == NULL)
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	ftp_xfer_progress(s, &sent, &total);
	evbuffer_add_printf(b, "211-clockwork-ftpd status:\r\n"
	    " Connected to %s\r\n Logged in as %s\r\n"
	    " TYPE: %s, MODE: S, STRU: F\r\n", conn_host(s->c),
	    s->user[0] != '\0' ? s->user : "(nobody)",
	    s->ascii ? "ASCII" : "BINARY");
	if (ftp_xfer_busy(s))
		evbuffer_add_printf(b, " Transfer: %llu of %llu bytes"
		    " sent\r\n", sent, total);
	else
		evbuffer_add_printf(b, " No transfer running\r\n");
	evbuffer_add_printf(b, "211 End of status\r\n");
	return ftp_reply_buffer(s, b);
}
