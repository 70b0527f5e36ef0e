/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/lineio.c: bounded line reading. */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "lineio.h"

static struct evbuffer *in;

static void
setup(void)
{
	in = evbuffer_new();
	ck_assert_ptr_nonnull(in);
}

static void
teardown(void)
{
	evbuffer_free(in);
}

START_TEST(test_lf_and_crlf)
{
	char buf[16];
	size_t len;

	evbuffer_add_printf(in, "abc\ndef\r\n");
	ck_assert_int_eq(line_read(in, buf, sizeof(buf), &len), LINE_OK);
	ck_assert_str_eq(buf, "abc");
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(line_read(in, buf, sizeof(buf), &len), LINE_OK);
	ck_assert_str_eq(buf, "def");
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(line_read(in, buf, sizeof(buf), &len), LINE_NONE);
	ck_assert_uint_eq(evbuffer_get_length(in), 0);
}
END_TEST

START_TEST(test_partial_then_complete)
{
	char buf[16];
	size_t len;

	evbuffer_add(in, "hel", 3);
	ck_assert_int_eq(line_read(in, buf, sizeof(buf), &len), LINE_NONE);
	evbuffer_add(in, "lo\n", 3);
	ck_assert_int_eq(line_read(in, buf, sizeof(buf), &len), LINE_OK);
	ck_assert_str_eq(buf, "hello");
}
END_TEST

START_TEST(test_empty_line_and_lone_cr)
{
	char buf[16];
	size_t len;

	evbuffer_add(in, "\n\r\na\rb\n", 7);
	ck_assert_int_eq(line_read(in, buf, sizeof(buf), &len), LINE_OK);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(line_read(in, buf, sizeof(buf), &len), LINE_OK);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(line_read(in, buf, sizeof(buf), &len), LINE_OK);
	/* Only a CR right before the LF is dropped. */
	ck_assert_str_eq(buf, "a\rb");
}
END_TEST

START_TEST(test_nul_kept_with_length)
{
	char buf[16];
	size_t len;

	evbuffer_add(in, "a\0b\n", 4);
	ck_assert_int_eq(line_read(in, buf, sizeof(buf), &len), LINE_OK);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(buf, "a\0b", 3), 0);
}
END_TEST

START_TEST(test_too_long_without_newline)
{
	char buf[8];
	size_t len;

	evbuffer_add(in, "1234567", 7);
	ck_assert_int_eq(line_read(in, buf, sizeof(buf), &len), LINE_NONE);
	evbuffer_add(in, "8", 1);
	ck_assert_int_eq(line_read(in, buf, sizeof(buf), &len), LINE_TOO_LONG);
	/* The buffer is left for the caller to drop. */
	ck_assert_uint_eq(evbuffer_get_length(in), 8);
}
END_TEST

START_TEST(test_too_long_with_newline)
{
	char buf[8];
	size_t len;

	evbuffer_add(in, "12345678\nok\n", 12);
	ck_assert_int_eq(line_read(in, buf, sizeof(buf), &len), LINE_TOO_LONG);
}
END_TEST

START_TEST(test_longest_that_fits)
{
	char buf[8];
	size_t len;

	evbuffer_add(in, "1234567\n", 8);
	ck_assert_int_eq(line_read(in, buf, sizeof(buf), &len), LINE_OK);
	ck_assert_str_eq(buf, "1234567");
	ck_assert_uint_eq(len, 7);
}
END_TEST

/* A long line is reported once and skipped as it comes; the next is whole. */
START_TEST(test_next_skips_long_line)
{
	char buf[8], big[100];
	size_t len;
	int skipping = 0;

	memset(big, 'x', sizeof(big));
	evbuffer_add(in, "ok\n", 3);
	evbuffer_add(in, big, 20);
	ck_assert_int_eq(line_next(in, buf, sizeof(buf), &len, &skipping),
	    LINE_OK);
	ck_assert_str_eq(buf, "ok");
	ck_assert_int_eq(line_next(in, buf, sizeof(buf), &len, &skipping),
	    LINE_TOO_LONG);
	ck_assert_int_eq(skipping, 1);
	/* More of it, in pieces: dropped, never held, reported no more. */
	ck_assert_int_eq(line_next(in, buf, sizeof(buf), &len, &skipping),
	    LINE_NONE);
	ck_assert_uint_eq(evbuffer_get_length(in), 0);
	evbuffer_add(in, big, sizeof(big));
	ck_assert_int_eq(line_next(in, buf, sizeof(buf), &len, &skipping),
	    LINE_NONE);
	ck_assert_uint_eq(evbuffer_get_length(in), 0);
	evbuffer_add(in, "xx\nnext\r\nhalf", 13);
	ck_assert_int_eq(line_next(in, buf, sizeof(buf), &len, &skipping),
	    LINE_OK);
	ck_assert_int_eq(skipping, 0);
	ck_assert_str_eq(buf, "next");
	ck_assert_uint_eq(len, 4);
	ck_assert_int_eq(line_next(in, buf, sizeof(buf), &len, &skipping),
	    LINE_NONE);
	ck_assert_uint_eq(evbuffer_get_length(in), 4);
}
END_TEST

/* A long line that ends in the same buffer: skipped at once, then the next. */
START_TEST(test_next_long_line_ends_in_buffer)
{
	char buf[8];
	size_t len;
	int skipping = 0;

	evbuffer_add(in, "0123456789\nab\n", 14);
	ck_assert_int_eq(line_next(in, buf, sizeof(buf), &len, &skipping),
	    LINE_TOO_LONG);
	ck_assert_int_eq(line_next(in, buf, sizeof(buf), &len, &skipping),
	    LINE_OK);
	ck_assert_str_eq(buf, "ab");
	ck_assert_int_eq(line_next(in, buf, sizeof(buf), &len, &skipping),
	    LINE_NONE);
	ck_assert_uint_eq(evbuffer_get_length(in), 0);
}
END_TEST

static Suite *
lineio_suite(void)
{
	Suite *s = suite_create("lineio");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(core, test_lf_and_crlf);
	tcase_add_test(core, test_partial_then_complete);
	tcase_add_test(core, test_empty_line_and_lone_cr);
	tcase_add_test(core, test_nul_kept_with_length);
	tcase_add_test(limits, test_too_long_without_newline);
	tcase_add_test(limits, test_too_long_with_newline);
	tcase_add_test(limits, test_longest_that_fits);
	tcase_add_test(limits, test_next_skips_long_line);
	tcase_add_test(limits, test_next_long_line_ends_in_buffer);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(lineio_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
