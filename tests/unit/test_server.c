/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/server.c, on real loopback sockets driven from one
 * thread: limits, the output bound, close-after-flush and shutdown.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "listen.h"
#include "loopback_server.h"
#include "log.h"
#include "server.h"
#include "timeout.h"

static struct event_base *base;
static struct server *srv;
static struct sockaddr_in srv_addr;
static struct conn *last_conn;
static int closed_count;
static uint64_t closed_at;	/* now_us() of the last close */

/* Microseconds on the monotonic clock. */
static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int
accepted(struct conn *c)
{
	last_conn = c;
	return 0;
}

static void
closed(struct conn *c, const char *why)
{
	if (c == last_conn)
		last_conn = NULL;
	closed_count++;
	closed_at = now_us();
}

static const struct server_ops ops = {
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
	ck_assert_ptr_null(last_conn->bev);
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
		t0 = now_us();
		conn_close_after_flush(last_conn, "done");
		ck_assert_int_eq(closed_count, 0);
		while (closed_count == 0 && now_us() - t0 < limit)
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

static Suite *
server_suite(void)
{
	Suite *s = suite_create("server");
	TCase *limits = tcase_create("limits"), *life = tcase_create("life");

	/* A few hundred loop turns and sends each. */
	tcase_budget(limits, 10);
	/* Up to 5000 turns of 0.5 ms, and two linger times waited out. */
	tcase_budget(life, 15);
	tcase_add_test(limits, test_max_clients_busy_reply);
	tcase_add_test(limits, test_output_bound_drops_non_reader);
	tcase_add_test(limits, test_lean_output_bound_and_eof);
	tcase_add_test(life, test_close_after_flush_delivers);
	tcase_add_test(life, test_linger_bounds_closing);
	tcase_add_test(life, test_shutdown_ends_loop);
	suite_add_tcase(s, limits);
	suite_add_tcase(s, life);
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
