/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/sharedbuf.c and conn_send_shared(): a block written
 * once, then queued to clients by reference on real loopback sockets,
 * and given back when the last queue lets go of it.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "loopback_server.h"
#include "log.h"
#include "server.h"
#include "sharedbuf.h"
#include "timeout.h"

#define BIG	(256 * 1024)	/* more than a small socket takes at once */

static struct event_base *base;
static struct server *srv;
static struct sockaddr_in srv_addr;
static struct conn *last_conn;
static int closed_count;

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
}

static const struct server_ops ops = {
	.accepted = accepted,
	.closed = closed,
};

/* A server with one client whose receive buffer is small; its socket. */
static int
start(const struct server_limits *lim)
{
	int fd, rcvbuf = 4096, i;

	log_init("test_sharedbuf", LOG_VERBOSITY_QUIET);
	last_conn = NULL;
	closed_count = 0;
	srv = loopback_server_start(&base, &ops, lim, &srv_addr, 16);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&srv_addr,
	    sizeof(srv_addr)), 0);
	for (i = 0; i < 200 && last_conn == NULL; i++)
		loopback_spin(base, 1);
	ck_assert_ptr_nonnull(last_conn);
	return fd;
}

static void
stop(void)
{
	server_free(srv);
	event_base_free(base);
}

/* A block of len bytes counting 0, 1, 2, ... (mod 251), added in pieces. */
static struct sharedbuf *
pattern(size_t len)
{
	struct sharedbuf *sb = sharedbuf_new(16);
	unsigned char piece[1000];
	size_t i, k, n;

	ck_assert_ptr_nonnull(sb);
	for (i = 0; i < len; i += n) {
		n = len - i < sizeof(piece) ? len - i : sizeof(piece) - i % 7;
		for (k = 0; k < n; k++)
			piece[k] = (unsigned char)((i + k) % 251);
		ck_assert_int_eq(sharedbuf_add(&sb, piece, n), 0);
	}
	return sb;
}

/*
 * Reads len bytes while running the server's loop (its queue drains
 * only then); 1 if they match want.
 */
static int
read_all(int fd, const char *want, size_t len)
{
	static char buf[BIG + 4096];
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t got = 0;
	ssize_t n;
	int idle = 0;

	ck_assert_uint_le(len, sizeof(buf));
	while (got < len && idle < 2000) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (poll(&pfd, 1, 1) != 1) {
			idle++;
			continue;
		}
		if ((n = read(fd, buf + got, len - got)) <= 0)
			break;
		got += (size_t)n;
		idle = 0;
	}
	return got == len && memcmp(buf, want, len) == 0;
}

START_TEST(test_shared_bytes_never_move)
{
	struct sharedbuf *sb = sharedbuf_new(16), *ref;
	const char *at;

	ck_assert_ptr_nonnull(sb);
	ck_assert_uint_eq(sharedbuf_len(sb), 0);
	ck_assert_int_eq(sharedbuf_add(&sb, "hello ", 6), 0);
	ck_assert_int_eq(sharedbuf_add(&sb, "world\n", 6), 0);
	ck_assert_uint_eq(sharedbuf_len(sb), 12);
	ck_assert_int_eq(memcmp(sharedbuf_data(sb), "hello world\n", 12), 0);
	ref = sharedbuf_ref(sb);
	ck_assert_ptr_eq(ref, sb);
	ck_assert_uint_eq(sharedbuf_refs(sb), 2);
	/* Shared: what fits is appended in place, the rest refused. */
	at = sharedbuf_data(sb);
	ck_assert_uint_eq(sharedbuf_room(sb), 4);
	ck_assert_int_eq(sharedbuf_add(&sb, "abcd", 4), 0);
	ck_assert_ptr_eq(sharedbuf_data(sb), at);
	errno = 0;
	ck_assert_int_eq(sharedbuf_add(&sb, "x", 1), -1);
	ck_assert_int_eq(errno, EBUSY);
	ck_assert_uint_eq(sharedbuf_len(sb), 16);
	ck_assert_int_eq(memcmp(sharedbuf_data(sb), "hello world\nabcd", 16), 0);
	/* Alone again, it may grow (and move). */
	sharedbuf_unref(ref);
	ck_assert_uint_eq(sharedbuf_refs(sb), 1);
	ck_assert_int_eq(sharedbuf_add(&sb, "!", 1), 0);
	ck_assert_uint_eq(sharedbuf_len(sb), 17);
	ck_assert_uint_ge(sharedbuf_room(sb), 1);
	sharedbuf_unref(sb);
	sharedbuf_unref(NULL);
}
END_TEST

START_TEST(test_grow_and_trim_keep_bytes)
{
	struct sharedbuf *sb = pattern(100000);
	size_t i, bad = 0;

	ck_assert_uint_eq(sharedbuf_len(sb), 100000);
	sharedbuf_trim(&sb);
	ck_assert_uint_eq(sharedbuf_len(sb), 100000);
	ck_assert_uint_eq(sharedbuf_room(sb), 0);
	for (i = 0; i < 100000; i++)
		bad += (unsigned char)sharedbuf_data(sb)[i] != i % 251;
	ck_assert_uint_eq(bad, 0);
	sharedbuf_unref(sb);
}
END_TEST

/* What the socket does not take is queued by reference, then let go. */
static void
shared_send_by_reference(int lean)
{
	struct server_limits lim = { .sndbuf = 4096, .lean = lean };
	struct sharedbuf *sb = pattern(BIG);
	int fd;

	fd = start(&lim);
	ck_assert_int_eq(conn_send_shared(last_conn, sb, 0, BIG), 0);
	ck_assert_uint_gt(conn_output_len(last_conn), 0);
	ck_assert_uint_lt(conn_output_len(last_conn), BIG);
	ck_assert_uint_eq(sharedbuf_refs(sb), 2);
	/* A second send queues behind the first, from an offset. */
	ck_assert_int_eq(conn_send_shared(last_conn, sb, BIG - 1000, 5000), 0);
	ck_assert_uint_eq(sharedbuf_refs(sb), 3);
	ck_assert(read_all(fd, sharedbuf_data(sb), BIG));
	ck_assert(read_all(fd, sharedbuf_data(sb) + BIG - 1000, 1000));
	ck_assert_uint_eq(conn_output_len(last_conn), 0);
	ck_assert_uint_eq(sharedbuf_refs(sb), 1);
	ck_assert_uint_eq(server_stats(srv)->bytes_out, BIG + 1000);
	sharedbuf_unref(sb);
	close(fd);
	stop();
}

START_TEST(test_lean_send_by_reference)
{
	shared_send_by_reference(1);
}
END_TEST

START_TEST(test_buffered_send_by_reference)
{
	shared_send_by_reference(0);
}
END_TEST

/* A closed connection gives its references back; the bound still holds. */
START_TEST(test_close_and_bound_release)
{
	struct server_limits lim = { .sndbuf = 4096, .lean = 1,
	    .max_output = BIG + 1000 };
	struct sharedbuf *sb = pattern(BIG);
	int fd, rc = 0, i;

	fd = start(&lim);
	ck_assert_int_eq(conn_send_shared(last_conn, sb, 0, BIG), 0);
	ck_assert_uint_eq(sharedbuf_refs(sb), 2);
	conn_close(last_conn, "test");
	ck_assert_uint_eq(sharedbuf_refs(sb), 1);
	close(fd);
	stop();

	fd = start(&lim);
	for (i = 0; i < 10 && rc == 0; i++)
		rc = conn_send_shared(last_conn, sb, 0, BIG);
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(i, 2);
	ck_assert_uint_eq(server_stats(srv)->dropped, 1);
	ck_assert_int_eq(closed_count, 1);
	ck_assert_uint_eq(sharedbuf_refs(sb), 1);
	sharedbuf_unref(sb);
	close(fd);
	stop();
}
END_TEST

/* A range of a block: only those bytes, whatever follows. */
START_TEST(test_send_range)
{
	struct server_limits lim = { .lean = 1 };
	struct sharedbuf *sb = pattern(1000);
	int fd;

	fd = start(&lim);
	ck_assert_int_eq(conn_send_shared(last_conn, sb, 10, 20), 0);
	ck_assert_int_eq(conn_send_shared(last_conn, sb, 990, 100), 0);
	ck_assert(read_all(fd, sharedbuf_data(sb) + 10, 20));
	ck_assert(read_all(fd, sharedbuf_data(sb) + 990, 10));
	ck_assert_uint_eq(server_stats(srv)->bytes_out, 30);
	sharedbuf_unref(sb);
	close(fd);
	stop();
}
END_TEST

/* A short rest costs less copied than referenced. */
START_TEST(test_short_rest_copied)
{
	struct server_limits lim = { .sndbuf = 4096, .lean = 1 };
	struct sharedbuf *big = pattern(BIG), *small = pattern(100);
	int fd;

	fd = start(&lim);
	ck_assert_int_eq(conn_send_shared(last_conn, big, 0, BIG), 0);
	ck_assert_uint_eq(sharedbuf_refs(big), 2);
	ck_assert_int_eq(conn_send_shared(last_conn, small, 0, 100), 0);
	ck_assert_uint_eq(sharedbuf_refs(small), 1);
	ck_assert(read_all(fd, sharedbuf_data(big), BIG));
	ck_assert(read_all(fd, sharedbuf_data(small), 100));
	ck_assert_uint_eq(sharedbuf_refs(big), 1);
	sharedbuf_unref(big);
	sharedbuf_unref(small);
	close(fd);
	stop();
}
END_TEST

static Suite *
sharedbuf_suite(void)
{
	Suite *s = suite_create("sharedbuf");
	TCase *core = tcase_create("core"), *send = tcase_create("send");

	tcase_add_test(core, test_shared_bytes_never_move);
	tcase_add_test(core, test_grow_and_trim_keep_bytes);
	tcase_budget(send, 20);
	tcase_add_test(send, test_lean_send_by_reference);
	tcase_add_test(send, test_buffered_send_by_reference);
	tcase_add_test(send, test_close_and_bound_release);
	tcase_add_test(send, test_short_rest_copied);
	tcase_add_test(send, test_send_range);
	suite_add_tcase(s, core);
	suite_add_tcase(s, send);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sharedbuf_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
