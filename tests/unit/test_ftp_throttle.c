/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for daemons/ftpd/ftp_throttle.c: the delay after failed
 * logins doubles per address up to its cap, is forgiven by a good login
 * or by time, and a full table makes room by its oldest address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../../daemons/ftpd/ftp_throttle.h"

static struct ftp_throttle t;

START_TEST(test_doubles_to_cap)
{
	static const double want[] = { 1, 2, 4, 8, 16, 30, 30, 30 };
	unsigned count, i;
	time_t now = 1000000;

	memset(&t, 0, sizeof(t));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_double_eq(ftp_throttle_fail(&t, "192.0.2.1", now + i,
		    1, &count), want[i]);
		ck_assert_uint_eq(count, i + 1);
	}
	/* Another address starts afresh; a smaller base halves it all. */
	ck_assert_double_eq(ftp_throttle_fail(&t, "192.0.2.2", now, 0.5,
	    &count), 0.5);
	ck_assert_double_eq(ftp_throttle_fail(&t, "192.0.2.2", now, 0.5,
	    &count), 1);
	/* The count stops at FTP_THROTTLE_COUNT_MAX. */
	for (i = 0; i < 100; i++)
		(void)ftp_throttle_fail(&t, "192.0.2.3", now, 0, &count);
	ck_assert_uint_eq(count, FTP_THROTTLE_COUNT_MAX);
}
END_TEST

START_TEST(test_forgiven)
{
	unsigned count;
	time_t now = 1000000;

	memset(&t, 0, sizeof(t));
	(void)ftp_throttle_fail(&t, "::1", now, 1, &count);
	(void)ftp_throttle_fail(&t, "::1", now, 1, &count);
	ftp_throttle_forgive(&t, "::1", now);
	ck_assert_double_eq(ftp_throttle_fail(&t, "::1", now, 1, &count), 1);
	ck_assert_uint_eq(count, 1);
	/* Quiet for longer than FTP_THROTTLE_FORGET: forgotten. */
	now += FTP_THROTTLE_FORGET + 1;
	ck_assert_double_eq(ftp_throttle_fail(&t, "::1", now, 1, &count), 1);
	/* Not so quiet: remembered. */
	now += FTP_THROTTLE_FORGET;
	ck_assert_double_eq(ftp_throttle_fail(&t, "::1", now, 1, &count), 2);
	/* Forgiving an address never seen changes nothing. */
	ftp_throttle_forgive(&t, "192.0.2.9", now);
	ck_assert_double_eq(ftp_throttle_fail(&t, "::1", now, 1, &count), 4);
}
END_TEST

/* A full table: the address left alone longest makes room. */
START_TEST(test_full_table)
{
	char host[ADDR_STRLEN];
	unsigned count, i;
	time_t now = 1000000;

	/* Well within FTP_THROTTLE_FORGET: nothing is forgotten by time. */
	memset(&t, 0, sizeof(t));
	for (i = 0; i < FTP_THROTTLE_MAX; i++) {
		snprintf(host, sizeof(host), "10.0.%u.%u", i / 256, i % 256);
		(void)ftp_throttle_fail(&t, host, now + i / 4, 1, &count);
		(void)ftp_throttle_fail(&t, host, now + i / 4, 1, &count);
	}
	now += i / 4;
	ck_assert_double_eq(ftp_throttle_fail(&t, "192.0.2.1", now, 1,
	    &count), 1);
	/* 10.0.0.0, the oldest, went; 10.0.0.1 is still there. */
	ck_assert_double_eq(ftp_throttle_fail(&t, "10.0.0.1", now, 1, &count),
	    4);
	ck_assert_double_eq(ftp_throttle_fail(&t, "10.0.0.0", now, 1, &count),
	    1);
	ck_assert_double_eq(ftp_throttle_fail(&t, "10.0.3.255", now, 1,
	    &count), 4);
}
END_TEST

static Suite *
ftp_throttle_suite(void)
{
	Suite *s = suite_create("ftp_throttle");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_test(core, test_doubles_to_cap);
	tcase_add_test(core, test_forgiven);
	tcase_add_test(limits, test_full_table);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ftp_throttle_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
