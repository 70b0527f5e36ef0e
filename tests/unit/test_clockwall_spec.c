/* SPDX-License-Identifier: ISC */
/* Unit tests for clockwall's parsers: arguments, zones, .env files, text. */
#include <sys/stat.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "spec.h"
#include "text.h"

static char err[512];

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_parse_good)
{
	struct spec sp;

	ck_assert_int_eq(spec_parse("Tokyo=localhost:8010", &sp, 0, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(sp.name, "Tokyo");
	ck_assert_str_eq(sp.host, "localhost");
	ck_assert_str_eq(sp.port, "8010");
	ck_assert_int_eq(spec_parse("New York=127.0.0.1:1", &sp, 0, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(sp.name, "New York");
	ck_assert_str_eq(sp.host, "127.0.0.1");
	ck_assert_int_eq(spec_parse("v6=[::1]:65535", &sp, 0, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(sp.host, "::1");
	ck_assert_str_eq(sp.port, "65535");
	/* An empty host is this host, as Go's net.Dial has it. */
	ck_assert_int_eq(spec_parse("Here=:8030", &sp, 0, err, sizeof(err)),
	    0);
	ck_assert_str_eq(sp.host, "localhost");
	ck_assert_int_eq(spec_parse("a_b=my-host.example.org:9", &sp, 0, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(sp.host, "my-host.example.org");
}
END_TEST

START_TEST(test_parse_utf8_name)
{
	struct spec sp;

	ck_assert_int_eq(spec_parse("Z\xc3\xbcrich=localhost:1", &sp, 1, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(sp.name, "Z\xc3\xbcrich");
	/* Not in a UTF-8 locale, or not UTF-8 at all: refused. */
	ck_assert_int_eq(spec_parse("Z\xc3\xbcrich=localhost:1", &sp, 0, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(spec_parse("Z\xfcrich=localhost:1", &sp, 1, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(spec_parse("bell\a=localhost:1", &sp, 1, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(spec_parse("esc\033[2J=localhost:1", &sp, 1, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "unprintable"));
}
END_TEST

START_TEST(test_parse_bad)
{
	static const struct {
		const char *arg, *says;
	} bad[] = {
		{ "Tokyo", "not NAME=HOST:PORT" },
		{ "Tokyo=", "no HOST:PORT" },
		{ "=localhost:8010", "no name" },
		{ "Tokyo=localhost", "no port" },
		{ "Tokyo=localhost:", "no port" },
		{ "Tokyo=[::1]", "no port" },
		{ "Tokyo=localhost:0", "bad port" },
		{ "Tokyo=localhost:65536", "bad port" },
		{ "Tokyo=localhost:80a", "bad port" },
		{ "Tokyo=localhost:-1", "bad port" },
		{ "Tokyo=localhost:http", "bad port" },
		{ "Tokyo=::1:8010", "brackets" },
		{ "Tokyo=[nothost]:8010", "bad host" },
		{ "Tokyo=a b:8010", "bad host" },
		{ "Tokyo=-a:8010", "bad host" },
		{ "Tokyo=a..b:8010", "bad host" },
		{ "Tokyo=.a:8010", "bad host" },
	};
	struct spec sp;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(spec_parse(bad[i].arg, &sp, 0, err,
		    sizeof(err)) == -1, "'%s' accepted", bad[i].arg);
		ck_assert_msg(strstr(err, bad[i].says) != NULL,
		    "'%s': '%s' does not say '%s'", bad[i].arg, err,
		    bad[i].says);
	}
}
END_TEST

START_TEST(test_parse_limits)
{
	struct spec sp;
	char arg[2048];

	memset(arg, 'n', SPEC_NAME_MAX - 1);
	strcpy(arg + SPEC_NAME_MAX - 1, "=localhost:1");
	ck_assert_int_eq(spec_parse(arg, &sp, 0, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(sp.name), SPEC_NAME_MAX - 1);
	memset(arg, 'n', SPEC_NAME_MAX);
	strcpy(arg + SPEC_NAME_MAX, "=localhost:1");
	ck_assert_int_eq(spec_parse(arg, &sp, 0, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer"));

	strcpy(arg, "N=");
	memset(arg + 2, 'h', SPEC_HOST_MAX);
	strcpy(arg + 2 + SPEC_HOST_MAX, ":1");
	ck_assert_int_eq(spec_parse(arg, &sp, 0, err, sizeof(err)), -1);
	strcpy(arg + 2 + SPEC_HOST_MAX - 1, ":1");
	ck_assert_int_eq(spec_parse(arg, &sp, 0, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(sp.host), SPEC_HOST_MAX - 1);
}
END_TEST

START_TEST(test_zone_name)
{
	char name[SPEC_NAME_MAX];

	ck_assert_int_eq(spec_zone_name("Asia/Tokyo", name, sizeof(name), 0),
	    0);
	ck_assert_str_eq(name, "Tokyo");
	spec_zone_name("America/New_York", name, sizeof(name), 0);
	ck_assert_str_eq(name, "New York");
	spec_zone_name("America/Argentina/Buenos_Aires", name, sizeof(name),
	    0);
	ck_assert_str_eq(name, "Buenos Aires");
	spec_zone_name(":Europe/London", name, sizeof(name), 0);
	ck_assert_str_eq(name, "London");
	spec_zone_name(":/usr/share/zoneinfo/Asia/Kolkata", name, sizeof(name),
	    0);
	ck_assert_str_eq(name, "Kolkata");
	spec_zone_name("UTC", name, sizeof(name), 0);
	ck_assert_str_eq(name, "UTC");
	spec_zone_name("JST-9", name, sizeof(name), 0);
	ck_assert_str_eq(name, "JST-9");
	spec_zone_name("Bad/\033[2J", name, sizeof(name), 0);
	ck_assert_str_eq(name, "?[2J");
	ck_assert_int_eq(spec_zone_name("", name, sizeof(name), 0), -1);
	ck_assert_int_eq(spec_zone_name(":", name, sizeof(name), 0), -1);
	ck_assert_int_eq(spec_zone_name("Asia/", name, sizeof(name), 0), -1);
	/* A long zone is cut to the name's size. */
	spec_zone_name("Zone/Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", name, sizeof(name), 0);
	ck_assert_uint_eq(strlen(name), sizeof(name) - 1);
}
END_TEST

START_TEST(test_env_tz)
{
	char tz[64];

	ck_assert_int_eq(spec_env_tz("TZ=Asia/Tokyo\n", tz, sizeof(tz)), 1);
	ck_assert_str_eq(tz, "Asia/Tokyo");
	ck_assert_int_eq(spec_env_tz("TZ=Asia/Tokyo", tz, sizeof(tz)), 1);
	ck_assert_str_eq(tz, "Asia/Tokyo");
	ck_assert_int_eq(spec_env_tz("# zone\n\n  TZ = \"America/New_York\""
	    "  \r\nOTHER=1\n", tz, sizeof(tz)), 1);
	ck_assert_str_eq(tz, "America/New_York");
	ck_assert_int_eq(spec_env_tz("TZ='Europe/London'\n", tz, sizeof(tz)),
	    1);
	ck_assert_str_eq(tz, "Europe/London");
	/* The last assignment wins, as in systemd. */
	ck_assert_int_eq(spec_env_tz("TZ=Asia/Tokyo\nTZ=UTC\n", tz,
	    sizeof(tz)), 1);
	ck_assert_str_eq(tz, "UTC");
	ck_assert_int_eq(spec_env_tz("#TZ=Asia/Tokyo\n;TZ=UTC\nTZX=1\n"
	    "XTZ=2\nTZ\n", tz, sizeof(tz)), 0);
	ck_assert_int_eq(spec_env_tz("", tz, sizeof(tz)), 0);
	ck_assert_int_eq(spec_env_tz("TZ=0123456789012345678901234567890123"
	    "456789012345678901234567890123456789\n", tz, sizeof(tz)), -1);
}
END_TEST

START_TEST(test_config_read)
{
	char dir[] = "/tmp/clockwall-test.XXXXXX", path[1024];
	struct spec specs[4];
	size_t n = 99;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(spec_config_read(dir, specs, 4, &n, 0, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(n, 0);

	write_file(dir, "clock@8030.env", "TZ=Europe/London\n");
	write_file(dir, "clock@8010.env", "TZ=Asia/Tokyo\n");
	write_file(dir, "clock@8020.env", "# New York\nTZ=America/New_York\n");
	write_file(dir, "clock@9000.env", "LANG=C\n");
	write_file(dir, "clock@0.env", "TZ=UTC\n");
	write_file(dir, "clock@70000.env", "TZ=UTC\n");
	write_file(dir, "clock@x.env", "TZ=UTC\n");
	write_file(dir, "clock@8040.env~", "TZ=UTC\n");
	write_file(dir, "reverb.env", "TZ=UTC\n");
	ck_assert_int_eq(spec_config_read(dir, specs, 4, &n, 0, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(specs[0].name, "Tokyo");
	ck_assert_str_eq(specs[0].port, "8010");
	ck_assert_str_eq(specs[0].host, "localhost");
	ck_assert_str_eq(specs[1].name, "New York");
	ck_assert_str_eq(specs[1].port, "8020");
	ck_assert_str_eq(specs[2].name, "London");
	ck_assert_str_eq(specs[2].port, "8030");
	/* No TZ=: the host's zone, named after the unit instance. */
	ck_assert_str_eq(specs[3].name, "clock@9000");
	ck_assert_str_eq(specs[3].port, "9000");

	write_file(dir, "clock@9001.env", "TZ=UTC\n");
	ck_assert_int_eq(spec_config_read(dir, specs, 4, &n, 0, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "more than 4"));

	ck_assert_int_eq(spec_config_read("/nonexistent/clockwork", specs, 4,
	    &n, 0, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/clockwork"));

	/* Clean up. */
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

START_TEST(test_resolve)
{
	struct spec sp;
	struct addrinfo *ai = NULL;

	ck_assert_int_eq(spec_parse("L=127.0.0.1:8010", &sp, 0, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(spec_resolve(&sp, &ai, err, sizeof(err)),
	    SPEC_RESOLVED);
	ck_assert_ptr_nonnull(ai);
	freeaddrinfo(ai);
	ck_assert_int_eq(spec_parse("L=[::1]:8010", &sp, 0, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(spec_resolve(&sp, &ai, err, sizeof(err)),
	    SPEC_RESOLVED);
	freeaddrinfo(ai);
}
END_TEST

START_TEST(test_text_clean)
{
	char out[16];

	ck_assert_uint_eq(text_clean(out, sizeof(out), "12:00:01", 8, 0), 8);
	ck_assert_str_eq(out, "12:00:01");
	text_clean(out, sizeof(out), "\033[2J\a\x7f", 6, 1);
	ck_assert_str_eq(out, "?[2J??");
	text_clean(out, sizeof(out), "a\0b", 3, 0);
	ck_assert_str_eq(out, "a?b");
	/* UTF-8 only when asked, never C1 controls, bad sequences, overlongs. */
	text_clean(out, sizeof(out), "\xc3\xa9t\xc3\xa9", 5, 1);
	ck_assert_str_eq(out, "\xc3\xa9t\xc3\xa9");
	text_clean(out, sizeof(out), "\xc3\xa9", 2, 0);
	ck_assert_str_eq(out, "??");
	text_clean(out, sizeof(out), "\xc2\x9b" "1m", 4, 1);
	ck_assert_str_eq(out, "??1m");
	text_clean(out, sizeof(out), "\xc0\xaf\xe0\x80\xaf", 5, 1);
	ck_assert_str_eq(out, "?????");
	text_clean(out, sizeof(out), "\xed\xa0\x80", 3, 1);
	ck_assert_str_eq(out, "???");
	text_clean(out, sizeof(out), "\xe2\x82", 2, 1);
	ck_assert_str_eq(out, "??");
	/* Cut to the buffer, never inside a character. */
	ck_assert_uint_eq(text_clean(out, 4, "abcdef", 6, 0), 3);
	ck_assert_str_eq(out, "abc");
	ck_assert_uint_eq(text_clean(out, 4, "ab\xc3\xa9", 4, 1), 2);
	ck_assert_str_eq(out, "ab");
	ck_assert_uint_eq(text_clean(out, 1, "abc", 3, 0), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_text_width)
{
	size_t w;

	ck_assert_uint_eq(text_width("Tokyo"), 5);
	ck_assert_uint_eq(text_width("Z\xc3\xbcrich"), 6);
	ck_assert_uint_eq(text_width(""), 0);
	ck_assert_uint_eq(text_fit("Tokyo", 3, &w), 3);
	ck_assert_uint_eq(w, 3);
	ck_assert_uint_eq(text_fit("Tokyo", 10, &w), 5);
	ck_assert_uint_eq(w, 5);
	ck_assert_uint_eq(text_fit("Z\xc3\xbcrich", 2, &w), 3);
	ck_assert_uint_eq(w, 2);
	ck_assert_uint_eq(text_fit("Z\xc3\xbcrich", 1, &w), 1);
	ck_assert_uint_eq(text_fit("abc", 0, &w), 0);
	ck_assert_uint_eq(w, 0);
}
END_TEST

static Suite *
clockwall_spec_suite(void)
{
	Suite *s = suite_create("clockwall_spec");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_test(core, test_parse_good);
	tcase_add_test(core, test_parse_utf8_name);
	tcase_add_test(core, test_parse_bad);
	tcase_add_test(core, test_zone_name);
	tcase_add_test(core, test_env_tz);
	tcase_add_test(core, test_config_read);
	tcase_add_test(core, test_resolve);
	tcase_add_test(core, test_text_clean);
	tcase_add_test(core, test_text_width);
	tcase_add_test(limits, test_parse_limits);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(clockwall_spec_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
