/* SPDX-License-Identifier: ISC */
/*
 * Logging: the journal under systemd, one plain line on stderr otherwise.
 * Whatever is logged passes through one formatter that escapes it, so no
 * caller can put a raw byte from a client into a log; what clients can
 * trigger goes through a limit (struct log_limit).
 */
#ifndef CLOCKWORK_LOG_H
#define CLOCKWORK_LOG_H

#include <sys/socket.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

/* Verbosity levels set by -q / (none) / -v. */
#define LOG_VERBOSITY_QUIET	-1
#define LOG_VERBOSITY_NORMAL	0
#define LOG_VERBOSITY_DEBUG	1

#define LOG_LIMIT_SECONDS	10	/* a limit's interval */

/*
 * A cause of log lines that clients can trigger (a refused command, a
 * dropped client): at most burst lines of it each interval of
 * LOG_LIMIT_SECONDS, then one summary line with the count of the rest.
 * Static, one per cause: static struct log_limit l = LOG_LIMIT("...", 5);
 */
struct log_limit {
	const char		*what;		/* the cause, in the summary */
	unsigned		 burst;
	/* log.c's */
	uint64_t		 since;		/* interval start (us); 0: none */
	unsigned		 lines;		/* logged in this interval */
	unsigned long		 suppressed;	/* not logged in it */
	int			 prio;		/* of the summary */
	int			 listed;	/* on the list of pending counts */
	struct log_limit	*next;
};
#define LOG_LIMIT(what, burst)	{ (what), (burst), 0, 0, 0, 0, 0, NULL }

void	log_init(const char *, int);
void	log_set_base(struct event_base *);
int	log_to_journal(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_peer(int, const struct sockaddr *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	log_fields(int, const char *const *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	log_limited(struct log_limit *, int, const struct sockaddr *,
	    const char *, ...) __attribute__((format(printf, 4, 5)));
void	log_limit_flush(int);
void	log_vlog(int, const struct sockaddr *, const char *const *,
	    const char *, va_list) __attribute__((format(printf, 4, 0)));
int	log_line(int, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	fatal(int, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
void	fatalx(int, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
size_t	log_escape(char *, size_t, const char *, size_t);
size_t	log_clean(char *, size_t, const char *);

#endif
