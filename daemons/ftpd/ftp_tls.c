/* SPDX-License-Identifier: ISC */
/*
 * FTPS (RFC 4217) through OpenSSL.  One server context: TLS 1.2 and
 * later, the server's cipher order, a session cache and tickets so that
 * data connections can resume the control connection's session.  Each
 * control connection gets its own random session id context, given to
 * its data connections too: OpenSSL resumes a session only within the
 * context it was made in, so a data connection that resumed carries the
 * session of this control connection and of no other.
 *
 * The control connection's TLS is lib/server's (conn_starttls).  A data
 * connection's is a struct ftp_tls_conn: an SSL whose BIO reads the
 * ciphertext that came in from one evbuffer and writes what goes out to
 * another, touching no socket, so that its records can be made and read
 * on a worker thread while the loop moves the bytes (ftp_crypt.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <event2/buffer.h>

#include "ftp_tls.h"
#include "server.h"

#define FTP_TLS_CIPHERS		"ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:" \
				"DHE+CHACHA20:!aNULL:!eNULL"
#define FTP_TLS_SESSION_SECS	(24 * 60 * 60)	/* a long control session */
#define FTP_TLS_CACHE_SIZE	4096

static const unsigned char ftp_tls_ctx_sid[] = "clockwork-ftpd";

/* A data connection's TLS, on the evbuffers of the call in progress. */
struct ftp_tls_conn {
	SSL			*ssl;
	struct evbuffer		*in;		/* ciphertext that came in */
	struct evbuffer		*out;		/* ciphertext to send */
};

static BIO_METHOD *ftp_tls_bio_method;

static int	ftp_tls_bio_create(BIO *);
static int	ftp_tls_bio_write(BIO *, const char *, int);
static int	ftp_tls_bio_read(BIO *, char *, int);
static long	ftp_tls_bio_ctrl(BIO *, int, long, void *);
static int	ftp_tls_bio_init(void);

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

	if (ftp_tls_bio_init() == -1 ||
	    (ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
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
	BIO_meth_free(ftp_tls_bio_method);
	ftp_tls_bio_method = NULL;
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

/* The BIO of data connections: what it reads and writes are evbuffers. */
static int
ftp_tls_bio_init(void)
{
	BIO_METHOD *m;

	if (ftp_tls_bio_method != NULL)
		return 0;
	if ((m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	    "clockwork-ftpd evbuffer")) == NULL)
		return -1;
	if (BIO_meth_set_write(m, ftp_tls_bio_write) != 1 ||
	    BIO_meth_set_read(m, ftp_tls_bio_read) != 1 ||
	    BIO_meth_set_ctrl(m, ftp_tls_bio_ctrl) != 1 ||
	    BIO_meth_set_create(m, ftp_tls_bio_create) != 1) {
		BIO_meth_free(m);
		return -1;
	}
	ftp_tls_bio_method = m;
	return 0;
}

static int
ftp_tls_bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* A record to send: appended to the output of the call in progress. */
static int
ftp_tls_bio_write(BIO *b, const char *p, int n)
{
	struct ftp_tls_conn *c = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (n <= 0)
		return 0;
	if (evbuffer_add(c->out, p, (size_t)n) == -1)
		return -1;
	return n;
}

/* Ciphertext for OpenSSL to read; none: try again once more comes. */
static int
ftp_tls_bio_read(BIO *b, char *p, int n)
{
	struct ftp_tls_conn *c = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (c->in == NULL || evbuffer_get_length(c->in) == 0) {
		BIO_set_retry_read(b);
		return -1;
	}
	return evbuffer_remove(c->in, p, (size_t)n);
}

static long
ftp_tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct ftp_tls_conn *c = BIO_get_data(b);

	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_PENDING:
		return c->in != NULL ? (long)evbuffer_get_length(c->in) : 0;
	default:
		return 0;
	}
}

/*
 * A data connection's TLS, accepting a handshake within the session id
 * context sid.  NULL when out of memory.
 */
struct ftp_tls_conn *
ftp_tls_conn_new(struct ssl_ctx_st *ctx, const unsigned char *sid)
{
	struct ftp_tls_conn *c;
	BIO *bio;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->ssl = ftp_tls_ssl_new(ctx, sid)) == NULL ||
	    (bio = BIO_new(ftp_tls_bio_method)) == NULL) {
		SSL_free(c->ssl);
		free(c);
		ERR_clear_error();
		return NULL;
	}
	BIO_set_data(bio, c);
	SSL_set_bio(c->ssl, bio, bio);		/* the SSL's now */
	/* Buffers stay while the connection lives: it moves bulk data. */
	SSL_clear_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
	SSL_set_accept_state(c->ssl);
	return c;
}

void
ftp_tls_conn_free(struct ftp_tls_conn *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	ERR_clear_error();
	free(c);
}

/*
 * The handshake with what came in (in), what to send appended to out:
 * 1 done, 0 more must come, -1 failed.
 */
int
ftp_tls_conn_handshake(struct ftp_tls_conn *c, struct evbuffer *in,
    struct evbuffer *out)
{
	int r;

	c->in = in;
	c->out = out;
	r = SSL_do_handshake(c->ssl);
	if (r != 1 && SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ)
		r = 0;
	else if (r != 1)
		r = -1;
	c->in = c->out = NULL;
	ERR_clear_error();
	return r;
}

/* n bytes of p as records appended to out: 0, or -1 on failure. */
int
ftp_tls_conn_encrypt(struct ftp_tls_conn *c, const void *p, size_t n,
    struct evbuffer *out)
{
	size_t done;
	int r;

	c->out = out;
	r = n == 0 || SSL_write_ex(c->ssl, p, n, &done) == 1 ? 0 : -1;
	c->out = NULL;
	ERR_clear_error();
	return r;
}

/*
 * Plaintext from the records in in, at most cap bytes into buf: the
 * count, 0 when more must come in, FTP_TLS_CLOSED when the peer ended
 * the stream (close_notify), -1 on failure.
 */
ssize_t
ftp_tls_conn_decrypt(struct ftp_tls_conn *c, struct evbuffer *in, void *buf,
    size_t cap)
{
	size_t done = 0;
	ssize_t r;
	int e;

	c->in = in;
	if (SSL_read_ex(c->ssl, buf, cap, &done) == 1)
		r = (ssize_t)done;
	else if ((e = SSL_get_error(c->ssl, 0)) == SSL_ERROR_WANT_READ)
		r = 0;
	else if (e == SSL_ERROR_ZERO_RETURN)
		r = FTP_TLS_CLOSED;
	else
		r = -1;
	c->in = NULL;
	ERR_clear_error();
	return r;
}

/* close_notify, appended to out, once the handshake is done. */
void
ftp_tls_conn_close(struct ftp_tls_conn *c, struct evbuffer *out)
{
	c->out = out;
	if (SSL_is_init_finished(c->ssl))
		(void)SSL_shutdown(c->ssl);
	c->out = NULL;
	ERR_clear_error();
}

/*
 * After the handshake: 1 when the peer resumed a session made in the
 * context sid (that of its control connection), else 0.
 */
int
ftp_tls_conn_resumed(struct ftp_tls_conn *c, const unsigned char *sid)
{
	SSL_SESSION *sess;
	const unsigned char *ctx;
	unsigned int len;

	if (!SSL_session_reused(c->ssl) ||
	    (sess = SSL_get_session(c->ssl)) == NULL)
		return 0;
	ctx = SSL_SESSION_get0_id_context(sess, &len);
	return ctx != NULL && len == FTP_TLS_SID_LEN &&
	    memcmp(ctx, sid, FTP_TLS_SID_LEN) == 0;
}

/* "TLSv1.3 TLS_AES_256_GCM_SHA384", for the log. */
void
ftp_tls_conn_describe(struct ftp_tls_conn *c, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s %s", SSL_get_version(c->ssl),
	    SSL_get_cipher_name(c->ssl));
}

const struct ftp_tls_ops ftp_tls_ops = {
	.sid_new = ftp_tls_sid_new,
	.starttls = ftp_tls_starttls,
	.conn_new = ftp_tls_conn_new,
	.conn_free = ftp_tls_conn_free,
	.handshake = ftp_tls_conn_handshake,
	.encrypt = ftp_tls_conn_encrypt,
	.decrypt = ftp_tls_conn_decrypt,
	.close = ftp_tls_conn_close,
	.resumed = ftp_tls_conn_resumed,
	.describe = ftp_tls_conn_describe,
};
