/* SPDX-License-Identifier: ISC */
/* Unit tests for clockwall's offset: a clock's distance from ours. */
#include <math.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "offset.h"

#define NEAR(a, b)	(fabs((a) - (b)) < 1e-6)

static int
secs(const char *line)
{
	return offset_line_seconds(line, strlen(line));
}

START_TEST(test_line_seconds)
{
	/* MM:SS modulo 15 minutes: zones differ by whole quarter hours. */
	ck_assert_int_eq(secs("04:17:09"), 2 * 60 + 9);
	ck_assert_int_eq(secs("23:59:59"), 14 * 60 + 59);
	ck_assert_int_eq(secs("00:00:00"), 0);
	ck_assert_int_eq(secs("00:15:00"), 0);
	ck_assert_int_eq(secs("9:44:30"), 14 * 60 + 30);
	/* The last time in a longer line (clockd -f). */
	ck_assert_int_eq(secs("Tue 10:00:01 JST"), 1);
	ck_assert_int_eq(secs("10:00:01 then 11:30:07"), 7);
	/* Not a time: nothing. */
	ck_assert_int_eq(secs(""), -1);
	ck_assert_int_eq(secs("hello"), -1);
	ck_assert_int_eq(secs("10:00"), -1);
	ck_assert_int_eq(secs("12:61:00"), -1);
	ck_assert_int_eq(secs("12:00:61"), -1);
	ck_assert_int_eq(secs("12:00:001"), -1);
	ck_assert_int_eq(secs("x:00:01"), -1);
	ck_assert_int_eq(offset_line_seconds("04:17:09", 5), -1);
}
END_TEST

START_TEST(test_sample)
{
	struct timespec at;
	int sec = secs("10:20:30");	/* 5 * 60 + 30 modulo 900 */

	/* On time: the line arrives one way (half the round trip) later. */
	at.tv_sec = 1700000000 - (1700000000 % 900) + 330;
	at.tv_nsec = 40000000;		/* 40 ms after our second */
	ck_assert(NEAR(offset_sample(&at, 80000, sec), 0.0));
	/* 10 ms earlier than it should: the clock is 10 ms ahead. */
	at.tv_nsec = 30000000;
	ck_assert(NEAR(offset_sample(&at, 80000, sec), 0.010));
	/* A clock 2.5 s ahead: its 330th second began at our 327.5. */
	at.tv_sec -= 3;
	at.tv_nsec = 500000000 + 40000000;
	ck_assert(NEAR(offset_sample(&at, 80000, sec), 2.5));
	/* A clock 1.25 s behind. */
	at.tv_sec += 4;
	at.tv_nsec = 250000000 + 40000000;
	ck_assert(NEAR(offset_sample(&at, 80000, sec), -1.25));
	/* Across the wrap: our 899.9 s, its 0 s. */
	at.tv_sec = 1700000000 - (1700000000 % 900) + 899;
	at.tv_nsec = 900000000;
	ck_assert(NEAR(offset_sample(&at, 0, 0), 0.1));
	at.tv_sec++;
	at.tv_nsec = 100000000;
	ck_assert(NEAR(offset_sample(&at, 0, 899), -1.1));
	/* Always within [-450, 450). */
	at.tv_nsec = 0;
	ck_assert(NEAR(offset_sample(&at, 0, 450), -450));
	ck_assert(NEAR(offset_sample(&at, 0, 449), 449));
}
END_TEST

START_TEST(test_median)
{
	struct offset_filter f;
	double v;
	int i;

	offset_reset(&f);
	ck_assert_int_eq(offset_get(&f, &v), -1);
	offset_add(&f, 0.010);
	ck_assert_int_eq(offset_get(&f, &v), 0);
	ck_assert(NEAR(v, 0.010));
	offset_add(&f, 0.030);
	ck_assert_int_eq(offset_get(&f, &v), 0);
	ck_assert(NEAR(v, 0.020));
	/* Late lines (a resend after a loss) look behind: they lose. */
	offset_add(&f, -0.900);
	ck_assert_int_eq(offset_get(&f, &v), 0);
	ck_assert(NEAR(v, 0.010));
	for (i = 0; i < 4; i++)
		offset_add(&f, 0.002 * i);
	offset_add(&f, -1.5);
	offset_add(&f, -0.7);
	ck_assert_uint_eq(f.n, OFFSET_WINDOW);
	ck_assert_int_eq(offset_get(&f, &v), 0);
	ck_assert(NEAR(v, 0.002));
	/* The window moves: the old values go. */
	for (i = 0; i < OFFSET_WINDOW; i++)
		offset_add(&f, 2.5);
	ck_assert_int_eq(offset_get(&f, &v), 0);
	ck_assert(NEAR(v, 2.5));
	ck_assert_uint_eq(f.n, OFFSET_WINDOW);
}
END_TEST

START_TEST(test_format)
{
	char buf[OFFSET_TEXT_MAX];

	ck_assert_int_eq(offset_format(0.0042, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "+0.004s");
	ck_assert_int_eq(offset_format(-0.1204, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "-0.120s");
	ck_assert_int_eq(offset_format(2.5031, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "+2.503s");
	ck_assert_int_eq(offset_format(-0.0004, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "+0.000s");
	ck_assert_int_eq(offset_format(-449.9996, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "-450.000s");
	ck_assert_int_eq(offset_format(1.0, buf, 4), -1);
}
END_TEST

static Suite *
clockwall_offset_suite(void)
{
	Suite *s = suite_create("clockwall_offset");
	TCase *core = tcase_create("core");

	tcase_add_test(core, test_line_seconds);
	tcase_add_test(core, test_sample);
	tcase_add_test(core, test_median);
	tcase_add_test(core, test_format);
	suite_add_tcase(s, core);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(clockwall_offset_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
