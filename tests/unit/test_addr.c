/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/addr.c and lib/listen.c: addresses and listen specs. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "addr.h"
#include "listen.h"

START_TEST(test_split_v4)
{
	char h[64], p[16];

	ck_assert_int_eq(addr_split_hostport("127.0.0.1:8010", h, sizeof(h),
	    p, sizeof(p)), 0);
	ck_assert_str_eq(h, "127.0.0.1");
	ck_assert_str_eq(p, "8010");
	ck_assert_int_eq(addr_split_hostport("localhost:80", h, sizeof(h),
	    p, sizeof(p)), 0);
	ck_assert_str_eq(h, "localhost");
	ck_assert_int_eq(addr_split_hostport(":80", h, sizeof(h), p,
	    sizeof(p)), 0);
	ck_assert_str_eq(h, "");
}
END_TEST

START_TEST(test_split_v6)
{
	char h[64], p[16];

	ck_assert_int_eq(addr_split_hostport("[::1]:8010", h, sizeof(h), p,
	    sizeof(p)), 0);
	ck_assert_str_eq(h, "::1");
	ck_assert_str_eq(p, "8010");
	/* Unbracketed IPv6 is ambiguous. */
	ck_assert_int_eq(addr_split_hostport("::1:8010", h, sizeof(h), p,
	    sizeof(p)), -1);
	ck_assert_int_eq(addr_split_hostport("[::1]8010", h, sizeof(h), p,
	    sizeof(p)), -1);
	ck_assert_int_eq(addr_split_hostport("[::1:8010", h, sizeof(h), p,
	    sizeof(p)), -1);
}
END_TEST

START_TEST(test_split_bad)
{
	char h[8], p[4];

	ck_assert_int_eq(addr_split_hostport("nocolon", h, sizeof(h), p,
	    sizeof(p)), -1);
	ck_assert_int_eq(addr_split_hostport("host:", h, sizeof(h), p,
	    sizeof(p)), -1);
	ck_assert_int_eq(addr_split_hostport("averylonghost:1", h, sizeof(h),
	    p, sizeof(p)), -1);
	ck_assert_int_eq(addr_split_hostport("h:12345", h, sizeof(h), p,
	    sizeof(p)), -1);
}
END_TEST

START_TEST(test_listen_specs)
{
	struct listen_spec s;

	ck_assert_int_eq(listen_spec_port("8010", &s), 0);
	ck_assert_str_eq(s.host, "");
	ck_assert_str_eq(s.port, "8010");
	ck_assert_int_eq(listen_spec_port("0", &s), -1);
	ck_assert_int_eq(listen_spec_port("65536", &s), -1);
	ck_assert_int_eq(listen_spec_port("80x", &s), -1);
	ck_assert_int_eq(listen_spec_port("-1", &s), -1);
	ck_assert_int_eq(listen_spec_parse("[::1]:65535", &s), 0);
	ck_assert_str_eq(s.host, "::1");
	ck_assert_int_eq(listen_spec_parse("127.0.0.1:http", &s), -1);
	ck_assert_int_eq(listen_spec_parse("127.0.0.1:0", &s), -1);
}
END_TEST

START_TEST(test_format_mapped)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	char buf[ADDR_STRLEN];
	unsigned port;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(4242);
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6.sin6_addr);
	ck_assert_int_eq(addr_format((struct sockaddr *)&sin6, buf,
	    sizeof(buf), &port), 0);
	ck_assert_str_eq(buf, "10.1.2.3");
	ck_assert_uint_eq(port, 4242);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(21);
	inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
	ck_assert(addr_same_host((struct sockaddr *)&sin,
	    (struct sockaddr *)&sin6));
	inet_pton(AF_INET, "10.1.2.4", &sin.sin_addr);
	ck_assert(!addr_same_host((struct sockaddr *)&sin,
	    (struct sockaddr *)&sin6));
}
END_TEST

/* Binding for real: an explicit loopback address, then a clash. */
START_TEST(test_listen_open_binds)
{
	struct listen_spec spec;
	struct listen_set set, set2;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char err[256], arg[32];
	int fd;

	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	/* Find a free port, then listen on it through listen_open. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	snprintf(arg, sizeof(arg), "127.0.0.1:%u", ntohs(sin.sin_port));
	ck_assert_int_eq(listen_spec_parse(arg, &spec), 0);
	ck_assert_int_eq(listen_open(&spec, 1, &set, err, sizeof(err)), 0);
	ck_assert_int_eq(set.nfds, 1);
	ck_assert_int_eq(set.activated, 0);
	ck_assert_int_eq(listen_open(&spec, 1, &set2, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "in use"));
	listen_close(&set);
	ck_assert_int_eq(listen_open(NULL, 0, &set, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "--port"));
}
END_TEST

static Suite *
addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *core = tcase_create("core"), *listen = tcase_create("listen");

	tcase_add_test(core, test_split_v4);
	tcase_add_test(core, test_split_v6);
	tcase_add_test(core, test_split_bad);
	tcase_add_test(core, test_format_mapped);
	tcase_add_test(listen, test_listen_specs);
	tcase_add_test(listen, test_listen_open_binds);
	suite_add_tcase(s, core);
	suite_add_tcase(s, listen);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(addr_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
