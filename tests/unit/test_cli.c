/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/cli.c, lib/numparse.c and log_escape(). */
#include <sys/time.h>
#include <sys/types.h>

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "cli.h"
#include "log.h"
#include "numparse.h"

START_TEST(test_go_style_port)
{
	char a0[] = "clockd", a1[] = "-port", a2[] = "8010", a3[] = "-port=9",
	    a4[] = "--", a5[] = "-port";
	char *argv[] = { a0, a1, a2, a3, a4, a5, NULL };

	cli_go_style(6, argv);
	ck_assert_str_eq(argv[1], "--port");
	ck_assert_str_eq(argv[2], "8010");
	ck_assert_str_eq(argv[3], "-p9");
	/* Nothing after "--" is an option. */
	ck_assert_str_eq(argv[5], "-port");
}
END_TEST

START_TEST(test_common_options)
{
	struct cli_common c;

	cli_init(&c, "/usr/sbin/clockd");
	ck_assert_str_eq(cli_progname(), "clockd");
	ck_assert_uint_gt(c.max_clients, 0);
	ck_assert_int_eq(cli_common_option(&c, 'p', "8010"), 1);
	ck_assert_int_eq(cli_common_option(&c, 'l', "[::1]:8020"), 1);
	ck_assert_int_eq(c.nlisten, 2);
	ck_assert_str_eq(c.listen[1].host, "::1");
	ck_assert_int_eq(cli_common_option(&c, 'v', NULL), 1);
	ck_assert_int_eq(c.verbosity, LOG_VERBOSITY_DEBUG);
	ck_assert_int_eq(cli_common_option(&c, CLI_OPT_MAX_CLIENTS, "10"), 1);
	ck_assert_uint_eq(c.max_clients, 10);
	ck_assert_int_eq(cli_common_option(&c, 'f', "x"), 0);
}
END_TEST

/* --user: nobody unless given; a daemon's default only where it exists. */
START_TEST(test_user_option)
{
	/* A user that exists: ours, if the user database is readable. */
	struct passwd *pw = getpwuid(geteuid());
	char *me = pw != NULL ? strdup(pw->pw_name) : NULL;
	struct cli_common c;

	cli_init(&c, "clockwork-ftpd");
	ck_assert_str_eq(c.user, "nobody");
	ck_assert_int_eq(c.user_given, 0);
	cli_default_user(&c, "no-such-user-here");
	ck_assert_str_eq(c.user, "nobody");
	if (me != NULL) {
		cli_default_user(&c, me);
		ck_assert_str_eq(c.user, me);
	}
	ck_assert_int_eq(cli_common_option(&c, CLI_OPT_USER, "daemon"), 1);
	ck_assert_str_eq(c.user, "daemon");
	ck_assert_int_eq(c.user_given, 1);
	if (me != NULL) {
		cli_default_user(&c, me);	/* --user wins */
		ck_assert_str_eq(c.user, "daemon");
	}
	free(me);
}
END_TEST

/* Bad values of the shared options: usage errors, exit 64. */
static const struct {
	int		 opt;
	const char	*arg;
} bad_options[] = {
	{ 'p', "99999" },
	{ CLI_OPT_MAX_CLIENTS, "0" },
	{ CLI_OPT_USER, "" },
};

START_TEST(test_bad_option_exits_64)
{
	struct cli_common c;

	cli_init(&c, "clockd");
	cli_common_option(&c, bad_options[_i].opt, bad_options[_i].arg);
}
END_TEST

START_TEST(test_parse_ulong)
{
	unsigned long v;

	ck_assert_int_eq(parse_ulong("42", 1, 100, &v), 0);
	ck_assert_uint_eq(v, 42);
	ck_assert_int_eq(parse_ulong("101", 1, 100, &v), -1);
	ck_assert_int_eq(parse_ulong("", 1, 100, &v), -1);
	ck_assert_int_eq(parse_ulong(" 4", 1, 100, &v), -1);
	ck_assert_int_eq(parse_ulong("4 ", 1, 100, &v), -1);
	ck_assert_int_eq(parse_ulong("-4", 0, 100, &v), -1);
	ck_assert_int_eq(parse_ulong("99999999999999999999999", 0,
	    ~0UL, &v), -1);
}
END_TEST

START_TEST(test_parse_seconds)
{
	struct timeval tv;

	ck_assert_int_eq(parse_seconds("0.2", 0, 60, &tv), 0);
	ck_assert_int_eq(tv.tv_sec, 0);
	ck_assert_int_eq(tv.tv_usec, 200000);
	ck_assert_int_eq(parse_seconds("1.9999999", 0, 60, &tv), 0);
	ck_assert_int_eq(tv.tv_sec, 2);
	ck_assert_int_eq(tv.tv_usec, 0);
	ck_assert_int_eq(parse_seconds("3", 0, 60, &tv), 0);
	ck_assert_int_eq(tv.tv_sec, 3);
	ck_assert_int_eq(parse_seconds("61", 0, 60, &tv), -1);
	ck_assert_int_eq(parse_seconds("nan", 0, 60, &tv), -1);
	ck_assert_int_eq(parse_seconds("-1", 0, 60, &tv), -1);
	ck_assert_int_eq(parse_seconds("1s", 0, 60, &tv), -1);
}
END_TEST

START_TEST(test_log_escape)
{
	char out[16];

	ck_assert_uint_eq(log_escape(out, sizeof(out), "ok", 2), 2);
	ck_assert_str_eq(out, "ok");
	log_escape(out, sizeof(out), "a\nb\0c", 5);
	ck_assert_str_eq(out, "a\\x0ab\\x00c");
	/* Truncated, never split inside an escape, always terminated. */
	log_escape(out, 6, "ab\x01zz", 5);
	ck_assert_str_eq(out, "ab");
	log_escape(out, sizeof(out), "\\", 1);
	ck_assert_str_eq(out, "\\x5c");
}
END_TEST

static Suite *
cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_test(core, test_go_style_port);
	tcase_add_test(core, test_common_options);
	tcase_add_test(core, test_user_option);
	tcase_add_test(core, test_log_escape);
	tcase_add_loop_exit_test(limits, test_bad_option_exits_64, 64, 0,
	    (int)(sizeof(bad_options) / sizeof(bad_options[0])));
	tcase_add_test(limits, test_parse_ulong);
	tcase_add_test(limits, test_parse_seconds);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cli_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
