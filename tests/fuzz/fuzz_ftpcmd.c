/* SPDX-License-Identifier: ISC */
/*
 * The FTP command line parser, ftp_cmd_parse(), as the session calls it:
 * on a line from line_read() (NUL-terminated, may hold NULs, Telnet
 * controls anywhere), then ftp_cmd_lookup() on the verb.
 */
#include <string.h>

#include "ftp_cmd.h"
#include "fuzz.h"

static void	fuzz_table(void);

static int fuzz_table_checked;

/* The table must be sorted (bsearch) and every id reachable. */
static void
fuzz_table(void)
{
	const struct ftp_cmd *t;
	size_t n, i;

	t = ftp_cmd_table(&n);
	for (i = 0; i + 1 < n; i++)
		FUZZ_CHECK(strcmp(t[i].verb, t[i + 1].verb) < 0);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(strlen(t[i].verb) <= FTP_VERB_MAX);
		FUZZ_CHECK(ftp_cmd_lookup(t[i].verb) == &t[i]);
		FUZZ_CHECK(ftp_cmd_by_id(t[i].id) != NULL);
		FUZZ_CHECK(ftp_cmd_by_id(t[i].id)->id == t[i].id);
	}
	fuzz_table_checked = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct ftp_cmd *cmd;
	enum ftp_parse r;
	char *line, *verb, *arg;
	size_t i, vlen;

	if (!fuzz_table_checked)
		fuzz_table();
	/* As line_read() leaves it: len bytes and a NUL after them. */
	if ((line = malloc(size + 1)) == NULL)
		abort();
	memcpy(line, data, size);
	line[size] = '\0';
	verb = arg = (char *)1;
	r = ftp_cmd_parse(line, size, &verb, &arg);
	if (r != FTP_PARSE_OK) {
		FUZZ_CHECK(verb == NULL && arg == NULL);
		FUZZ_CHECK(r == FTP_PARSE_EMPTY || r == FTP_PARSE_NUL ||
		    r == FTP_PARSE_BADVERB);
		if (r == FTP_PARSE_NUL)
			FUZZ_CHECK(memchr(data, '\0', size) != NULL);
		free(line);
		return 0;
	}
	FUZZ_CHECK(verb != NULL);
	FUZZ_CHECK(verb >= line && verb <= line + size);
	vlen = strlen(verb);
	FUZZ_CHECK(vlen >= 1 && vlen <= FTP_VERB_MAX);
	for (i = 0; i < vlen; i++)
		FUZZ_CHECK(verb[i] >= 'A' && verb[i] <= 'Z');
	if (arg != NULL) {
		FUZZ_CHECK(arg > verb + vlen && arg <= line + size);
		FUZZ_CHECK(arg[0] != '\0');
		FUZZ_CHECK(arg + strlen(arg) <= line + size);
	}
	if ((cmd = ftp_cmd_lookup(verb)) != NULL) {
		FUZZ_CHECK(strcmp(cmd->verb, verb) == 0);
		FUZZ_CHECK(ftp_cmd_by_id(cmd->id) != NULL);
		FUZZ_CHECK((int)cmd->id >= 0 && cmd->id < FTP_V_COUNT);
	}
	free(line);
	return 0;
}
