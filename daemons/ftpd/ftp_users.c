/* SPDX-License-Identifier: ISC */
/*
 * Named users.  The --users file has one "name:hash:home[:rw]" line per
 * user, the hash as crypt(3) makes it (yescrypt by default); '#' lines
 * and blank lines are comments.  Passwords are checked with crypt_r and
 * compared in constant time; an unknown user costs the same hashing as a
 * known one, so neither the reply nor its timing tells them apart.  The
 * file is rewritten atomically: a temporary file in the same directory,
 * flushed to disk, then renamed over it.
 */
#include <sys/stat.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ftp_users.h"

/* Hashed when the user is unknown, so that the work is the same. */
#define FTP_USERS_DUMMY_SALT	"$y$j9T$lfe4tWnp3r8A3sYcU/iVj/"

static int	ftp_users_equal(const char *, const char *);
static FILE	*ftp_users_fopen(const char *, char *, size_t);
static int	ftp_users_add(struct ftp_users *, struct ftp_user *, size_t *,
		    char *, size_t);
static int	ftp_users_cmp(const void *, const void *);
static int	ftp_users_unique(const struct ftp_users *, const char *,
		    char *, size_t);

/* Names are plain: letters, digits, '.', '_', '-', not starting with '-'. */
int
ftp_users_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > FTP_USERS_NAME_MAX || s[0] == '-' || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

void
ftp_user_free(struct ftp_user *u)
{
	free(u->name);
	free(u->hash);
	free(u->home);
	memset(u, 0, sizeof(*u));
}

/*
 * Parses one line (no newline) into u.  Returns 1 for a user, 0 for a
 * comment or blank line, -1 (EINVAL, ENOMEM) for a bad one.
 */
int
ftp_users_parse_line(const char *line, struct ftp_user *u)
{
	char buf[FTP_USERS_LINE_MAX + 1], *f[4], *p;
	int i;

	memset(u, 0, sizeof(*u));
	p = (char *)line + strspn(line, " \t");
	if (*p == '\0' || *p == '#')
		return 0;
	if (strlen(line) >= sizeof(buf))
		goto bad;
	strcpy(buf, line);
	f[0] = buf;
	f[3] = NULL;
	for (i = 1; i < 4; i++) {
		if ((p = strchr(f[i - 1], ':')) == NULL)
			break;
		*p = '\0';
		f[i] = p + 1;
	}
	if (i < 3 || (f[3] != NULL && strchr(f[3], ':') != NULL))
		goto bad;
	if (f[1][0] == '\0' || f[2][0] != '/' || !ftp_users_name_ok(f[0]))
		goto bad;
	if (f[3] != NULL && strcmp(f[3], "rw") != 0 && strcmp(f[3], "ro") != 0 &&
	    f[3][0] != '\0')
		goto bad;
	if ((u->name = strdup(f[0])) == NULL ||
	    (u->hash = strdup(f[1])) == NULL ||
	    (u->home = strdup(f[2])) == NULL) {
		ftp_user_free(u);
		errno = ENOMEM;
		return -1;
	}
	u->rw = f[3] != NULL && strcmp(f[3], "rw") == 0;
	return 1;
bad:
	errno = EINVAL;
	return -1;
}

/*
 * Opens a users file for reading: a regular file (a FIFO would never
 * end), not larger than FTP_USERS_FILE_MAX.  NULL with err set.
 */
static FILE *
ftp_users_fopen(const char *path, char *err, size_t cap)
{
	struct stat st;
	FILE *fp;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) ==
	    -1) {
		saved = errno;
		snprintf(err, cap, "%s: %s", path, strerror(saved));
		errno = saved;
		return NULL;
	}
	if (fstat(fd, &st) == -1)
		snprintf(err, cap, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		snprintf(err, cap, "%s: not a regular file", path);
	else if (st.st_size > FTP_USERS_FILE_MAX)
		snprintf(err, cap, "%s: larger than %d bytes", path,
		    FTP_USERS_FILE_MAX);
	else if ((fp = fdopen(fd, "r")) != NULL)
		return fp;
	else
		snprintf(err, cap, "%s: %s", path, strerror(errno));
	close(fd);
	errno = EINVAL;
	return NULL;
}

/* Adds u to us (which then owns it).  -1 with err set. */
static int
ftp_users_add(struct ftp_users *us, struct ftp_user *u, size_t *allocated,
    char *err, size_t cap)
{
	struct ftp_user *nu;

	if (us->n == FTP_USERS_MAX) {
		snprintf(err, cap, "more than %d users", FTP_USERS_MAX);
		return -1;
	}
	if (us->n == *allocated) {
		*allocated = *allocated == 0 ? 16 : *allocated * 2;
		if ((nu = reallocarray(us->users, *allocated,
		    sizeof(*nu))) == NULL) {
			snprintf(err, cap, "out of memory");
			return -1;
		}
		us->users = nu;
	}
	us->users[us->n++] = *u;
	return 0;
}

/*
 * Loads a users file, at most FTP_USERS_FILE_MAX bytes of it.  On error,
 * -1 with a message naming the file and the line in err; nothing is kept.
 */
int
ftp_users_load(const char *path, struct ftp_users *us, char *err, size_t cap)
{
	char line[FTP_USERS_LINE_MAX + 2], why[64];
	struct ftp_user u;
	size_t allocated = 0, len, total = 0;
	unsigned lineno = 0;
	FILE *fp;
	int r;

	memset(us, 0, sizeof(*us));
	if ((fp = ftp_users_fopen(path, err, cap)) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		len = strlen(line);
		/* The file may have grown since it was measured. */
		if ((total += len) > FTP_USERS_FILE_MAX) {
			snprintf(err, cap, "%s: larger than %d bytes", path,
			    FTP_USERS_FILE_MAX);
			goto fail;
		}
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(fp)) {
			snprintf(err, cap, "%s:%u: line too long", path, lineno);
			goto fail;
		}
		if ((r = ftp_users_parse_line(line, &u)) == 0)
			continue;
		if (r == -1) {
			snprintf(err, cap, "%s:%u: not name:hash:/home[:rw]",
			    path, lineno);
			goto fail;
		}
		u.line = lineno;
		if (ftp_users_add(us, &u, &allocated, why, sizeof(why)) ==
		    -1) {
			snprintf(err, cap, "%s:%u: %s", path, lineno, why);
			ftp_user_free(&u);
			goto fail;
		}
	}
	if (ferror(fp)) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (ftp_users_unique(us, path, err, cap) == -1)
		goto fail;
	fclose(fp);
	return 0;
fail:
	fclose(fp);
	ftp_users_free(us);
	errno = EINVAL;
	return -1;
}

static int
ftp_users_cmp(const void *a, const void *b)
{
	const struct ftp_user *ua = *(const struct ftp_user *const *)a;
	const struct ftp_user *ub = *(const struct ftp_user *const *)b;
	int r = strcmp(ua->name, ub->name);

	if (r != 0)
		return r;
	return ua->line < ub->line ? -1 : ua->line > ub->line;
}

/*
 * No name twice: sorted, then neighbours compared (a name looked up in
 * the table for each line would cost n * n / 2 comparisons, half a second
 * for 10000 users, in the loop at every reload).  -1 with err naming the
 * later line.
 */
static int
ftp_users_unique(const struct ftp_users *us, const char *path, char *err,
    size_t cap)
{
	const struct ftp_user **byname;
	size_t i;
	int r = 0;

	if (us->n < 2)
		return 0;
	if ((byname = calloc(us->n, sizeof(*byname))) == NULL) {
		snprintf(err, cap, "out of memory");
		return -1;
	}
	for (i = 0; i < us->n; i++)
		byname[i] = &us->users[i];
	qsort(byname, us->n, sizeof(*byname), ftp_users_cmp);
	for (i = 1; i < us->n && r == 0; i++)
		if (strcmp(byname[i - 1]->name, byname[i]->name) == 0) {
			snprintf(err, cap, "%s:%u: %s again (first on line %u)",
			    path, byname[i]->line, byname[i]->name,
			    byname[i - 1]->line);
			r = -1;
		}
	free(byname);
	return r;
}

/* A shared table with no users; NULL when out of memory. */
struct ftp_users *
ftp_users_new(void)
{
	struct ftp_users *us;

	if ((us = calloc(1, sizeof(*us))) != NULL)
		us->refs = 1;
	return us;
}

/* A shared table loaded from path; NULL with err set. */
struct ftp_users *
ftp_users_open(const char *path, char *err, size_t cap)
{
	struct ftp_users *us;

	if ((us = ftp_users_new()) == NULL) {
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	if (ftp_users_load(path, us, err, cap) == -1) {
		free(us);
		return NULL;
	}
	us->refs = 1;
	return us;
}

struct ftp_users *
ftp_users_ref(struct ftp_users *us)
{
	us->refs++;
	return us;
}

/* Lets go of a shared table; the last reference frees it. */
void
ftp_users_unref(struct ftp_users *us)
{
	if (us == NULL || --us->refs > 0)
		return;
	ftp_users_free(us);
	free(us);
}

const struct ftp_user *
ftp_users_find(const struct ftp_users *us, const char *name)
{
	size_t i;

	for (i = 0; i < us->n; i++)
		if (strcmp(us->users[i].name, name) == 0)
			return &us->users[i];
	return NULL;
}

/* Compares two strings without stopping at the first difference. */
static int
ftp_users_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/*
 * Checks name and password.  Returns 1 and the user in *up when they
 * match, 0 when not (unknown user or wrong password alike), -1 when the
 * hash cannot be computed.
 */
int
ftp_users_check(const struct ftp_users *us, const char *name,
    const char *password, const struct ftp_user **up)
{
	const struct ftp_user *u = ftp_users_find(us, name);
	struct crypt_data *cd;
	const char *h;
	int ok;

	*up = NULL;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return -1;
	h = crypt_r(password, u != NULL ? u->hash : FTP_USERS_DUMMY_SALT, cd);
	ok = u != NULL && h != NULL && h[0] != '*' && ftp_users_equal(h,
	    u->hash);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	if (ok)
		*up = u;
	return ok;
}

/* A new hash of password (yescrypt, fresh salt); NULL on failure. */
char *
ftp_users_hash(const char *password)
{
	struct crypt_data *cd;
	char *salt, *h, *out = NULL;

	if ((salt = crypt_gensalt_ra("$y$", 0, NULL, 0)) == NULL &&
	    (salt = crypt_gensalt_ra("$6$", 0, NULL, 0)) == NULL)
		return NULL;
	if ((cd = calloc(1, sizeof(*cd))) == NULL) {
		free(salt);
		return NULL;
	}
	h = crypt_r(password, salt, cd);
	if (h != NULL && h[0] != '*')
		out = strdup(h);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	free(salt);
	return out;
}

/*
 * Writes the users to path atomically (temporary file, fsync, rename),
 * with mode, owner and group (-1: the writer's own).
 */
int
ftp_users_save(const char *path, const struct ftp_users *us, mode_t mode,
    uid_t uid, gid_t gid)
{
	char tmp[4096];
	size_t i;
	FILE *fp;
	int fd, n, saved;

	n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkstemp(tmp)) == -1)
		return -1;
	if (fchown(fd, uid, gid) == -1 || fchmod(fd, mode & 07777) == -1 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	fprintf(fp, "# clockwork-ftpd users: name:crypt-hash:home[:rw]\n");
	for (i = 0; i < us->n; i++)
		fprintf(fp, "%s:%s:%s%s\n", us->users[i].name,
		    us->users[i].hash, us->users[i].home,
		    us->users[i].rw ? ":rw" : "");
	if (fflush(fp) == EOF || fsync(fileno(fp)) == -1 || ferror(fp)) {
		saved = errno;
		fclose(fp);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	if (fclose(fp) == EOF || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

void
ftp_users_free(struct ftp_users *us)
{
	size_t i;

	for (i = 0; i < us->n; i++)
		ftp_user_free(&us->users[i]);
	free(us->users);
	memset(us, 0, sizeof(*us));
}
