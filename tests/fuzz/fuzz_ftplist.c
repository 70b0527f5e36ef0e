/* SPDX-License-Identifier: ISC */
/*
 * The listing formatters: ftp_list_long() (LIST), ftp_list_facts()
 * (MLSD/MLST) and ftp_list_time() on any name, symlink text and stat
 * fields, into buffers of any size, and ftp_list_facts_parse() /
 * ftp_list_facts_feat() on OPTS MLST arguments.  A line either does not
 * fit (-1) or is exactly its length, ends in CRLF and holds no other CR
 * or LF: a file name must never start a second line.
 *
 * Input: 40 bytes of fields, then name NUL target NUL facts.
 */
#include <sys/stat.h>

#include <string.h>
#include <time.h>

#include "ftp_list.h"
#include "fuzz.h"

#define FIELDS	40

static void	fuzz_line(const char *, int, size_t);
static uint64_t	fuzz_u64(const uint8_t *);

static uint64_t
fuzz_u64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
fuzz_line(const char *buf, int n, size_t cap)
{
	if (n == -1)
		return;
	FUZZ_CHECK(n >= 2 && (size_t)n < cap);
	FUZZ_CHECK(strlen(buf) == (size_t)n);
	FUZZ_CHECK(buf[n - 2] == '\r' && buf[n - 1] == '\n');
	FUZZ_CHECK(strpbrk(buf, "\r\n") == buf + n - 2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *name, *target, *facts, *buf, feat[128], mode[11];
	struct stat st;
	unsigned mask, parsed;
	time_t now;
	size_t cap, tlen, i, stars;
	int n;

	if (size < FIELDS)
		return 0;
	memset(&st, 0, sizeof(st));
	st.st_mode = (mode_t)(data[0] << 8 | data[1]);
	st.st_nlink = (nlink_t)fuzz_u64(data + 2);
	st.st_size = (off_t)fuzz_u64(data + 10);
	/* Times a file system can hold (ext4: 1901 to 2446), and any. */
	st.st_mtime = (time_t)fuzz_u64(data + 18);
	if (data[38] & 1)
		st.st_mtime %= 17179869184LL;
	st.st_ino = (ino_t)fuzz_u64(data + 26);
	st.st_dev = (dev_t)(data[34] << 8 | data[35]);
	cap = data[36] & 0x80 ? FTP_LIST_LINE_MAX : (size_t)data[36];
	mask = data[37];
	now = 1700000000 + (time_t)(data[39] << 16);

	if ((text = malloc(size - FIELDS + 3)) == NULL)
		abort();
	memcpy(text, data + FIELDS, size - FIELDS);
	text[size - FIELDS] = text[size - FIELDS + 1] =
	    text[size - FIELDS + 2] = '\0';
	name = text;
	tlen = strlen(name);
	target = name + tlen + 1;
	facts = target + strlen(target) + 1;
	if ((size_t)(facts - text) > size - FIELDS + 2)
		facts = text + size - FIELDS + 2;
	if ((buf = malloc(cap ? cap : 1)) == NULL)
		abort();

	ftp_list_mode(st.st_mode, mode);
	FUZZ_CHECK(strlen(mode) == 10);
	n = ftp_list_long(buf, cap, name, &st, data[38] & 2 ? target : NULL,
	    now);
	fuzz_line(buf, n, cap);
	if (n != -1)
		FUZZ_CHECK(strncmp(buf, mode, 10) == 0);
	else if (data[38] & 1)
		FUZZ_CHECK(cap < FTP_LIST_LINE_MAX || tlen + strlen(target) >
		    4000);
	n = ftp_list_facts(buf, cap, name, &st, data[38] & 4 ? "adfr" : NULL,
	    mask, data[38] & 8 ? "cdir" : NULL);
	fuzz_line(buf, n, cap);
	if (n != -1 && cap == FTP_LIST_LINE_MAX)
		FUZZ_CHECK(strstr(buf, "; ") != NULL || buf[0] == ' ');
	n = ftp_list_time(buf, cap, st.st_mtime);
	if (n != -1) {
		FUZZ_CHECK((size_t)n < cap && strlen(buf) == (size_t)n);
		FUZZ_CHECK(strspn(buf, "-0123456789") == (size_t)n);
	}

	FUZZ_CHECK(ftp_list_facts_parse(facts, &parsed) == 0);
	FUZZ_CHECK((parsed & ~FTP_FACT_ALL) == 0);
	n = ftp_list_facts_feat(feat, sizeof(feat), parsed);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(feat));
	/* One star per fact chosen. */
	for (i = 0, stars = 0; feat[i] != '\0'; i++)
		stars += feat[i] == '*';
	FUZZ_CHECK(stars == (size_t)__builtin_popcount(parsed));

	free(buf);
	free(text);
	return 0;
}
