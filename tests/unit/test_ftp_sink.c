/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for daemons/ftpd/ftp_sink.c: an upload's bytes as they came,
 * or for TYPE A with CR LF made LF wherever the pieces are cut (a CR at
 * the end of one piece waits for the next; one at the very end is kept);
 * a failed write says why.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "../../daemons/ftpd/ftp_sink.h"

/* text cut into pieces after each offset of cuts, through a sink. */
static char *
sink_through(const char *text, const size_t *cuts, size_t ncuts, int ascii)
{
	static char out[256];
	char path[] = "/tmp/test_ftp_sink.XXXXXX";
	struct ftp_sink k;
	size_t i, from = 0, to, len = strlen(text);
	ssize_t n;
	int fd;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	unlink(path);
	ftp_sink_init(&k, fd, ascii);
	for (i = 0; i <= ncuts; i++) {
		to = i < ncuts ? cuts[i] : len;
		ck_assert_int_eq(ftp_sink_write(&k, text + from, to - from), 0);
		from = to;
	}
	ck_assert_int_eq(ftp_sink_end(&k), 0);
	ck_assert_uint_eq(k.bytes, len);
	ck_assert_int_ge(n = pread(fd, out, sizeof(out) - 1, 0), 0);
	out[n] = '\0';
	close(fd);
	return out;
}

START_TEST(test_binary)
{
	static const size_t cuts[] = { 3 };

	ck_assert_str_eq(sink_through("a\r\nb\r", cuts, 1, 0), "a\r\nb\r");
}
END_TEST

START_TEST(test_ascii_cuts)
{
	static const char text[] = "one\r\ntwo\r\rthree\rx\r\n\r";
	size_t cut, cuts[2];

	/* Every place a piece can end gives the same file. */
	for (cut = 0; cut <= strlen(text); cut++) {
		cuts[0] = cut;
		ck_assert_str_eq(sink_through(text, cuts, 1, 1),
		    "one\ntwo\r\rthree\rx\n\r");
		cuts[1] = cut;
		cuts[0] = cut / 2;
		ck_assert_str_eq(sink_through(text, cuts, 2, 1),
		    "one\ntwo\r\rthree\rx\n\r");
	}
}
END_TEST

START_TEST(test_write_error)
{
	struct ftp_sink k;
	int fd;

	ck_assert_int_ne(fd = open("/dev/full", O_WRONLY), -1);
	ftp_sink_init(&k, fd, 0);
	ck_assert_int_eq(ftp_sink_write(&k, "x", 1), -1);
	ck_assert_int_eq(k.err, ENOSPC);
	close(fd);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ftp_sink");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");
	SRunner *sr;
	int failed;

	tcase_add_test(core, test_binary);
	tcase_add_test(core, test_ascii_cuts);
	tcase_add_test(limits, test_write_error);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
