/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for daemons/ftpd/ftp_budget.c: what sessions take is
 * bounded per session and for the server, refused beyond (and counted),
 * and comes back whole.
 */
#include <stdlib.h>

#include <check.h>

#include "../../daemons/ftpd/ftp_budget.h"

START_TEST(test_bounds)
{
	struct ftp_budget b = { .max = 3 * FTP_BUDGET_SESSION / 2 };
	size_t one = 0, two = 0;

	ck_assert_int_eq(ftp_budget_take(&b, &one, FTP_BUDGET_SESSION / 2), 0);
	ck_assert_int_eq(ftp_budget_take(&b, &one, FTP_BUDGET_SESSION / 2), 0);
	/* The session's own bound. */
	ck_assert_int_eq(ftp_budget_take(&b, &one, 1), -1);
	ck_assert_uint_eq(one, FTP_BUDGET_SESSION);
	/* The server's: what is left, not a byte more. */
	ck_assert_int_eq(ftp_budget_take(&b, &two, FTP_BUDGET_SESSION / 2 + 1),
	    -1);
	ck_assert_int_eq(ftp_budget_take(&b, &two, FTP_BUDGET_SESSION / 2), 0);
	ck_assert_uint_eq(b.used, b.max);
	ck_assert_uint_eq(b.refused, 2);
	/* Given back: room again; never more than was held. */
	ftp_budget_give(&b, &one, FTP_BUDGET_SESSION / 2);
	ck_assert_int_eq(ftp_budget_take(&b, &two, 1), 0);
	ftp_budget_give(&b, &two, (size_t)-1);
	ftp_budget_give(&b, &one, (size_t)-1);
	ck_assert_uint_eq(one + two, 0);
	ck_assert_uint_eq(b.used, 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ftp_budget");
	TCase *limits = tcase_create("limits");
	SRunner *sr;
	int failed;

	tcase_add_test(limits, test_bounds);
	suite_add_tcase(s, limits);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
