/* SPDX-License-Identifier: ISC */
/* Unit tests for clockwall's view and back-off: what the wall shows. */
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "clock.h"
#include "view.h"

static struct clock clocks[3];
static struct clock *cp[3] = { &clocks[0], &clocks[1], &clocks[2] };
static int pfd[2];

static void
setup(void)
{
	memset(clocks, 0, sizeof(clocks));
	strcpy(clocks[0].spec.name, "Tokyo");
	strcpy(clocks[0].addr, "localhost:8010");
	strcpy(clocks[0].time, "04:17:09");
	clocks[0].state = CLOCK_UP;
	clocks[0].answered = 1;
	clocks[0].has_offset = 1;
	clocks[0].offset = 0.0042;
	strcpy(clocks[1].spec.name, "New York");
	strcpy(clocks[1].addr, "localhost:8020");
	clocks[1].state = CLOCK_CONNECTING;
	strcpy(clocks[2].spec.name, "London");
	strcpy(clocks[2].addr, "localhost:8030");
	strcpy(clocks[2].why, "refused");
	clocks[2].state = CLOCK_DOWN;
	clocks[2].retry = 1;
	ck_assert_int_eq(pipe(pfd), 0);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
}

static void
teardown(void)
{
	close(pfd[0]);
	close(pfd[1]);
}

/* Everything written to the pipe so far. */
static char *
drain(void)
{
	static char buf[65536];
	ssize_t n;
	size_t len = 0;

	while ((n = read(pfd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return buf;
}

/* The rows of a frame: the text after each cursor move, escapes dropped. */
static int
frame_rows(const char *frame, char rows[][256], int max)
{
	const char *p = frame;
	int n = -1;
	size_t len = 0;
	unsigned r, col;

	while (*p != '\0') {
		if (*p == '\033') {
			if (sscanf(p, "\033[%u;%uH", &r, &col) == 2 &&
			    (int)r <= max) {
				n = (int)r - 1;
				len = 0;
				rows[n][0] = '\0';
			}
			p++;
			if (*p == '[')
				p++;
			while (*p != '\0' && !((*p >= 'A' && *p <= 'Z') ||
			    (*p >= 'a' && *p <= 'z')))
				p++;
			if (*p != '\0')
				p++;
			continue;
		}
		if (n >= 0 && len < 255) {
			rows[n][len++] = *p;
			rows[n][len] = '\0';
		}
		p++;
	}
	return n + 1;
}

START_TEST(test_backoff)
{
	unsigned ms = 0, seen[8];
	int i;

	for (i = 0; i < 8; i++)
		seen[i] = ms = clock_backoff_next(ms);
	ck_assert_uint_eq(seen[0], 500);
	ck_assert_uint_eq(seen[1], 1000);
	ck_assert_uint_eq(seen[2], 2000);
	ck_assert_uint_eq(seen[3], 4000);
	ck_assert_uint_eq(seen[4], 8000);
	ck_assert_uint_eq(seen[7], 8000);
	ck_assert_uint_eq(clock_backoff_next(7000), 8000);
}
END_TEST

START_TEST(test_colour)
{
	ck_assert_int_eq(view_colour_ok("xterm-256color", NULL, NULL), 1);
	ck_assert_int_eq(view_colour_ok("screen", NULL, NULL), 1);
	ck_assert_int_eq(view_colour_ok("tmux-256color", NULL, ""), 1);
	ck_assert_int_eq(view_colour_ok("xterm", NULL, "1"), 0);
	ck_assert_int_eq(view_colour_ok("dumb", "truecolor", NULL), 0);
	ck_assert_int_eq(view_colour_ok(NULL, NULL, NULL), 0);
	ck_assert_int_eq(view_colour_ok("vt100", NULL, NULL), 0);
	ck_assert_int_eq(view_colour_ok("vt100", "truecolor", NULL), 1);
}
END_TEST

START_TEST(test_state)
{
	struct view *v = view_new(VIEW_LIVE, 0, pfd[1]);
	struct timeval now = { 100, 0 };
	char buf[VIEW_STATE_MAX];

	ck_assert_str_eq(view_state(v, &clocks[0], &now, buf, sizeof(buf)),
	    "up");
	ck_assert_str_eq(view_state(v, &clocks[1], &now, buf, sizeof(buf)),
	    "connecting -");
	v->spin = 1;
	ck_assert_str_eq(view_state(v, &clocks[1], &now, buf, sizeof(buf)),
	    "connecting \\");
	v->spin = 6;
	ck_assert_str_eq(view_state(v, &clocks[1], &now, buf, sizeof(buf)),
	    "connecting |");
	clocks[2].retry_at.tv_sec = 103;
	clocks[2].retry_at.tv_usec = 200000;
	ck_assert_str_eq(view_state(v, &clocks[2], &now, buf, sizeof(buf)),
	    "down (refused), retry in 4s");
	clocks[2].retry_at.tv_sec = 99;
	ck_assert_str_eq(view_state(v, &clocks[2], &now, buf, sizeof(buf)),
	    "down (refused), retry in 0s");
	ck_assert_str_eq(view_state(v, &clocks[2], NULL, buf, sizeof(buf)),
	    "down (refused)");
	clocks[2].retry = 0;
	ck_assert_str_eq(view_state(v, &clocks[2], &now, buf, sizeof(buf)),
	    "down (refused)");
	ck_assert_str_eq(view_state(v, &clocks[2], &now, buf, 5), "down");

	/* Silent: counted from the last line; plain lines say just that. */
	clocks[0].state = CLOCK_SILENT;
	clocks[0].last_line.tv_sec = 95;
	clocks[0].last_line.tv_usec = 500000;
	ck_assert_str_eq(view_state(v, &clocks[0], &now, buf, sizeof(buf)),
	    "silent 4s");
	ck_assert_str_eq(view_state(v, &clocks[0], NULL, buf, sizeof(buf)),
	    "silent");

	/* Off: up, but further from our clock than --max-offset. */
	clocks[0].state = CLOCK_UP;
	clocks[0].offset = -0.6;
	ck_assert_int_eq(view_off(v, &clocks[0]), 1);
	ck_assert_str_eq(view_state(v, &clocks[0], &now, buf, sizeof(buf)),
	    "off");
	v->max_offset = 0.75;
	ck_assert_int_eq(view_off(v, &clocks[0]), 0);
	ck_assert_str_eq(view_state(v, &clocks[0], &now, buf, sizeof(buf)),
	    "up");
	clocks[0].has_offset = 0;
	clocks[0].offset = 5;
	ck_assert_int_eq(view_off(v, &clocks[0]), 0);
	view_free(v);
}
END_TEST

START_TEST(test_table)
{
	struct view *v = view_new(VIEW_PLAIN, 1, pfd[1]);

	ck_assert_ptr_nonnull(v);
	clocks[1].state = CLOCK_DOWN;
	strcpy(clocks[1].why, "no answer");
	ck_assert_int_eq(view_table(v, cp, 3), 0);
	/* Plain: names padded to the widest, never a colour. */
	ck_assert_str_eq(drain(),
	    "Tokyo     04:17:09  +0.004s\n"
	    "New York  down (no answer)\n"
	    "London    down (refused)\n");
	/* Off: said after the offset; no offset yet: none shown. */
	clocks[0].offset = 2.5031;
	ck_assert_int_eq(view_table(v, cp, 1), 0);
	ck_assert_str_eq(drain(), "Tokyo  04:17:09  +2.503s  off\n");
	clocks[0].has_offset = 0;
	ck_assert_int_eq(view_table(v, cp, 1), 0);
	ck_assert_str_eq(drain(), "Tokyo  04:17:09\n");
	view_free(v);
}
END_TEST

START_TEST(test_lines)
{
	struct view *v = view_new(VIEW_PLAIN, 0, pfd[1]);

	ck_assert_ptr_nonnull(v);
	view_names(v, cp, 3);
	ck_assert_int_eq(view_line(v, &clocks[0]), 0);
	ck_assert_int_eq(view_line(v, &clocks[1]), 0);	/* connecting */
	ck_assert_int_eq(view_line(v, &clocks[2]), 0);
	ck_assert_int_eq(view_line(v, &clocks[2]), 0);	/* said already */
	strcpy(clocks[0].time, "04:17:10");
	clocks[0].offset = -0.0122;
	ck_assert_int_eq(view_line(v, &clocks[0]), 0);
	clocks[0].state = CLOCK_SILENT;
	ck_assert_int_eq(view_line(v, &clocks[0]), 0);
	ck_assert_int_eq(view_line(v, &clocks[0]), 0);	/* said already */
	clocks[0].state = CLOCK_DOWN;
	strcpy(clocks[0].why, "silent");
	ck_assert_int_eq(view_line(v, &clocks[0]), 0);
	ck_assert_str_eq(drain(),
	    "Tokyo     04:17:09  +0.004s\n"
	    "London    down (refused)\n"
	    "Tokyo     04:17:10  -0.012s\n"
	    "Tokyo     silent\n"
	    "Tokyo     down (silent)\n");
	view_free(v);
}
END_TEST

START_TEST(test_draw)
{
	struct view *v = view_new(VIEW_LIVE, 0, pfd[1]);
	char rows[24][256];
	int n;

	ck_assert_ptr_nonnull(v);
	v->active = 1;		/* as if view_enter() had taken a terminal */
	v->rows = 24;
	v->cols = 80;
	ck_assert_int_eq(view_draw(v, cp, 3), 0);
	memset(rows, 0, sizeof(rows));
	n = frame_rows(drain(), rows, 24);
	ck_assert_int_ge(n, 6);
	ck_assert_ptr_nonnull(strstr(rows[0], "3 clocks, 1 up, 1 down"));
	ck_assert_ptr_null(strstr(rows[0], "off"));
	ck_assert_ptr_nonnull(strstr(rows[0], "q quit"));
	ck_assert_uint_eq(strlen(rows[0]), 80);
	ck_assert_str_eq(rows[2],
	    "  NAME      TIME      OFFSET   ADDRESS         STATE");
	ck_assert_str_eq(rows[3],
	    "  Tokyo     04:17:09  +0.004s  localhost:8010  up");
	ck_assert_str_eq(rows[4],
	    "  New York  --:--:--           localhost:8020  connecting -");
	ck_assert_ptr_nonnull(strstr(rows[5], "  London    --:--:--           "
	    "localhost:8030  down (refused), retry in "));

	/* A clock that is off is counted and shown so. */
	clocks[0].offset = -12.3456;
	ck_assert_int_eq(view_draw(v, cp, 3), 0);
	memset(rows, 0, sizeof(rows));
	n = frame_rows(drain(), rows, 24);
	ck_assert_ptr_nonnull(strstr(rows[0], "3 clocks, 1 up, 1 down, 1 off"));
	ck_assert_str_eq(rows[3],
	    "  Tokyo     04:17:09  -12.346s  localhost:8010  off");
	clocks[0].offset = 0.0042;

	/* A narrow, short terminal: rows cut, a page shown and counted. */
	v->rows = 5;
	v->cols = 20;
	ck_assert_int_eq(view_draw(v, cp, 3), 0);
	memset(rows, 0, sizeof(rows));
	n = frame_rows(drain(), rows, 5);
	ck_assert_int_eq(n, 5);
	for (n = 0; n < 5; n++)
		ck_assert_uint_le(strlen(rows[n]), 20);
	ck_assert_str_eq(rows[3], "  Tokyo     04:17:09");
	ck_assert_ptr_nonnull(strstr(rows[4], "1-1 of 3"));
	v->active = 0;
	view_free(v);
}
END_TEST

/* A wall taller than the window: a page at a time, moved by rows. */
START_TEST(test_scroll)
{
	static struct clock many[30];
	struct clock *mp[30];
	struct view *v = view_new(VIEW_LIVE, 0, pfd[1]);
	char rows[12][256];
	int i;

	for (i = 0; i < 30; i++) {
		memset(&many[i], 0, sizeof(many[i]));
		snprintf(many[i].spec.name, sizeof(many[i].spec.name),
		    "clock%02d", i);
		strcpy(many[i].addr, "localhost:8000");
		strcpy(many[i].time, "04:17:09");
		many[i].state = CLOCK_UP;
		many[i].answered = 1;
		mp[i] = &many[i];
	}
	v->active = 1;
	v->rows = 12;
	v->cols = 80;
	/* 12 rows: title, blank, header, 8 clocks and the last row. */
	ck_assert_int_eq(view_draw(v, mp, 30), 0);
	ck_assert_uint_eq(v->page, 8);
	memset(rows, 0, sizeof(rows));
	frame_rows(drain(), rows, 12);
	ck_assert_ptr_nonnull(strstr(rows[3], "clock00"));
	ck_assert_ptr_nonnull(strstr(rows[10], "clock07"));
	ck_assert_ptr_nonnull(strstr(rows[11], "1-8 of 30"));
	view_scroll(v, 1, 30);
	ck_assert_uint_eq(v->top, 1);
	view_scroll(v, 7, 30);
	ck_assert_int_eq(view_draw(v, mp, 30), 0);
	memset(rows, 0, sizeof(rows));
	frame_rows(drain(), rows, 12);
	ck_assert_ptr_nonnull(strstr(rows[3], "clock08"));
	ck_assert_ptr_nonnull(strstr(rows[11], "9-16 of 30"));
	/* Past the end stops at the last page; past the top at the first. */
	view_scroll(v, 1000, 30);
	ck_assert_uint_eq(v->top, 22);
	view_scroll(v, 1, 30);
	ck_assert_uint_eq(v->top, 22);
	view_scroll(v, -5, 30);
	ck_assert_uint_eq(v->top, 17);
	view_scroll(v, -1000, 30);
	ck_assert_uint_eq(v->top, 0);
	view_scroll(v, -1, 30);
	ck_assert_uint_eq(v->top, 0);
	/* A taller window shows them all; the page follows. */
	view_scroll(v, 1000, 30);
	v->rows = 40;
	ck_assert_int_eq(view_draw(v, mp, 30), 0);
	ck_assert_uint_eq(v->page, 30);
	ck_assert_uint_eq(v->top, 0);
	drain();
	v->active = 0;
	view_free(v);
}
END_TEST

START_TEST(test_draw_colour)
{
	struct view *v = view_new(VIEW_LIVE, 1, pfd[1]);
	char *frame;

	v->active = 1;
	ck_assert_int_eq(view_draw(v, cp, 3), 0);
	frame = drain();
	ck_assert_ptr_nonnull(strstr(frame, "\033[1;32m04:17:09"));
	ck_assert_ptr_nonnull(strstr(frame, "\033[31mdown"));
	v->active = 0;
	view_free(v);
}
END_TEST

static Suite *
clockwall_view_suite(void)
{
	Suite *s = suite_create("clockwall_view");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(core, test_backoff);
	tcase_add_test(core, test_colour);
	tcase_add_test(core, test_state);
	tcase_add_test(core, test_table);
	tcase_add_test(core, test_lines);
	tcase_add_test(core, test_draw);
	tcase_add_test(core, test_scroll);
	tcase_add_test(limits, test_draw_colour);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(clockwall_view_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
