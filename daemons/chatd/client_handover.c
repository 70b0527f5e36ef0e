/* SPDX-License-Identifier: ISC */
/*
 * chatd's part of a hand-over (lib/handover.c): each client's record
 * (its state, its place in the order of arrival, its WHO), and the
 * room's counters as chatd's blob.  lib/server carries the rest: the
 * socket, the bytes still owed to the client, its unread input.
 *
 * A successor puts every member back in the room by its arrival number,
 * so the roster keeps its order whatever order the sockets come back in.
 * Input the predecessor had not read yet waits until the whole room is
 * back (client_handover_end), so that a line said then reaches everyone
 * and a newcomer named then is told of everyone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "chat_text.h"
#include "chatd.h"
#include "client.h"
#include "log.h"
#include "room.h"
#include "server.h"

#define CLIENT_RECORD_HEAD	16	/* state, tries, skipping, 0, allow, seq */

static int	client_save(struct conn *, struct evbuffer *);
static int	client_restore(struct conn *, const void *, size_t);

const struct handover_ops client_handover_ops = {
	.name = "chatd",
	.save = client_save,
	.restore = client_restore,
};

static void
put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The room's counters, CLIENT_BLOB_LEN bytes. */
void
client_handover_blob(uint8_t *blob)
{
	put64(blob, chatd.room.seq);
	put64(blob + 8, relay_said(chatd.relay));
	put64(blob + 16, chatd.slow);
}

/*
 * Before adoption: the predecessor's counters (NULL: none).  The server
 * is held until client_handover_end(), so that every client deferred
 * stays valid, closed or not.
 */
void
client_handover_begin(const void *blob, size_t len)
{
	const uint8_t *p = blob;

	server_hold(chatd.srv);
	if (p == NULL || len != CLIENT_BLOB_LEN)
		return;
	chatd.room.seq = get64(p);
	relay_add_said(chatd.relay, get64(p + 8));
	chatd.slow = get64(p + 16);
}

static int
client_save(struct conn *c, struct evbuffer *out)
{
	struct client *cl = conn_data(c);
	uint8_t head[CLIENT_RECORD_HEAD];
	uint32_t allow;

	if (cl == NULL)
		return -1;
	allow = cl->allow > UINT32_MAX ? UINT32_MAX : (uint32_t)cl->allow;
	memset(head, 0, sizeof(head));
	head[0] = cl->state;
	head[1] = cl->tries;
	head[2] = cl->skipping != 0;
	head[4] = (uint8_t)allow;
	head[5] = (uint8_t)(allow >> 8);
	head[6] = (uint8_t)(allow >> 16);
	head[7] = (uint8_t)(allow >> 24);
	put64(head + 8, cl->state == CLIENT_MEMBER ? cl->m->seq : 0);
	if (evbuffer_add(out, head, sizeof(head)) == -1 ||
	    (cl->state == CLIENT_MEMBER &&
	    evbuffer_add(out, cl->m->who, cl->m->wholen) == -1))
		return -1;
	return 0;
}

/* A WHO from a record: not empty, within bounds, clean text, one line. */
static int
client_who_ok(const uint8_t *who, size_t len)
{
	char buf[ROOM_WHO_MAX];

	if (len == 0 || len >= ROOM_WHO_MAX || memchr(who, '\n', len) != NULL)
		return 0;
	memcpy(buf, who, len);
	return chat_text_clean(buf, len) == len && memcmp(buf, who, len) == 0;
}

/* A record from client_save(), checked; -1 closes the client. */
static int
client_restore(struct conn *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	struct evbuffer *in;
	struct conn **d;
	struct client *cl;
	uint64_t seq;

	if (len < CLIENT_RECORD_HEAD || p[0] > CLIENT_GONE ||
	    p[1] >= CHATD_NAME_TRIES || p[2] > 1)
		return -1;
	seq = get64(p + 8);
	if (p[0] == CLIENT_MEMBER ? seq == 0 ||
	    !client_who_ok(p + CLIENT_RECORD_HEAD, len - CLIENT_RECORD_HEAD) :
	    len != CLIENT_RECORD_HEAD)
		return -1;
	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return -1;
	cl->c = c;
	cl->state = p[0];
	cl->tries = p[1];
	cl->skipping = p[2];
	cl->allow = (size_t)p[4] | (size_t)p[5] << 8 | (size_t)p[6] << 16 |
	    (size_t)p[7] << 24;
	/* Its position zero: it hears every batch from its start. */
	if (cl->state == CLIENT_MEMBER && (cl->m = room_join_at(&chatd.room,
	    (const char *)p + CLIENT_RECORD_HEAD, len - CLIENT_RECORD_HEAD,
	    cl, seq)) == NULL) {
		log_warnx("hand-over: a member not taken back: %s",
		    errno == EEXIST ? "name taken" : strerror(errno));
		free(cl);
		return -1;
	}
	conn_set_data(c, cl);
	if (chatd.idle_on && cl->state != CLIENT_GONE)
		idle_touch(&chatd.idle, &cl->idle);
	/* Its unread lines once the whole room is back. */
	if (cl->state != CLIENT_GONE && (in = conn_input(c)) != NULL &&
	    evbuffer_get_length(in) > 0) {
		if ((d = reallocarray(chatd.deferred, chatd.ndeferred + 1,
		    sizeof(*d))) == NULL)
			return -1;
		chatd.deferred = d;
		d[chatd.ndeferred++] = c;
		conn_read_pause(c);
	}
	return 0;
}

/* After adoption: the lines taken over unread, in the clients' order. */
void
client_handover_end(void)
{
	struct conn *c;
	size_t i;

	for (i = 0; i < chatd.ndeferred; i++) {
		c = chatd.deferred[i];
		if (conn_closing(c) || conn_data(c) == NULL)
			continue;
		conn_read_resume(c);
		client_input(c, 0);
	}
	server_release(chatd.srv);
	free(chatd.deferred);
	chatd.deferred = NULL;
	chatd.ndeferred = 0;
}
