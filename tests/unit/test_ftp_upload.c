/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for daemons/ftpd/ftp_upload.c: an upload is written aside
 * and replaces its target only when committed; APPE and REST keep the
 * old data; what cannot be uploaded to is refused; nothing is left aside.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "../../daemons/ftpd/ftp_upload.h"

static char tmpl[] = "/tmp/test_ftp_upload.XXXXXX";
static char *top;

static void
setup(void)
{
	strcpy(tmpl + strlen(tmpl) - 6, "XXXXXX");
	ck_assert_ptr_nonnull(top = mkdtemp(tmpl));
}

static void
teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	ck_assert_int_eq(system(cmd), 0);
}

static int
dirfd_of_top(void)
{
	int fd = open(top, O_PATH | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_ne(fd, -1);
	return fd;
}

static void
put(const char *name, const char *text, mode_t mode)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", top, name);
	ck_assert_int_ne(fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode),
	    -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ck_assert_int_eq(chmod(p, mode), 0);
}

/* The content of name ("" when absent, up to 255 bytes). */
static const char *
get(const char *name)
{
	static char buf[256];
	char p[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", top, name);
	if ((fd = open(p, O_RDONLY)) == -1)
		return "";
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

/* Files in top whose names start with ".ftp-upload.". */
static int
asides(void)
{
	struct dirent *e;
	DIR *d = opendir(top);
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, ".ftp-upload.", 12) == 0;
	closedir(d);
	return n;
}

static void
send_data(struct ftp_upload *u, const char *text)
{
	ck_assert_int_eq(write(u->fd, text, strlen(text)),
	    (ssize_t)strlen(text));
}

START_TEST(test_new_and_replace)
{
	struct ftp_upload u;

	ck_assert_int_eq(ftp_upload_open(&u, dirfd_of_top(), "a.txt", 0, 0),
	    FTP_UPLOAD_OK);
	send_data(&u, "new\n");
	ck_assert_str_eq(get("a.txt"), "");	/* not there until committed */
	ck_assert_int_eq(asides(), 1);
	ftp_upload_commit(&u);
	ck_assert_int_eq(u.err, 0);
	ck_assert_int_eq(u.fd, -1);
	ck_assert_int_eq(u.dirfd, -1);
	ck_assert_str_eq(get("a.txt"), "new\n");
	ck_assert_int_eq(asides(), 0);

	ck_assert_int_eq(ftp_upload_open(&u, dirfd_of_top(), "a.txt", 0, 0),
	    FTP_UPLOAD_OK);
	send_data(&u, "newer\n");
	/* The old one meanwhile. */
	ck_assert_str_eq(get("a.txt"), "new\n");
	ftp_upload_commit(&u);
	ck_assert_str_eq(get("a.txt"), "newer\n");
	ck_assert_int_eq(asides(), 0);
}
END_TEST

START_TEST(test_append_and_rest)
{
	struct ftp_upload u;
	struct stat st;
	char p[PATH_MAX];

	put("log", "0123456789", 0640);
	ck_assert_int_eq(ftp_upload_open(&u, dirfd_of_top(), "log", 1, 0),
	    FTP_UPLOAD_OK);
	send_data(&u, "ab");
	ftp_upload_commit(&u);
	ck_assert_str_eq(get("log"), "0123456789ab");
	snprintf(p, sizeof(p), "%s/log", top);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0640);	/* the old mode */

	ck_assert_int_eq(ftp_upload_open(&u, dirfd_of_top(), "log", 0, 4),
	    FTP_UPLOAD_OK);
	send_data(&u, "xy");
	ftp_upload_commit(&u);
	ck_assert_str_eq(get("log"), "0123xy");

	/* REST beyond the end keeps all of it. */
	ck_assert_int_eq(ftp_upload_open(&u, dirfd_of_top(), "log", 0, 1000),
	    FTP_UPLOAD_OK);
	send_data(&u, "!");
	ftp_upload_commit(&u);
	ck_assert_str_eq(get("log"), "0123xy!");
}
END_TEST

START_TEST(test_discard)
{
	struct ftp_upload u;

	put("keep", "old", 0644);
	ck_assert_int_eq(ftp_upload_open(&u, dirfd_of_top(), "keep", 0, 0),
	    FTP_UPLOAD_OK);
	send_data(&u, "half of it");
	ftp_upload_discard(&u);
	ck_assert_str_eq(get("keep"), "old");
	ck_assert_int_eq(asides(), 0);
}
END_TEST

START_TEST(test_refused)
{
	struct ftp_upload u;
	char p[PATH_MAX];

	ck_assert_int_eq(ftp_upload_open(&u, dirfd_of_top(), "none", 0, 5),
	    FTP_UPLOAD_NO_RESUME);
	snprintf(p, sizeof(p), "%s/dir", top);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	ck_assert_int_eq(ftp_upload_open(&u, dirfd_of_top(), "dir", 0, 0),
	    FTP_UPLOAD_NOT_PLAIN);
	/* A symlink is never followed, nor replaced through. */
	snprintf(p, sizeof(p), "%s/link", top);
	ck_assert_int_eq(symlink("/etc/passwd", p), 0);
	errno = 0;
	ck_assert_int_eq(ftp_upload_open(&u, dirfd_of_top(), "link", 0, 0),
	    FTP_UPLOAD_REFUSED);
	ck_assert_int_eq(errno, EACCES);
	ck_assert_int_eq(asides(), 0);
}
END_TEST

/* A rename that fails (a directory took the name): nothing left aside. */
START_TEST(test_commit_fails)
{
	struct ftp_upload u;
	char p[PATH_MAX];

	ck_assert_int_eq(ftp_upload_open(&u, dirfd_of_top(), "late", 0, 0),
	    FTP_UPLOAD_OK);
	send_data(&u, "data");
	snprintf(p, sizeof(p), "%s/late", top);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	ftp_upload_commit(&u);
	ck_assert_int_eq(u.err, EISDIR);
	ck_assert_int_eq(asides(), 0);
}
END_TEST

static Suite *
ftp_upload_suite(void)
{
	Suite *s = suite_create("ftp_upload");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(core, test_new_and_replace);
	tcase_add_test(core, test_append_and_rest);
	tcase_add_test(core, test_discard);
	tcase_add_test(limits, test_refused);
	tcase_add_test(limits, test_commit_fails);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ftp_upload_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
