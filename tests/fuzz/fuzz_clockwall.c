/* SPDX-License-Identifier: ISC */
/*
 * clockwall's parsers: NAME=HOST:PORT arguments (spec_parse()), the TZ=
 * line of clock@PORT.env files (spec_env_tz()) and the name shown for a
 * zone (spec_zone_name()), and the text cleaning every byte from a clock
 * or a file passes before it reaches the terminal (text_clean(),
 * text_width(), text_fit()): no control byte, escape or C1 control ever
 * comes out, and nothing is written past a buffer.  The text is also
 * read as a configured clock (spec_config_read() on a directory holding
 * it as clock@8010.env), and as a line from a clock whose time gives its
 * offset (offset_line_seconds()).
 *
 * Input: one flag byte (UTF-8 terminal, sizes), then the text.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "log.h"
#include "numparse.h"
#include "offset.h"
#include "spec.h"
#include "text.h"

static void	fuzz_clean_text(const char *, size_t);
static void	fuzz_config(const char *, size_t, int);
static void	fuzz_cleanup(void);

static char fuzz_dir[] = "/tmp/clockwork-fuzz-XXXXXX";
static char fuzz_env[PATH_MAX];
static pid_t fuzz_owner;

static void
fuzz_cleanup(void)
{
	if (getpid() == fuzz_owner) {
		unlink(fuzz_env);
		rmdir(fuzz_dir);
	}
}

/* The text as the one clock configured in a directory. */
static void
fuzz_config(const char *text, size_t len, int utf8)
{
	struct spec specs[2];
	char err[512], tz[SPEC_HOST_MAX], want[SPEC_NAME_MAX];
	size_t n = 0;
	int fd;

	if (fuzz_owner == 0) {
		log_init("fuzz-clockwall", LOG_VERBOSITY_QUIET);
		if (mkdtemp(fuzz_dir) == NULL)
			abort();
		fuzz_owner = getpid();
		atexit(fuzz_cleanup);
		snprintf(fuzz_env, sizeof(fuzz_env), "%s/clock@8010.env",
		    fuzz_dir);
	}
	if ((fd = open(fuzz_env, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1 || write(fd, text, len) != (ssize_t)len ||
	    close(fd) == -1)
		abort();
	FUZZ_CHECK(spec_config_read(fuzz_dir, specs, 2, &n, utf8, err,
	    sizeof(err)) == 0);
	FUZZ_CHECK(n == 1);
	FUZZ_CHECK(strcmp(specs[0].host, "localhost") == 0);
	FUZZ_CHECK(strcmp(specs[0].port, "8010") == 0);
	FUZZ_CHECK(specs[0].name[0] != '\0');
	fuzz_clean_text(specs[0].name, strlen(specs[0].name));
	/* Named after TZ= when the file (up to its first NUL) sets one. */
	if (len < SPEC_ENV_MAX && spec_env_tz(text, tz, sizeof(tz)) == 1 &&
	    spec_zone_name(tz, want, sizeof(want), utf8) == 0)
		FUZZ_CHECK(strcmp(specs[0].name, want) == 0);
	else if (len < SPEC_ENV_MAX)
		FUZZ_CHECK(strcmp(specs[0].name, "clock@8010") == 0);
}

/* Clean text: printable ASCII and, with utf8, no C1 control. */
static void
fuzz_clean_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	FUZZ_CHECK(strlen(s) == len);
	for (i = 0; i < len; i++) {
		FUZZ_CHECK(p[i] >= 0x20 && p[i] != 0x7f);
		/* C1 controls are U+0080-U+009F: 0xc2 0x80-0x9f. */
		if (p[i] == 0xc2 && i + 1 < len)
			FUZZ_CHECK(p[i + 1] >= 0xa0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spec sp;
	unsigned long port;
	char err[512], *text, *out, tz[128], zone[SPEC_NAME_MAX];
	size_t len, cap, n, w, fit, cols;
	int utf8, r;

	if (size < 1)
		return 0;
	utf8 = data[0] & 1;
	cap = (size_t)(data[0] >> 1);
	len = size - 1;
	if ((text = malloc(len + 1)) == NULL)
		abort();
	memcpy(text, data + 1, len);
	text[len] = '\0';

	/* text_clean on the raw bytes (NULs included), any room. */
	if ((out = malloc(cap ? cap : 1)) == NULL)
		abort();
	n = text_clean(out, cap, text, len, utf8);
	if (cap > 0) {
		FUZZ_CHECK(n < cap);
		fuzz_clean_text(out, n);
		w = text_width(out);
		FUZZ_CHECK(w <= n);
		for (cols = 0; cols <= w + 1; cols++) {
			fit = text_fit(out, cols, &n);
			FUZZ_CHECK(n <= cols && n <= w);
			FUZZ_CHECK(fit <= strlen(out));
			/* Cut between characters, never inside one. */
			FUZZ_CHECK(((unsigned char)out[fit] & 0xc0) != 0x80);
		}
	} else
		FUZZ_CHECK(n == 0);
	free(out);

	/* NAME=HOST:PORT as given on the command line. */
	r = spec_parse(text, &sp, utf8, err, sizeof(err));
	if (r == 0) {
		FUZZ_CHECK(memchr(sp.name, '\0', sizeof(sp.name)) != NULL);
		FUZZ_CHECK(memchr(sp.host, '\0', sizeof(sp.host)) != NULL);
		FUZZ_CHECK(memchr(sp.port, '\0', sizeof(sp.port)) != NULL);
		FUZZ_CHECK(sp.name[0] != '\0' && sp.host[0] != '\0');
		fuzz_clean_text(sp.name, strlen(sp.name));
		FUZZ_CHECK(strncmp(text, sp.name, strlen(sp.name)) == 0 &&
		    text[strlen(sp.name)] == '=');
		FUZZ_CHECK(parse_ulong(sp.port, 1, 65535, &port) == 0);
		FUZZ_CHECK(strpbrk(sp.host, "/ \t\r\n=") == NULL);
	} else {
		FUZZ_CHECK(r == -1);
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	}

	/* The text as a clock@PORT.env file. */
	r = spec_env_tz(text, tz, cap < sizeof(tz) ? cap + 1 : sizeof(tz));
	FUZZ_CHECK(r >= -1 && r <= 1);
	if (r == 1) {
		FUZZ_CHECK(strlen(tz) < sizeof(tz));
		FUZZ_CHECK(strchr(tz, '\n') == NULL);
		if (spec_zone_name(tz, zone, sizeof(zone), utf8) == 0) {
			fuzz_clean_text(zone, strlen(zone));
			FUZZ_CHECK(strchr(zone, '/') == NULL);
		}
	}
	if (spec_zone_name(text, zone, cap < sizeof(zone) ? cap :
	    sizeof(zone), utf8) == 0)
		fuzz_clean_text(zone, strlen(zone));

	/* A line from a clock: the second it names, within the period. */
	r = offset_line_seconds(text, len);
	FUZZ_CHECK(r >= -1 && r < OFFSET_PERIOD);
	FUZZ_CHECK(r == -1 || len >= 7);

	fuzz_config(text, len, utf8);

	free(text);
	return 0;
}
