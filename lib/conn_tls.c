/* SPDX-License-Identifier: ISC */
/*
 * TLS on an accepted connection, after a command in clear asked for it
 * (FTP's AUTH TLS, STARTTLS).  A file of its own so that only the daemons
 * that call it link OpenSSL.
 */
#include <errno.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "server_impl.h"

/*
 * Starts a TLS handshake on c, as the server, with ssl (made by the
 * daemon from its context, with its session settings); from then on
 * conn_input() holds what the client sent in TLS and conn_send() sends in
 * TLS.  Only on a buffered connection with nothing queued either way
 * (reply to the client's request first, and check conn_output_len()).
 * ssl is the connection's whatever the outcome.  -1 (c still open, in
 * clear): EINVAL lean or already in TLS, EBUSY bytes queued, ENOMEM.
 * A client that closes without close_notify ends the stream, as a clear
 * connection's EOF would.
 */
int
conn_starttls(struct conn *c, struct ssl_st *ssl)
{
	struct bufferevent *bev;

	if (c->dead || c->io != &conn_buffered_io) {
		SSL_free(ssl);
		errno = EINVAL;
		return -1;
	}
	if (c->io->output_len(c) != 0 ||
	    evbuffer_get_length(c->io->input(c)) != 0) {
		SSL_free(ssl);
		errno = EBUSY;
		return -1;
	}
	/* On failure libevent frees ssl itself (BEV_OPT_CLOSE_ON_FREE). */
	if ((bev = bufferevent_openssl_socket_new(c->srv->base, c->fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		ERR_clear_error();
		errno = ENOMEM;
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return conn_buffered_replace(c, bev);
}
