/* SPDX-License-Identifier: ISC */
/*
 * lib/server's side of a hand-over: what each connection holds goes into
 * the image (lib/handover_image.c) with its socket beside it, and a
 * socket that comes back with its record becomes a connection again,
 * queued bytes, unread input and all, without the daemon's accepted().
 * A socket that does not match its record is refused, and closed by the
 * caller, so that no client stays connected to nobody.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/listener.h>

#include "handover_image.h"
#include "log.h"
#include "server_impl.h"

static int	same_peer(const struct sockaddr *, const struct sockaddr *);

/* The name an image of this server carries; NULL: no hand-over. */
const char *
server_handover_name(const struct server *srv)
{
	return srv->ops->handover != NULL ? srv->ops->handover->name : NULL;
}

/*
 * The image of srv for a successor, into w: the daemon's blob, then
 * every open client that can be handed over, in order of arrival; fds
 * (room for max) gets the listening sockets, then the clients' sockets.
 * A TLS client, or one the daemon's save() declines, stays behind: the
 * caller closes it as on a stop.  Returns how many sockets went into
 * fds, *nlisteners of them listening; -1 with errno when w failed.
 */
long
server_image(struct server *srv, const void *blob, size_t bloblen,
    uint64_t started_us, struct handover_writer *w, int *fds, size_t max,
    size_t *nlisteners)
{
	const struct handover_ops *ho = srv->ops->handover;
	struct evbuffer *data;
	struct conn *c;
	size_t n;
	uint32_t flags;
	long rc = -1;
	int i;

	if (ho == NULL || (size_t)srv->nlisteners > max) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < srv->nlisteners; i++)
		fds[i] = evconnlistener_get_fd(srv->listeners[i]);
	n = *nlisteners = (size_t)srv->nlisteners;
	if (handover_write_begin(w, ho->name, (uint32_t)getpid(),
	    (uint32_t)n, started_us, blob, bloblen) == -1)
		return -1;
	if ((data = evbuffer_new()) == NULL)
		return -1;
	server_hold(srv);
	for (c = server_first(srv); c != NULL; c = server_next(c)) {
		if (c->dead || !c->io->portable || n == max)
			continue;
		evbuffer_drain(data, evbuffer_get_length(data));
		if (ho->save != NULL && ho->save(c, data) == -1)
			continue;
		flags = (c->closing ? HANDOVER_CLIENT_CLOSING : 0) |
		    (c->read_paused ? HANDOVER_CLIENT_PAUSED : 0);
		if (handover_write_client(w, flags, &c->peer.sa,
		    c->io->output(c), c->io->unread(c), data) == -1)
			goto out;
		fds[n++] = c->fd;
	}
	if (handover_write_end(w) == 0)
		rc = (long)n;
out:
	server_release(srv);
	evbuffer_free(data);
	return rc;
}

/* Same family, address, port (and IPv6 scope). */
static int
same_peer(const struct sockaddr *a, const struct sockaddr *b)
{
	const struct sockaddr_in *a4, *b4;
	const struct sockaddr_in6 *a6, *b6;

	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET) {
		a4 = (const struct sockaddr_in *)(const void *)a;
		b4 = (const struct sockaddr_in *)(const void *)b;
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		a6 = (const struct sockaddr_in6 *)(const void *)a;
		b6 = (const struct sockaddr_in6 *)(const void *)b;
		return a6->sin6_port == b6->sin6_port &&
		    a6->sin6_scope_id == b6->sin6_scope_id &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
	}
	return 0;
}

/*
 * Makes the connected socket fd a connection of srv as h describes it:
 * its output queued again, its unread input back in place, its flags,
 * then the daemon's restore() with its record.  Not counted as accepted
 * and not logged one by one (a summary is).  Returns 0 when adopted; -1
 * with *why set when refused, fd then still the caller's to close; 1
 * when the conn was made but then closed (restore failed, or an error),
 * fd then closed with it.
 */
int
server_adopt(struct server *srv, int fd, const struct handover_client *h,
    const char **why)
{
	const struct handover_ops *ho = srv->ops->handover;
	union conn_addr peer;
	socklen_t len = sizeof(int);
	struct evbuffer *in;
	struct conn *c;
	int type = 0, rc = 0;

	/*
	 * Three system calls a client, which is what ten thousand of them
	 * cost: a stream socket (not a pipe, not UDP), connected (a listening
	 * socket has no peer) to the peer its record names, non-blocking.
	 */
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM) {
		*why = "not a stream socket";
		return -1;
	}
	len = sizeof(peer);
	if (getpeername(fd, &peer.sa, &len) == -1) {
		*why = errno == ENOTCONN ? "not connected (gone, or listening)" :
		    "no peer address";
		return -1;
	}
	if (!same_peer(&peer.sa, (const struct sockaddr *)&h->peer)) {
		*why = "its record names another peer";
		return -1;
	}
	/* On a socket the other status flags mean nothing: set them all. */
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
	    (c = srv->io->open(srv, fd)) == NULL) {
		*why = "cannot watch the socket";
		return -1;
	}
	c->peer = peer;
	if (addr_format(&peer.sa, c->host, sizeof(c->host), &c->port) == -1)
		strcpy(c->host, "local");
	c->read_paused = (h->flags & HANDOVER_CLIENT_PAUSED) != 0;
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->stats.clients++;
	srv->stats.adopted++;
	server_hold(srv);
	if (h->outlen > 0 && c->io->queue(c, h->out, h->outlen) == -1) {
		conn_close(c, "out of memory for its queued output");
		goto out;
	}
	if (h->inlen > 0 && ((in = c->io->input(c)) == NULL ||
	    evbuffer_add(in, h->in, h->inlen) == -1)) {
		conn_close(c, "out of memory for its unread input");
		goto out;
	}
	if (ho != NULL && ho->restore != NULL) {
		/* Never NULL, even for an empty record. */
		if (ho->restore(c, h->data != NULL ? (const void *)h->data :
		    "", h->datalen) == -1)
			conn_close(c, "its hand-over record was not usable");
	} else if (h->datalen != 0)
		conn_close(c, "a hand-over record this daemon does not keep");
	if (c->dead)
		goto out;
	if (h->flags & HANDOVER_CLIENT_CLOSING) {
		conn_close_after_flush(c, "closing before the hand-over");
		goto out;
	}
	if (c->io->reading(c) == -1) {
		conn_close(c, "cannot watch the socket");
		goto out;
	}
	/* Input the predecessor had not taken yet: the daemon's turn. */
	if (h->inlen > 0 && !c->read_paused)
		conn_io_readable(c);
out:
	if (c->dead)
		rc = 1;
	server_release(srv);
	return rc;
}
