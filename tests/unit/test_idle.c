/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/idle.c: many idle timeouts on one timer. */
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "idle.h"
#include "monotime.h"
#include "timeout.h"

#define N	3

static struct idle_entry entries[N];
static int expired_order[N + 4];
static int nexpired;
static int retouch;		/* entry index to keep alive once */
static struct idle_list list;

static void
expired_cb(struct idle_entry *e, void *arg)
{
	int i = (int)(e - entries);

	expired_order[nexpired++] = i;
	if (i == retouch) {
		retouch = -1;
		idle_touch(&list, e);
	}
}

static struct event_base *
setup_list(int ms)
{
	struct event_base *base = event_base_new();
	struct timeval tv = { 0, ms * 1000 };

	ck_assert_ptr_nonnull(base);
	memset(entries, 0, sizeof(entries));
	nexpired = 0;
	retouch = -1;
	ck_assert_int_eq(idle_list_init(&list, base, &tv, expired_cb, NULL), 0);
	return base;
}

START_TEST(test_expire_in_order_of_activity)
{
	struct event_base *base = setup_list(100);

	idle_touch(&list, &entries[0]);
	idle_touch(&list, &entries[1]);
	idle_touch(&list, &entries[2]);
	usleep(30000);
	idle_touch(&list, &entries[0]);	/* 0 is now the newest */
	event_base_dispatch(base);
	ck_assert_int_eq(nexpired, 3);
	ck_assert_int_eq(expired_order[0], 1);
	ck_assert_int_eq(expired_order[1], 2);
	ck_assert_int_eq(expired_order[2], 0);
	idle_list_free(&list);
	event_base_free(base);
}
END_TEST

START_TEST(test_removed_never_expires)
{
	struct event_base *base = setup_list(50);

	idle_touch(&list, &entries[0]);
	idle_touch(&list, &entries[1]);
	idle_remove(&list, &entries[0]);
	idle_remove(&list, &entries[0]);	/* twice is harmless */
	event_base_dispatch(base);
	ck_assert_int_eq(nexpired, 1);
	ck_assert_int_eq(expired_order[0], 1);
	idle_list_free(&list);
	event_base_free(base);
}
END_TEST

START_TEST(test_touch_in_callback_keeps_alive)
{
	struct event_base *base = setup_list(40);
	uint64_t t0 = monotime_us();

	retouch = 0;
	idle_touch(&list, &entries[0]);
	event_base_dispatch(base);
	/* Expired, touched again, expired once more: two periods. */
	ck_assert_int_eq(nexpired, 2);
	ck_assert_uint_ge(monotime_us() - t0, 80000);
	idle_list_free(&list);
	event_base_free(base);
}
END_TEST

START_TEST(test_not_before_timeout)
{
	struct event_base *base = setup_list(80);
	uint64_t t0 = monotime_us();

	idle_touch(&list, &entries[2]);
	event_base_dispatch(base);
	ck_assert_int_eq(nexpired, 1);
	ck_assert_uint_ge(monotime_us() - t0, 80000);
	idle_list_free(&list);
	event_base_free(base);
}
END_TEST

static Suite *
idle_suite(void)
{
	Suite *s = suite_create("idle");
	TCase *core = tcase_create("core");

	tcase_add_test(core, test_expire_in_order_of_activity);
	tcase_add_test(core, test_removed_never_expires);
	tcase_add_test(core, test_touch_in_callback_keeps_alive);
	tcase_add_test(core, test_not_before_timeout);
	/* Real timers of 40-100 ms: four tests wait about half a second. */
	tcase_budget(core, 5);
	suite_add_tcase(s, core);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(idle_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
