/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/log.c: whatever is formatted, what reaches stderr,
 * the journal's fields and log_line()'s file is clean (no C0 or C1
 * control, no DEL, no invalid UTF-8, nothing that reorders text; UTF-8
 * names stay readable); a limited cause logs its burst, then one summary
 * with the count of the rest.  The journal is this file's own
 * sd_journal_sendv(), which the program's symbol puts in libsystemd's
 * place.
 */
#include <sys/stat.h>
#include <sys/uio.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <check.h>

#include "log.h"

static char journal[8192];	/* the fields of the last journal entry */

/* The journal: the fields of the entry, one a line. */
int
sd_journal_sendv(const struct iovec *iov, int n)
{
	size_t len = 0;
	int i;

	journal[0] = '\0';
	for (i = 0; i < n && len + iov[i].iov_len + 2 < sizeof(journal); i++) {
		memcpy(journal + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
		journal[len++] = '\n';
	}
	journal[len] = '\0';
	return 0;
}

/* Every byte of s that may not be in a log, or NULL if clean. */
static const char *
dirty(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
			return (const char *)p;
		/* C1 as UTF-8 (C2 80-9F) and the bidi overrides (E2 80 AA-AE) */
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return (const char *)p;
		if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae)
			return (const char *)p;
	}
	return NULL;
}

/* stderr to a file of its own; what was written since, NUL-terminated. */
static char stderr_path[] = "/tmp/test_log.XXXXXX";
static int saved_stderr = -1;

static void
capture(void)
{
	int fd;

	strcpy(stderr_path + strlen(stderr_path) - 6, "XXXXXX");
	ck_assert_int_ne(fd = mkstemp(stderr_path), -1);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static char *
captured(void)
{
	static char text[16384];
	ssize_t n;
	int fd;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	ck_assert_int_ne(fd = open(stderr_path, O_RDONLY), -1);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	unlink(stderr_path);
	text[n > 0 ? n : 0] = '\0';
	return text;
}

static const char hostile[] = "a\x1b[31mred\rforged\nline\x07\x7f "
    "\xc2\x9b" "csi \xe2\x80\xae" "evil \xff\xfe caf\xc3\xa9 \\x41";

START_TEST(test_clean)
{
	char out[512];

	log_clean(out, sizeof(out), hostile);
	ck_assert_ptr_null(dirty(out));
	ck_assert_ptr_nonnull(strstr(out, "a\\x1b[31mred\\x0dforged\\x0aline"
	    "\\x07\\x7f"));
	ck_assert_ptr_nonnull(strstr(out, "\\xc2\\x9bcsi"));
	ck_assert_ptr_nonnull(strstr(out, "\\xe2\\x80\\xaeevil"));
	ck_assert_ptr_nonnull(strstr(out, "\\xff\\xfe"));
	/* UTF-8 stays readable; a backslash stays (no double escaping). */
	ck_assert_ptr_nonnull(strstr(out, "caf\xc3\xa9 \\x41"));
	/* Never more than fits, never half an escape or a character. */
	ck_assert_uint_eq(log_clean(out, 3, "\x1b"), 0);
	ck_assert_str_eq(out, "");
	ck_assert_uint_eq(log_clean(out, 5, "ab\xc3\xa9"), 4);
	ck_assert_uint_eq(log_clean(out, 4, "ab\xc3\xa9"), 2);
}
END_TEST

/* Whatever a caller formats, the line on stderr is one clean line. */
START_TEST(test_stderr_clean)
{
	char *text;

	log_init("test_log", LOG_VERBOSITY_NORMAL);
	capture();
	log_info("deleted %s", hostile);
	log_warnx("%s", "two\nlines");
	text = captured();
	ck_assert_ptr_null(dirty(text));
	ck_assert_ptr_nonnull(strstr(text, "test_log: deleted a\\x1b[31m"));
	ck_assert_ptr_nonnull(strstr(text, "warning: two\\x0alines\n"));
	ck_assert_ptr_nonnull(strchr(text, '\n'));
}
END_TEST

/* The journal: the message and every field's value, cleaned. */
START_TEST(test_journal_fields)
{
	const char *fields[] = { "FTP_PATH=/esc\x1b]0;title\x07", "FTP_USER=ok",
	    NULL };
	struct stat st;
	char env[64];

	ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log_init("test_log", LOG_VERBOSITY_NORMAL);
	ck_assert_int_eq(log_to_journal(), 1);
	log_fields(LOG_INFO, fields, "sent %s", "x\ry");
	unsetenv("JOURNAL_STREAM");
	log_init("test_log", LOG_VERBOSITY_NORMAL);
	ck_assert_ptr_null(dirty(journal));
	ck_assert_ptr_nonnull(strstr(journal, "MESSAGE=sent x\\x0dy\n"));
	ck_assert_ptr_nonnull(strstr(journal,
	    "FTP_PATH=/esc\\x1b]0;title\\x07\n"));
	ck_assert_ptr_nonnull(strstr(journal, "FTP_USER=ok\n"));
	ck_assert_ptr_nonnull(strstr(journal, "PRIORITY=6\n"));
}
END_TEST

/* log_line: one clean line to a file, with its newline. */
START_TEST(test_line)
{
	char path[] = "/tmp/test_log_line.XXXXXX", text[512];
	ssize_t n;
	int fd;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(log_line(fd, "%s %d", hostile, 7), 0);
	ck_assert_int_gt(n = pread(fd, text, sizeof(text) - 1, 0), 0);
	text[n] = '\0';
	close(fd);
	unlink(path);
	ck_assert_ptr_null(dirty(text));
	ck_assert_ptr_eq(strchr(text, '\n'), text + n - 1);
	ck_assert_ptr_nonnull(strstr(text, " 7\n"));
	ck_assert_int_eq(log_line(-1, "x"), -1);
}
END_TEST

/* A flood: the burst, then nothing, then one summary with the count. */
START_TEST(test_limited)
{
	static struct log_limit l = LOG_LIMIT("refused PORT", 3);
	char *text, *p;
	int i, lines = 0;

	log_init("test_log", LOG_VERBOSITY_NORMAL);
	capture();
	for (i = 0; i < 12000; i++)
		log_limited(&l, LOG_WARNING, NULL, "refused %d", i);
	log_limit_flush(0);	/* within the interval: nothing yet */
	p = strstr(captured(), "suppressed");
	ck_assert_ptr_null(p);
	capture();
	log_limit_flush(1);	/* the end: the summary */
	log_limit_flush(1);	/* once */
	text = captured();
	ck_assert_ptr_nonnull(strstr(text, "warning: refused PORT: "
	    "suppressed 11997 more in 10 s\n"));
	for (p = text; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	ck_assert_int_eq(lines, 1);
}
END_TEST

/* The burst itself is logged, each line whole. */
START_TEST(test_limited_burst)
{
	static struct log_limit l = LOG_LIMIT("dropped", 2);
	char *text;

	log_init("test_log", LOG_VERBOSITY_NORMAL);
	capture();
	log_limited(&l, LOG_NOTICE, NULL, "one");
	log_limited(&l, LOG_NOTICE, NULL, "two");
	log_limited(&l, LOG_NOTICE, NULL, "three");
	log_limit_flush(1);
	text = captured();
	ck_assert_ptr_nonnull(strstr(text, "test_log: one\n"));
	ck_assert_ptr_nonnull(strstr(text, "test_log: two\n"));
	ck_assert_ptr_null(strstr(text, "three"));
	ck_assert_ptr_nonnull(strstr(text, "dropped: suppressed 1 more"));
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_test(core, test_clean);
	tcase_add_test(core, test_stderr_clean);
	tcase_add_test(core, test_journal_fields);
	tcase_add_test(core, test_line);
	tcase_add_test(limits, test_limited);
	tcase_add_test(limits, test_limited_burst);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
