/*
 * clockwall's parsers: NAME=HOST:PORT arguments (spec_parse()), the TZ=
 * line of clock@PORT.env files (spec_env_tz()) and the name shown for a
 * zone (spec_zone_name()), and the text cleaning every byte from a clock
 * or a file passes before it reaches the terminal (text_clean(),
 * text_width(), text_fit()): no control byte, escape or C1 control ever
 * comes out, and nothing is written past a buffer.
 *
 * Input: one flag byte (UTF-8 terminal, sizes), then the text.
 */
#include <string.h>

#include "fuzz.h"
#include "numparse.h"
#include "spec.h"
#include "text.h"

static void	fuzz_clean_text(const char *, size_t);

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

	free(text);
	return 0;
}
