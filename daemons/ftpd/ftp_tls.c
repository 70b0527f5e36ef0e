/* SPDX-License-Identifier: ISC */
/*
 * FTPS (RFC 4217) through OpenSSL and libevent's bufferevent_openssl.
 * One server context: TLS 1.2 and later, the server's cipher order, a
 * session cache and tickets so that data connections can resume the
 * control connection's session.  Each control connection gets its own
 * random session id context, given to its data connections too: OpenSSL
 * resumes a session only within the context it was made in, so a data
 * connection that resumed carries the session of this control connection
 * and of no other.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "ftp_tls.h"
#include "server.h"

#define FTP_TLS_CIPHERS		"ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:" \
				"DHE+CHACHA20:!aNULL:!eNULL"
#define FTP_TLS_SESSION_SECS	(24 * 60 * 60)	/* a long control session */
#define FTP_TLS_CACHE_SIZE	4096

static const unsigned char ftp_tls_ctx_sid[] = "clockwork-ftpd";

/* The last OpenSSL error as text, for a config message. */
static void
ftp_tls_error(char *err, size_t cap, const char *what, const char *file)
{
	char ebuf[256];
	const char *reason;
	unsigned long e = ERR_peek_error();	/* the first: the cause */

	if (e != 0 && (reason = ERR_reason_error_string(e)) != NULL)
		snprintf(ebuf, sizeof(ebuf), "%s", reason);
	else if (e != 0)
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
	else
		snprintf(ebuf, sizeof(ebuf), "unknown error");
	ERR_clear_error();
	snprintf(err, cap, "%s %s: %s", what, file, ebuf);
}

/*
 * The server context from a PEM certificate chain and its key.  NULL with
 * a message in err when either cannot be used.
 */
struct ssl_ctx_st *
ftp_tls_ctx_new(const char *cert, const char *key, char *err, size_t cap)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ftp_tls_error(err, cap, "TLS", "context");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, FTP_TLS_CIPHERS) != 1) {
		ftp_tls_error(err, cap, "TLS", "settings");
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (access(cert, R_OK) == -1) {
		snprintf(err, cap, "--tls-cert %s: %s", cert, strerror(errno));
		goto fail;
	}
	if (access(key, R_OK) == -1) {
		snprintf(err, cap, "--tls-key %s: %s", key, strerror(errno));
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ftp_tls_error(err, cap, "--tls-cert: no PEM certificate in", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ftp_tls_error(err, cap, "--tls-key: no PEM private key in", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ftp_tls_error(err, cap, "--tls-key does not match", cert);
		goto fail;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, FTP_TLS_CACHE_SIZE);
	SSL_CTX_set_timeout(ctx, FTP_TLS_SESSION_SECS);
	if (SSL_CTX_set_session_id_context(ctx, ftp_tls_ctx_sid,
	    sizeof(ftp_tls_ctx_sid) - 1) != 1) {
		ftp_tls_error(err, cap, "TLS", "session context");
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void
ftp_tls_ctx_free(struct ssl_ctx_st *ctx)
{
	SSL_CTX_free(ctx);
}

/* A fresh session id context for a control connection. */
int
ftp_tls_sid_new(unsigned char *sid)
{
	return RAND_bytes(sid, FTP_TLS_SID_LEN) == 1 ? 0 : -1;
}

/* A server-side SSL within the session id context sid; NULL on failure. */
static SSL *
ftp_tls_ssl_new(struct ssl_ctx_st *ctx, const unsigned char *sid)
{
	SSL *ssl;

	if ((ssl = SSL_new(ctx)) == NULL)
		return NULL;
	if (SSL_set_session_id_context(ssl, sid, FTP_TLS_SID_LEN) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

/*
 * AUTH TLS: the control connection c goes to TLS within the session id
 * context sid (lib/server does the switch).  -1 with errno, c still open.
 */
int
ftp_tls_starttls(struct conn *c, struct ssl_ctx_st *ctx,
    const unsigned char *sid)
{
	SSL *ssl;

	if ((ssl = ftp_tls_ssl_new(ctx, sid)) == NULL) {
		ERR_clear_error();
		errno = ENOMEM;
		return -1;
	}
	return conn_starttls(c, ssl);
}

/*
 * A bufferevent that accepts a TLS handshake on fd (it owns fd once made;
 * on failure fd is still the caller's) within the session id context sid.  A peer that
 * closes without close_notify ends the stream (as plain FTP does).
 */
struct bufferevent *
ftp_tls_bev(struct event_base *base, struct ssl_ctx_st *ctx, int fd,
    const unsigned char *sid)
{
	struct bufferevent *bev;
	SSL *ssl;

	if ((ssl = ftp_tls_ssl_new(ctx, sid)) == NULL)
		goto fail;
	bev = bufferevent_openssl_socket_new(base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		goto fail;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
fail:
	ERR_clear_error();
	return NULL;
}

/*
 * After the handshake: 1 when the peer resumed a session made in the
 * context sid (that of its control connection), else 0.
 */
int
ftp_tls_resumed(struct bufferevent *bev, const unsigned char *sid)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	SSL_SESSION *sess;
	const unsigned char *ctx;
	unsigned int len;

	if (ssl == NULL || !SSL_session_reused(ssl) ||
	    (sess = SSL_get_session(ssl)) == NULL)
		return 0;
	ctx = SSL_SESSION_get0_id_context(sess, &len);
	return ctx != NULL && len == FTP_TLS_SID_LEN &&
	    memcmp(ctx, sid, FTP_TLS_SID_LEN) == 0;
}

/* "TLSv1.3 TLS_AES_256_GCM_SHA384", for the log. */
void
ftp_tls_describe(struct bufferevent *bev, char *buf, size_t cap)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	if (ssl == NULL)
		snprintf(buf, cap, "none");
	else
		snprintf(buf, cap, "%s %s", SSL_get_version(ssl),
		    SSL_get_cipher_name(ssl));
}

/* Sends close_notify, without waiting for the peer's. */
void
ftp_tls_shutdown(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	if (ssl != NULL && SSL_is_init_finished(ssl))
		(void)SSL_shutdown(ssl);
	ERR_clear_error();
}

const struct ftp_tls_ops ftp_tls_ops = {
	.sid_new = ftp_tls_sid_new,
	.starttls = ftp_tls_starttls,
	.bev = ftp_tls_bev,
	.resumed = ftp_tls_resumed,
	.shutdown = ftp_tls_shutdown,
	.describe = ftp_tls_describe,
};
