/* SPDX-License-Identifier: ISC */
/* Unit tests for chatd's room.c: order of arrival, greetings, names. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "room.h"
#include "sharedbuf.h"

static struct room room;

static void
setup_addresses(void)
{
	ck_assert_int_eq(room_init(&room, 0), 0);
}

static void
setup_names(void)
{
	ck_assert_int_eq(room_init(&room, 1), 0);
}

static void
teardown(void)
{
	room_clear(&room);
}

static struct member *
join(const char *who)
{
	return room_join(&room, who, strlen(who), NULL);
}

/* The roster as a string. */
static const char *
roster(void)
{
	static char buf[65536];
	struct sharedbuf *sb = room_roster(&room);
	size_t len;

	ck_assert_ptr_nonnull(sb);
	len = sharedbuf_len(sb);
	ck_assert_uint_lt(len, sizeof(buf));
	memcpy(buf, sharedbuf_data(sb), len);
	buf[len] = '\0';
	return buf;
}

START_TEST(test_roster_in_order_of_arrival)
{
	struct member *a, *b, *c;

	ck_assert_str_eq(roster(), "Here now: ");
	a = join("127.0.0.1:5000");
	ck_assert_str_eq(roster(), "Here now: 127.0.0.1:5000");
	b = join("[::1]:5001");
	c = join("127.0.0.1:5002");
	ck_assert_str_eq(roster(),
	    "Here now: 127.0.0.1:5000, [::1]:5001, 127.0.0.1:5002");
	ck_assert_uint_eq(room.count, 3);
	ck_assert(a->seq < b->seq && b->seq < c->seq);
	/* The one who left is no longer listed; the order stays. */
	room_leave(&room, b);
	ck_assert_str_eq(roster(), "Here now: 127.0.0.1:5000, 127.0.0.1:5002");
	ck_assert_ptr_eq(TAILQ_FIRST(&room.members), a);
	ck_assert_ptr_eq(TAILQ_NEXT(a, entry), c);
	ck_assert_uint_eq(room.count, 2);
}
END_TEST

/*
 * A newcomer is sent the roster as it was, by reference: arrivals after
 * it grow the roster without touching those bytes, in place or, once
 * full, in a new block.
 */
START_TEST(test_roster_shared_while_growing)
{
	struct sharedbuf *sent, *now;
	char name[32], want[65536];
	size_t len, wlen;
	int i;

	join("first");
	sent = sharedbuf_ref(room_roster(&room));
	len = sharedbuf_len(sent);
	ck_assert_int_eq(memcmp(sharedbuf_data(sent), "Here now: first", len), 0);
	wlen = (size_t)snprintf(want, sizeof(want), "Here now: first");
	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		join(name);
		wlen += (size_t)snprintf(want + wlen, sizeof(want) - wlen, ", %s",
		    name);
	}
	ck_assert_uint_eq(sharedbuf_len(sent) >= len, 1);
	ck_assert_int_eq(memcmp(sharedbuf_data(sent), "Here now: first", len), 0);
	now = room_roster(&room);
	ck_assert_ptr_ne(now, sent);
	ck_assert_uint_eq(sharedbuf_len(now), wlen);
	ck_assert_int_eq(memcmp(sharedbuf_data(now), want, wlen), 0);
	sharedbuf_unref(sent);
}
END_TEST

START_TEST(test_addresses_not_indexed)
{
	ck_assert_ptr_nonnull(join("x"));
	ck_assert_ptr_nonnull(join("x"));
	ck_assert_int_eq(room_taken(&room, "x", 1), 0);
}
END_TEST

START_TEST(test_names_unique_without_case)
{
	struct member *bob;

	bob = join("Bob");
	ck_assert_ptr_nonnull(bob);
	ck_assert_int_eq(room_taken(&room, "bob", 3), 1);
	ck_assert_int_eq(room_taken(&room, "alice", 5), 0);
	errno = 0;
	ck_assert_ptr_null(join("BOB"));
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_ptr_null(join("\xef\xbc\xa2\xef\xbd\x8f\xef\xbd\x82"));
	ck_assert_ptr_nonnull(join("Bobby"));
	/* Once gone, the name is free again. */
	room_leave(&room, bob);
	ck_assert_int_eq(room_taken(&room, "bob", 3), 0);
	ck_assert_ptr_nonnull(join("bob"));
	ck_assert_uint_eq(room.count, 2);
}
END_TEST

/* Thousands of names: the index grows, every one is found, order holds. */
START_TEST(test_many_names)
{
	struct member *m;
	char name[32];
	int i, n = 0;

	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		ck_assert_ptr_nonnull(join(name));
	}
	ck_assert_uint_ge(room.nbuckets, 5000);
	for (i = 0; i < 5000; i += 7) {
		snprintf(name, sizeof(name), "USER%d", i);
		ck_assert_int_eq(room_taken(&room, name, strlen(name)), 1);
	}
	ck_assert_int_eq(room_taken(&room, "user5000", 8), 0);
	/* Every other one leaves: the rest are still found, in order. */
	m = TAILQ_FIRST(&room.members);
	while (m != NULL) {
		struct member *next = TAILQ_NEXT(m, entry);

		if (n++ % 2 == 0)
			room_leave(&room, m);
		m = next;
	}
	ck_assert_uint_eq(room.count, 2500);
	ck_assert_int_eq(room_taken(&room, "user0", 5), 0);
	ck_assert_int_eq(room_taken(&room, "user1", 5), 1);
	ck_assert_str_eq(TAILQ_FIRST(&room.members)->who, "user1");
}
END_TEST

/*
 * Members taken over come back in whatever order their sockets do; each
 * takes its place by its arrival number, and later arrivals follow all.
 */
START_TEST(test_join_at_arrival_number)
{
	ck_assert_ptr_nonnull(room_join_at(&room, "cy", 2, NULL, 7));
	ck_assert_str_eq(roster(), "Here now: cy");
	ck_assert_ptr_nonnull(room_join_at(&room, "bob", 3, NULL, 9));
	ck_assert_ptr_nonnull(room_join_at(&room, "ann", 3, NULL, 3));
	ck_assert_ptr_nonnull(room_join_at(&room, "dee", 3, NULL, 8));
	ck_assert_str_eq(roster(), "Here now: ann, cy, dee, bob");
	ck_assert_ptr_null(room_join_at(&room, "ANN", 3, NULL, 4));
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_ptr_nonnull(join("eve"));
	ck_assert_str_eq(roster(), "Here now: ann, cy, dee, bob, eve");
	ck_assert_uint_eq(room.seq, 10);
	ck_assert_uint_eq(room.count, 5);
}
END_TEST

START_TEST(test_who_too_long)
{
	char who[ROOM_WHO_MAX + 1];

	memset(who, 'w', sizeof(who));
	errno = 0;
	ck_assert_ptr_null(room_join(&room, who, sizeof(who), NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(room_join(&room, who, ROOM_WHO_MAX - 1, NULL));
}
END_TEST

static Suite *
room_suite(void)
{
	Suite *s = suite_create("room");
	TCase *order = tcase_create("order"), *names = tcase_create("names");

	tcase_add_checked_fixture(order, setup_addresses, teardown);
	tcase_add_checked_fixture(names, setup_names, teardown);
	tcase_add_test(order, test_roster_in_order_of_arrival);
	tcase_add_test(order, test_roster_shared_while_growing);
	tcase_add_test(order, test_addresses_not_indexed);
	tcase_add_test(order, test_who_too_long);
	tcase_add_test(names, test_names_unique_without_case);
	tcase_add_test(names, test_many_names);
	tcase_add_test(names, test_join_at_arrival_number);
	suite_add_tcase(s, order);
	suite_add_tcase(s, names);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(room_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
