/* SPDX-License-Identifier: ISC */
/*
 * FTPS (RFC 4217): the TLS context, the control connection's switch to
 * TLS, and data connections' TLS in memory (struct ftp_tls_conn: records
 * made from and read into evbuffers, on any one thread at a time).
 */
#ifndef CLOCKWORK_FTP_TLS_H
#define CLOCKWORK_FTP_TLS_H

#include <stddef.h>

#include <sys/types.h>

#define FTP_TLS_SID_LEN		16	/* a control session's TLS context */
#define FTP_TLS_CLOSED		(-2)	/* decrypt: the peer's close_notify */

struct conn;
struct evbuffer;
struct ftp_tls_conn;
struct ssl_ctx_st;

/*
 * What the session and data code use, through a pointer in struct ftpd so
 * that they link without OpenSSL (the fuzzers); set only with a context.
 */
struct ftp_tls_ops {
	int	(*sid_new)(unsigned char *);
	int	(*starttls)(struct conn *, struct ssl_ctx_st *,
		    const unsigned char *);
	struct ftp_tls_conn *(*conn_new)(struct ssl_ctx_st *,
		    const unsigned char *);
	void	(*conn_free)(struct ftp_tls_conn *);
	int	(*handshake)(struct ftp_tls_conn *, struct evbuffer *,
		    struct evbuffer *);
	int	(*encrypt)(struct ftp_tls_conn *, const void *, size_t,
		    struct evbuffer *);
	ssize_t	(*decrypt)(struct ftp_tls_conn *, struct evbuffer *, void *,
		    size_t);
	void	(*close)(struct ftp_tls_conn *, struct evbuffer *);
	int	(*resumed)(struct ftp_tls_conn *, const unsigned char *);
	void	(*describe)(struct ftp_tls_conn *, char *, size_t);
};

extern const struct ftp_tls_ops ftp_tls_ops;

struct ssl_ctx_st *ftp_tls_ctx_new(const char *, const char *, char *,
	    size_t);
void	ftp_tls_ctx_free(struct ssl_ctx_st *);
int	ftp_tls_sid_new(unsigned char *);
int	ftp_tls_starttls(struct conn *, struct ssl_ctx_st *,
	    const unsigned char *);
struct ftp_tls_conn *ftp_tls_conn_new(struct ssl_ctx_st *,
	    const unsigned char *);
void	ftp_tls_conn_free(struct ftp_tls_conn *);
int	ftp_tls_conn_handshake(struct ftp_tls_conn *, struct evbuffer *,
	    struct evbuffer *);
int	ftp_tls_conn_encrypt(struct ftp_tls_conn *, const void *, size_t,
	    struct evbuffer *);
ssize_t	ftp_tls_conn_decrypt(struct ftp_tls_conn *, struct evbuffer *, void *,
	    size_t);
void	ftp_tls_conn_close(struct ftp_tls_conn *, struct evbuffer *);
int	ftp_tls_conn_resumed(struct ftp_tls_conn *, const unsigned char *);
void	ftp_tls_conn_describe(struct ftp_tls_conn *, char *, size_t);

#endif
