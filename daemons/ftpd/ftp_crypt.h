/* SPDX-License-Identifier: ISC */
/*
 * A data connection's TLS, off the loop: every OpenSSL call of a PROT P
 * data connection (the handshake, each record made or read) runs on a
 * worker of the TLS pool, and so do the file reads and writes around
 * them; the loop only moves buffers between the socket and the stream.
 * One step at a time: the loop starts a step, the worker runs it, the
 * loop's callback hears of its end.  Between steps the loop may read
 * what came out (ftp_crypt_output) and add what came in (ftp_crypt_input).
 */
#ifndef CLOCKWORK_FTP_CRYPT_H
#define CLOCKWORK_FTP_CRYPT_H

#include <sys/types.h>

#include <stddef.h>

struct evbuffer;
struct ftp_crypt;
struct ftp_tls_ops;
struct ftp_work;
struct ssl_ctx_st;

/* Where the stream is, after its last step. */
enum ftp_crypt_state {
	FTP_CRYPT_HANDSHAKE,	/* the handshake needs more from the peer */
	FTP_CRYPT_OPEN,		/* handshake done: data may flow */
	FTP_CRYPT_CLOSED,	/* the peer ended the stream (close_notify) */
	FTP_CRYPT_FAILED,	/* TLS refused or broken */
	FTP_CRYPT_FILE_ERROR,	/* the file: errno in ftp_crypt_error() */
};

/* The end of a step, called in the loop (never from inside a call). */
typedef void (*ftp_crypt_done_fn)(void *);

struct ftp_crypt *ftp_crypt_new(const struct ftp_tls_ops *,
	    struct ssl_ctx_st *, const unsigned char *, struct ftp_work *,
	    ftp_crypt_done_fn, void *);
void	ftp_crypt_free(struct ftp_crypt *);
int	ftp_crypt_busy(const struct ftp_crypt *);
int	ftp_crypt_set_file(struct ftp_crypt *, int, int);

int	ftp_crypt_handshake(struct ftp_crypt *);
int	ftp_crypt_send_file(struct ftp_crypt *, off_t, size_t);
int	ftp_crypt_send_text(struct ftp_crypt *);
int	ftp_crypt_receive(struct ftp_crypt *);

struct evbuffer *ftp_crypt_input(struct ftp_crypt *);
struct evbuffer *ftp_crypt_output(struct ftp_crypt *);
struct evbuffer *ftp_crypt_text(struct ftp_crypt *);
enum ftp_crypt_state ftp_crypt_state(const struct ftp_crypt *);
size_t	ftp_crypt_moved(const struct ftp_crypt *);
int	ftp_crypt_error(const struct ftp_crypt *);
int	ftp_crypt_finish_file(struct ftp_crypt *);
void	ftp_crypt_close(struct ftp_crypt *);
int	ftp_crypt_resumed(const struct ftp_crypt *, const unsigned char *);
void	ftp_crypt_describe(const struct ftp_crypt *, char *, size_t);

#endif
