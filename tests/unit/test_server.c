/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/server.c, on real loopback sockets driven from one
 * thread: limits, the output bound, close-after-flush and shutdown, what
 * a daemon sees of a connection, and closing from inside callbacks.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "life.h"
#include "listen.h"
#include "loopback_server.h"
#include "log.h"
#include "monotime.h"
#include "server.h"
#include "timeout.h"

static struct event_base *base;
static struct server *srv;
static struct sockaddr_in srv_addr;
static struct conn *last_conn;
static int closed_count;
static uint64_t closed_at;	/* monotime_us() of the last close */
static char last_why[64];

/* What accepted() does besides remembering the connection. */
static enum {
	ACCEPT_PLAIN,
	ACCEPT_SEND_FAIL,	/* sends; -1 when that failed (ftpd's greeting) */
	ACCEPT_CLOSE_ZERO,	/* closes it, then returns 0 */
	ACCEPT_CLOSE_FAIL,	/* closes it, then returns -1 */
	ACCEPT_REFUSE_SECOND,	/* conn_refuse() from the second client on */
	ACCEPT_IDLE,		/* conn_set_idle(accept_idle) */
} accept_mode;
static const struct timeval *accept_idle;
static int accept_rc;

static int
accepted(struct conn *c)
{
	last_conn = c;
	switch (accept_mode) {
	case ACCEPT_PLAIN:
		break;
	case ACCEPT_SEND_FAIL:
		if (conn_send(c, "hello\n", 6) == -1) {
			last_conn = NULL;
			return -1;
		}
		break;
	case ACCEPT_CLOSE_ZERO:
		conn_close(c, "closed in accepted");
		last_conn = NULL;
		return 0;
	case ACCEPT_CLOSE_FAIL:
		conn_close(c, "closed in accepted");
		last_conn = NULL;
		return -1;
	case ACCEPT_REFUSE_SECOND:
		if (server_stats(conn_server(c))->clients > 1) {
			conn_refuse(c, "busy here\n", "test limit");
			ck_assert_int_eq(conn_closing(c), 1);
			return -1;
		}
		break;
	case ACCEPT_IDLE:
		accept_rc = conn_set_idle(c, accept_idle);
		break;
	}
	return 0;
}

static void
closed(struct conn *c, const char *why)
{
	if (c == last_conn)
		last_conn = NULL;
	closed_count++;
	closed_at = monotime_us();
	snprintf(last_why, sizeof(last_why), "%s", why != NULL ? why : "");
}

/* Shutdown: the first to be told closes everyone else at once. */
static void
stopping_closes_all(struct conn *c)
{
	struct conn *o;

	for (o = server_first(conn_server(c)); o != NULL; o = server_next(o))
		if (o != c)
			conn_close(o, "closed by another");
	conn_close_after_flush(c, "shutdown");
}

static struct server_ops ops = {
	.accepted = accepted,
	.closed = closed,
};

/* A server on a free loopback port with the given limits. */
static void
start(const struct server_limits *limits)
{
	log_init("test_server", LOG_VERBOSITY_QUIET);
	srv = loopback_server_start(&base, &ops, limits, &srv_addr, 16);
	last_conn = NULL;
	closed_count = 0;
	last_why[0] = '\0';
	accept_mode = ACCEPT_PLAIN;
	ops.stopping = NULL;
}

static void
stop(void)
{
	server_free(srv);
	event_base_free(base);
}

static int
client(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_eq(connect(fd, (struct sockaddr *)&srv_addr,
	    sizeof(srv_addr)), 0);
	return fd;
}

/* Runs the loop for about ms milliseconds. */
static void
spin(int ms)
{
	loopback_spin(base, ms);
}

/* Reads until EOF or timeout; returns the bytes read, -1 on timeout. */
static ssize_t
read_to_eof(int fd, char *buf, size_t cap, int ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t got = 0;
	ssize_t n;

	while (poll(&pfd, 1, ms) == 1) {
		n = read(fd, buf + got, cap - got);
		if (n <= 0)
			return (ssize_t)got;
		got += (size_t)n;
		if (got == cap)
			return (ssize_t)got;
	}
	return -1;
}

START_TEST(test_max_clients_busy_reply)
{
	struct server_limits lim = { .max_clients = 1,
	    .busy_reply = "busy\n" };
	char buf[64];
	int a, b;

	start(&lim);
	a = client();
	spin(20);
	ck_assert_ptr_nonnull(last_conn);
	b = client();
	spin(20);
	ck_assert_int_eq(read_to_eof(b, buf, sizeof(buf), 1000), 5);
	ck_assert_int_eq(memcmp(buf, "busy\n", 5), 0);
	ck_assert_uint_eq(server_stats(srv)->refused, 1);
	ck_assert_uint_eq(server_stats(srv)->clients, 1);
	close(a);
	close(b);
	stop();
}
END_TEST

START_TEST(test_output_bound_drops_non_reader)
{
	struct server_limits lim = { .max_output = 64 * 1024, .sndbuf = 4096 };
	static char chunk[16384];
	int a, i, rc = 0, rcvbuf = 4096;

	start(&lim);
	a = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(a, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	ck_assert_int_eq(connect(a, (struct sockaddr *)&srv_addr,
	    sizeof(srv_addr)), 0);
	spin(20);
	ck_assert_ptr_nonnull(last_conn);
	/* The kernel takes a little, then the queue must hit the bound. */
	for (i = 0; i < 200 && rc == 0; i++)
		rc = conn_send(last_conn, chunk, sizeof(chunk));
	ck_assert_int_eq(rc, -1);
	ck_assert_int_lt(i, 200);
	ck_assert_uint_eq(server_stats(srv)->dropped, 1);
	ck_assert_int_eq(closed_count, 1);
	close(a);
	stop();
}
END_TEST

/* The same bound for lean connections, whose queue is made on demand. */
START_TEST(test_lean_output_bound_and_eof)
{
	struct server_limits lim = { .max_output = 64 * 1024, .sndbuf = 4096,
	    .lean = 1 };
	static char chunk[16384];
	int a, b, i, rc = 0, rcvbuf = 4096;

	start(&lim);
	a = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(a, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	ck_assert_int_eq(connect(a, (struct sockaddr *)&srv_addr,
	    sizeof(srv_addr)), 0);
	spin(20);
	ck_assert_ptr_nonnull(last_conn);
	ck_assert_int_eq(conn_set_idle(last_conn, NULL), -1);	/* lean */
	for (i = 0; i < 200 && rc == 0; i++)
		rc = conn_send(last_conn, chunk, sizeof(chunk));
	ck_assert_int_eq(rc, -1);
	ck_assert_uint_eq(server_stats(srv)->dropped, 1);
	/* A client that closes is noticed without any write. */
	b = client();
	spin(20);
	ck_assert_uint_eq(server_stats(srv)->clients, 1);
	close(b);
	spin(50);
	ck_assert_uint_eq(server_stats(srv)->clients, 0);
	ck_assert_int_eq(closed_count, 2);
	close(a);
	stop();
}
END_TEST

START_TEST(test_close_after_flush_delivers)
{
	struct server_limits lim = { .sndbuf = 4096 };
	static char big[300000], got[300000];
	int a, rcvbuf = 4096;

	memset(big, 'x', sizeof(big));
	start(&lim);
	/* Small buffers on both sides, so that most of big must queue. */
	a = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(a, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	ck_assert_int_eq(connect(a, (struct sockaddr *)&srv_addr,
	    sizeof(srv_addr)), 0);
	spin(20);
	ck_assert_ptr_nonnull(last_conn);
	ck_assert_int_eq(conn_send(last_conn, big, sizeof(big)), 0);
	conn_close_after_flush(last_conn, "done");
	ck_assert_int_eq(closed_count, 0);
	/* Drain while the loop writes the rest, then see EOF. */
	fcntl(a, F_SETFL, O_NONBLOCK);
	{
		size_t total = 0;
		ssize_t n;
		int rounds;

		for (rounds = 0; rounds < 5000; rounds++) {
			event_base_loop(base, EVLOOP_NONBLOCK);
			n = read(a, got + total, sizeof(got) - total);
			if (n > 0)
				total += (size_t)n;
			else if (n == 0)
				break;
			else
				usleep(500);
		}
		ck_assert_uint_eq(total, sizeof(big));
	}
	ck_assert_int_eq(closed_count, 1);
	close(a);
	stop();
}
END_TEST

/*
 * A closing client that never reads is dropped after the linger time: not
 * before it (timed from the close asked for, not from loop turns, which a
 * busy machine slows down), and within a second after it.
 */
START_TEST(test_linger_bounds_closing)
{
	struct server_limits lim = { .sndbuf = 4096,
	    .linger = { 0, 200000 } };
	static char big[300000];
	uint64_t t0, limit = 200000 + 1000000 * time_factor();
	int a, rcvbuf = 4096, lean;

	for (lean = 0; lean < 2; lean++) {
		lim.lean = lean;
		start(&lim);
		a = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(a, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		ck_assert_int_eq(connect(a, (struct sockaddr *)&srv_addr,
		    sizeof(srv_addr)), 0);
		spin(20);
		ck_assert_ptr_nonnull(last_conn);
		ck_assert_int_eq(conn_send(last_conn, big, sizeof(big)), 0);
		t0 = monotime_us();
		conn_close_after_flush(last_conn, "done");
		ck_assert_int_eq(closed_count, 0);
		while (closed_count == 0 && monotime_us() - t0 < limit)
			spin(1);
		ck_assert_int_eq(closed_count, 1);
		ck_assert_uint_ge(closed_at - t0, 200000);
		ck_assert_uint_eq(server_stats(srv)->dropped, 1);
		close(a);
		stop();
	}
}
END_TEST

START_TEST(test_shutdown_ends_loop)
{
	struct server_limits lim = { 0 };
	struct timeval grace = { 5, 0 };
	int a, b;

	start(&lim);
	a = client();
	b = client();
	spin(20);
	ck_assert_uint_eq(server_stats(srv)->clients, 2);
	server_shutdown(srv, &grace);
	/* Both had nothing queued: closed at once, the loop told to exit. */
	ck_assert_int_eq(closed_count, 2);
	ck_assert_int_eq(event_base_dispatch(base), 0);
	ck_assert_int_eq(event_base_got_exit(base), 1);
	close(a);
	close(b);
	stop();
}
END_TEST

/* A client that resets its connection before the server accepts it. */
static void
client_reset(void)
{
	struct linger lg = { 1, 0 };
	int fd = client();

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	usleep(20000);
}

/* What a daemon sees of a connection, through the accessors alone. */
START_TEST(test_accessors)
{
	struct server_limits lim = { 0 };
	struct sockaddr_in me, local;
	const struct sockaddr_in *peer;
	socklen_t len = sizeof(me);
	int a, dummy;

	start(&lim);
	a = client();
	getsockname(a, (struct sockaddr *)&me, &len);
	spin(20);
	ck_assert_ptr_nonnull(last_conn);
	ck_assert_ptr_eq(conn_server(last_conn), srv);
	ck_assert_str_eq(conn_host(last_conn), "127.0.0.1");
	ck_assert_uint_eq(conn_port(last_conn), ntohs(me.sin_port));
	peer = (const struct sockaddr_in *)(const void *)conn_peer(last_conn);
	ck_assert_int_eq(peer->sin_family, AF_INET);
	ck_assert_uint_eq(peer->sin_port, me.sin_port);
	/* The socket is the server's end: its local port is the server's. */
	len = sizeof(local);
	ck_assert_int_eq(getsockname(conn_fd(last_conn),
	    (struct sockaddr *)&local, &len), 0);
	ck_assert_uint_eq(local.sin_port, srv_addr.sin_port);
	ck_assert_ptr_null(conn_data(last_conn));
	conn_set_data(last_conn, &dummy);
	ck_assert_ptr_eq(conn_data(last_conn), &dummy);
	ck_assert_int_eq(conn_closing(last_conn), 0);
	ck_assert_ptr_nonnull(conn_input(last_conn));
	ck_assert_uint_eq(conn_output_len(last_conn), 0);
	/* Nothing queued, in clear: fanout may write to the socket. */
	ck_assert_int_eq(conn_send_fd(last_conn), conn_fd(last_conn));
	ck_assert_ptr_eq(server_first(srv), last_conn);
	ck_assert_ptr_null(server_next(last_conn));
	close(a);
	stop();
}
END_TEST

/* conn_set_idle: a timeout of its own, or none, whatever limits.idle. */
START_TEST(test_set_idle)
{
	struct server_limits lim = { .idle = { 0, 100000 } };
	struct timeval short_idle = { 0, 100000 };
	int a;

	start(&lim);
	accept_mode = ACCEPT_IDLE;
	accept_idle = NULL;
	accept_rc = -1;
	a = client();
	spin(20);
	ck_assert_int_eq(accept_rc, 0);
	spin(400);
	ck_assert_int_eq(closed_count, 0);
	close(a);
	stop();

	lim.idle.tv_usec = 0;
	start(&lim);
	accept_mode = ACCEPT_IDLE;
	accept_idle = &short_idle;
	a = client();
	spin(400);
	ck_assert_int_eq(closed_count, 1);
	ck_assert_str_eq(last_why, "idle timeout");
	close(a);
	stop();
}
END_TEST

/* limits.idle_reply: said to an idle client before the close (FTP's 421). */
START_TEST(test_idle_reply)
{
	struct server_limits lim = { .idle = { 0, 100000 },
	    .idle_reply = "421 idle\r\n" };
	char buf[64];
	int a;

	start(&lim);
	a = client();
	spin(400);
	ck_assert_int_eq(closed_count, 1);
	ck_assert_str_eq(last_why, "idle timeout");
	ck_assert_int_eq(read_to_eof(a, buf, sizeof(buf), 1000), 10);
	ck_assert_int_eq(memcmp(buf, "421 idle\r\n", 10), 0);
	close(a);
	stop();
}
END_TEST

static int reloads;

static void
reload_cb(void *arg)
{
	reloads++;
	ck_assert_ptr_eq(arg, &reloads);
}

/* SIGHUP runs the daemon's reload callback in the loop, and stops nothing. */
START_TEST(test_life_reload)
{
	struct server_limits lim = { 0 };
	int a;

	start(&lim);
	ck_assert_int_eq(life_start(base, life_stop_server, NULL), 0);
	life_on_reload(reload_cb, &reloads);
	a = client();
	spin(20);
	reloads = 0;
	raise(SIGHUP);
	spin(50);
	ck_assert_int_eq(reloads, 1);
	raise(SIGHUP);
	spin(50);
	ck_assert_int_eq(reloads, 2);
	ck_assert_int_eq(life_stopping(), 0);
	ck_assert_int_eq(closed_count, 0);
	/* Without a callback, SIGHUP is only logged. */
	life_on_reload(NULL, NULL);
	raise(SIGHUP);
	spin(50);
	ck_assert_int_eq(reloads, 2);
	ck_assert_int_eq(closed_count, 0);
	life_end();
	close(a);
	stop();
}
END_TEST

/*
 * A paused connection reads nothing, yet a client that hangs up with
 * nothing left unread is closed at once; one that left bytes unread is
 * closed once reading resumes and they have been read.
 */
START_TEST(test_paused_hangup)
{
	struct server_limits lim = { 0 };
	int a;

	start(&lim);
	a = client();
	spin(20);
	ck_assert_ptr_nonnull(last_conn);
	conn_read_pause(last_conn);
	close(a);
	spin(100);
	ck_assert_int_eq(closed_count, 1);
	ck_assert_str_eq(last_why, "closed by the client");

	a = client();
	spin(20);
	ck_assert_ptr_nonnull(last_conn);
	conn_read_pause(last_conn);
	ck_assert_int_eq(write(a, "unread\n", 7), 7);
	close(a);
	spin(100);
	ck_assert_int_eq(closed_count, 1);
	ck_assert_uint_eq(evbuffer_get_length(conn_input(last_conn)), 0);
	conn_read_resume(last_conn);
	spin(100);
	ck_assert_int_eq(closed_count, 2);
	stop();
}
END_TEST

/*
 * ftpd's greeting: a send inside accepted() that fails (the client is
 * already gone) closes the connection, and accepted() says -1: the
 * server must neither free it twice nor touch it afterwards.
 */
START_TEST(test_send_fails_in_accepted)
{
	struct server_limits lim = { 0 };
	int lean;

	for (lean = 0; lean < 2; lean++) {
		lim.lean = lean;
		start(&lim);
		accept_mode = ACCEPT_SEND_FAIL;
		client_reset();
		spin(50);
		ck_assert_int_eq(closed_count, 1);
		ck_assert_uint_eq(server_stats(srv)->clients, 0);
		ck_assert_ptr_null(server_first(srv));
		stop();
	}
}
END_TEST

/* Closed inside accepted(), whatever accepted() then returns. */
START_TEST(test_close_in_accepted)
{
	struct server_limits lim = { 0 };
	char buf[16];
	int a, b, lean;

	for (lean = 0; lean < 2; lean++) {
		lim.lean = lean;
		start(&lim);
		accept_mode = ACCEPT_CLOSE_ZERO;
		a = client();
		spin(20);
		accept_mode = ACCEPT_CLOSE_FAIL;
		b = client();
		spin(20);
		ck_assert_int_eq(closed_count, 2);
		ck_assert_str_eq(last_why, "closed in accepted");
		ck_assert_uint_eq(server_stats(srv)->clients, 0);
		ck_assert_int_eq(read_to_eof(a, buf, sizeof(buf), 1000), 0);
		ck_assert_int_eq(read_to_eof(b, buf, sizeof(buf), 1000), 0);
		close(a);
		close(b);
		stop();
	}
}
END_TEST

/* A daemon's own limit: the same busy path as --max-clients. */
START_TEST(test_refuse_from_accepted)
{
	struct server_limits lim = { 0 };
	char buf[64];
	int a, b;

	start(&lim);
	accept_mode = ACCEPT_REFUSE_SECOND;
	a = client();
	spin(20);
	ck_assert_ptr_nonnull(last_conn);
	b = client();
	spin(20);
	ck_assert_int_eq(read_to_eof(b, buf, sizeof(buf), 1000), 10);
	ck_assert_int_eq(memcmp(buf, "busy here\n", 10), 0);
	ck_assert_uint_eq(server_stats(srv)->refused, 1);
	ck_assert_uint_eq(server_stats(srv)->clients, 1);
	ck_assert_int_eq(closed_count, 1);
	close(a);
	close(b);
	stop();
}
END_TEST

/* ops->stopping may close the others; the shutdown walk goes on safely. */
START_TEST(test_stopping_closes_others)
{
	struct server_limits lim = { 0 };
	struct timeval grace = { 5, 0 };
	int fd[4], i;

	start(&lim);
	ops.stopping = stopping_closes_all;
	for (i = 0; i < 4; i++)
		fd[i] = client();
	spin(30);
	ck_assert_uint_eq(server_stats(srv)->clients, 4);
	server_shutdown(srv, &grace);
	ck_assert_int_eq(closed_count, 4);
	ck_assert_uint_eq(server_stats(srv)->clients, 0);
	ck_assert_int_eq(event_base_dispatch(base), 0);
	for (i = 0; i < 4; i++)
		close(fd[i]);
	stop();
}
END_TEST

static void
noop_cb(evutil_socket_t fd, short what, void *arg)
{
}

/* SIGTERM's callback: the daemon's own timer stops, the server drains. */
START_TEST(test_life_stop_server)
{
	struct server_limits lim = { 0 };
	struct life_stop ls = { .grace = { 5, 0 } };
	struct timeval hour = { 3600, 0 };
	int a;

	start(&lim);
	a = client();
	spin(20);
	ls.srv = srv;
	ls.timer = evtimer_new(base, noop_cb, NULL);
	evtimer_add(ls.timer, &hour);
	life_stop_server(&ls);
	ck_assert_int_eq(evtimer_pending(ls.timer, NULL), 0);
	/* Nothing was queued: closed at once, and the loop told to exit. */
	ck_assert_int_eq(closed_count, 1);
	ck_assert_str_eq(last_why, "shutdown");
	ck_assert_int_eq(event_base_dispatch(base), 0);
	ck_assert_int_eq(event_base_got_exit(base), 1);
	event_free(ls.timer);
	close(a);
	stop();
}
END_TEST

/* Closed connections stay readable while held, and go at the release. */
START_TEST(test_hold_keeps_closed)
{
	struct server_limits lim = { 0 };
	struct conn *c;
	int a;

	start(&lim);
	a = client();
	spin(20);
	ck_assert_ptr_nonnull(last_conn);
	c = last_conn;
	server_hold(srv);
	conn_close(c, "held");
	ck_assert_int_eq(conn_closing(c), 1);
	ck_assert_int_eq(conn_send(c, "x", 1), -1);
	ck_assert_ptr_null(conn_data(c));
	conn_close(c, "twice");		/* nothing more */
	conn_drop(c, "thrice");
	ck_assert_int_eq(closed_count, 1);
	ck_assert_str_eq(last_why, "held");
	server_release(srv);
	ck_assert_uint_eq(server_stats(srv)->clients, 0);
	close(a);
	stop();
}
END_TEST

static Suite *
server_suite(void)
{
	Suite *s = suite_create("server");
	TCase *limits = tcase_create("limits"), *life = tcase_create("life");
	TCase *api = tcase_create("api");

	/* A few hundred loop turns and sends each. */
	tcase_budget(limits, 10);
	/* Up to 5000 turns of 0.5 ms, two linger times waited out, and a few
	 * turns for each shutdown. */
	tcase_budget(life, 15);
	tcase_add_test(limits, test_max_clients_busy_reply);
	tcase_add_test(limits, test_output_bound_drops_non_reader);
	tcase_add_test(limits, test_lean_output_bound_and_eof);
	tcase_add_test(life, test_close_after_flush_delivers);
	tcase_add_test(life, test_linger_bounds_closing);
	tcase_add_test(life, test_shutdown_ends_loop);
	tcase_add_test(life, test_stopping_closes_others);
	tcase_add_test(life, test_hold_keeps_closed);
	tcase_add_test(life, test_life_stop_server);
	tcase_add_test(life, test_life_reload);
	tcase_add_test(limits, test_idle_reply);
	/* A few loop turns each, and two idle times of 0.4 s waited out. */
	tcase_budget(api, 10);
	tcase_add_test(api, test_accessors);
	tcase_add_test(api, test_set_idle);
	tcase_add_test(api, test_paused_hangup);
	tcase_add_test(api, test_send_fails_in_accepted);
	tcase_add_test(api, test_close_in_accepted);
	tcase_add_test(api, test_refuse_from_accepted);
	suite_add_tcase(s, limits);
	suite_add_tcase(s, life);
	suite_add_tcase(s, api);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(server_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
