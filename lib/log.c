/* SPDX-License-Identifier: ISC */
/*
 * Logging in the OpenBSD style (log_warn, log_info, fatal, ...).
 *
 * Under systemd (JOURNAL_STREAM names our stderr) each message goes to the
 * journal with its priority and structured fields such as REMOTE_ADDR; in
 * the foreground it is one plain line on stderr.  Client text must be
 * passed through log_escape() first: the log must never carry raw control
 * bytes from the network.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-journal.h>

#include "addr.h"
#include "log.h"

static const char *log_name = "clockwork";
static int log_verbosity = LOG_VERBOSITY_NORMAL;
static int log_journal;

static int	log_stderr_is_journal(void);
static void	log_libevent_cb(int, const char *);

/* True when systemd connected our stderr to the journal. */
static int
log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

/* libevent's own warnings become ours, so they reach the journal too. */
static void
log_libevent_cb(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warnx("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

void
log_init(const char *name, int verbosity)
{
	const char *slash = strrchr(name, '/');

	log_name = slash != NULL ? slash + 1 : name;
	log_verbosity = verbosity;
	log_journal = log_stderr_is_journal();
	event_set_log_callback(log_libevent_cb);
}

int
log_to_journal(void)
{
	return log_journal;
}

static int
log_wanted(int prio)
{
	if (prio <= LOG_WARNING)
		return 1;
	if (prio == LOG_DEBUG)
		return log_verbosity >= LOG_VERBOSITY_DEBUG;
	return log_verbosity >= LOG_VERBOSITY_NORMAL;
}

/*
 * The one place that writes: msg is complete, peer and fields optional.
 * fields is a NULL-terminated list of "KEY=value" strings for the journal.
 */
static void
log_emit(int prio, const struct sockaddr *peer, const char *const *fields,
    const char *msg)
{
	char host[ADDR_STRLEN], pbuf[16];
	struct iovec iov[16];
	char *bufs[16];
	int n = 0, i;
	unsigned port = 0;

	if (peer != NULL && addr_format(peer, host, sizeof(host), &port) == -1)
		peer = NULL;

	if (!log_journal) {
		const char *level = prio <= LOG_ERR ? "error: " :
		    prio == LOG_WARNING ? "warning: " : "";
		if (peer != NULL)
			fprintf(stderr, "%s: %s%s port %u: %s\n", log_name,
			    level, host, port, msg);
		else
			fprintf(stderr, "%s: %s%s\n", log_name, level, msg);
		return;
	}

	memset(bufs, 0, sizeof(bufs));
	if (asprintf(&bufs[n++], "MESSAGE=%s%s%s", peer ? host : "",
	    peer ? ": " : "", msg) == -1)
		return;
	if (asprintf(&bufs[n++], "PRIORITY=%d", prio) == -1 ||
	    asprintf(&bufs[n++], "SYSLOG_IDENTIFIER=%s", log_name) == -1)
		goto out;
	if (peer != NULL) {
		snprintf(pbuf, sizeof(pbuf), "%u", port);
		if (asprintf(&bufs[n++], "REMOTE_ADDR=%s", host) == -1 ||
		    asprintf(&bufs[n++], "REMOTE_PORT=%s", pbuf) == -1)
			goto out;
	}
	for (i = 0; fields != NULL && fields[i] != NULL && n < 16; i++)
		if ((bufs[n++] = strdup(fields[i])) == NULL)
			goto out;
	for (i = 0; i < n; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = strlen(bufs[i]);
	}
	sd_journal_sendv(iov, n);
out:
	for (i = 0; i < n; i++)
		free(bufs[i]);
}

void
log_vlog(int prio, const struct sockaddr *peer, const char *const *fields,
    const char *fmt, va_list ap)
{
	char msg[1024];

	if (!log_wanted(prio))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_emit(prio, peer, fields, msg);
}

/* A warning with errno's text appended. */
void
log_warn(const char *fmt, ...)
{
	char msg[1024];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s: %s", msg, strerror(saved));
	errno = saved;
}

#define LOG_SIMPLE(name, prio)				\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
							\
	va_start(ap, fmt);				\
	log_vlog(prio, NULL, NULL, fmt, ap);		\
	va_end(ap);					\
}
LOG_SIMPLE(log_warnx, LOG_WARNING)
LOG_SIMPLE(log_info, LOG_INFO)
LOG_SIMPLE(log_debug, LOG_DEBUG)

/* An event about one client: the journal gets REMOTE_ADDR/REMOTE_PORT. */
void
log_peer(int prio, const struct sockaddr *peer, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(prio, peer, NULL, fmt, ap);
	va_end(ap);
}

/* An event with extra journal fields ("KEY=value", NULL-terminated). */
void
log_fields(int prio, const char *const *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(prio, NULL, fields, fmt, ap);
	va_end(ap);
}

/* Start-up failure with errno's text: log and exit with a sysexits code. */
void
fatal(int code, const char *fmt, ...)
{
	char msg[1024], full[1100];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s: %s", msg, strerror(saved));
	log_emit(LOG_ERR, NULL, NULL, full);
	exit(code);
}

/* Start-up failure without errno. */
void
fatalx(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_emit(LOG_ERR, NULL, NULL, msg);
	exit(code);
}

/*
 * Copies client text for the log: printable ASCII as is, everything else
 * as \xNN, always NUL-terminated, truncated to fit.  Returns the length.
 */
size_t
log_escape(char *dst, size_t cap, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (cap == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= cap)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= cap)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return o;
}
