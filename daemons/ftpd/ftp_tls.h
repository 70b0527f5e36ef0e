/* SPDX-License-Identifier: ISC */
/* FTPS (RFC 4217): the TLS context and TLS bufferevents over sockets. */
#ifndef CLOCKWORK_FTP_TLS_H
#define CLOCKWORK_FTP_TLS_H

#include <stddef.h>

#define FTP_TLS_SID_LEN		16	/* a control session's TLS context */

struct bufferevent;
struct conn;
struct event_base;
struct ssl_ctx_st;

/*
 * What the session and data code use, through a pointer in struct ftpd so
 * that they link without OpenSSL (the fuzzers); set only with a context.
 */
struct ftp_tls_ops {
	int	(*sid_new)(unsigned char *);
	int	(*starttls)(struct conn *, struct ssl_ctx_st *,
		    const unsigned char *);
	struct bufferevent *(*bev)(struct event_base *, struct ssl_ctx_st *,
		    int, const unsigned char *);
	int	(*resumed)(struct bufferevent *, const unsigned char *);
	void	(*shutdown)(struct bufferevent *);
	void	(*describe)(struct bufferevent *, char *, size_t);
};

extern const struct ftp_tls_ops ftp_tls_ops;

struct ssl_ctx_st *ftp_tls_ctx_new(const char *, const char *, char *,
	    size_t);
void	ftp_tls_ctx_free(struct ssl_ctx_st *);
int	ftp_tls_sid_new(unsigned char *);
int	ftp_tls_starttls(struct conn *, struct ssl_ctx_st *,
	    const unsigned char *);
struct bufferevent *ftp_tls_bev(struct event_base *, struct ssl_ctx_st *,
	    int, const unsigned char *);
int	ftp_tls_resumed(struct bufferevent *, const unsigned char *);
void	ftp_tls_shutdown(struct bufferevent *);
void	ftp_tls_describe(struct bufferevent *, char *, size_t);

#endif
