/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for daemons/ftpd/ftp_path.c: resolution against the root and
 * opening beneath it, with openat2 and with the component walk.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "../../daemons/ftpd/ftp_path.h"

static char out[FTP_PATH_MAX + 1];
static char tmpl[] = "/tmp/test_ftp_path.XXXXXX";
static char *top;	/* holds root/ and outside.txt */
static int rootfd = -1;

static void
resolves(const char *cwd, const char *arg, const char *want)
{
	ck_assert_msg(ftp_path_resolve(cwd, arg, out, sizeof(out)) == 0,
	    "%s + %s failed: %s", cwd, arg, strerror(errno));
	ck_assert_str_eq(out, want);
}

static void
refused(const char *cwd, const char *arg, int err)
{
	ck_assert_int_eq(ftp_path_resolve(cwd, arg, out, sizeof(out)), -1);
	ck_assert_int_eq(errno, err);
}

START_TEST(test_resolve)
{
	resolves("/", "", "/");
	resolves("/", ".", "/");
	resolves("/", "a", "/a");
	resolves("/a", "b/c", "/a/b/c");
	resolves("/a", "/b", "/b");
	resolves("/a/b", "..", "/a");
	resolves("/a/b", "../..", "/");
	resolves("/a", "//b///c//", "/b/c");
	resolves("/a", "./b/./c/.", "/a/b/c");
	resolves("/a", "b/../../c", "/c");
	resolves("/", "..a/...", "/..a/...");
	/* Text the kernel sees as plain names. */
	resolves("/", "..\\..\\etc", "/..\\..\\etc");
	resolves("/", "%2e%2e/%2e%2e/etc", "/%2e%2e/%2e%2e/etc");
}
END_TEST

START_TEST(test_resolve_escapes)
{
	refused("/", "..", EACCES);
	refused("/", "../etc/passwd", EACCES);
	refused("/", "/../etc", EACCES);
	refused("/a", "../../etc", EACCES);
	refused("/a", "b/../../../x", EACCES);
	refused("/", "a/../..", EACCES);
	refused("relative", "a", EINVAL);
}
END_TEST

START_TEST(test_resolve_long)
{
	static char arg[FTP_PATH_MAX + 100];
	char small[8];

	memset(arg, 'x', sizeof(arg) - 1);
	arg[sizeof(arg) - 1] = '\0';
	refused("/", arg, ENAMETOOLONG);
	ck_assert_int_eq(ftp_path_resolve("/", "abcdefgh", small,
	    sizeof(small)), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	ck_assert_int_eq(ftp_path_resolve("/", "abcdef", small,
	    sizeof(small)), 0);
}
END_TEST

START_TEST(test_split)
{
	char dir[64];
	const char *name;

	ck_assert_int_eq(ftp_path_split("/a/b", dir, sizeof(dir), &name), 0);
	ck_assert_str_eq(dir, "/a");
	ck_assert_str_eq(name, "b");
	ck_assert_int_eq(ftp_path_split("/a", dir, sizeof(dir), &name), 0);
	ck_assert_str_eq(dir, "/");
	ck_assert_str_eq(name, "a");
	ck_assert_int_eq(ftp_path_split("/", dir, sizeof(dir), &name), -1);
}
END_TEST

static void
put(const char *rel, const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static void
link_to(const char *target, const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	ck_assert_int_eq(symlink(target, p), 0);
}

static void
setup_tree(void)
{
	char p[PATH_MAX];

	ck_assert_ptr_nonnull(top = mkdtemp(tmpl));
	snprintf(p, sizeof(p), "%s/root", top);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/root/sub", top);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	put("outside.txt", "secret\n");
	put("root/in.txt", "public\n");
	link_to("/etc/passwd", "root/abs");
	link_to("../outside.txt", "root/up");
	link_to("../in.txt", "root/sub/ok");
	link_to("..", "root/sub/dotdot");
	link_to("../..", "root/sub/twoup");
	snprintf(p, sizeof(p), "%s/root", top);
	ck_assert_int_ne(rootfd = open(p, O_PATH | O_DIRECTORY), -1);
}

static void
teardown_tree(void)
{
	char cmd[PATH_MAX + 16];

	close(rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(tmpl + strlen(tmpl) - 6, "XXXXXX");
	ftp_path_use_walk(0);
}

static int
opens(const char *vpath)
{
	int fd = ftp_path_open(rootfd, vpath, O_RDONLY, 0);

	if (fd == -1)
		return -errno;
	close(fd);
	return 0;
}

static void
check_open(int walk)
{
	struct stat st;

	ftp_path_use_walk(walk);
	ck_assert_int_eq(opens("/in.txt"), 0);
	ck_assert_int_eq(opens("/"), 0);
	ck_assert_int_eq(opens("/sub"), 0);
	ck_assert_int_eq(opens("/nothere"), -ENOENT);
	/* Symlinks out of the root: absolute, or relative climbing out. */
	ck_assert_int_eq(opens("/abs"), -EACCES);
	ck_assert_int_eq(opens("/up"), -EACCES);
	ck_assert_int_eq(opens("/sub/twoup"), -EACCES);
	ck_assert_int_eq(ftp_path_stat(rootfd, "/abs", &st), -1);
	ck_assert_int_eq(errno, EACCES);
	/* A raw ".." never reaches here, but the kernel refuses it too. */
	ck_assert_int_ne(opens("/../outside.txt"), 0);
	if (!walk) {
		/* Inside symlinks work with openat2. */
		ck_assert_int_eq(opens("/sub/ok"), 0);
		ck_assert_int_eq(opens("/sub/dotdot/in.txt"), 0);
		ck_assert_int_eq(ftp_path_stat(rootfd, "/sub/ok", &st), 0);
		ck_assert(S_ISREG(st.st_mode));
	} else {
		/* The walk follows no symlink at all. */
		ck_assert_int_eq(opens("/sub/ok"), -EACCES);
		ck_assert_int_eq(ftp_path_stat(rootfd, "/sub/ok", &st), -1);
	}
}

START_TEST(test_open_openat2)
{
	check_open(0);
}
END_TEST

START_TEST(test_open_walk)
{
	check_open(1);
}
END_TEST

static Suite *
ftp_path_suite(void)
{
	Suite *s = suite_create("ftp_path");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");
	TCase *open = tcase_create("open");

	tcase_add_test(core, test_resolve);
	tcase_add_test(core, test_split);
	tcase_add_test(limits, test_resolve_escapes);
	tcase_add_test(limits, test_resolve_long);
	tcase_add_checked_fixture(open, setup_tree, teardown_tree);
	tcase_add_test(open, test_open_openat2);
	tcase_add_test(open, test_open_walk);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	suite_add_tcase(s, open);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ftp_path_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
