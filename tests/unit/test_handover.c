/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/handover.c's capsule and lib/server_handover.c: a
 * capsule carries an image and hundreds of descriptors, each back at its
 * place; a capsule that is not one, or an image that is not sealed or not
 * of its size, is refused; a server's image reads back, and a connected
 * socket adopted with its record becomes a connection with its queued
 * output, its unread input and the daemon's record, while a socket that
 * does not match its record is refused.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "handover.h"
#include "life.h"
#include "log.h"
#include "loopback_server.h"
#include "server.h"

#define MANY	600

static struct event_base *base;
static struct server *srv;
static struct sockaddr_in srv_addr;
static char restored[64];
static int restore_rc, readable_count, closed_count;
static char input_seen[64];

static int	restore(struct conn *, const void *, size_t);
static int	save(struct conn *, struct evbuffer *);
static void	readable(struct conn *);
static void	closed(struct conn *, const char *);
static void	forge(int, const void *, size_t, int);
static int	same_file(int, int);
static void	pair(int *, int *);
static void	start(void);
static void	start_with_pair(int *, int *, struct handover_client *);

static const struct handover_ops test_handover = {
	.name = "test",
	.save = save,
	.restore = restore,
};

static const struct server_ops ops = {
	.readable = readable,
	.closed = closed,
	.handover = &test_handover,
};

static int
save(struct conn *c, struct evbuffer *out)
{
	return evbuffer_add_printf(out, "rec-%s", conn_host(c)) < 0 ? -1 : 0;
}

static int
restore(struct conn *c, const void *p, size_t len)
{
	if (len >= sizeof(restored))
		len = sizeof(restored) - 1;
	ck_assert_ptr_nonnull(p);
	memcpy(restored, p, len);
	restored[len] = '\0';
	return restore_rc;
}

static void
readable(struct conn *c)
{
	struct evbuffer *in = conn_input(c);
	size_t n = evbuffer_get_length(in);

	if (n >= sizeof(input_seen))
		n = sizeof(input_seen) - 1;
	evbuffer_remove(in, input_seen, n);
	input_seen[n] = '\0';
	readable_count++;
}

static void
closed(struct conn *c, const char *why)
{
	closed_count++;
}

/* One raw message on sock: data and, unless -1, one descriptor. */
static void
forge(int sock, const void *data, size_t len, int fd)
{
	ck_assert_int_eq(handover_send(sock, data, len, &fd, fd != -1), 0);
}

static int
same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* A connected loopback pair: *cli the client's end, *srvside ours. */
static void
pair(int *cli, int *srvside)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int l;

	l = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	getsockname(l, (struct sockaddr *)&a, &len);
	*cli = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(*cli, (struct sockaddr *)&a, sizeof(a)), 0);
	*srvside = accept(l, NULL, NULL);
	ck_assert_int_ge(*srvside, 0);
	close(l);
}

/*
 * A server, a connected pair, and a record h of the server's end with no
 * bytes in it.
 */
static void
start_with_pair(int *cli, int *s, struct handover_client *h)
{
	socklen_t len = sizeof(h->peer);

	start();
	pair(cli, s);
	memset(h, 0, sizeof(*h));
	ck_assert_int_eq(getpeername(*s, (struct sockaddr *)&h->peer, &len), 0);
	h->peerlen = len;
}

static void
start(void)
{
	struct server_limits limits;

	memset(&limits, 0, sizeof(limits));
	limits.lean = 1;
	log_init("test_handover", LOG_VERBOSITY_QUIET);
	srv = loopback_server_start(&base, &ops, &limits, &srv_addr, 16);
	restored[0] = input_seen[0] = '\0';
	restore_rc = 0;
	readable_count = closed_count = 0;
}

static void
stop(void)
{
	server_free(srv);
	event_base_free(base);
}

/* Reads what is there within ms; the count, or 0 at EOF. */
static ssize_t
read_some(int fd, char *buf, size_t cap, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return -1;
	n = recv(fd, buf, cap - 1, 0);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* --- the capsule -------------------------------------------------------- */

START_TEST(test_capsule_many)
{
	static int fds[MANY], wr[MANY];
	struct handover_in in;
	const char img[] = "an image of some bytes";
	int p[2], i, cap;

	for (i = 0; i < MANY; i++) {
		ck_assert_int_eq(pipe(p), 0);
		fds[i] = p[0];
		wr[i] = p[1];
	}
	cap = handover_pack(img, sizeof(img), fds, MANY, 2);
	ck_assert_int_ge(cap, 0);
	ck_assert_int_eq(handover_unpack(cap, &in), 0);
	close(cap);
	ck_assert_ptr_nonnull(in.img);
	ck_assert_uint_eq(in.len, sizeof(img));
	ck_assert_mem_eq(in.img, img, sizeof(img));
	ck_assert_uint_eq(in.nlisteners, 2);
	ck_assert_uint_eq(in.nclients, MANY - 2);
	ck_assert_int_eq(in.truncated, 0);
	for (i = 0; i < MANY; i++) {
		ck_assert_int_ne(in.fds[i], -1);
		ck_assert_msg(same_file(in.fds[i], fds[i]), "fd %d moved", i);
		ck_assert_int_eq(fcntl(in.fds[i], F_GETFD) & FD_CLOEXEC,
		    FD_CLOEXEC);
	}
	handover_in_close(&in);
	for (i = 0; i < MANY; i++) {
		close(fds[i]);
		close(wr[i]);
	}
}
END_TEST

START_TEST(test_capsule_refused)
{
	struct handover_in in;
	int sp[2], p[2];
	char buf[1];

	signal(SIGPIPE, SIG_IGN);
	/* Empty. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp), 0);
	close(sp[1]);
	ck_assert_int_eq(handover_unpack(sp[0], &in), -1);
	close(sp[0]);
	/* Not a capsule: what came with it is closed. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp), 0);
	ck_assert_int_eq(pipe(p), 0);
	forge(sp[1], "hello, not a capsule", 20, p[0]);
	forge(sp[1], "more", 4, p[0]);
	close(p[0]);
	ck_assert_int_eq(handover_unpack(sp[0], &in), -1);
	ck_assert_int_eq(write(p[1], buf, 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(p[1]);
	close(sp[0]);
	close(sp[1]);
}
END_TEST

/* A memfd of the wrong size, or one that is not sealed: no image. */
START_TEST(test_capsule_image_checks)
{
	struct {
		char		 magic[8];
		uint32_t	 version, nl, nc, zero;
		uint64_t	 imagelen;
	} head;
	struct handover_in in;
	int sp[2], mfd, round;

	for (round = 0; round < 3; round++) {
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp), 0);
		mfd = memfd_create("t", MFD_ALLOW_SEALING);
		ck_assert_int_eq(write(mfd, "0123456789", 10), 10);
		if (round != 1)
			ck_assert_int_eq(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK |
			    F_SEAL_GROW | F_SEAL_WRITE), 0);
		memset(&head, 0, sizeof(head));
		memcpy(head.magic, "CWCAPSUL", 8);
		head.version = 1;
		head.imagelen = round == 0 ? 11 : 10;
		forge(sp[1], &head, sizeof(head), mfd);
		close(mfd);
		ck_assert_int_eq(handover_unpack(sp[0], &in), 0);
		if (round == 2) {
			ck_assert_ptr_nonnull(in.img);
			ck_assert_mem_eq(in.img, "0123456789", 10);
		} else {
			ck_assert_ptr_null(in.img);
			ck_assert_msg(strstr(in.why, round == 0 ? "size" :
			    "sealed") != NULL, "%s", in.why);
		}
		handover_in_close(&in);
		close(sp[0]);
		close(sp[1]);
	}
}
END_TEST

/* --- the server's image and adoption ---------------------------------------- */

START_TEST(test_server_image)
{
	struct handover_writer w;
	struct handover_reader r;
	struct handover_head h;
	struct handover_client c;
	int fds[8], cli[2], i;
	size_t nl;
	long n;

	start();
	for (i = 0; i < 2; i++) {
		cli[i] = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_eq(connect(cli[i], (struct sockaddr *)&srv_addr,
		    sizeof(srv_addr)), 0);
	}
	loopback_spin(base, 50);
	ck_assert_uint_eq(server_stats(srv)->clients, 2);
	ck_assert_int_eq(send(cli[1], "unread", 6, 0), 6);
	n = server_image(srv, "b", 1, 7, &w, fds, 8, &nl);
	ck_assert_int_eq(n, 3);
	ck_assert_uint_eq(nl, 1);
	ck_assert_int_eq(handover_read_head(&r, w.p, w.len, "test", &h),
	    HANDOVER_OK);
	ck_assert_uint_eq(h.nclients, 2);
	ck_assert_uint_eq(h.nlisteners, 1);
	ck_assert_int_eq(handover_read_client(&r, &c), HANDOVER_OK);
	ck_assert_uint_eq(c.datalen, strlen("rec-127.0.0.1"));
	ck_assert_mem_eq(c.data, "rec-127.0.0.1", c.datalen);
	ck_assert_int_eq(handover_read_client(&r, &c), HANDOVER_OK);
	ck_assert_int_eq(handover_read_client(&r, &c), HANDOVER_END);
	handover_write_free(&w);
	for (i = 0; i < 2; i++)
		close(cli[i]);
	stop();
}
END_TEST

START_TEST(test_adopt)
{
	struct handover_client h;
	const char *why = NULL;
	char buf[64];
	int cli, s;

	start_with_pair(&cli, &s, &h);
	h.out = (const uint8_t *)"queued\n";
	h.outlen = 7;
	h.in = (const uint8_t *)"unread";
	h.inlen = 6;
	h.data = (const uint8_t *)"its record";
	h.datalen = 10;
	ck_assert_int_eq(server_adopt(srv, s, &h, &why), 0);
	ck_assert_str_eq(restored, "its record");
	ck_assert_int_eq(readable_count, 1);
	ck_assert_str_eq(input_seen, "unread");
	ck_assert_uint_eq(server_stats(srv)->clients, 1);
	ck_assert_uint_eq(server_stats(srv)->adopted, 1);
	ck_assert(server_stats(srv)->accepted == 0);
	loopback_spin(base, 50);
	ck_assert_int_eq(read_some(cli, buf, sizeof(buf), 1000), 7);
	ck_assert_str_eq(buf, "queued\n");
	/* It is a connection like any other from then on. */
	ck_assert_int_eq(send(cli, "more", 4, 0), 4);
	loopback_spin(base, 50);
	ck_assert_str_eq(input_seen, "more");
	close(cli);
	loopback_spin(base, 50);
	ck_assert_int_eq(closed_count, 1);
	stop();
}
END_TEST

START_TEST(test_adopt_refused)
{
	struct handover_client h;
	struct sockaddr_in *a;
	const char *why = NULL;
	char buf[64];
	int cli, s, p[2], lfd;

	start_with_pair(&cli, &s, &h);
	/* Another peer's record. */
	a = (struct sockaddr_in *)&h.peer;
	a->sin_port = htons(ntohs(a->sin_port) + 1);
	ck_assert_int_eq(server_adopt(srv, s, &h, &why), -1);
	ck_assert_str_eq(why, "its record names another peer");
	ck_assert_int_ne(fcntl(s, F_GETFD), -1);	/* still the caller's */
	a->sin_port = htons(ntohs(a->sin_port) - 1);
	/* Not a socket, or a listening one. */
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(server_adopt(srv, p[0], &h, &why), -1);
	ck_assert_str_eq(why, "not a stream socket");
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(server_adopt(srv, lfd, &h, &why), -1);
	ck_assert_str_eq(why, "not connected (gone, or listening)");
	ck_assert_uint_eq(server_stats(srv)->clients, 0);
	/* The daemon cannot read its record: made, then closed. */
	restore_rc = -1;
	h.data = (const uint8_t *)"bad";
	h.datalen = 3;
	ck_assert_int_eq(server_adopt(srv, s, &h, &why), 1);
	ck_assert_int_eq(closed_count, 1);
	ck_assert_int_eq(read_some(cli, buf, sizeof(buf), 1000), 0);
	ck_assert_uint_eq(server_stats(srv)->clients, 0);
	close(cli);
	close(p[0]);
	close(p[1]);
	close(lfd);
	stop();
}
END_TEST

/* Closing before the hand-over: its output goes out, then it closes. */
START_TEST(test_adopt_closing)
{
	struct handover_client h;
	const char *why = NULL;
	char buf[64];
	int cli, s;

	start_with_pair(&cli, &s, &h);
	h.flags = HANDOVER_CLIENT_CLOSING;
	h.out = (const uint8_t *)"bye\n";
	h.outlen = 4;
	ck_assert_int_ge(server_adopt(srv, s, &h, &why), 0);
	loopback_spin(base, 100);
	ck_assert_int_eq(read_some(cli, buf, sizeof(buf), 1000), 4);
	ck_assert_str_eq(buf, "bye\n");
	ck_assert_int_eq(read_some(cli, buf, sizeof(buf), 1000), 0);
	ck_assert_int_eq(closed_count, 1);
	close(cli);
	stop();
}
END_TEST

/* Handed over: not a byte more goes to a client from this process. */
START_TEST(test_let_go)
{
	char buf[16];
	int cli;

	start();
	cli = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(cli, (struct sockaddr *)&srv_addr,
	    sizeof(srv_addr)), 0);
	loopback_spin(base, 50);
	ck_assert_ptr_nonnull(server_first(srv));
	ck_assert_int_eq(conn_send(server_first(srv), "a", 1), 0);
	ck_assert_int_eq(read_some(cli, buf, sizeof(buf), 1000), 1);
	server_let_go(srv);
	ck_assert_int_eq(conn_send(server_first(srv), "b", 1), -1);
	ck_assert_int_eq(conn_send_fd(server_first(srv)), -1);
	ck_assert_int_eq(read_some(cli, buf, sizeof(buf), 200), -1);
	close(cli);
	stop();
}
END_TEST

static void
to_store(void *arg)
{
	(*(int *)arg)++;
}

/*
 * A daemon's stop with a to_store hook, by signal (lib/life.c): the stop
 * half of a restart (SIGUSR2) under an fd store stops accepting
 * (newcomers wait in the backlog) and runs the hook; a plain stop
 * (SIGTERM) under the same store, or SIGUSR2 without one, stops
 * gracefully and leaves the hook alone.
 */
static void
stop_by_signal(struct life_stop *ls, int sig)
{
	start();
	ls->srv = srv;
	ck_assert_int_eq(life_start(base, life_stop_server, ls), 0);
	ck_assert_int_eq(raise(sig), 0);
}

START_TEST(test_stop_to_store)
{
	struct life_stop ls;
	int called = 0, c;

	memset(&ls, 0, sizeof(ls));
	ls.grace.tv_sec = 1;
	ls.to_store = to_store;
	ls.arg = &called;
	setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1);
	setenv("FDSTORE", "4", 1);
	ck_assert_int_eq(handover_store_enabled(), 1);
	stop_by_signal(&ls, SIGUSR2);
	loopback_spin(base, 100);
	ck_assert_int_eq(called, 1);
	c = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&srv_addr,
	    sizeof(srv_addr)), 0);
	loopback_spin(base, 100);
	ck_assert(server_stats(srv)->accepted == 0);
	close(c);
	life_end();
	stop();

	/* Nobody connected: the graceful stop ends the loop at once. */
	stop_by_signal(&ls, SIGTERM);
	ck_assert_int_eq(event_base_dispatch(base), 0);
	ck_assert_int_eq(called, 1);
	life_end();
	stop();

	setenv("FDSTORE", "0", 1);
	ck_assert_int_eq(handover_store_enabled(), 0);
	stop_by_signal(&ls, SIGUSR2);
	ck_assert_int_eq(event_base_dispatch(base), 0);
	ck_assert_int_eq(called, 1);
	life_end();
	unsetenv("NOTIFY_SOCKET");
	unsetenv("FDSTORE");
	stop();
}
END_TEST

static Suite *
handover_suite(void)
{
	Suite *s = suite_create("handover");
	TCase *capsule = tcase_create("capsule"), *adopt = tcase_create("adopt");

	tcase_set_timeout(capsule, 20);
	tcase_add_test(capsule, test_capsule_many);
	tcase_add_test(capsule, test_capsule_refused);
	tcase_add_test(capsule, test_capsule_image_checks);
	tcase_set_timeout(adopt, 20);
	tcase_add_test(adopt, test_server_image);
	tcase_add_test(adopt, test_adopt);
	tcase_add_test(adopt, test_adopt_refused);
	tcase_add_test(adopt, test_adopt_closing);
	tcase_add_test(adopt, test_stop_to_store);
	tcase_add_test(adopt, test_let_go);
	suite_add_tcase(s, capsule);
	suite_add_tcase(s, adopt);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(handover_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
