/* SPDX-License-Identifier: ISC */
/* Unit tests for chatd's chat_text.c: lines cleaned, names checked and keyed. */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "chat_text.h"

/* s cleaned (in a copy) must read want. */
static void
clean_is(const char *s, size_t len, const char *want)
{
	char buf[256];
	size_t n;

	ck_assert_uint_lt(len, sizeof(buf));
	memcpy(buf, s, len);
	n = chat_text_clean(buf, len);
	ck_assert_uint_le(n, len);
	buf[n] = '\0';
	ck_assert_uint_eq(n, strlen(want));
	ck_assert_str_eq(buf, want);
}

START_TEST(test_clean_keeps_text_and_tab)
{
	clean_is("hello, world", 12, "hello, world");
	clean_is("a\tb", 3, "a\tb");
	clean_is("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15,
	    "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
	clean_is("", 0, "");
}
END_TEST

START_TEST(test_clean_controls)
{
	/* C0 (ESC, NUL, BEL, CR in the middle), DEL, C1 as UTF-8. */
	clean_is("\x1b[31mred", 8, "?[31mred");
	clean_is("a\0b", 3, "a?b");
	clean_is("\x07\r\x7f", 3, "???");
	clean_is("x\xc2\x9b" "1m", 5, "x?1m");
	clean_is("\xc2\x80\xc2\x9f\xc2\xa0", 6, "??\xc2\xa0");
}
END_TEST

START_TEST(test_clean_invalid_utf8)
{
	/* Stray continuation, Latin-1, overlong, surrogate, past U+10FFFF. */
	clean_is("\x80x", 2, "?x");
	clean_is("caf\xe9", 4, "caf?");
	clean_is("\xc0\xaf", 2, "??");
	clean_is("\xe0\x80\xaf", 3, "???");
	clean_is("\xed\xa0\x80", 3, "???");
	clean_is("\xf4\x90\x80\x80", 4, "????");
	clean_is("\xfe\xff", 2, "??");
	/* Cut short at the end. */
	clean_is("ok\xe2\x82", 4, "ok??");
}
END_TEST

/* The name as it is shown, or the refusal. */
static enum chat_name_result
name(const char *s, char *out)
{
	char buf[512];
	size_t off = 0, len = 0, n = strlen(s);
	enum chat_name_result r;

	memcpy(buf, s, n);
	r = chat_name_check(buf, n, &off, &len);
	if (r == CHAT_NAME_OK) {
		memcpy(out, buf + off, len);
		out[len] = '\0';
	}
	return r;
}

START_TEST(test_names)
{
	char out[512], max[CHAT_NAME_MAX + 2];

	ck_assert_int_eq(name("alice", out), CHAT_NAME_OK);
	ck_assert_str_eq(out, "alice");
	ck_assert_int_eq(name("  Bob Smith  ", out), CHAT_NAME_OK);
	ck_assert_str_eq(out, "Bob Smith");
	ck_assert_int_eq(name("", out), CHAT_NAME_EMPTY);
	ck_assert_int_eq(name("    ", out), CHAT_NAME_EMPTY);
	ck_assert_int_eq(name("a\tb", out), CHAT_NAME_CONTROL);
	ck_assert_int_eq(name("\x1b[2J", out), CHAT_NAME_CONTROL);
	ck_assert_int_eq(name("x\x7f", out), CHAT_NAME_CONTROL);
	ck_assert_int_eq(name("x\xc2\x85", out), CHAT_NAME_CONTROL);
	/* Invalid UTF-8 is shown as '?', as in lines. */
	ck_assert_int_eq(name("caf\xe9", out), CHAT_NAME_OK);
	ck_assert_str_eq(out, "caf?");
	/* 32 characters, not bytes. */
	memset(max, 'n', CHAT_NAME_MAX);
	max[CHAT_NAME_MAX] = '\0';
	ck_assert_int_eq(name(max, out), CHAT_NAME_OK);
	max[CHAT_NAME_MAX] = 'n';
	max[CHAT_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(name(max, out), CHAT_NAME_LONG);
	ck_assert_int_eq(name("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9", out), CHAT_NAME_OK);
	ck_assert_uint_eq(strlen(out), 64);
}
END_TEST

/* Keys compare equal exactly when names are one name. */
static int
same(const char *a, const char *b)
{
	size_t la, lb;
	char *ka = chat_name_key(a, strlen(a), &la);
	char *kb = chat_name_key(b, strlen(b), &lb);
	int r;

	ck_assert_ptr_nonnull(ka);
	ck_assert_ptr_nonnull(kb);
	r = la == lb && memcmp(ka, kb, la) == 0;
	free(ka);
	free(kb);
	return r;
}

START_TEST(test_name_keys)
{
	ck_assert(same("Bob", "bob"));
	ck_assert(same("BOB", "bOb"));
	/* Fullwidth, and composed against decomposed. */
	ck_assert(same("\xef\xbc\xa2\xef\xbd\x8f\xef\xbd\x82", "bob"));
	ck_assert(same("\xc3\x89lodie", "e\xcc\x81LODIE"));
	ck_assert(same("STRASSE", "stra\xc3\x9f" "e"));
	ck_assert(!same("bob", "bobby"));
	ck_assert(!same("bob", "b0b"));
	ck_assert(!same("alice", "alice "));
}
END_TEST

static Suite *
chat_text_suite(void)
{
	Suite *s = suite_create("chat_text");
	TCase *lines = tcase_create("lines"), *names = tcase_create("names");

	tcase_add_test(lines, test_clean_keeps_text_and_tab);
	tcase_add_test(lines, test_clean_controls);
	tcase_add_test(lines, test_clean_invalid_utf8);
	tcase_add_test(names, test_names);
	tcase_add_test(names, test_name_keys);
	suite_add_tcase(s, lines);
	suite_add_tcase(s, names);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(chat_text_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
