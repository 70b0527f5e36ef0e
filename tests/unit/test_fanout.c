/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/fanout.c: the same bytes to many clients from two
 * threads, on real loopback sockets.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "fanout.h"
#include "listen.h"
#include "loopback_server.h"
#include "log.h"
#include "server.h"
#include "timeout.h"

#define NCLIENTS	600

static struct event_base *base;
static struct server *srv;
static struct sockaddr_in srv_addr;
static int fds[NCLIENTS];

static struct server_ops ops;
static int closed_count;

static void
spin(int ms)
{
	loopback_spin(base, ms);
}

/* A lean server with n clients connected and accepted. */
static void
start(int n, const struct server_limits *lim)
{
	int i;

	log_init("test_fanout", LOG_VERBOSITY_QUIET);
	closed_count = 0;
	srv = loopback_server_start(&base, &ops, lim, &srv_addr, 1024);
	for (i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_eq(connect(fds[i], (struct sockaddr *)&srv_addr,
		    sizeof(srv_addr)), 0);
		if (i % 64 == 63)
			spin(2);
	}
	for (i = 0; i < 200 && server_stats(srv)->clients < (unsigned)n; i++)
		spin(5);
	ck_assert_uint_eq(server_stats(srv)->clients, n);
}

static void
stop(int n)
{
	int i;

	for (i = 0; i < n; i++)
		close(fds[i]);
	server_free(srv);
	event_base_free(base);
}

static int
read_exact(int fd, char *buf, size_t len)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t got = 0;
	ssize_t n;

	while (got < len && poll(&pfd, 1, 2000) == 1) {
		if ((n = read(fd, buf + got, len - got)) <= 0)
			break;
		got += (size_t)n;
	}
	return (int)got;
}

START_TEST(test_every_client_gets_each_send_once)
{
	struct server_limits lim = { .lean = 1 };
	struct fanout *f;
	char buf[32];
	int i, good = 0;

	start(NCLIENTS, &lim);
	f = fanout_new(2);
	ck_assert_ptr_nonnull(f);
	fanout_send(f, srv, "12:00:00\n", 9);
	fanout_send(f, srv, "12:00:01\n", 9);
	for (i = 0; i < NCLIENTS; i++)
		if (read_exact(fds[i], buf, 18) == 18 &&
		    memcmp(buf, "12:00:00\n12:00:01\n", 18) == 0)
			good++;
	ck_assert_int_eq(good, NCLIENTS);
	ck_assert_uint_eq(server_stats(srv)->bytes_out, 18 * NCLIENTS);
	fanout_free(f);
	stop(NCLIENTS);
}
END_TEST

START_TEST(test_gone_client_closed_others_served)
{
	struct server_limits lim = { .lean = 1 };
	struct fanout *f;
	char buf[32];
	int i, good = 0;

	start(NCLIENTS, &lim);
	f = fanout_new(2);
	/* A client on the helper thread's half resets its connection. */
	{
		struct linger lg = { 1, 0 };

		setsockopt(fds[NCLIENTS - 1], SOL_SOCKET, SO_LINGER, &lg,
		    sizeof(lg));
		close(fds[NCLIENTS - 1]);
		fds[NCLIENTS - 1] = socket(AF_INET, SOCK_STREAM, 0);
	}
	usleep(20000);
	fanout_send(f, srv, "x\n", 2);
	fanout_send(f, srv, "y\n", 2);
	spin(20);
	ck_assert_uint_eq(server_stats(srv)->clients, NCLIENTS - 1);
	for (i = 0; i < NCLIENTS - 1; i++)
		if (read_exact(fds[i], buf, 4) == 4 &&
		    memcmp(buf, "x\ny\n", 4) == 0)
			good++;
	ck_assert_int_eq(good, NCLIENTS - 1);
	fanout_free(f);
	stop(NCLIENTS);
}
END_TEST

/* A departure that closes every other client (a farewell none could take). */
static void
closed_closes_all(struct conn *c, const char *why)
{
	struct conn *o;

	closed_count++;
	for (o = server_first(conn_server(c)); o != NULL; o = server_next(o))
		if (o != c)
			conn_close(o, "closed by another");
}

/*
 * The first client fails during the send and its closed() closes all the
 * others, which fanout has yet to settle: they are skipped, not touched
 * after they were freed.
 */
START_TEST(test_close_inside_settle)
{
	struct server_limits lim = { .lean = 1 };
	struct linger lg = { 1, 0 };
	struct fanout *f;

	ops.closed = closed_closes_all;
	start(8, &lim);
	f = fanout_new(1000);
	setsockopt(fds[0], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fds[0]);
	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	usleep(20000);
	fanout_send(f, srv, "x\n", 2);
	ck_assert_int_eq(closed_count, 8);
	ck_assert_uint_eq(server_stats(srv)->clients, 0);
	ck_assert_ptr_null(server_first(srv));
	fanout_free(f);
	ops.closed = NULL;
	stop(8);
}
END_TEST

/* A client that does not read is queued, then dropped at the bound. */
START_TEST(test_slow_reader_bounded)
{
	struct server_limits lim = { .lean = 1, .max_output = 8192,
	    .sndbuf = 4096 };
	static char line[1000];
	struct fanout *f;
	int i;

	memset(line, 'a', sizeof(line));
	start(4, &lim);
	f = fanout_new(2);
	for (i = 0; i < 200 && server_stats(srv)->dropped == 0; i++)
		fanout_send(f, srv, line, sizeof(line));
	ck_assert_uint_ge(server_stats(srv)->dropped, 1);
	ck_assert_int_lt(i, 200);
	fanout_free(f);
	stop(4);
}
END_TEST

static Suite *
fanout_suite(void)
{
	Suite *s = suite_create("fanout");
	TCase *core = tcase_create("core");

	/* 600 loopback clients connected, sent to and closed, three times. */
	tcase_budget(core, 15);
	tcase_add_test(core, test_every_client_gets_each_send_once);
	tcase_add_test(core, test_gone_client_closed_others_served);
	tcase_add_test(core, test_slow_reader_bounded);
	tcase_add_test(core, test_close_inside_settle);
	suite_add_tcase(s, core);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fanout_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
