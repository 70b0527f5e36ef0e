/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for daemons/ftpd/ftp_throttle.c: the delay after failed
 * logins doubles per address and per name up to its cap, a good login
 * forgives its own name only, time forgives all, IPv6 counts by /64, and
 * full tables make room without losing the entries that count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../../daemons/ftpd/ftp_throttle.h"

static struct ftp_throttle t;
static struct ftp_throttle_counts n;

START_TEST(test_doubles_to_cap)
{
	static const double want[] = { 1, 2, 4, 8, 16, 30, 30, 30 };
	unsigned i;
	time_t now = 1000000;

	memset(&t, 0, sizeof(t));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_double_eq(ftp_throttle_fail(&t, "192.0.2.1", "bob",
		    now + i, 1, &n), want[i]);
		ck_assert_uint_eq(n.host, i + 1);
		ck_assert_uint_eq(n.name, i + 1);
	}
	/* Another address and name start afresh; a smaller base halves. */
	ck_assert_double_eq(ftp_throttle_fail(&t, "192.0.2.2", "carol", now,
	    0.5, &n), 0.5);
	ck_assert_double_eq(ftp_throttle_fail(&t, "192.0.2.2", "carol", now,
	    0.5, &n), 1);
	/* The count stops at FTP_THROTTLE_COUNT_MAX. */
	for (i = 0; i < 100; i++)
		(void)ftp_throttle_fail(&t, "192.0.2.3", "dave", now, 0, &n);
	ck_assert_uint_eq(n.host, FTP_THROTTLE_COUNT_MAX);
}
END_TEST

/* Many names from one address, one name from many addresses. */
START_TEST(test_address_and_name)
{
	time_t now = 1000000;

	memset(&t, 0, sizeof(t));
	(void)ftp_throttle_fail(&t, "192.0.2.1", "a", now, 1, &n);
	(void)ftp_throttle_fail(&t, "192.0.2.1", "b", now, 1, &n);
	ck_assert_double_eq(ftp_throttle_fail(&t, "192.0.2.1", "c", now, 1,
	    &n), 4);
	ck_assert_uint_eq(n.host, 3);
	ck_assert_uint_eq(n.name, 1);
	(void)ftp_throttle_fail(&t, "198.51.100.1", "root", now, 1, &n);
	(void)ftp_throttle_fail(&t, "198.51.100.2", "root", now, 1, &n);
	ck_assert_double_eq(ftp_throttle_fail(&t, "198.51.100.3", "root", now,
	    1, &n), 4);
	ck_assert_uint_eq(n.host, 1);
	ck_assert_uint_eq(n.name, 3);
}
END_TEST

/* A good login forgives its own name, not the address, not others. */
START_TEST(test_forgiven)
{
	time_t now = 1000000;

	memset(&t, 0, sizeof(t));
	(void)ftp_throttle_fail(&t, "::1", "bob", now, 1, &n);
	(void)ftp_throttle_fail(&t, "::1", "bob", now, 1, &n);
	ftp_throttle_forgive(&t, "alice", now);
	ck_assert_double_eq(ftp_throttle_fail(&t, "::1", "bob", now, 1, &n),
	    4);
	ftp_throttle_forgive(&t, "bob", now);
	/* bob starts afresh, but the address keeps its three failures. */
	ck_assert_double_eq(ftp_throttle_fail(&t, "::1", "bob", now, 1, &n),
	    8);
	ck_assert_uint_eq(n.name, 1);
	ck_assert_uint_eq(n.host, 4);
	ck_assert_double_eq(ftp_throttle_fail(&t, "192.0.2.7", "bob", now, 1,
	    &n), 2);
	/* Quiet for longer than FTP_THROTTLE_FORGET: forgotten. */
	now += FTP_THROTTLE_FORGET + 1;
	ck_assert_double_eq(ftp_throttle_fail(&t, "::1", "bob", now, 1, &n),
	    1);
	/* Not so quiet: remembered. */
	now += FTP_THROTTLE_FORGET;
	ck_assert_double_eq(ftp_throttle_fail(&t, "::1", "bob", now, 1, &n),
	    2);
}
END_TEST

/* IPv6 addresses of one /64 count together. */
START_TEST(test_ipv6_prefix)
{
	time_t now = 1000000;

	memset(&t, 0, sizeof(t));
	(void)ftp_throttle_fail(&t, "2001:db8:1:2::1", "a", now, 1, &n);
	(void)ftp_throttle_fail(&t, "2001:db8:1:2:ffff::9", "b", now, 1, &n);
	ck_assert_uint_eq(n.host, 2);
	(void)ftp_throttle_fail(&t, "2001:db8:1:3::1", "c", now, 1, &n);
	ck_assert_uint_eq(n.host, 1);
}
END_TEST

/*
 * Full tables: an attacker cycling through new names and addresses,
 * one failure each, fills them but cannot push out the name it guesses
 * at (nor make them grow: they are fixed arrays).
 */
START_TEST(test_full_table)
{
	char host[ADDR_STRLEN], name[32];
	unsigned i;
	time_t now = 1000000;

	memset(&t, 0, sizeof(t));
	for (i = 0; i < 5; i++)
		(void)ftp_throttle_fail(&t, "192.0.2.1", "bob", now, 1, &n);
	for (i = 0; i < 4 * FTP_THROTTLE_MAX; i++) {
		snprintf(host, sizeof(host), "10.%u.%u.%u", i / 65536,
		    i / 256 % 256, i % 256);
		snprintf(name, sizeof(name), "user%u", i);
		(void)ftp_throttle_fail(&t, host, name, now + i / 64, 1, &n);
		ck_assert_uint_eq(n.host, 1);
		ck_assert_uint_eq(n.name, 1);
	}
	now += i / 64;
	/* bob and 192.0.2.1 are still there, five failures each. */
	ck_assert_double_eq(ftp_throttle_fail(&t, "198.51.100.9", "bob", now,
	    0.5, &n), 16);
	ck_assert_uint_eq(n.name, 6);
	(void)ftp_throttle_fail(&t, "192.0.2.1", "eve", now, 1, &n);
	ck_assert_uint_eq(n.host, 6);
	/* The oldest of the single failures went to make room. */
	(void)ftp_throttle_fail(&t, "10.0.0.0", "user0", now, 1, &n);
	ck_assert_uint_eq(n.host, 1);
	ck_assert_uint_eq(n.name, 1);
}
END_TEST

static Suite *
ftp_throttle_suite(void)
{
	Suite *s = suite_create("ftp_throttle");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_test(core, test_doubles_to_cap);
	tcase_add_test(core, test_address_and_name);
	tcase_add_test(core, test_forgiven);
	tcase_add_test(core, test_ipv6_prefix);
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
