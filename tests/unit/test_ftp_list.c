/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for daemons/ftpd/ftp_list.c: the ls -l, MLSD and NLST
 * layouts, and listings of a real directory: sorted when small, whole
 * and bounded per call when big.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>

#include "../../daemons/ftpd/ftp_list.h"
#include "../../daemons/ftpd/ftp_path.h"
#include "timeout.h"

#define NOW	1700000000	/* 2023-11-14 22:13:20 UTC */

static struct stat
file_stat(mode_t mode, off_t size, time_t mtime)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mode = mode;
	st.st_size = size;
	st.st_mtime = mtime;
	st.st_nlink = 1;
	st.st_dev = 0x801;
	st.st_ino = 0x1234;
	return st;
}

START_TEST(test_mode)
{
	char m[11];

	ftp_list_mode(S_IFREG | 0644, m);
	ck_assert_str_eq(m, "-rw-r--r--");
	ftp_list_mode(S_IFDIR | 0755, m);
	ck_assert_str_eq(m, "drwxr-xr-x");
	ftp_list_mode(S_IFLNK | 0777, m);
	ck_assert_str_eq(m, "lrwxrwxrwx");
	ftp_list_mode(S_IFREG | 04755, m);
	ck_assert_str_eq(m, "-rwsr-xr-x");
	ftp_list_mode(S_IFDIR | 01777, m);
	ck_assert_str_eq(m, "drwxrwxrwt");
	ftp_list_mode(S_IFREG | 02640, m);
	ck_assert_str_eq(m, "-rw-r-S---");
}
END_TEST

START_TEST(test_long_recent)
{
	struct stat st = file_stat(S_IFREG | 0644, 1234, NOW - 3600);
	char buf[256];
	int n;

	n = ftp_list_long(buf, sizeof(buf), "a file.txt", &st, NULL, NOW);
	ck_assert_int_gt(n, 0);
	ck_assert_str_eq(buf, "-rw-r--r--    1 ftp      ftp              "
	    "1234 Nov 14 21:13 a file.txt\r\n");
	ck_assert_int_eq(n, (int)strlen(buf));
}
END_TEST

START_TEST(test_long_old_and_link)
{
	struct stat st = file_stat(S_IFLNK | 0777, 11, NOW - 400 * 86400);
	char buf[256];

	ck_assert_int_gt(ftp_list_long(buf, sizeof(buf), "l", &st,
	    "/etc/passwd", NOW), 0);
	ck_assert_str_eq(buf, "lrwxrwxrwx    1 ftp      ftp                "
	    "11 Oct 10  2022 l -> /etc/passwd\r\n");
	/* A time in the future shows the year too. */
	st = file_stat(S_IFREG | 0644, 0, NOW + 86400 * 40);
	ck_assert_int_gt(ftp_list_long(buf, sizeof(buf), "f", &st, NULL,
	    NOW), 0);
	ck_assert_ptr_nonnull(strstr(buf, "Dec 24  2023 f\r\n"));
}
END_TEST

START_TEST(test_long_hostile_name)
{
	struct stat st = file_stat(S_IFREG | 0644, 1, NOW);
	char buf[256], small[40];

	ck_assert_int_gt(ftp_list_long(buf, sizeof(buf), "a\r\n226 x", &st,
	    NULL, NOW), 0);
	ck_assert_ptr_nonnull(strstr(buf, " a??226 x\r\n"));
	ck_assert_ptr_null(strstr(buf, "\n226"));
	ck_assert_int_eq(ftp_list_long(small, sizeof(small), "name", &st,
	    NULL, NOW), -1);
}
END_TEST

START_TEST(test_facts)
{
	struct stat st = file_stat(S_IFREG | 0644, 42, NOW);
	char buf[256];
	unsigned mask;

	ck_assert_int_gt(ftp_list_facts(buf, sizeof(buf), "f.txt", &st, "r",
	    FTP_FACT_DEFAULT, NULL), 0);
	ck_assert_str_eq(buf, "type=file;size=42;modify=20231114221320;"
	    "perm=r;unique=801U1234; f.txt\r\n");
	st = file_stat(S_IFDIR | 0755, 4096, NOW);
	ck_assert_int_gt(ftp_list_facts(buf, sizeof(buf), "d", &st, "el",
	    FTP_FACT_TYPE | FTP_FACT_SIZE | FTP_FACT_UNIX_MODE, NULL), 0);
	ck_assert_str_eq(buf, "type=dir;UNIX.mode=0755; d\r\n");
	ck_assert_int_eq(ftp_list_facts_parse("Type;SIZE;bogus;;modify",
	    &mask), 0);
	ck_assert_uint_eq(mask, FTP_FACT_TYPE | FTP_FACT_SIZE |
	    FTP_FACT_MODIFY);
	ck_assert_int_gt(ftp_list_facts_feat(buf, sizeof(buf), mask), 0);
	ck_assert_str_eq(buf, "type*;size*;modify*;perm;unique;UNIX.mode;");
	ck_assert_int_gt(ftp_list_time(buf, sizeof(buf), NOW), 0);
	ck_assert_str_eq(buf, "20231114221320");
}
END_TEST

static char tmpl[] = "/tmp/test_ftp_list.XXXXXX";
static char *top;
static int rootfd = -1;

static void
setup_tree(void)
{
	char p[PATH_MAX];
	int i, fd;

	ck_assert_ptr_nonnull(top = mkdtemp(tmpl));
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%c.txt", top, "cab"[i]);
		ck_assert_int_ne(fd = open(p, O_CREAT | O_WRONLY, 0644), -1);
		close(fd);
	}
	snprintf(p, sizeof(p), "%s/dir", top);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/out", top);
	ck_assert_int_eq(symlink("/etc", p), 0);
	ck_assert_int_ne(rootfd = open(top, O_PATH | O_DIRECTORY), -1);
}

static void
teardown_tree(void)
{
	char cmd[PATH_MAX + 16];

	close(rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(tmpl + strlen(tmpl) - 6, "XXXXXX");
}

/* The whole listing of vpath as text. */
static char *
listing(const char *vpath, const char *shown, enum ftp_list_style style)
{
	struct ftp_listing *l;
	struct evbuffer *b = evbuffer_new();
	static char text[4096];
	size_t n;
	int r;

	l = ftp_listing_open(rootfd, vpath, shown, style, FTP_FACT_TYPE, 0);
	if (l == NULL) {
		evbuffer_free(b);
		return NULL;
	}
	/* Tiny batches: the listing must resume where it stopped. */
	while ((r = ftp_listing_fill(l, b, 1)) == 0)
		;
	ck_assert_int_eq(r, 1);
	ftp_listing_free(l);
	n = evbuffer_remove(b, text, sizeof(text) - 1);
	text[n] = '\0';
	evbuffer_free(b);
	return text;
}

START_TEST(test_listing_names)
{
	ck_assert_str_eq(listing("/", NULL, FTP_LIST_NAMES),
	    "a.txt\r\nb.txt\r\nc.txt\r\ndir\r\nout\r\n");
	ck_assert_str_eq(listing("/dir", "dir", FTP_LIST_NAMES), "");
	ck_assert_str_eq(listing("/a.txt", "a.txt", FTP_LIST_NAMES),
	    "a.txt\r\n");
	/* A glob in the last component, as mget sends. */
	ck_assert_str_eq(listing("/[ab].txt", "[ab].txt", FTP_LIST_NAMES),
	    "a.txt\r\nb.txt\r\n");
	ck_assert_ptr_null(listing("/nothere", "nothere", FTP_LIST_NAMES));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_null(listing("/out", "out", FTP_LIST_NAMES));
	ck_assert_int_eq(errno, EACCES);
}
END_TEST

START_TEST(test_listing_long_and_facts)
{
	char *t;

	t = listing("/", NULL, FTP_LIST_LONG);
	ck_assert_ptr_nonnull(strstr(t, " a.txt\r\n-rw-r--r--"));
	ck_assert_ptr_nonnull(strstr(t, "\r\ndrwxr-xr-x "));
	ck_assert_ptr_nonnull(strstr(t, " out -> /etc\r\n"));
	/* MLSD leaves out a symlink leading outside. */
	t = listing("/", NULL, FTP_LIST_FACTS);
	ck_assert_str_eq(t, "type=file; a.txt\r\ntype=file; b.txt\r\n"
	    "type=file; c.txt\r\ntype=dir; dir\r\n");
}
END_TEST

/* n empty files big/f-NNNNNN in the tree. */
static void
make_big(int n)
{
	char p[PATH_MAX];
	int i, fd;

	snprintf(p, sizeof(p), "%s/big", top);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/big/f-%06d", top, i);
		ck_assert_int_ne(fd = open(p, O_CREAT | O_WRONLY, 0644), -1);
		close(fd);
	}
}

/*
 * A directory bigger than a batch: listed whole in pieces, each name
 * once, no call adding more than a batch's worth; in directory order.
 */
START_TEST(test_listing_big)
{
	enum { N = 3 * FTP_LIST_BATCH + 17 };
	static char seen[N];
	struct ftp_listing *l;
	struct evbuffer *b = evbuffer_new();
	size_t before, most = 0, len;
	char *line;
	int r, calls = 0, k;

	make_big(N);
	l = ftp_listing_open(rootfd, "/big", "big", FTP_LIST_NAMES, 0, 0);
	ck_assert_ptr_nonnull(l);
	do {
		before = evbuffer_get_length(b);
		r = ftp_listing_fill(l, b, 64 * 1024);
		if (evbuffer_get_length(b) - before > most)
			most = evbuffer_get_length(b) - before;
		calls++;
	} while (r == 0 && calls < 100);
	ck_assert_int_eq(r, 1);
	ck_assert_int_gt(calls, 3);
	ck_assert_uint_le(most, (size_t)FTP_LIST_BATCH * 16);
	while ((line = evbuffer_readln(b, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		ck_assert_int_eq(sscanf(line, "big/f-%d", &k), 1);
		ck_assert(k >= 0 && k < N);
		ck_assert_int_eq(seen[k], 0);
		seen[k] = 1;
		free(line);
	}
	for (k = 0; k < N; k++)
		ck_assert_int_eq(seen[k], 1);
	ftp_listing_free(l);
	evbuffer_free(b);
}
END_TEST

/*
 * One call is bounded however big the directory and however little its
 * glob matches: it may add nothing, but it comes back, and the listing
 * ends after all.
 */
START_TEST(test_listing_bounded)
{
	struct ftp_listing *l;
	struct evbuffer *b = evbuffer_new();
	int r, calls = 0;

	make_big(2 * FTP_LIST_EXAMINE + 5);
	l = ftp_listing_open(rootfd, "/big/none*", "big/none*",
	    FTP_LIST_NAMES, 0, 0);
	ck_assert_ptr_nonnull(l);
	while ((r = ftp_listing_fill(l, b, 64 * 1024)) == 0)
		calls++;
	ck_assert_int_eq(r, 1);
	ck_assert_int_ge(calls, 2);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	ftp_listing_free(l);
	/* STAT's single call: some of the listing, not all of it. */
	l = ftp_listing_open(rootfd, "/big", "big", FTP_LIST_LONG, 0, 0);
	ck_assert_int_eq(ftp_listing_fill(l, b, 4096), 0);
	ck_assert_uint_lt(evbuffer_get_length(b), 4096 + FTP_LIST_LINE_MAX);
	ftp_listing_free(l);
	evbuffer_free(b);
}
END_TEST

static Suite *
ftp_list_suite(void)
{
	Suite *s = suite_create("ftp_list");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");
	TCase *dir = tcase_create("dir");

	tcase_add_test(core, test_mode);
	tcase_add_test(core, test_long_recent);
	tcase_add_test(core, test_long_old_and_link);
	tcase_add_test(core, test_facts);
	tcase_add_test(limits, test_long_hostile_name);
	/* A directory of a few thousand entries made, listed and removed. */
	tcase_budget(dir, 20);
	tcase_add_checked_fixture(dir, setup_tree, teardown_tree);
	tcase_add_test(dir, test_listing_names);
	tcase_add_test(dir, test_listing_long_and_facts);
	tcase_add_test(dir, test_listing_big);
	tcase_add_test(dir, test_listing_bounded);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	suite_add_tcase(s, dir);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ftp_list_suite());
	int failed;

	setenv("TZ", "UTC", 1);
	tzset();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
