/* SPDX-License-Identifier: ISC */
/*
 * The control connection as command handlers use it.  Every reply is one
 * "CODE text" line (a client's CR or LF in the text made harmless) or a
 * multi-line reply made whole in a buffer; a refused path gets the same
 * words whatever module refused it.  A handler that paused the session
 * (a password on the worker, a failed login's delay, a transfer) ends
 * the pause with ftp_control_wake(): the session then reads again.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "ftp_control.h"
#include "ftp_session.h"
#include "server.h"

#define FTP_REPLY_MAX		(FTP_LINE_MAX + 256)

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
int
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
int
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

/* RFC 959 quoting for 257: a '"' in a path is doubled. */
void
ftp_reply_quote(char *out, size_t cap, const char *in)
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
 * A pause is over: the session runs the command it held, then reads on,
 * from the loop (ftp_session.c's wake callback) rather than from inside
 * the caller.
 */
void
ftp_control_wake(struct ftp_session *s)
{
	event_active(s->wake_ev, EV_READ, 1);
}
