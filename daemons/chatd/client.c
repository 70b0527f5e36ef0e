/* SPDX-License-Identifier: ISC */
/*
 * One chat client, from accept to close: its name (with --names), its
 * lines into the room, its idle time, the bound on what it leaves unread,
 * and the one place where it leaves the room and the others are told.
 *
 * The lib/server callbacks run under server_hold(): a client closed in
 * one (its own send failed, it was too slow when a batch went out) has
 * its struct freed by client_closed() at once, but its conn stays
 * readable, so the input loop asks conn_closing() before going on.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <event2/buffer.h>

#include "chat_text.h"
#include "chatd.h"
#include "client.h"
#include "lineio.h"
#include "log.h"
#include "relay.h"
#include "room.h"
#include "server.h"
#include "sharedbuf.h"

#define MSG_NAME	"Your name?\n"
#define MSG_NAME_AGAIN	"Name not allowed or taken. Your name?\n"
#define MSG_NAME_LAST	"Name not allowed or taken.\n"
#define MSG_IDLE	"Idle too long, bye.\n"
#define MSG_SHUTDOWN	"Server shutting down.\n"

/* Why a client goes, when chatd decides it (else lib/server's reason). */
enum client_why {
	WHY_NONE,
	WHY_EOF,
	WHY_IDLE,
	WHY_SLOW,
	WHY_NAMES,
	WHY_SHUTDOWN,
	WHY_MEMORY,
};

static const char *const client_whys[] = {
	[WHY_NONE] = "dropped",
	[WHY_EOF] = "closed by the client",
	[WHY_IDLE] = "idle timeout",
	[WHY_SLOW] = "too slow (unsent output past --max-queue)",
	[WHY_NAMES] = "no acceptable name in 5 tries",
	[WHY_SHUTDOWN] = "shutdown",
	[WHY_MEMORY] = "out of memory",
};

static int	client_accepted(struct conn *);
static void	client_readable(struct conn *);
static void	client_eof(struct conn *);
static void	client_drained(struct conn *);
static void	client_stopping(struct conn *);
static void	client_closed(struct conn *, const char *);
static int	client_line(struct client *, char *, size_t);
static int	client_name(struct client *, char *, size_t, int);
static int	client_enter(struct client *, const char *, size_t);
static int	client_greet(struct client *, struct sharedbuf *, size_t);
static void	client_depart(struct client *, const char *);
static void	client_leave(struct client *, enum client_why, const char *,
		    size_t);
static int	client_send(struct client *, const char *, size_t);
static int	client_check(struct client *);

const struct server_ops client_ops = {
	.accepted = client_accepted,
	.readable = client_readable,
	.eof = client_eof,
	.drained = client_drained,
	.stopping = client_stopping,
	.closed = client_closed,
	.handover = &client_handover_ops,
};

/*
 * "arrived as alice", "left as alice: idle timeout": the name escaped,
 * client text never reaches a log raw.
 */
void
client_log(struct client *cl, const char *what, const char *why)
{
	char esc[4 * ROOM_WHO_MAX + 1];

	log_escape(esc, sizeof(esc), cl->m->who, cl->m->wholen);
	log_peer(LOG_INFO, conn_peer(cl->c), "%s as %s%s%s", what, esc,
	    why != NULL ? ": " : "", why != NULL ? why : "");
}

/* The relay's view of a connection: its place in the batch, if a member. */
struct relay_pos *
client_pos(struct conn *c)
{
	struct client *cl = conn_data(c);

	return cl != NULL && cl->state == CLIENT_MEMBER ? &cl->pos : NULL;
}

static int
client_accepted(struct conn *c)
{
	struct client *cl;
	char who[ROOM_WHO_MAX];
	int n;

	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		log_warn("calloc");
		return -1;
	}
	cl->c = c;
	conn_set_data(c, cl);
	if (chatd.idle_on)
		idle_touch(&chatd.idle, &cl->idle);
	if (chatd.names) {
		(void)client_send(cl, MSG_NAME, sizeof(MSG_NAME) - 1);
		return 0;
	}
	/* WHO is the address: 192.0.2.1:5000, [2001:db8::1]:5000. */
	n = snprintf(who, sizeof(who), strchr(conn_host(c), ':') != NULL ?
	    "[%s]:%u" : "%s:%u", conn_host(c), conn_port(c));
	if (n < 0 || (size_t)n >= sizeof(who))
		return -1;
	(void)client_enter(cl, who, (size_t)n);
	return 0;
}

/*
 * Into the room as who: the others hear of it in the next batch, the
 * newcomer is told who it is and who is here (the room's roster as it was
 * before it, sent by reference), and from then on hears what is said.
 * 1 when the name is taken; -1 when the client is gone.
 */
static int
client_enter(struct client *cl, const char *who, size_t len)
{
	struct sharedbuf *roster = NULL;
	size_t rlen = 0;
	int r;

	if (chatd.room.count > 0) {
		if ((roster = room_roster(&chatd.room)) == NULL) {
			client_leave(cl, WHY_MEMORY, NULL, 0);
			return -1;
		}
		sharedbuf_ref(roster);
		rlen = sharedbuf_len(roster);
	}
	if ((cl->m = room_join(&chatd.room, who, len, cl)) == NULL) {
		sharedbuf_unref(roster);
		if (errno == EEXIST)
			return 1;
		client_leave(cl, WHY_MEMORY, NULL, 0);
		return -1;
	}
	cl->state = CLIENT_MEMBER;
	client_log(cl, "arrived", NULL);
	if (relay_event(chatd.relay, cl->m->who, cl->m->wholen,
	    " has arrived\n") == -1) {
		sharedbuf_unref(roster);
		client_leave(cl, WHY_MEMORY, NULL, 0);
		return -1;
	}
	relay_join(chatd.relay, &cl->pos);
	r = client_greet(cl, roster, rlen);
	sharedbuf_unref(roster);
	if (r == -1)
		return -1;
	/* However long the list, the newcomer is not slow for its greeting. */
	cl->allow = conn_output_len(cl->c);
	return 0;
}

/* "You are WHO", then "Here now: ..." (rlen bytes of roster) or nobody. */
static int
client_greet(struct client *cl, struct sharedbuf *roster, size_t rlen)
{
	static const char nobody[] = "Here now: nobody else\n";
	char you[sizeof("You are \n") + ROOM_WHO_MAX];
	int n;

	n = snprintf(you, sizeof(you), "You are %s\n", cl->m->who);
	if (n < 0 || (size_t)n >= sizeof(you)) {
		conn_close(cl->c, "WHO longer than its bound");
		return -1;
	}
	if (conn_send(cl->c, you, (size_t)n) == -1)
		return -1;
	if (roster == NULL)
		return conn_send(cl->c, nobody, sizeof(nobody) - 1);
	if (conn_send_shared(cl->c, roster, 0, rlen) == -1)
		return -1;
	return conn_send(cl->c, "\n", 1);
}

/* Leaves the room (when in it): logged, and the others are told. */
static void
client_depart(struct client *cl, const char *why)
{
	/* Handed over: still in the room, of our successor. */
	if (chatd.handed)
		;
	else if (cl->state == CLIENT_NAMING)
		log_peer(LOG_INFO, conn_peer(cl->c), "left without a name: %s",
		    why);
	if (cl->state == CLIENT_MEMBER) {
		if (!chatd.handed)
			client_log(cl, "left", why);
		if (!chatd.stopping)
			(void)relay_event(chatd.relay, cl->m->who,
			    cl->m->wholen, " has left\n");
		room_leave(&chatd.room, cl->m);
		cl->m = NULL;
	}
	cl->state = CLIENT_GONE;
	if (chatd.idle_on)
		idle_remove(&chatd.idle, &cl->idle);
}

/*
 * Chatd ends the client: a last line of its own (may be NULL), out of
 * the room at once, the connection closed once its output is out.
 */
static void
client_leave(struct client *cl, enum client_why why, const char *last,
    size_t len)
{
	struct conn *c = cl->c;

	cl->why = why;
	if (last != NULL && client_send(cl, last, len) == -1)
		return;
	if (cl->state == CLIENT_MEMBER &&
	    relay_catch_up(chatd.relay, c, &cl->pos) == -1)
		return;
	client_depart(cl, client_whys[why]);
	conn_close_after_flush(c, NULL);
}

/*
 * A line for this client alone, after its part of the batch so far so
 * that it keeps the room's order.  -1 when the client is gone.
 */
static int
client_send(struct client *cl, const char *p, size_t len)
{
	if (cl->state == CLIENT_MEMBER &&
	    relay_catch_up(chatd.relay, cl->c, &cl->pos) == -1)
		return -1;
	if (conn_send(cl->c, p, len) == -1)
		return -1;
	return client_check(cl);
}

/*
 * Exercise 8.15: a client whose unsent output passes --max-queue (plus
 * what is left of its greeting) is closed at once; nobody waits for it.
 */
static int
client_check(struct client *cl)
{
	if (conn_closing(cl->c) ||
	    conn_output_len(cl->c) <= chatd.max_queue + cl->allow)
		return 0;
	cl->why = WHY_SLOW;
	chatd.slow++;
	conn_drop(cl->c, client_whys[WHY_SLOW]);
	return -1;
}

/* After each batch: every member's queue against the bound. */
void
client_flushed(void *arg)
{
	struct member *m, *next;

	server_hold(chatd.srv);
	for (m = TAILQ_FIRST(&chatd.room.members); m != NULL; m = next) {
		next = TAILQ_NEXT(m, entry);
		(void)client_check(m->owner);
	}
	server_release(chatd.srv);
}

static void
client_readable(struct conn *c)
{
	client_input(c, 0);
}

/*
 * Exercise 8.13: the client sent no line for --idle-timeout.  Run by
 * lib/idle's timer, outside any server callback: held, so that c stays
 * valid to the end.
 */
void
client_idle_cb(struct idle_entry *e, void *arg)
{
	struct client *cl = (struct client *)(void *)
	    ((char *)e - offsetof(struct client, idle));

	server_hold(chatd.srv);
	if (!conn_closing(cl->c))
		client_leave(cl, WHY_IDLE, MSG_IDLE, sizeof(MSG_IDLE) - 1);
	server_release(chatd.srv);
}

/* All output sent: the greeting is out, the plain bound applies. */
static void
client_drained(struct conn *c)
{
	struct client *cl = conn_data(c);

	if (cl != NULL)
		cl->allow = 0;
}

/* The client shut its sending side: its last line counts, then it leaves. */
static void
client_eof(struct conn *c)
{
	struct client *cl;

	client_input(c, 1);
	if (conn_closing(c) || (cl = conn_data(c)) == NULL)
		return;
	client_leave(cl, WHY_EOF, NULL, 0);
}

/* SIGTERM: the batch has gone out already; a farewell, then close. */
static void
client_stopping(struct conn *c)
{
	struct client *cl = conn_data(c);

	if (cl == NULL)
		return;
	cl->why = WHY_SHUTDOWN;
	if (conn_send(c, MSG_SHUTDOWN, sizeof(MSG_SHUTDOWN) - 1) == -1)
		return;
	client_depart(cl, client_whys[WHY_SHUTDOWN]);
	conn_close_after_flush(c, NULL);
}

/* The one end of every client, whoever closed it. */
static void
client_closed(struct conn *c, const char *why)
{
	struct client *cl = conn_data(c);

	if (cl == NULL)
		return;
	if (cl->why != WHY_NONE || why == NULL)
		why = client_whys[cl->why];
	client_depart(cl, why);
	conn_set_data(c, NULL);
	free(cl);
}

/*
 * Every complete line waiting, in order; with eof, a last line without
 * newline counts too (Go's bufio.Scanner returns it).  Stops as soon as
 * the client is closing: a line may have closed it.
 */
void
client_input(struct conn *c, int eof)
{
	struct evbuffer *in;
	struct client *cl;
	size_t len;
	int r;

	while (!conn_closing(c) && (cl = conn_data(c)) != NULL &&
	    (in = conn_input(c)) != NULL) {
		switch (line_next(in, chatd.line, chatd.linecap, &len,
		    &cl->skipping)) {
		case LINE_OK:
			break;
		case LINE_TOO_LONG:
			len = SIZE_MAX;
			break;
		case LINE_NONE:
		default:
			if (!eof || cl->skipping ||
			    (len = evbuffer_get_length(in)) == 0)
				return;
			if (evbuffer_remove(in, chatd.line, len) != (int)len)
				return;
			if (chatd.line[len - 1] == '\r')
				len--;
			break;
		}
		if (chatd.idle_on)
			idle_touch(&chatd.idle, &cl->idle);
		if (len > chatd.max_line) {
			if (cl->state == CLIENT_NAMING)
				r = client_name(cl, chatd.line, 0, 1);
			else
				r = client_send(cl, chatd.too_long,
				    chatd.too_long_len);
		} else
			r = client_line(cl, chatd.line, len);
		if (r == -1)
			return;
	}
}

/* One line from the client: a name while it has none, else for the room. */
static int
client_line(struct client *cl, char *line, size_t len)
{
	if (cl->state == CLIENT_NAMING)
		return client_name(cl, line, len, 0);
	if (cl->state != CLIENT_MEMBER)
		return -1;
	len = chat_text_clean(line, len);
	if (relay_say(chatd.relay, cl->m->who, cl->m->wholen, line, len) ==
	    -1) {
		client_leave(cl, WHY_MEMORY, NULL, 0);
		return -1;
	}
	return conn_closing(cl->c) ? -1 : 0;
}

/*
 * Exercise 8.14: the first line is the name.  A bad or taken one (or an
 * over-long line, bad) is asked again, up to CHATD_NAME_TRIES times.
 */
static int
client_name(struct client *cl, char *line, size_t len, int bad)
{
	size_t off, nlen;
	int r;

	if (!bad && chat_name_check(line, len, &off, &nlen) == CHAT_NAME_OK) {
		if ((r = client_enter(cl, line + off, nlen)) != 1)
			return r;
	}
	if (++cl->tries >= CHATD_NAME_TRIES) {
		client_leave(cl, WHY_NAMES, MSG_NAME_LAST,
		    sizeof(MSG_NAME_LAST) - 1);
		return -1;
	}
	return client_send(cl, MSG_NAME_AGAIN, sizeof(MSG_NAME_AGAIN) - 1);
}
