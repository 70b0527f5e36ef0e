/* SPDX-License-Identifier: ISC */
/*
 * FTPS commands (RFC 4217): AUTH TLS turns the control connection into
 * TLS, PBSZ and PROT choose protected data connections, CCC (back to
 * clear text) is refused.  The TLS itself is ftp_tls.c's.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include <event2/buffer.h>

#include "ftp_control.h"
#include "ftp_secure.h"
#include "ftp_session.h"
#include "ftpd.h"
#include "log.h"
#include "numparse.h"
#include "server.h"

/*
 * AUTH TLS (RFC 4217): 234 in clear, then the handshake on the same
 * connection.  Bytes sent after the command, before our reply, cannot be
 * told apart from the handshake: such a client is refused.
 */
int
ftp_secure_auth(struct ftp_session *s, char *arg)
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
	if (s->d->tls->sid_new(s->prot.sid) == -1)
		return ftp_reply(s, FTP_TLS_UNAVAILABLE, "TLS not available "
		    "now.");
	if (ftp_reply(s, FTP_AUTH_OK, "AUTH TLS OK.") == -1)
		return -1;
	if (conn_output_len(c) != 0) {
		conn_close(c, "AUTH TLS: the reply could not be sent at once");
		return -1;
	}
	if (s->d->tls->starttls(c, s->d->cfg.tls_ctx, s->prot.sid) == -1) {
		conn_close(c, errno == ENOMEM ? "AUTH TLS: out of memory" :
		    "AUTH TLS: cannot switch");
		return -1;
	}
	s->tls = 1;
	log_peer(LOG_DEBUG, conn_peer(c), "TLS handshake");
	return 0;
}

/* CCC would put the control connection back in clear text: never. */
int
ftp_secure_ccc(struct ftp_session *s, char *arg)
{
	if (s->d->cfg.tls_ctx == NULL)
		return ftp_reply(s, FTP_NOT_IMPL, "CCC not implemented.");
	return ftp_reply(s, FTP_TLS_POLICY, "CCC refused: the control "
	    "connection stays protected.");
}

/* PBSZ: TLS needs no buffer size; any value becomes 0. */
int
ftp_secure_pbsz(struct ftp_session *s, char *arg)
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
int
ftp_secure_prot(struct ftp_session *s, char *arg)
{
	if (s->d->cfg.tls_ctx == NULL)
		return ftp_reply(s, FTP_NOT_IMPL, "PROT not implemented.");
	if (!s->tls || !s->pbsz)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "PROT needs AUTH TLS "
		    "and PBSZ first.");
	if (strcasecmp(arg, "P") == 0) {
		s->prot.on = 1;
		return ftp_reply(s, FTP_OK, "PROT now Private.");
	}
	if (strcasecmp(arg, "C") == 0) {
		if (s->d->cfg.require_tls && s->login == FTP_LOGIN_DONE &&
		    !s->anonymous)
			return ftp_reply(s, FTP_TLS_POLICY, "PROT C refused: "
			    "data connections must be protected.");
		s->prot.on = 0;
		return ftp_reply(s, FTP_OK, "PROT now Clear.");
	}
	if (strcasecmp(arg, "S") == 0 || strcasecmp(arg, "E") == 0)
		return ftp_reply(s, FTP_PROT_UNSUPPORTED, "PROT %s not "
		    "supported.", arg);
	return ftp_reply(s, FTP_BAD_PARAM, "Unknown PROT level.");
}
