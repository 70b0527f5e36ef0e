/* SPDX-License-Identifier: ISC */
/* FTP commands: the verb table and the command-line parser. */
#ifndef CLOCKWORK_FTP_CMD_H
#define CLOCKWORK_FTP_CMD_H

#include <stddef.h>

enum ftp_verb {
	FTP_V_ABOR, FTP_V_ACCT, FTP_V_ALLO, FTP_V_APPE, FTP_V_AUTH,
	FTP_V_CCC,
	FTP_V_CDUP, FTP_V_CWD, FTP_V_DELE, FTP_V_EPRT, FTP_V_EPSV,
	FTP_V_FEAT, FTP_V_HELP, FTP_V_LIST, FTP_V_MDTM, FTP_V_MKD,
	FTP_V_MLSD, FTP_V_MLST, FTP_V_MODE, FTP_V_NLST, FTP_V_NOOP,
	FTP_V_OPTS, FTP_V_PASS, FTP_V_PASV, FTP_V_PBSZ, FTP_V_PORT,
	FTP_V_PROT, FTP_V_PWD, FTP_V_QUIT, FTP_V_REIN, FTP_V_REST,
	FTP_V_RETR, FTP_V_RMD, FTP_V_RNFR, FTP_V_RNTO, FTP_V_SITE,
	FTP_V_SIZE, FTP_V_SMNT, FTP_V_STAT, FTP_V_STOR, FTP_V_STOU,
	FTP_V_STRU, FTP_V_SYST, FTP_V_TYPE, FTP_V_USER,
	FTP_V_COUNT
};

#define FTP_CMD_LOGIN	0x01	/* only once logged in (else 530) */
#define FTP_CMD_ARG	0x02	/* needs an argument (else 501) */
#define FTP_CMD_XFER	0x04	/* handled at once while a transfer runs */
#define FTP_CMD_WRITE	0x08	/* changes files: only sessions that may write */
#define FTP_CMD_NOIMPL	0x10	/* known but not implemented (502) */

#define FTP_VERB_MAX	4	/* longest verb */

struct ftp_cmd {
	const char	*verb;
	enum ftp_verb	 id;
	int		 flags;
	const char	*help;		/* argument syntax, for HELP */
};

enum ftp_parse {
	FTP_PARSE_OK,
	FTP_PARSE_EMPTY,	/* nothing but Telnet controls or spaces */
	FTP_PARSE_NUL,		/* a NUL byte in the line */
	FTP_PARSE_BADVERB,	/* not 1-4 letters before the space */
};

enum ftp_parse	 ftp_cmd_parse(char *, size_t, char **, char **);
const struct ftp_cmd *ftp_cmd_lookup(const char *);
const struct ftp_cmd *ftp_cmd_table(size_t *);
const struct ftp_cmd *ftp_cmd_by_id(enum ftp_verb);

#endif
