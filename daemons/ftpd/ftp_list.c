/* SPDX-License-Identifier: ISC */
/*
 * Listings.  One line per file in the layout clients parse: `ls -l` for
 * LIST, bare names for NLST, RFC 3659 facts for MLSD and MLST.  Opening a
 * listing opens the directory and reads nothing; its names are read a
 * batch at a time (at most FTP_LIST_BATCH, looking at no more than
 * FTP_LIST_EXAMINE entries a call) and formatted as the caller asks for
 * more, so neither a big directory nor a listing nobody fetches sits in
 * memory, and no call does unbounded work.  A directory that fits in
 * one batch is sorted; a bigger one comes in directory order.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "ftp_list.h"
#include "ftp_path.h"

#define FTP_LIST_SIX_MONTHS	(182L * 24 * 3600)

struct ftp_listing {
	int			 rootfd;
	int			 dirfd;		/* -1: a single file */
	DIR			*dir;		/* read from the first fill */
	enum ftp_list_style	 style;
	unsigned		 facts;
	int			 may_write;
	char			 vdir[FTP_PATH_MAX + 1]; /* virtual dir listed */
	char			*prefix;	/* NLST: shown before names */
	char			*pat;		/* a glob the names must match */
	char			**names;	/* the batch being formatted */
	size_t			 nnames;
	size_t			 next;
	int			 batches;	/* read so far */
	int			 read_all;	/* no more names to read */
	struct stat		 single;	/* the file, when not a dir */
};

static const char *ftp_list_months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static const struct {
	const char	*name;
	unsigned	 bit;
} ftp_list_factnames[] = {
	{ "type",	FTP_FACT_TYPE },
	{ "size",	FTP_FACT_SIZE },
	{ "modify",	FTP_FACT_MODIFY },
	{ "perm",	FTP_FACT_PERM },
	{ "unique",	FTP_FACT_UNIQUE },
	{ "UNIX.mode",	FTP_FACT_UNIX_MODE },
};
#define FTP_LIST_NFACTS	(sizeof(ftp_list_factnames) / sizeof(ftp_list_factnames[0]))

static int	ftp_list_cmp(const void *, const void *);
static int	ftp_list_read_batch(struct ftp_listing *);
static void	ftp_list_drop_batch(struct ftp_listing *);
static int	ftp_list_entry(struct ftp_listing *, const char *, char *,
		    size_t);
static void	ftp_list_clean(char *);
static int	ftp_list_has_glob(const char *);

/* The ten-character mode field of ls -l ("drwxr-xr-x") into buf[11]. */
void
ftp_list_mode(mode_t m, char *buf)
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	if (S_ISDIR(m))
		buf[0] = 'd';
	else if (S_ISLNK(m))
		buf[0] = 'l';
	else if (S_ISCHR(m))
		buf[0] = 'c';
	else if (S_ISBLK(m))
		buf[0] = 'b';
	else if (S_ISFIFO(m))
		buf[0] = 'p';
	else if (S_ISSOCK(m))
		buf[0] = 's';
	else
		buf[0] = '-';
	for (i = 0; i < 9; i++)
		buf[1 + i] = (m & (1U << (8 - i))) ? rwx[i] : '-';
	if (m & S_ISUID)
		buf[3] = (m & S_IXUSR) ? 's' : 'S';
	if (m & S_ISGID)
		buf[6] = (m & S_IXGRP) ? 's' : 'S';
	if (m & S_ISVTX)
		buf[9] = (m & S_IXOTH) ? 't' : 'T';
	buf[10] = '\0';
}

/* Names go out one a line: CR or LF in a name must not start another. */
static void
ftp_list_clean(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\r' || *s == '\n')
			*s = '?';
}

/*
 * One ls -l line, CRLF-terminated: owner and group are shown as "ftp"
 * (ids say nothing useful to a client), the time as "Mon dd HH:MM" within
 * six months of now, "Mon dd  YYYY" otherwise.  target, when not NULL, is
 * a symlink's text.  Returns the length, -1 when it does not fit.
 */
int
ftp_list_long(char *buf, size_t cap, const char *name, const struct stat *st,
    const char *target, time_t now)
{
	char mode[11], when[16];
	struct tm tm;
	time_t t = st->st_mtime;
	int n;

	ftp_list_mode(st->st_mode, mode);
	if (localtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	if (t > now + 3600 || t < now - FTP_LIST_SIX_MONTHS)
		n = snprintf(when, sizeof(when), "%s %2d  %4lld",
		    ftp_list_months[tm.tm_mon % 12], tm.tm_mday,
		    (long long)tm.tm_year + 1900);
	else
		n = snprintf(when, sizeof(when), "%s %2d %02d:%02d",
		    ftp_list_months[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour,
		    tm.tm_min);
	if (n < 0 || (size_t)n >= sizeof(when))
		return -1;
	n = snprintf(buf, cap, "%s %4lu ftp      ftp      %12lld %s %s%s%s\r\n",
	    mode, (unsigned long)st->st_nlink, (long long)st->st_size, when,
	    name, target != NULL ? " -> " : "", target != NULL ? target : "");
	if (n < 0 || (size_t)n >= cap)
		return -1;
	ftp_list_clean(buf);
	buf[n - 2] = '\r';
	buf[n - 1] = '\n';
	return n;
}

/* RFC 3659 time-val (UTC, YYYYMMDDHHMMSS), as MDTM and modify= use. */
int
ftp_list_time(char *buf, size_t cap, time_t t)
{
	struct tm tm;
	int n;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	n = snprintf(buf, cap, "%04lld%02d%02d%02d%02d%02d",
	    (long long)tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}

/*
 * One MLSD/MLST line: "fact=value;...; name\r\n" with the facts in mask;
 * perm is the perm= value (what this session may do).
 */
int
ftp_list_facts(char *buf, size_t cap, const char *name, const struct stat *st,
    const char *perm, unsigned mask, const char *type)
{
	char when[32];
	size_t len = 0;
	int n;

#define FACT(...) do {							\
	n = snprintf(buf + len, cap - len, __VA_ARGS__);		\
	if (n < 0 || (size_t)n >= cap - len)				\
		return -1;						\
	len += (size_t)n;						\
} while (0)
	if (cap == 0)
		return -1;
	buf[0] = '\0';
	if (mask & FTP_FACT_TYPE)
		FACT("type=%s;", type != NULL ? type :
		    S_ISDIR(st->st_mode) ? "dir" :
		    S_ISREG(st->st_mode) ? "file" : "OS.unix=special");
	if ((mask & FTP_FACT_SIZE) && !S_ISDIR(st->st_mode))
		FACT("size=%lld;", (long long)st->st_size);
	if ((mask & FTP_FACT_MODIFY) &&
	    ftp_list_time(when, sizeof(when), st->st_mtime) > 0)
		FACT("modify=%s;", when);
	if ((mask & FTP_FACT_PERM) && perm != NULL)
		FACT("perm=%s;", perm);
	if (mask & FTP_FACT_UNIQUE)
		FACT("unique=%llxU%llx;", (unsigned long long)st->st_dev,
		    (unsigned long long)st->st_ino);
	if (mask & FTP_FACT_UNIX_MODE)
		FACT("UNIX.mode=0%03o;", (unsigned)(st->st_mode & 07777));
	FACT(" %s\r\n", name);
#undef FACT
	ftp_list_clean(buf);
	buf[len - 2] = '\r';
	buf[len - 1] = '\n';
	return (int)len;
}

/*
 * OPTS MLST's argument ("type;size;" or empty) into a mask; unknown facts
 * are ignored, as RFC 3659 asks.
 */
int
ftp_list_facts_parse(const char *s, unsigned *mask)
{
	const char *end;
	size_t i, len;

	*mask = 0;
	for (; s != NULL && *s != '\0'; s = *end != '\0' ? end + 1 : end) {
		if ((end = strchr(s, ';')) == NULL)
			end = s + strlen(s);
		len = (size_t)(end - s);
		for (i = 0; i < FTP_LIST_NFACTS; i++)
			if (strlen(ftp_list_factnames[i].name) == len &&
			    strncasecmp(ftp_list_factnames[i].name, s, len) == 0)
				*mask |= ftp_list_factnames[i].bit;
	}
	return 0;
}

/* The facts as FEAT and OPTS MLST show them: "type*;size*;UNIX.mode;". */
int
ftp_list_facts_feat(char *buf, size_t cap, unsigned mask)
{
	size_t i, len = 0;
	int n;

	if (cap == 0)
		return -1;
	buf[0] = '\0';
	for (i = 0; i < FTP_LIST_NFACTS; i++) {
		n = snprintf(buf + len, cap - len, "%s%s;",
		    ftp_list_factnames[i].name,
		    (mask & ftp_list_factnames[i].bit) ? "*" : "");
		if (n < 0 || (size_t)n >= cap - len)
			return -1;
		len += (size_t)n;
	}
	return (int)len;
}

static int
ftp_list_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Skips ls options before a path ("-a", "-la /pub"), which clients send
 * with LIST and STAT.  NULL when nothing is left after them.
 */
char *
ftp_list_skip_options(char *arg)
{
	while (arg != NULL && arg[0] == '-') {
		arg += strcspn(arg, " ");
		arg += strspn(arg, " ");
		if (*arg == '\0')
			arg = NULL;
	}
	return arg;
}

static int
ftp_list_has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Frees the names of the batch formatted. */
static void
ftp_list_drop_batch(struct ftp_listing *l)
{
	size_t i;

	for (i = 0; i < l->nnames; i++)
		free(l->names[i]);
	l->nnames = 0;
	l->next = 0;
}

/*
 * Reads the next batch of names (those matching the glob, if any): at
 * most FTP_LIST_BATCH of them, looking at no more than FTP_LIST_EXAMINE
 * entries, so one call is bounded whatever the directory.  The first
 * batch is sorted if it is the whole directory.  -1: errno.
 */
static int
ftp_list_read_batch(struct ftp_listing *l)
{
	struct dirent *de;
	size_t seen = 0;
	int fd;

	ftp_list_drop_batch(l);
	if (l->names == NULL &&
	    (l->names = calloc(FTP_LIST_BATCH, sizeof(*l->names))) == NULL)
		return -1;
	if (l->dir == NULL) {
		if ((fd = dup(l->dirfd)) == -1)
			return -1;
		if ((l->dir = fdopendir(fd)) == NULL) {
			close(fd);
			return -1;
		}
	}
	while (l->nnames < FTP_LIST_BATCH && seen < FTP_LIST_EXAMINE) {
		errno = 0;
		if ((de = readdir(l->dir)) == NULL) {
			if (errno != 0)
				return -1;
			l->read_all = 1;
			break;
		}
		seen++;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (l->pat != NULL &&
		    fnmatch(l->pat, de->d_name, FNM_PERIOD) != 0)
			continue;
		if ((l->names[l->nnames] = strdup(de->d_name)) == NULL)
			return -1;
		l->nnames++;
	}
	if (l->batches++ == 0 && l->read_all && l->nnames > 1)
		qsort(l->names, l->nnames, sizeof(*l->names), ftp_list_cmp);
	return 0;
}

/*
 * Prepares a listing of the virtual path vpath (a directory, a file, or
 * a directory and a glob pattern as its last component).  shown is the
 * argument the client gave (NLST prefixes it to names), may be NULL.
 * Returns NULL with errno set (ENOENT, EACCES, ...).
 */
struct ftp_listing *
ftp_listing_open(int rootfd, const char *vpath, const char *shown,
    enum ftp_list_style style, unsigned facts, int may_write)
{
	struct ftp_listing *l;
	char dir[FTP_PATH_MAX + 1];
	const char *pat = NULL, *slash;
	int saved, fd;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->rootfd = rootfd;
	l->dirfd = -1;
	l->style = style;
	l->facts = facts;
	l->may_write = may_write;
	if (strlen(vpath) >= sizeof(l->vdir)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	strcpy(l->vdir, vpath);
	fd = ftp_path_open(rootfd, vpath, O_RDONLY | O_DIRECTORY, 0);
	if (fd == -1 && errno == ENOENT && ftp_path_split(vpath, dir,
	    sizeof(dir), &pat) == 0 && ftp_list_has_glob(pat)) {
		/* "NLST *.txt": the parent, filtered. */
		strcpy(l->vdir, dir);
		fd = ftp_path_open(rootfd, dir, O_RDONLY | O_DIRECTORY, 0);
		if (shown != NULL && (slash = strrchr(shown, '/')) != NULL) {
			if ((l->prefix = strndup(shown,
			    (size_t)(slash - shown) + 1)) == NULL)
				goto fail;
		}
	} else {
		pat = NULL;
		if (fd != -1 && style == FTP_LIST_NAMES && shown != NULL &&
		    *shown != '\0' && strcmp(shown, ".") != 0) {
			/* "NLST dir" gives "dir/name", for mget. */
			if (asprintf(&l->prefix, "%s%s", shown,
			    shown[strlen(shown) - 1] == '/' ? "" : "/") == -1) {
				l->prefix = NULL;
				goto fail;
			}
		}
	}
	if (fd == -1 && errno == ENOTDIR) {
		/* A single file: one line, named as the client named it. */
		if (ftp_path_stat(rootfd, vpath, &l->single) == -1)
			goto fail;
		if ((l->names = calloc(1, sizeof(*l->names))) == NULL)
			goto fail;
		slash = strrchr(vpath, '/');
		l->names[0] = strdup(shown != NULL && *shown != '\0' &&
		    style == FTP_LIST_NAMES ? shown : slash + 1);
		if (l->names[0] == NULL)
			goto fail;
		l->nnames = 1;
		l->read_all = 1;
		return l;
	}
	if (fd == -1)
		goto fail;
	l->dirfd = fd;
	if (pat != NULL && (l->pat = strdup(pat)) == NULL)
		goto fail;
	return l;
fail:
	saved = errno;
	ftp_listing_free(l);
	errno = saved;
	return NULL;
}

/* Formats one entry of the listing into buf; 0 when it is to be skipped. */
static int
ftp_list_entry(struct ftp_listing *l, const char *name, char *buf, size_t cap)
{
	char target[FTP_PATH_MAX + 1], vpath[FTP_PATH_MAX + 1];
	const char *perm, *shown = name;
	struct stat st, tst;
	ssize_t tlen;
	int n;

	if (l->dirfd == -1)
		st = l->single;
	else if (fstatat(l->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;	/* gone since readdir */
	switch (l->style) {
	case FTP_LIST_NAMES:
		n = snprintf(buf, cap, "%s%s\r\n", l->prefix != NULL ?
		    l->prefix : "", name);
		if (n < 0 || (size_t)n >= cap)
			return 0;
		ftp_list_clean(buf);
		buf[n - 2] = '\r';
		buf[n - 1] = '\n';
		return n;
	case FTP_LIST_LONG:
		tlen = -1;
		if (S_ISLNK(st.st_mode) && l->dirfd != -1 &&
		    (tlen = readlinkat(l->dirfd, name, target,
		    sizeof(target) - 1)) >= 0)
			target[tlen] = '\0';
		n = ftp_list_long(buf, cap, name, &st, tlen >= 0 ? target :
		    NULL, time(NULL));
		return n < 0 ? 0 : n;
	case FTP_LIST_FACTS:
		if (S_ISLNK(st.st_mode)) {
			/* Described by what it leads to, if that is inside. */
			n = snprintf(vpath, sizeof(vpath), "%s%s%s", l->vdir,
			    strcmp(l->vdir, "/") == 0 ? "" : "/", name);
			if (n < 0 || (size_t)n >= sizeof(vpath) ||
			    ftp_path_stat(l->rootfd, vpath, &tst) == -1)
				return 0;
			st = tst;
		}
		if (S_ISDIR(st.st_mode))
			perm = l->may_write ? "flcdmpe" : "el";
		else
			perm = l->may_write ? "adfrw" : "r";
		n = ftp_list_facts(buf, cap, shown, &st, perm, l->facts, NULL);
		return n < 0 ? 0 : n;
	}
	return 0;
}

/*
 * Appends lines to out until about want bytes were added, the listing
 * ends, or FTP_LIST_EXAMINE entries were looked at (a glob that matches
 * little): bounded work whatever the directory.  Returns 1 when it has
 * ended, 0 when there is more (even if nothing was added), -1 on error.
 */
int
ftp_listing_fill(struct ftp_listing *l, struct evbuffer *out, size_t want)
{
	char line[FTP_LIST_LINE_MAX];
	size_t added = 0;
	int n, reads = 0;

	while (added < want) {
		if (l->next >= l->nnames) {
			if (l->read_all || reads++ > 0)
				break;
			if (ftp_list_read_batch(l) == -1)
				return -1;
			continue;
		}
		n = ftp_list_entry(l, l->names[l->next], line, sizeof(line));
		l->next++;
		if (n <= 0)
			continue;
		if (evbuffer_add(out, line, (size_t)n) == -1)
			return -1;
		added += (size_t)n;
	}
	return l->next >= l->nnames && l->read_all;
}

void
ftp_listing_free(struct ftp_listing *l)
{
	if (l == NULL)
		return;
	ftp_list_drop_batch(l);
	free(l->names);
	free(l->prefix);
	free(l->pat);
	if (l->dir != NULL)
		closedir(l->dir);
	if (l->dirfd != -1)
		close(l->dirfd);
	free(l);
}
