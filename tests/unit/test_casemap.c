/* SPDX-License-Identifier: ISC */
/* Unit tests for daemons/reverbd/casemap.c: UTF-8 case mapping. */
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <unicase.h>

#include "../../daemons/reverbd/casemap.h"
#include "timeout.h"

/* Maps s and checks the result against want, and the returned length. */
static void
check_map(const char *s, size_t len, enum casemap_dir dir, const char *want,
    size_t wantlen)
{
	char out[256];
	size_t n;

	n = casemap_utf8(out, sizeof(out), s, len, dir);
	ck_assert_uint_eq(n, wantlen);
	ck_assert_mem_eq(out, want, wantlen);
}

#define MAP(s, dir, want)						\
	check_map((s), sizeof(s) - 1, (dir), (want), sizeof(want) - 1)

START_TEST(test_ascii)
{
	MAP("Hello, World! 123", CASEMAP_UPPER, "HELLO, WORLD! 123");
	MAP("Hello, World! 123", CASEMAP_LOWER, "hello, world! 123");
	MAP("", CASEMAP_UPPER, "");
	MAP("a\0b", CASEMAP_UPPER, "A\0B");
	MAP("\t[`{@]", CASEMAP_UPPER, "\t[`{@]");
}
END_TEST

START_TEST(test_latin_greek_cyrillic)
{
	MAP("héllo wörld", CASEMAP_UPPER, "HÉLLO WÖRLD");
	MAP("HÉLLO WÖRLD", CASEMAP_LOWER, "héllo wörld");
	MAP("ΣΊΣΥΦΟΣ", CASEMAP_LOWER, "σίσυφοσ");	/* no final sigma */
	MAP("привет", CASEMAP_UPPER, "ПРИВЕТ");
	MAP("ǅ", CASEMAP_UPPER, "Ǆ");			/* titlecase */
	MAP("ǅ", CASEMAP_LOWER, "ǆ");
	MAP("𐐨", CASEMAP_UPPER, "𐐀");			/* 4 bytes */
}
END_TEST

/* Simple mappings only, as Go: ß has no one-character upper case. */
START_TEST(test_simple_not_full)
{
	MAP("straße", CASEMAP_UPPER, "STRAßE");
	MAP("ﬁ", CASEMAP_UPPER, "ﬁ");
	MAP("İ", CASEMAP_LOWER, "i");
	MAP("ı", CASEMAP_UPPER, "I");			/* 2 bytes to 1 */
	MAP("K", CASEMAP_LOWER, "k");			/* Kelvin sign */
	MAP("Ⱥ", CASEMAP_LOWER, "ⱥ");			/* 2 bytes to 3 */
}
END_TEST

START_TEST(test_invalid_bytes_pass)
{
	MAP("a\xff" "b", CASEMAP_UPPER, "A\xff" "B");
	MAP("\xc3", CASEMAP_UPPER, "\xc3");		/* truncated */
	MAP("\xc3" "a\xa9", CASEMAP_UPPER, "\xc3" "A\xa9");
	MAP("\xc0\xaf" "x", CASEMAP_UPPER, "\xc0\xaf" "X");	/* overlong */
	MAP("\xed\xa0\x80" "z", CASEMAP_UPPER, "\xed\xa0\x80" "Z"); /* surrogate */
	MAP("\xf4\x90\x80\x80", CASEMAP_UPPER, "\xf4\x90\x80\x80"); /* > U+10FFFF */
	MAP("\xe9t\xe9", CASEMAP_UPPER, "\xe9T\xe9");	/* Latin-1 */
	MAP("\x80\xbf", CASEMAP_LOWER, "\x80\xbf");
}
END_TEST

/* The mapping is the same whatever the locale says. */
START_TEST(test_locale_independent)
{
	setlocale(LC_ALL, "C");
	MAP("héllo", CASEMAP_UPPER, "HÉLLO");
	if (setlocale(LC_ALL, "tr_TR.UTF-8") != NULL)
		MAP("i", CASEMAP_UPPER, "I");
	setlocale(LC_ALL, "C");
}
END_TEST

/* Encoded length of a code point. */
static size_t
utf8_len(uint32_t c)
{
	return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

/*
 * Every code point, both directions: ASCII stays ASCII and no mapped
 * character is longer than CASEMAP_BOUND allows for the original.  The
 * first failure is kept and asserted once at the end: a check assertion
 * in the loop writes to the test's pipe each time, 4 million writes that
 * took most of the time budget on a busy machine.
 */
START_TEST(test_bound_holds_for_every_code_point)
{
	uint32_t c, m, bad_c = 0, bad_m = 0;
	unsigned long bad = 0;
	size_t n, mn;
	int dir;

	for (c = 0; c <= 0x10ffff; c++) {
		if (c >= 0xd800 && c <= 0xdfff)
			continue;
		for (dir = 0; dir < 2; dir++) {
			m = dir == 0 ? uc_toupper(c) : uc_tolower(c);
			n = utf8_len(c);
			mn = utf8_len(m);
			if (mn <= CASEMAP_BOUND(n) && m <= 0x10ffff &&
			    (m < 0xd800 || m > 0xdfff))
				continue;
			if (bad++ == 0) {
				bad_c = c;
				bad_m = m;
			}
		}
	}
	ck_assert_msg(bad == 0, "%lu mappings break the bound or are not "
	    "code points, the first U+%04X to U+%04X", bad, bad_c, bad_m);
}
END_TEST

START_TEST(test_cut_short)
{
	char out[8];
	size_t n;

	memset(out, '#', sizeof(out));
	n = casemap_utf8(out, 4, "abcdef", 6, CASEMAP_UPPER);
	ck_assert_uint_eq(n, 6);
	ck_assert_mem_eq(out, "ABCD####", 8);
	/* A character that does not fit whole is left out, and all after. */
	memset(out, '#', sizeof(out));
	n = casemap_utf8(out, 4, "abcé", 5, CASEMAP_UPPER);
	ck_assert_uint_eq(n, 5);
	ck_assert_mem_eq(out, "ABC#####", 8);
	n = casemap_utf8(NULL, 0, "é", 2, CASEMAP_UPPER);
	ck_assert_uint_eq(n, 2);
}
END_TEST

/* A long line with its worst growth fits in CASEMAP_BOUND. */
START_TEST(test_bound_on_a_line)
{
	char in[4096], *out;
	size_t i, n, cap;

	for (i = 0; i + 2 <= sizeof(in); i += 2)
		memcpy(in + i, "Ⱥ", 2);			/* 2 bytes, lower 3 */
	cap = CASEMAP_BOUND(sizeof(in));
	out = malloc(cap);
	ck_assert_ptr_nonnull(out);
	n = casemap_utf8(out, cap, in, sizeof(in), CASEMAP_LOWER);
	ck_assert_uint_eq(n, sizeof(in) / 2 * 3);
	ck_assert_uint_le(n, cap);
	free(out);
}
END_TEST

static Suite *
casemap_suite(void)
{
	Suite *s = suite_create("casemap");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_test(core, test_ascii);
	tcase_add_test(core, test_latin_greek_cyrillic);
	tcase_add_test(core, test_simple_not_full);
	tcase_add_test(core, test_invalid_bytes_pass);
	tcase_add_test(core, test_locale_independent);
	tcase_add_test(limits, test_bound_holds_for_every_code_point);
	tcase_add_test(limits, test_cut_short);
	tcase_add_test(limits, test_bound_on_a_line);
	/* 2.2 million case lookups: 0.05 s in a plain build at rest. */
	tcase_budget(limits, 10);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(casemap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
