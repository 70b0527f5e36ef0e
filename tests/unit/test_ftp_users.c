/* SPDX-License-Identifier: ISC */
/* Unit tests for daemons/ftpd/ftp_users.c: the users file and passwords. */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "../../daemons/ftpd/ftp_users.h"
#include "timeout.h"

START_TEST(test_parse_line)
{
	struct ftp_user u;

	ck_assert_int_eq(ftp_users_parse_line("alice:$y$abc:/srv/a:rw", &u),
	    1);
	ck_assert_str_eq(u.name, "alice");
	ck_assert_str_eq(u.hash, "$y$abc");
	ck_assert_str_eq(u.home, "/srv/a");
	ck_assert_int_eq(u.rw, 1);
	ftp_user_free(&u);
	ck_assert_int_eq(ftp_users_parse_line("bob:h:/home/bob", &u), 1);
	ck_assert_int_eq(u.rw, 0);
	ftp_user_free(&u);
	ck_assert_int_eq(ftp_users_parse_line("bob:h:/home/bob:ro", &u), 1);
	ck_assert_int_eq(u.rw, 0);
	ftp_user_free(&u);
	ck_assert_int_eq(ftp_users_parse_line("# comment", &u), 0);
	ck_assert_int_eq(ftp_users_parse_line("   ", &u), 0);
	ck_assert_int_eq(ftp_users_parse_line("", &u), 0);
}
END_TEST

START_TEST(test_parse_bad)
{
	static const char *bad[] = {
		"alice", "alice:hash", "alice::/home", "alice:h:relative",
		"alice:h:/home:rx", "alice:h:/home:rw:extra", ":h:/home",
		"../x:h:/home", "-x:h:/home", "a b:h:/home",
		"toolongname_toolongname_toolongname:h:/h",
	};
	struct ftp_user u;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(ftp_users_parse_line(bad[i], &u) == -1,
		    "accepted '%s'", bad[i]);
		ck_assert_int_eq(errno, EINVAL);
	}
}
END_TEST

START_TEST(test_hash_and_check)
{
	struct ftp_users us;
	const struct ftp_user *u;
	char *h;

	h = ftp_users_hash("s3cret pw");
	ck_assert_ptr_nonnull(h);
	ck_assert(strncmp(h, "$y$", 3) == 0 || strncmp(h, "$6$", 3) == 0);
	memset(&us, 0, sizeof(us));
	us.users = calloc(1, sizeof(*us.users));
	us.n = 1;
	us.users[0].name = strdup("alice");
	us.users[0].hash = h;
	us.users[0].home = strdup("/srv");
	ck_assert_int_eq(ftp_users_check(&us, "alice", "s3cret pw", &u), 1);
	ck_assert_ptr_eq(u, &us.users[0]);
	ck_assert_int_eq(ftp_users_check(&us, "alice", "s3cret", &u), 0);
	ck_assert_ptr_null(u);
	ck_assert_int_eq(ftp_users_check(&us, "bob", "s3cret pw", &u), 0);
	ck_assert_int_eq(ftp_users_check(&us, "alice", "", &u), 0);
	/* A locked hash ("!..." or "*") never matches. */
	free(us.users[0].hash);
	us.users[0].hash = strdup("!");
	ck_assert_int_eq(ftp_users_check(&us, "alice", "", &u), 0);
	ftp_users_free(&us);
}
END_TEST

START_TEST(test_save_load)
{
	char dir[] = "/tmp/test_ftp_users.XXXXXX", path[64], err[256];
	struct ftp_users us, back;
	struct stat st;
	FILE *fp;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/users", dir);
	fp = fopen(path, "w");
	fputs("# users\nalice:$y$x:/a:rw\n\nbob:$6$y:/b\n", fp);
	fclose(fp);
	ck_assert_int_eq(ftp_users_load(path, &us, err, sizeof(err)), 0);
	ck_assert_uint_eq(us.n, 2);
	ck_assert_ptr_nonnull(ftp_users_find(&us, "bob"));
	ck_assert_ptr_null(ftp_users_find(&us, "carol"));
	ck_assert_int_eq(ftp_users_save(path, &us, 0640, (uid_t)-1,
	    (gid_t)-1), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_int_eq(ftp_users_load(path, &back, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.n, 2);
	ck_assert_str_eq(back.users[1].home, "/b");
	ck_assert_int_eq(back.users[0].rw, 1);
	ftp_users_free(&back);
	ftp_users_free(&us);
	/* A bad line or a repeated name: the whole file is refused. */
	fp = fopen(path, "w");
	fputs("alice:x:/a\nalice:y:/b\n", fp);
	fclose(fp);
	ck_assert_int_eq(ftp_users_load(path, &us, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, ":2:"));
	fp = fopen(path, "w");
	fputs("carol:x:/c\nalice:x:/a\n# note\nbob:y:/b\nalice:z:/z\n", fp);
	fclose(fp);
	ck_assert_int_eq(ftp_users_load(path, &us, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, ":5: alice again (first on line 2)"));
	ck_assert_uint_eq(us.n, 0);
	fp = fopen(path, "w");
	fputs("alice:x:/a\nbroken\n", fp);
	fclose(fp);
	ck_assert_int_eq(ftp_users_load(path, &us, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, ":2:"));
	unlink(path);
	rmdir(dir);
	ck_assert_int_eq(ftp_users_load(path, &us, err, sizeof(err)), -1);
}
END_TEST

/* What the daemon reads is bounded: only a regular file, only so big. */
START_TEST(test_load_bounds)
{
	char dir[] = "/tmp/test_ftp_users.XXXXXX", path[64], err[256];
	char line[128];
	struct ftp_users us;
	size_t written = 0;
	FILE *fp;
	int n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	/* No writer: without O_NONBLOCK this would wait for ever. */
	ck_assert_int_eq(ftp_users_load(path, &us, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
	unlink(path);
	ck_assert_int_eq(ftp_users_load(dir, &us, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
	/* One comment line past FTP_USERS_FILE_MAX bytes: refused whole. */
	snprintf(path, sizeof(path), "%s/big", dir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("alice:x:/a\n", fp);
	n = snprintf(line, sizeof(line), "# %0100d\n", 0);
	while (written <= FTP_USERS_FILE_MAX) {
		fputs(line, fp);
		written += (size_t)n;
	}
	fclose(fp);
	ck_assert_int_eq(ftp_users_load(path, &us, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "larger than"));
	ck_assert_uint_eq(us.n, 0);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* A shared table lives until its last reference goes (ASan checks it). */
START_TEST(test_shared)
{
	char dir[] = "/tmp/test_ftp_users.XXXXXX", path[64], err[256];
	struct ftp_users *us, *held;
	const struct ftp_user *u;
	FILE *fp;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/users", dir);
	ck_assert_ptr_null(ftp_users_open(path, err, sizeof(err)));
	ck_assert_int_eq(errno, ENOENT);
	fp = fopen(path, "w");
	fputs("alice:x:/a:rw\n", fp);
	fclose(fp);
	us = ftp_users_open(path, err, sizeof(err));
	ck_assert_ptr_nonnull(us);
	ck_assert_uint_eq(us->refs, 1);
	held = ftp_users_ref(us);
	u = ftp_users_find(held, "alice");
	ck_assert_ptr_nonnull(u);
	ftp_users_unref(us);		/* a reload replaced it */
	ck_assert_str_eq(u->home, "/a");	/* still there for the holder */
	ftp_users_unref(held);
	us = ftp_users_new();
	ck_assert_ptr_nonnull(us);
	ck_assert_uint_eq(us->n, 0);
	ck_assert_ptr_null(ftp_users_find(us, "alice"));
	ftp_users_unref(us);
	ftp_users_unref(NULL);
	unlink(path);
	rmdir(dir);
}
END_TEST

static Suite *
ftp_users_suite(void)
{
	Suite *s = suite_create("ftp_users");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	/* A password hashed and checked four times (yescrypt, 20-50 ms each). */
	tcase_budget(core, 10);
	tcase_add_test(core, test_parse_line);
	tcase_add_test(core, test_hash_and_check);
	tcase_add_test(core, test_save_load);
	tcase_add_test(core, test_shared);
	tcase_add_test(limits, test_parse_bad);
	tcase_add_test(limits, test_load_bounds);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ftp_users_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
