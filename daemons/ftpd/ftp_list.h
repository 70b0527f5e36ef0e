/* SPDX-License-Identifier: ISC */
/* Directory listings: LIST (ls -l), NLST (names), MLSD/MLST (facts). */
#ifndef CLOCKWORK_FTP_LIST_H
#define CLOCKWORK_FTP_LIST_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stddef.h>
#include <time.h>

struct evbuffer;
struct ftp_listing;

enum ftp_list_style {
	FTP_LIST_LONG,		/* LIST, STAT PATH: ls -l lines */
	FTP_LIST_NAMES,		/* NLST: one name a line */
	FTP_LIST_FACTS,		/* MLSD, MLST: RFC 3659 facts */
};

/* RFC 3659 facts, as chosen with OPTS MLST. */
#define FTP_FACT_TYPE		0x01
#define FTP_FACT_SIZE		0x02
#define FTP_FACT_MODIFY		0x04
#define FTP_FACT_PERM		0x08
#define FTP_FACT_UNIQUE		0x10
#define FTP_FACT_UNIX_MODE	0x20
#define FTP_FACT_ALL		0x3f
#define FTP_FACT_DEFAULT	0x1f

#define FTP_LIST_LINE_MAX	(4096 + 512)	/* one formatted line */
#define FTP_LIST_BATCH		2048	/* names read at a time; sorted if all */
#define FTP_LIST_EXAMINE	8192	/* entries looked at per call at most */

void	ftp_list_mode(mode_t, char *);
int	ftp_list_long(char *, size_t, const char *, const struct stat *,
	    const char *, time_t);
int	ftp_list_facts(char *, size_t, const char *, const struct stat *,
	    const char *, unsigned, const char *);
int	ftp_list_time(char *, size_t, time_t);
int	ftp_list_facts_parse(const char *, unsigned *);
int	ftp_list_facts_feat(char *, size_t, unsigned);
char	*ftp_list_skip_options(char *);

struct ftp_listing *ftp_listing_open(int, const char *, const char *,
	    enum ftp_list_style, unsigned, int);
int	ftp_listing_fill(struct ftp_listing *, struct evbuffer *, size_t);
void	ftp_listing_free(struct ftp_listing *);

#endif
