/* SPDX-License-Identifier: ISC */
/*
 * Logging in the OpenBSD style (log_warn, log_info, fatal, ...).
 *
 * Under systemd (JOURNAL_STREAM names our stderr) each message goes to the
 * journal with its priority and structured fields such as REMOTE_ADDR; in
 * the foreground it is one plain line on stderr.
 *
 * Every byte that leaves here has been through log_clean(): the message,
 * each journal field's value and each line written to a file (log_line).
 * A control byte (C0, DEL, C1), a byte that is not valid UTF-8 and a
 * character that reorders text become \xNN, so whatever a caller
 * formats, a client's ESC, CR or LF never reaches a terminal or a log
 * reader raw, and one line stays one line; a name in UTF-8 stays
 * readable.  (log_escape() also escapes the backslash and all of UTF-8,
 * for client text that must be told apart exactly.)
 *
 * What a client can trigger at will goes through log_limited(): each
 * cause logs at most its burst of lines an interval, then one summary
 * line with the count of the others, so that a flood neither fills the
 * disk nor makes the journal's own rate limit throw away real messages.
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
#include <unistr.h>

#include "addr.h"
#include "log.h"
#include "monotime.h"

#define LOG_MSG_MAX		1024	/* a formatted message */
#define LOG_CLEAN_MAX		(4 * LOG_MSG_MAX + 1)	/* ... escaped */

static const char *log_name = "clockwork";
static int log_verbosity = LOG_VERBOSITY_NORMAL;
static int log_journal;
static struct event *log_limit_ev;	/* the next summary due */
static struct log_limit *log_limits;	/* causes with lines not logged */

static int	log_stderr_is_journal(void);
static void	log_libevent_cb(int, const char *);
static size_t	log_hex(char *, size_t, const char *, size_t, int, int);
static size_t	log_utf8_len(const unsigned char *, size_t);
static void	log_emit(int, const struct sockaddr *, const char *const *,
		    const char *);
static char	*log_field(const char *);
static void	log_limit_cb(evutil_socket_t, short, void *);
static void	log_limit_summary(struct log_limit *);
static void	log_limit_arm(uint64_t);

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

/*
 * libevent's own warnings become ours, so they reach the journal too; a
 * client can provoke some (a failed accept, a reset), so they are limited.
 */
static void
log_libevent_cb(int severity, const char *msg)
{
	static struct log_limit warnings = LOG_LIMIT("libevent warnings", 5);

	if (severity >= EVENT_LOG_WARN)
		log_limited(&warnings, LOG_WARNING, NULL, "libevent: %s", msg);
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

/*
 * The loop whose timer writes limits' summaries when their interval ends
 * (without one, a summary waits for the cause's next line or the last
 * flush).  NULL at the end: every summary still due is written.
 */
void
log_set_base(struct event_base *base)
{
	if (log_limit_ev != NULL) {
		event_free(log_limit_ev);
		log_limit_ev = NULL;
	}
	if (base == NULL) {
		log_limit_flush(1);
		return;
	}
	log_limit_ev = evtimer_new(base, log_limit_cb, NULL);
}

int
log_to_journal(void)
{
	return log_journal;
}

/*
 * Copies len bytes of src for a log: printable ASCII as it is (but the
 * backslash when backslash is set), with utf8 also each valid UTF-8
 * character that is printable, and every other byte as \xNN; whole
 * escapes and characters only, always NUL-terminated.  Returns the length.
 */
static size_t
log_hex(char *dst, size_t cap, const char *src, size_t len, int backslash,
    int utf8)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, n;
	unsigned char c;

	if (cap == 0)
		return 0;
	while (i < len) {
		c = s[i];
		if (c >= 0x20 && c < 0x7f && (c != '\\' || !backslash))
			n = 1;
		else if (utf8 && c >= 0x80 &&
		    (n = log_utf8_len(s + i, len - i)) > 0)
			;
		else {
			if (o + 4 >= cap)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
			i++;
			continue;
		}
		if (o + n >= cap)
			break;
		memcpy(dst + o, s + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
	return o;
}

/*
 * The length of the UTF-8 character at s if it may go to a log as it
 * is, else 0: not valid (libunistring's decoder: no overlong forms,
 * surrogates or code points past U+10FFFF), a C1 control, which some
 * terminals obey, or a character that moves or reorders text (line and
 * paragraph separators, bidirectional overrides), which could make a
 * line read as something else.
 */
static size_t
log_utf8_len(const unsigned char *s, size_t len)
{
	ucs4_t cp;
	int n;

	if ((n = u8_mbtoucr(&cp, s, len)) < 0 || (cp >= 0x80 && cp <= 0x9f) ||
	    (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff)
		return 0;
	return (size_t)n;
}

/*
 * What every log line goes through: C0 and C1 controls, DEL and bytes
 * that are not printable UTF-8 become \xNN (the backslash stays, so that
 * text escaped by log_escape() is not escaped twice).
 */
size_t
log_clean(char *dst, size_t cap, const char *src)
{
	return log_hex(dst, cap, src, strlen(src), 0, 1);
}

/* "KEY=value" with the value cleaned (the key is the caller's own). */
static char *
log_field(const char *f)
{
	const char *eq = strchr(f, '=');
	size_t klen = eq != NULL ? (size_t)(eq - f) + 1 : 0, cap;
	char *out;

	cap = klen + 4 * strlen(f + klen) + 1;
	if ((out = malloc(cap)) == NULL)
		return NULL;
	memcpy(out, f, klen);
	log_clean(out + klen, cap - klen, f + klen);
	return out;
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
 * msg and the values are cleaned here, whoever made them.
 */
static void
log_emit(int prio, const struct sockaddr *peer, const char *const *fields,
    const char *raw)
{
	char host[ADDR_STRLEN], pbuf[16], msg[LOG_CLEAN_MAX];
	struct iovec iov[16];
	char *bufs[16];
	int n = 0, i;
	unsigned port = 0;

	if (peer != NULL && addr_format(peer, host, sizeof(host), &port) == -1)
		peer = NULL;
	log_clean(msg, sizeof(msg), raw);

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
		if ((bufs[n++] = log_field(fields[i])) == NULL)
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
	char msg[LOG_MSG_MAX];

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

/*
 * A line of a cause that clients can trigger: logged while the cause is
 * within its burst this interval, else counted for the summary.
 */
void
log_limited(struct log_limit *l, int prio, const struct sockaddr *peer,
    const char *fmt, ...)
{
	uint64_t now = monotime_us();
	va_list ap;

	if (!log_wanted(prio))
		return;
	if (l->since == 0 ||
	    now - l->since >= (uint64_t)LOG_LIMIT_SECONDS * 1000000) {
		log_limit_summary(l);
		l->since = now;
		l->lines = 0;
	}
	if (l->lines < l->burst) {
		l->lines++;
		va_start(ap, fmt);
		log_vlog(prio, peer, NULL, fmt, ap);
		va_end(ap);
		return;
	}
	l->suppressed++;
	l->prio = prio;
	if (!l->listed) {
		l->listed = 1;
		l->next = log_limits;
		log_limits = l;
		log_limit_arm(l->since + (uint64_t)LOG_LIMIT_SECONDS * 1000000);
	}
}

/* The count of a cause's lines not logged, if any, as one line. */
static void
log_limit_summary(struct log_limit *l)
{
	char msg[LOG_MSG_MAX];

	if (l->suppressed == 0)
		return;
	snprintf(msg, sizeof(msg), "%s: suppressed %lu more in %d s",
	    l->what, l->suppressed, LOG_LIMIT_SECONDS);
	l->suppressed = 0;
	log_emit(l->prio, NULL, NULL, msg);
}

/* Wakes the loop at the monotonic time when (us) for the next summary. */
static void
log_limit_arm(uint64_t when)
{
	uint64_t now = monotime_us();
	struct timeval tv = { 0, 0 };

	if (log_limit_ev == NULL || evtimer_pending(log_limit_ev, NULL))
		return;
	if (when > now) {
		tv.tv_sec = (time_t)((when - now) / 1000000);
		tv.tv_usec = (suseconds_t)((when - now) % 1000000);
	}
	evtimer_add(log_limit_ev, &tv);
}

static void
log_limit_cb(evutil_socket_t fd, short what, void *arg)
{
	log_limit_flush(0);
}

/*
 * The summaries of causes whose interval has ended (all of them when all
 * is set: at the end), and the timer set for the next one.
 */
void
log_limit_flush(int all)
{
	uint64_t now = monotime_us(), next = 0, end;
	struct log_limit **lp, *l;

	for (lp = &log_limits; (l = *lp) != NULL;) {
		end = l->since + (uint64_t)LOG_LIMIT_SECONDS * 1000000;
		if (all || now >= end) {
			log_limit_summary(l);
			l->listed = 0;
			*lp = l->next;
			continue;
		}
		if (next == 0 || end < next)
			next = end;
		lp = &l->next;
	}
	if (next != 0)
		log_limit_arm(next);
}

/*
 * One line to fd (a transfer log), cleaned as every log line is, with
 * its newline.  -1 with errno when it could not be written whole.
 */
int
log_line(int fd, const char *fmt, ...)
{
	char *raw = NULL, *line;
	va_list ap;
	size_t cap, len;
	ssize_t n;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&raw, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	cap = 4 * (size_t)r + 2;
	if ((line = malloc(cap)) == NULL) {
		free(raw);
		return -1;
	}
	len = log_clean(line, cap - 1, raw);
	free(raw);
	line[len++] = '\n';
	do
		n = write(fd, line, len);
	while (n == -1 && errno == EINTR);
	free(line);
	if (n != (ssize_t)len) {
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	return 0;
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
 * (the backslash too, so that the text can be told apart exactly) as
 * \xNN, always NUL-terminated, truncated to fit.  Returns the length.
 */
size_t
log_escape(char *dst, size_t cap, const char *src, size_t len)
{
	return log_hex(dst, cap, src, len, 1, 0);
}
