/* SPDX-License-Identifier: ISC */
/* Logging: the journal under systemd, one plain line on stderr otherwise. */
#ifndef CLOCKWORK_LOG_H
#define CLOCKWORK_LOG_H

#include <sys/socket.h>
#include <stdarg.h>

/* Verbosity levels set by -q / (none) / -v. */
#define LOG_VERBOSITY_QUIET	-1
#define LOG_VERBOSITY_NORMAL	0
#define LOG_VERBOSITY_DEBUG	1

void	log_init(const char *, int);
int	log_to_journal(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_peer(int, const struct sockaddr *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	log_fields(int, const char *const *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	log_vlog(int, const struct sockaddr *, const char *const *,
	    const char *, va_list) __attribute__((format(printf, 4, 0)));
void	fatal(int, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
void	fatalx(int, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
size_t	log_escape(char *, size_t, const char *, size_t);

#endif
