/* SPDX-License-Identifier: ISC */
/* Unit tests for daemons/reverbd/echoq.c: the queue of owed echoes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../../daemons/reverbd/echoq.h"

#define D	1000	/* the delay */

static struct echoq q;

static void
setup(void)
{
	echoq_init(&q);
}

static void
teardown(void)
{
	echoq_clear(&q);
}

/* Takes the echo due by now, checks it, marks it sent at now. */
static void
take(uint64_t now, const char *want, enum echo_stage stage)
{
	struct echo *e = echoq_due(&q, now);

	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->len, strlen(want));
	ck_assert_mem_eq(e->line, want, e->len);
	ck_assert_int_eq(e->stage, stage);
	echoq_sent(&q, e, now + D);
}

START_TEST(test_empty)
{
	uint64_t due;

	ck_assert_int_eq(echoq_next(&q, &due), 0);
	ck_assert_ptr_null(echoq_due(&q, UINT64_MAX));
	ck_assert_uint_eq(q.count, 0);
}
END_TEST

START_TEST(test_one_line_two_echoes)
{
	uint64_t due;

	ck_assert_int_eq(echoq_push(&q, "hello", 5, 100 + D), 0);
	ck_assert_uint_eq(q.count, 1);
	ck_assert_uint_eq(q.bytes, 5);
	ck_assert_int_eq(echoq_next(&q, &due), 1);
	ck_assert_uint_eq(due, 100 + D);
	ck_assert_ptr_null(echoq_due(&q, 100 + D - 1));
	take(100 + D, "hello", ECHO_PLAIN);
	ck_assert_int_eq(echoq_next(&q, &due), 1);
	ck_assert_uint_eq(due, 100 + 2 * D);
	ck_assert_ptr_null(echoq_due(&q, 100 + 2 * D - 1));
	take(100 + 2 * D, "hello", ECHO_LOWER);
	ck_assert_uint_eq(q.count, 0);
	ck_assert_uint_eq(q.bytes, 0);
	ck_assert_int_eq(echoq_next(&q, &due), 0);
}
END_TEST

/* Two lines close together: plain 1, plain 2, lower 1, lower 2. */
START_TEST(test_interleave)
{
	ck_assert_int_eq(echoq_push(&q, "one", 3, 0 + D), 0);
	ck_assert_int_eq(echoq_push(&q, "two", 3, 10 + D), 0);
	take(D, "one", ECHO_PLAIN);
	ck_assert_ptr_null(echoq_due(&q, D + 9));
	take(D + 10, "two", ECHO_PLAIN);
	take(2 * D, "one", ECHO_LOWER);
	take(2 * D + 10, "two", ECHO_LOWER);
	ck_assert_uint_eq(q.count, 0);
}
END_TEST

/* A line arriving after an earlier one's plain echo: the runs merge. */
START_TEST(test_runs_merge_in_time_order)
{
	uint64_t due;

	ck_assert_int_eq(echoq_push(&q, "a", 1, 0 + D), 0);
	take(D, "a", ECHO_PLAIN);			/* lower a at 2D */
	ck_assert_int_eq(echoq_push(&q, "b", 1, 1500 + D), 0);	/* plain b at 2.5D */
	ck_assert_int_eq(echoq_push(&q, "c", 1, 1600 + D), 0);	/* plain c at 2.6D */
	ck_assert_int_eq(echoq_next(&q, &due), 1);
	ck_assert_uint_eq(due, 2 * D);
	take(2 * D, "a", ECHO_LOWER);
	take(1500 + D, "b", ECHO_PLAIN);
	take(1600 + D, "c", ECHO_PLAIN);
	ck_assert_int_eq(echoq_next(&q, &due), 1);
	ck_assert_uint_eq(due, 1500 + 2 * D);
	/* Late wake-up: both lower echoes due, in order. */
	take(5 * D, "b", ECHO_LOWER);
	take(5 * D, "c", ECHO_LOWER);
	ck_assert_ptr_null(echoq_due(&q, UINT64_MAX));
}
END_TEST

/* On a tie the older line's lower echo goes before a newer plain one. */
START_TEST(test_tie_older_first)
{
	ck_assert_int_eq(echoq_push(&q, "old", 3, D), 0);
	take(D, "old", ECHO_PLAIN);
	ck_assert_int_eq(echoq_push(&q, "new", 3, 2 * D), 0);
	take(2 * D, "old", ECHO_LOWER);
	take(2 * D, "new", ECHO_PLAIN);
}
END_TEST

START_TEST(test_empty_line_and_nul)
{
	ck_assert_int_eq(echoq_push(&q, "", 0, D), 0);
	ck_assert_int_eq(echoq_push(&q, "a\0b", 3, D), 0);
	take(D, "", ECHO_PLAIN);
	{
		struct echo *e = echoq_due(&q, D);

		ck_assert_ptr_nonnull(e);
		ck_assert_uint_eq(e->len, 3);
		ck_assert_mem_eq(e->line, "a\0b", 3);
		echoq_sent(&q, e, 2 * D);
	}
	ck_assert_uint_eq(q.count, 2);
}
END_TEST

/* Many lines, owed echoes always taken in due order, none lost. */
START_TEST(test_many_in_order)
{
	struct echo *e;
	uint64_t now, last = 0;
	unsigned plain = 0, lower = 0, i;
	char buf[16];

	for (i = 0; i < 1000; i++) {
		snprintf(buf, sizeof(buf), "%u", i);
		ck_assert_int_eq(echoq_push(&q, buf, strlen(buf),
		    (uint64_t)i * 7 + D), 0);
	}
	ck_assert_uint_eq(q.count, 1000);
	for (now = 0; now < 20000; now++)
		while ((e = echoq_due(&q, now)) != NULL) {
			ck_assert_uint_ge(e->due, last);
			ck_assert_uint_le(e->due, now);
			last = e->due;
			snprintf(buf, sizeof(buf), "%u",
			    e->stage == ECHO_PLAIN ? plain : lower);
			ck_assert_uint_eq(e->len, strlen(buf));
			ck_assert_mem_eq(e->line, buf, e->len);
			if (e->stage == ECHO_PLAIN)
				plain++;
			else
				lower++;
			echoq_sent(&q, e, now + D);
		}
	ck_assert_uint_eq(plain, 1000);
	ck_assert_uint_eq(lower, 1000);
	ck_assert_uint_eq(q.count, 0);
}
END_TEST

START_TEST(test_clear_frees_all)
{
	unsigned i;

	for (i = 0; i < 100; i++)
		ck_assert_int_eq(echoq_push(&q, "xyz", 3, i), 0);
	take(0, "xyz", ECHO_PLAIN);
	echoq_clear(&q);
	ck_assert_uint_eq(q.count, 0);
	ck_assert_uint_eq(q.bytes, 0);
	ck_assert_ptr_null(echoq_due(&q, UINT64_MAX));
}
END_TEST

static Suite *
echoq_suite(void)
{
	Suite *s = suite_create("echoq");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(core, test_empty);
	tcase_add_test(core, test_one_line_two_echoes);
	tcase_add_test(core, test_interleave);
	tcase_add_test(core, test_runs_merge_in_time_order);
	tcase_add_test(core, test_tie_older_first);
	tcase_add_test(core, test_empty_line_and_nul);
	tcase_add_test(limits, test_many_in_order);
	tcase_add_test(limits, test_clear_frees_all);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(echoq_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
