/* SPDX-License-Identifier: ISC */
/*
 * FTP commands.  Every command line is parsed here and nowhere else:
 * Telnet controls are dropped, the verb is upper-cased and split from its
 * argument at the first space, and looked up in one sorted table whose
 * flags say what each command needs (a login, an argument, the right to
 * write).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ftp_cmd.h"

#define TELNET_IAC	255
#define TELNET_SE	240	/* the lowest Telnet command */
#define TELNET_WILL	251	/* WILL, WONT, DO, DONT take an option byte */
#define TELNET_DONT	254

#define L	FTP_CMD_LOGIN
#define A	FTP_CMD_ARG
#define X	FTP_CMD_XFER
#define W	FTP_CMD_WRITE
#define N	FTP_CMD_NOIMPL

/* Sorted by verb: ftp_cmd_lookup() searches it with bsearch(3). */
static const struct ftp_cmd ftp_cmds[] = {
	{ "ABOR", FTP_V_ABOR, L | X,		"" },
	{ "ACCT", FTP_V_ACCT, A,		"<account>" },
	{ "ALLO", FTP_V_ALLO, L | A,		"<size>" },
	{ "APPE", FTP_V_APPE, L | A | W,	"<path>" },
	{ "AUTH", FTP_V_AUTH, A,		"TLS" },
	{ "CCC",  FTP_V_CCC,  0,		"" },
	{ "CDUP", FTP_V_CDUP, L,		"" },
	{ "CWD",  FTP_V_CWD,  L | A,		"<path>" },
	{ "DELE", FTP_V_DELE, L | A | W,	"<path>" },
	{ "EPRT", FTP_V_EPRT, L | A,		"|<af>|<addr>|<port>|" },
	{ "EPSV", FTP_V_EPSV, L,		"[1|2|ALL]" },
	{ "FEAT", FTP_V_FEAT, 0,		"" },
	{ "HELP", FTP_V_HELP, X,		"[<verb>]" },
	{ "LIST", FTP_V_LIST, L,		"[<path>]" },
	{ "MDTM", FTP_V_MDTM, L | A,		"<path>" },
	{ "MKD",  FTP_V_MKD,  L | A | W,	"<path>" },
	{ "MLSD", FTP_V_MLSD, L,		"[<path>]" },
	{ "MLST", FTP_V_MLST, L,		"[<path>]" },
	{ "MODE", FTP_V_MODE, L | A,		"S" },
	{ "NLST", FTP_V_NLST, L,		"[<path>]" },
	{ "NOOP", FTP_V_NOOP, X,		"" },
	{ "OPTS", FTP_V_OPTS, A,		"<command> [<options>]" },
	{ "PASS", FTP_V_PASS, 0,		"<password>" },
	{ "PASV", FTP_V_PASV, L,		"" },
	{ "PBSZ", FTP_V_PBSZ, A,		"0" },
	{ "PORT", FTP_V_PORT, L | A,		"<h1,h2,h3,h4,p1,p2>" },
	{ "PROT", FTP_V_PROT, A,		"C|P" },
	{ "PWD",  FTP_V_PWD,  L,		"" },
	{ "QUIT", FTP_V_QUIT, X,		"" },
	{ "REIN", FTP_V_REIN, N,		"" },
	{ "REST", FTP_V_REST, L | A,		"<offset>" },
	{ "RETR", FTP_V_RETR, L | A,		"<path>" },
	{ "RMD",  FTP_V_RMD,  L | A | W,	"<path>" },
	{ "RNFR", FTP_V_RNFR, L | A | W,	"<path>" },
	{ "RNTO", FTP_V_RNTO, L | A | W,	"<path>" },
	{ "SITE", FTP_V_SITE, L | A,		"<command>" },
	{ "SIZE", FTP_V_SIZE, L | A,		"<path>" },
	{ "SMNT", FTP_V_SMNT, L | A | N,	"<path>" },
	{ "STAT", FTP_V_STAT, L | X,		"[<path>]" },
	{ "STOR", FTP_V_STOR, L | A | W,	"<path>" },
	{ "STOU", FTP_V_STOU, L | W,		"" },
	{ "STRU", FTP_V_STRU, L | A,		"F" },
	{ "SYST", FTP_V_SYST, 0,		"" },
	{ "TYPE", FTP_V_TYPE, L | A,		"A|I" },
	{ "USER", FTP_V_USER, A,		"<name>" },
	/* RFC 775's X-forms, still sent by some old clients. */
	{ "XCUP", FTP_V_CDUP, L,		"" },
	{ "XCWD", FTP_V_CWD,  L | A,		"<path>" },
	{ "XMKD", FTP_V_MKD,  L | A | W,	"<path>" },
	{ "XPWD", FTP_V_PWD,  L,		"" },
	{ "XRMD", FTP_V_RMD,  L | A | W,	"<path>" },
};

#undef L
#undef A
#undef X
#undef W
#undef N

static int	ftp_cmd_compare(const void *, const void *);

static int
ftp_cmd_compare(const void *key, const void *elem)
{
	return strcmp(key, ((const struct ftp_cmd *)elem)->verb);
}

/* The table entry of an upper-case verb, or NULL. */
const struct ftp_cmd *
ftp_cmd_lookup(const char *verb)
{
	return bsearch(verb, ftp_cmds, sizeof(ftp_cmds) / sizeof(ftp_cmds[0]),
	    sizeof(ftp_cmds[0]), ftp_cmd_compare);
}

const struct ftp_cmd *
ftp_cmd_table(size_t *n)
{
	*n = sizeof(ftp_cmds) / sizeof(ftp_cmds[0]);
	return ftp_cmds;
}

/* The main entry of a command (not its X-form alias). */
const struct ftp_cmd *
ftp_cmd_by_id(enum ftp_verb id)
{
	size_t i;

	for (i = 0; i < sizeof(ftp_cmds) / sizeof(ftp_cmds[0]); i++)
		if (ftp_cmds[i].id == id)
			return &ftp_cmds[i];
	return NULL;
}

/*
 * Splits one command line (CR LF already gone; len bytes, may hold NULs)
 * in place: *verbp gets the upper-cased verb, *argp the text after the
 * first space (NULL when there is none or it is empty).  Telnet commands
 * (IAC x, IAC WILL/WONT/DO/DONT opt) are dropped, IAC IAC is one 0xff
 * byte, as RFC 959 asks; clients send IAC IP before ABOR.
 */
enum ftp_parse
ftp_cmd_parse(char *line, size_t len, char **verbp, char **argp)
{
	unsigned char *p = (unsigned char *)line;
	size_t i, o, vlen;
	char *sp;

	*verbp = NULL;
	*argp = NULL;
	for (i = 0, o = 0; i < len; i++) {
		if (p[i] == '\0')
			return FTP_PARSE_NUL;
		if (p[i] != TELNET_IAC) {
			p[o++] = p[i];
			continue;
		}
		if (i + 1 >= len)
			break;
		if (p[i + 1] == TELNET_IAC) {
			p[o++] = TELNET_IAC;
			i++;
		} else if (p[i + 1] >= TELNET_WILL && p[i + 1] <= TELNET_DONT)
			i += 2;
		else if (p[i + 1] >= TELNET_SE)
			i++;
		/* IAC before a plain byte (its DM went urgent): drop IAC. */
	}
	p[o] = '\0';
	/* Leading blanks and stray control bytes (a lone Telnet DM). */
	while (*line != '\0' && (*line == ' ' || (unsigned char)*line >= 0x80 ||
	    (unsigned char)*line < 0x20))
		line++;
	if (*line == '\0')
		return FTP_PARSE_EMPTY;
	sp = strchr(line, ' ');
	vlen = sp != NULL ? (size_t)(sp - line) : strlen(line);
	if (vlen == 0 || vlen > FTP_VERB_MAX)
		return FTP_PARSE_BADVERB;
	for (i = 0; i < vlen; i++) {
		if (line[i] >= 'a' && line[i] <= 'z')
			line[i] = (char)(line[i] - 'a' + 'A');
		else if (line[i] < 'A' || line[i] > 'Z')
			return FTP_PARSE_BADVERB;
	}
	if (sp != NULL) {
		*sp = '\0';
		if (sp[1] != '\0')
			*argp = sp + 1;
	}
	*verbp = line;
	return FTP_PARSE_OK;
}
