/* SPDX-License-Identifier: ISC */
/*
 * The control connection as command handlers use it: replies, one line
 * or several, the text for a refused path, and the end of a pause.
 */
#ifndef CLOCKWORK_FTP_CONTROL_H
#define CLOCKWORK_FTP_CONTROL_H

#include <stddef.h>

#include "ftp_reply.h"

struct evbuffer;
struct ftp_session;

int	ftp_reply(struct ftp_session *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	ftp_reply_buffer(struct ftp_session *, struct evbuffer *);
int	ftp_reply_errno(struct ftp_session *, int, const char *, int);
void	ftp_reply_quote(char *, size_t, const char *);
void	ftp_control_wake(struct ftp_session *);

#endif
