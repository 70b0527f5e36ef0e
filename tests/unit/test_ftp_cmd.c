/* SPDX-License-Identifier: ISC */
/* Unit tests for daemons/ftpd/ftp_cmd.c: the verb table and the parser. */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../../daemons/ftpd/ftp_cmd.h"

/* Parses a copy of text (len bytes) and keeps it for the asserts. */
static char buf[256];

static enum ftp_parse
parse(const char *text, size_t len, char **verb, char **arg)
{
	memcpy(buf, text, len);
	buf[len] = '\0';
	return ftp_cmd_parse(buf, len, verb, arg);
}

START_TEST(test_table_sorted)
{
	const struct ftp_cmd *t;
	size_t n, i;

	t = ftp_cmd_table(&n);
	ck_assert_uint_gt(n, 40);
	for (i = 0; i + 1 < n; i++)
		ck_assert_msg(strcmp(t[i].verb, t[i + 1].verb) < 0,
		    "%s before %s", t[i].verb, t[i + 1].verb);
	for (i = 0; i < n; i++) {
		ck_assert_ptr_eq(ftp_cmd_lookup(t[i].verb), &t[i]);
		ck_assert_uint_le(strlen(t[i].verb), FTP_VERB_MAX);
	}
}
END_TEST

START_TEST(test_lookup)
{
	const struct ftp_cmd *c;

	c = ftp_cmd_lookup("RETR");
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->id, FTP_V_RETR);
	ck_assert(c->flags & FTP_CMD_LOGIN);
	ck_assert(c->flags & FTP_CMD_ARG);
	ck_assert_int_eq(ftp_cmd_lookup("XPWD")->id, FTP_V_PWD);
	ck_assert(ftp_cmd_lookup("STOR")->flags & FTP_CMD_WRITE);
	ck_assert(ftp_cmd_lookup("ABOR")->flags & FTP_CMD_XFER);
	ck_assert(!(ftp_cmd_lookup("USER")->flags & FTP_CMD_LOGIN));
	ck_assert(!(ftp_cmd_lookup("FEAT")->flags & FTP_CMD_LOGIN));
	ck_assert(ftp_cmd_lookup("REIN")->flags & FTP_CMD_NOIMPL);
	ck_assert_ptr_null(ftp_cmd_lookup("retr"));
	ck_assert_ptr_null(ftp_cmd_lookup("FOO"));
	ck_assert_ptr_null(ftp_cmd_lookup(""));
	ck_assert_str_eq(ftp_cmd_by_id(FTP_V_CWD)->verb, "CWD");
}
END_TEST

START_TEST(test_parse_simple)
{
	char *verb, *arg;

	ck_assert_int_eq(parse("retr a file.txt", 15, &verb, &arg),
	    FTP_PARSE_OK);
	ck_assert_str_eq(verb, "RETR");
	ck_assert_str_eq(arg, "a file.txt");
	ck_assert_int_eq(parse("PWD", 3, &verb, &arg), FTP_PARSE_OK);
	ck_assert_str_eq(verb, "PWD");
	ck_assert_ptr_null(arg);
	/* "CWD " has an empty argument: none. */
	ck_assert_int_eq(parse("CWD ", 4, &verb, &arg), FTP_PARSE_OK);
	ck_assert_ptr_null(arg);
	/* Only the first space splits; the rest is the argument. */
	ck_assert_int_eq(parse("LIST -la  dir ", 14, &verb, &arg),
	    FTP_PARSE_OK);
	ck_assert_str_eq(arg, "-la  dir ");
}
END_TEST

START_TEST(test_parse_bad)
{
	char *verb, *arg;

	ck_assert_int_eq(parse("", 0, &verb, &arg), FTP_PARSE_EMPTY);
	ck_assert_int_eq(parse("   ", 3, &verb, &arg), FTP_PARSE_EMPTY);
	ck_assert_int_eq(parse("RETRX a", 7, &verb, &arg), FTP_PARSE_BADVERB);
	ck_assert_int_eq(parse("RE1R a", 6, &verb, &arg), FTP_PARSE_BADVERB);
	ck_assert_int_eq(parse("RETR a\0../x", 11, &verb, &arg),
	    FTP_PARSE_NUL);
	ck_assert_int_eq(parse("\0", 1, &verb, &arg), FTP_PARSE_NUL);
	ck_assert_int_eq(parse("\x01\x02\xfe", 3, &verb, &arg),
	    FTP_PARSE_EMPTY);
}
END_TEST

START_TEST(test_parse_telnet)
{
	char *verb, *arg;

	/* ABOR as Python's ftplib sends it: IAC IP IAC (DM went urgent). */
	ck_assert_int_eq(parse("\xff\xf4\xff\xf2" "ABOR", 8, &verb, &arg),
	    FTP_PARSE_OK);
	ck_assert_str_eq(verb, "ABOR");
	ck_assert_int_eq(parse("\xff\xf4\xff" "ABOR", 7, &verb, &arg),
	    FTP_PARSE_OK);
	ck_assert_str_eq(verb, "ABOR");
	/* IAC DO opt is three bytes; IAC IAC is a literal 0xff. */
	ck_assert_int_eq(parse("\xff\xfd\x01NOOP", 7, &verb, &arg),
	    FTP_PARSE_OK);
	ck_assert_str_eq(verb, "NOOP");
	ck_assert_int_eq(parse("RETR a\xff\xff" "b", 9, &verb, &arg),
	    FTP_PARSE_OK);
	ck_assert_str_eq(arg, "a\xff" "b");
	/* A lone IAC at the end goes. */
	ck_assert_int_eq(parse("NOOP\xff", 5, &verb, &arg), FTP_PARSE_OK);
	ck_assert_str_eq(verb, "NOOP");
}
END_TEST

START_TEST(test_parse_long)
{
	static char line[8192];
	char *verb, *arg;

	memset(line, 'a', sizeof(line) - 1);
	memcpy(line, "CWD ", 4);
	ck_assert_int_eq(ftp_cmd_parse(line, sizeof(line) - 1, &verb, &arg),
	    FTP_PARSE_OK);
	ck_assert_uint_eq(strlen(arg), sizeof(line) - 5);
}
END_TEST

static Suite *
ftp_cmd_suite(void)
{
	Suite *s = suite_create("ftp_cmd");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_test(core, test_table_sorted);
	tcase_add_test(core, test_lookup);
	tcase_add_test(core, test_parse_simple);
	tcase_add_test(limits, test_parse_bad);
	tcase_add_test(limits, test_parse_telnet);
	tcase_add_test(limits, test_parse_long);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ftp_cmd_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
