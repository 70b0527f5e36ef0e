/* SPDX-License-Identifier: ISC */
/*
 * reverbd: an echo server with reverb.  Every line comes back three times:
 * in upper case at once, as it was after the delay, in lower case after
 * twice the delay.  Lines of one connection reverberate concurrently.
 *
 * A connection's owed echoes wait in one queue (echoq.c) served by one
 * timer; the timer is added with the delay as a libevent common timeout
 * whenever the wait is exactly one delay (always, with one line in
 * flight), so thousands of them share one queue instead of the heap.
 * After the client's EOF the owed echoes are still sent, then the
 * connection closes; a client that sends no line for the idle timeout is
 * closed; one that sends over-long lines or does not read is dropped.
 *
 * Reload (SIGHUP) re-executes the binary with every client and the echoes
 * it is owed (their text and when each is due), so the successor sends
 * them on time.  A stop under systemd with an fd store first sends every
 * echo owed, taking no new line meanwhile, then leaves the clients, with
 * what they sent since, to the store for the next start
 * (lib/handover.c): nothing a client was promised is lost either way.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "casemap.h"
#include "cli.h"
#include "echoq.h"
#include "handover.h"
#include "life.h"
#include "idle.h"
#include "lineio.h"
#include "listen.h"
#include "log.h"
#include "monotime.h"
#include "numparse.h"
#include "sdnotify.h"
#include "serve.h"
#include "server.h"

#define REVERBD_DELAY		1	/* seconds */
#define REVERBD_IDLE		300	/* seconds */
#define REVERBD_MAX_LINE	65536	/* bytes before the newline: Go's 64 KiB */
#define REVERBD_MAX_PENDING	32	/* lines in flight per client */
#define REVERBD_PENDING_BYTES	65536	/* their text, per client */
#define REVERBD_MAX_OUTPUT	65536	/* queued bytes before a drop */
#define REVERBD_SNDBUF		65536
#define REVERBD_STATUS_SEC	5
#define REVERBD_GRACE_MAX	10	/* seconds to finish echoes on stop */
#define REVERBD_RECORD_VERSION	1	/* of a client's hand-over record */
#define REVERBD_DUE_SLACK	1000000	/* us: a saved echo due this late is odd */

/* The three echoes of a line. */
enum reverb_echo {
	REVERB_UPPER,	/* at once */
	REVERB_PLAIN,	/* after the delay */
	REVERB_LOWER,	/* after twice the delay */
};

enum {
	OPT_IDLE_TIMEOUT = CLI_OPT_DAEMON_FIRST,
	OPT_MAX_LINE,
	OPT_MAX_PENDING,
};

struct reverbd {
	struct event_base	*base;
	struct server		*srv;
	struct event		*status_ev;
	struct timeval		 delay;
	struct timeval		 idle;
	uint64_t		 delay_us;
	const struct timeval	*common_delay;
	struct idle_list	 idle_list;	/* one timer for every client */
	size_t			 max_line;
	size_t			 max_pending;
	size_t			 pending_bytes;
	char			*line;		/* one line read, and its NUL */
	size_t			 linecap;
	char			*out;		/* one echo being formatted */
	size_t			 outcap;
	char			 too_long[64];	/* why such a client goes */
	unsigned long long	 pending;	/* lines in flight, all clients */
	unsigned long long	 owed;		/* their echoes still to send */
	unsigned long long	 peak;
	unsigned long long	 lines;
	unsigned long long	 armed_common;	/* echo timers on the queue */
	unsigned long long	 armed_heap;	/* and on the heap */
	struct life_stop	 stop;
	struct event		*handover_ev;	/* stop: the store's deadline */
	int			 handing;	/* stop: owed echoes, then the store */
	int			 handed;	/* left to the store: exit quietly */
};

/* Flags of a client's hand-over record. */
#define REVERB_SAVED_EOF	0x1
#define REVERB_SAVED_PAUSED	0x2
#define REVERB_SAVED_STOPPING	0x4
#define REVERB_SAVED_LINGERING	0x8

/* What reverbd keeps per connection. */
struct reverb_conn {
	struct conn		*c;
	struct event		 echo_ev;	/* the next owed echo */
	struct idle_entry	 idle;		/* no line for --idle-timeout */
	struct echoq		 q;
	int			 eof;		/* the client sends no more */
	int			 paused;	/* reading off: too much in flight */
	int			 stopping;	/* daemon shutdown: no new lines */
	int			 lingering;	/* closing, waiting for a flush */
};

static struct reverbd	 rd;

static int	reverb_accepted(struct conn *);
static void	reverb_readable(struct conn *);
static void	reverb_eof(struct conn *);
static void	reverb_stopping(struct conn *);
static void	reverb_closed(struct conn *, const char *);
static int	reverb_save(struct conn *, struct evbuffer *);
static int	reverb_restore(struct conn *, const void *, size_t);
static struct reverb_conn *reverb_new(struct conn *);
static void	reverb_echo_cb(evutil_socket_t, short, void *);
static void	reverb_idle_cb(struct idle_entry *, void *);
static void	reverb_status_cb(evutil_socket_t, short, void *);
static int	reverb_input(struct conn *, uint64_t);
static int	reverb_line(struct conn *, const char *, size_t, uint64_t);
static int	reverb_send(struct conn *, const char *, size_t,
		    enum reverb_echo);
static void	reverb_arm(struct reverb_conn *, uint64_t);
static void	reverb_finish(struct conn *, const char *);
static uint64_t	reverb_now(void);
static size_t	reverb_plain_owed(const struct reverb_conn *);
static void	reverbd_options(int, char **, struct cli_common *);
static void	reverbd_size(struct server_limits *);
static void	reverbd_grace(struct timeval *);
static void	reverbd_reload(void *);
static void	reverbd_store(void *);
static void	reverbd_to_store(void);
static void	reverbd_store_soon(void);
static void	reverbd_store_cb(evutil_socket_t, short, void *);
static void	usage(void) __attribute__((noreturn));

/* A client's record: its state and every echo it is owed. */
static const struct handover_ops reverb_handover_ops = {
	.name = "reverbd",
	.save = reverb_save,
	.restore = reverb_restore,
};

static const struct server_ops reverb_ops = {
	.accepted = reverb_accepted,
	.readable = reverb_readable,
	.eof = reverb_eof,
	.stopping = reverb_stopping,
	.closed = reverb_closed,
	.handover = &reverb_handover_ops,
};

static void
usage(void)
{
	printf("Usage: %s [options]\n"
	    "Echo every line three times: upper case at once, as it came after "
	    "the\ndelay, lower case after twice the delay.\n"
	    "\n"
	    "  -d, --delay SECONDS   delay between echoes, fractions allowed "
	    "(default %d)\n"
	    "      --idle-timeout SECONDS\n"
	    "                        close a client that sends no line for "
	    "that long\n"
	    "                        (default %d)\n"
	    "      --max-line BYTES  drop a client sending a longer line "
	    "(default %d)\n"
	    "      --max-pending N   lines in flight per client before it is "
	    "no longer\n"
	    "                        read (default %d)\n"
	    CLI_COMMON_HELP
	    "\nSee reverbd(8).\n",
	    cli_progname(), REVERBD_DELAY, REVERBD_IDLE, REVERBD_MAX_LINE,
	    REVERBD_MAX_PENDING);
	exit(EX_OK);
}

/*
 * Microseconds on the clock libevent keeps its timers on.  Read before
 * libevent's cached time is refreshed, so that a timer added afterwards
 * never fires before the due time computed from it.
 */
static uint64_t
reverb_now(void)
{
	uint64_t now = monotime_us();

	event_base_update_cache_time(rd.base);
	return now;
}

/* Lines of rc still owed their plain echo (for the counters only). */
static size_t
reverb_plain_owed(const struct reverb_conn *rc)
{
	const struct echo *e;
	size_t n = 0;

	for (e = rc->q.plain; e != NULL; e = STAILQ_NEXT(e, entry))
		n++;
	return n;
}

/* A new client's state, attached to c; NULL (logged) without memory. */
static struct reverb_conn *
reverb_new(struct conn *c)
{
	struct reverb_conn *rc;

	if ((rc = calloc(1, sizeof(*rc))) == NULL) {
		log_warn("calloc");
		return NULL;
	}
	rc->c = c;
	echoq_init(&rc->q);
	evtimer_assign(&rc->echo_ev, rd.base, reverb_echo_cb, c);
	idle_touch(&rd.idle_list, &rc->idle);
	conn_set_data(c, rc);
	return rc;
}

static int
reverb_accepted(struct conn *c)
{
	return reverb_new(c) != NULL ? 0 : -1;
}

/*
 * A client's hand-over record, little-endian: version, flags, the count
 * of lines held, then each line in queue order: its stage, length, when
 * its next echo is due (CLOCK_MONOTONIC us, which the successor shares)
 * and its text.
 */
static int
reverb_save(struct conn *c, struct evbuffer *out)
{
	struct reverb_conn *rc = conn_data(c);
	const struct echo *e;
	uint8_t hd[8], eh[16];
	int i;

	if (rc == NULL)
		return -1;
	hd[0] = REVERBD_RECORD_VERSION;
	hd[1] = (rc->eof ? REVERB_SAVED_EOF : 0) |
	    (rc->paused ? REVERB_SAVED_PAUSED : 0) |
	    (rc->stopping ? REVERB_SAVED_STOPPING : 0) |
	    (rc->lingering ? REVERB_SAVED_LINGERING : 0);
	hd[2] = hd[3] = 0;
	for (i = 0; i < 4; i++)
		hd[4 + i] = (uint8_t)(rc->q.count >> (8 * i));
	if (evbuffer_add(out, hd, sizeof(hd)) == -1)
		return -1;
	STAILQ_FOREACH(e, &rc->q.all, entry) {
		memset(eh, 0, sizeof(eh));
		eh[0] = e->stage;
		for (i = 0; i < 4; i++)
			eh[4 + i] = (uint8_t)(e->len >> (8 * i));
		for (i = 0; i < 8; i++)
			eh[8 + i] = (uint8_t)(e->due >> (8 * i));
		if (evbuffer_add(out, eh, sizeof(eh)) == -1 ||
		    evbuffer_add(out, e->line, e->len) == -1)
			return -1;
	}
	return 0;
}

/*
 * Reads back a record written by reverb_save; -1 when anything in it is
 * out of bounds or order (the client is then closed).  Echoes overdue
 * are sent at once.
 */
static int
reverb_restore(struct conn *c, const void *data, size_t len)
{
	const uint8_t *p = data, *end = p + len;
	struct reverb_conn *rc;
	uint64_t now = reverb_now(), due, last_due[2] = { 0, 0 };
	uint32_t count, elen, k;
	uint8_t flags, stage;
	int i;

	if (len < 8 || p[0] != REVERBD_RECORD_VERSION || (p[1] & ~0xf))
		return -1;
	flags = p[1];
	count = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
	    (uint32_t)p[7] << 24;
	if (count > rd.max_pending)
		return -1;
	if ((rc = reverb_new(c)) == NULL)
		return -1;
	p += 8;
	for (k = 0; k < count; k++) {
		if (end - p < 16)
			return -1;
		stage = p[0];
		elen = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
		    (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
		for (due = 0, i = 7; i >= 0; i--)
			due = due << 8 | p[8 + i];
		p += 16;
		/* Each run in due order, and nothing due beyond one delay. */
		if ((stage != ECHO_PLAIN && stage != ECHO_LOWER) ||
		    elen > rd.max_line || (size_t)(end - p) < elen ||
		    due < last_due[stage] ||
		    due > now + rd.delay_us + REVERBD_DUE_SLACK)
			return -1;
		last_due[stage] = due;
		if (echoq_restore(&rc->q, (const char *)p, elen, due, stage) ==
		    -1)
			return -1;
		p += elen;
		rd.pending++;
		rd.owed += stage == ECHO_PLAIN ? 2 : 1;
	}
	if (p != end)
		return -1;
	if (rd.pending > rd.peak)
		rd.peak = rd.pending;
	rc->eof = (flags & REVERB_SAVED_EOF) != 0;
	rc->paused = (flags & REVERB_SAVED_PAUSED) != 0;
	rc->stopping = (flags & REVERB_SAVED_STOPPING) != 0;
	rc->lingering = (flags & REVERB_SAVED_LINGERING) != 0;
	reverb_arm(rc, now);
	return 0;
}

static void
reverb_closed(struct conn *c, const char *why)
{
	struct reverb_conn *rc = conn_data(c);

	if (rc == NULL)
		return;
	evtimer_del(&rc->echo_ev);
	idle_remove(&rd.idle_list, &rc->idle);
	rd.pending -= rc->q.count;
	rd.owed -= rc->q.count + reverb_plain_owed(rc);
	echoq_clear(&rc->q);
	free(rc);
	conn_set_data(c, NULL);
	if (rd.handing && rd.owed == 0)
		reverbd_store_soon();
}

static void
reverb_readable(struct conn *c)
{
	(void)reverb_input(c, reverb_now());
}

/* The client shut its sending side: a last line without newline counts. */
static void
reverb_eof(struct conn *c)
{
	struct reverb_conn *rc = conn_data(c);

	rc->eof = 1;
	(void)reverb_input(c, reverb_now());
}

/* Shutdown: read nothing more, send what is owed, then close. */
static void
reverb_stopping(struct conn *c)
{
	struct reverb_conn *rc = conn_data(c);

	rc->stopping = 1;
	conn_read_pause(c);
	if (rc->q.count == 0)
		reverb_finish(c, "shutdown");
}

/*
 * Takes the lines waiting in the input buffer, as many as the pending
 * bound allows; pauses or resumes reading to match; closes the connection
 * once the client has finished and every echo is out.  Returns -1 when
 * the connection is gone or closing.
 */
static int
reverb_input(struct conn *c, uint64_t now)
{
	struct reverb_conn *rc = conn_data(c);
	struct evbuffer *in = conn_input(c);
	size_t len, before = rd.lines;
	int full;

	if (conn_closing(c))
		return 0;
	for (;;) {
		full = rc->q.count >= rd.max_pending ||
		    rc->q.bytes >= rd.pending_bytes;
		/* Handing over: new lines wait for the successor. */
		if (full || rc->stopping || rd.handing)
			break;
		switch (line_read(in, rd.line, rd.linecap, &len)) {
		case LINE_OK:
			break;
		case LINE_TOO_LONG:
			conn_drop(c, rd.too_long);
			return -1;
		case LINE_NONE:
			if (!rc->eof || evbuffer_get_length(in) == 0)
				goto done;
			/* The last line, cut by EOF: Go's scanner keeps it. */
			len = evbuffer_get_length(in);
			if (evbuffer_remove(in, rd.line, len) != (int)len) {
				conn_close(c, "cannot read the input buffer");
				return -1;
			}
			if (len > 0 && rd.line[len - 1] == '\r')
				len--;
			break;
		}
		/* A CR dropped, at most max_line is left. */
		if (len > rd.max_line) {
			conn_drop(c, rd.too_long);
			return -1;
		}
		if (reverb_line(c, rd.line, len, now) == -1)
			return -1;
	}
done:
	if (rd.lines != before)
		idle_touch(&rd.idle_list, &rc->idle);
	if (full && !rc->paused) {
		rc->paused = 1;
		conn_read_pause(c);
	} else if (!full && rc->paused) {
		rc->paused = 0;
		if (!rc->eof && !rc->stopping)
			conn_read_resume(c);
	}
	if ((rc->eof || rc->stopping) && rc->q.count == 0 &&
	    (rc->stopping || evbuffer_get_length(in) == 0)) {
		reverb_finish(c, rc->stopping ? "shutdown" :
		    "client finished, echoes sent");
		return -1;
	}
	return 0;
}

/* One line read: its upper-case echo at once, the others queued. */
static int
reverb_line(struct conn *c, const char *line, size_t len, uint64_t now)
{
	struct reverb_conn *rc = conn_data(c);
	int was_empty = rc->q.count == 0;

	if (echoq_push(&rc->q, line, len, now + rd.delay_us) == -1) {
		conn_close(c, "out of memory for echoes");
		return -1;
	}
	rd.lines++;
	rd.owed += 2;
	if (++rd.pending > rd.peak)
		rd.peak = rd.pending;
	if (was_empty)
		reverb_arm(rc, now);
	return reverb_send(c, line, len, REVERB_UPPER);
}

/*
 * Sends one echo, "\t " text "\n", the bytes of Go's Fprintln(c, "\t", s)
 * (it puts a space between its operands).
 */
static int
reverb_send(struct conn *c, const char *line, size_t len,
    enum reverb_echo which)
{
	size_t n;

	rd.out[0] = '\t';
	rd.out[1] = ' ';
	if (which == REVERB_PLAIN) {
		memcpy(rd.out + 2, line, len);
		n = len;
	} else
		n = casemap_utf8(rd.out + 2, rd.outcap - 3, line, len,
		    which == REVERB_LOWER ? CASEMAP_LOWER : CASEMAP_UPPER);
	if (n > rd.outcap - 3) {
		/* CASEMAP_BOUND says this cannot happen. */
		conn_close(c, "echo longer than its bound");
		return -1;
	}
	rd.out[2 + n] = '\n';
	return conn_send(c, rd.out, n + 3);
}

/*
 * Arms the echo timer for the next owed echo.  A wait of exactly one delay
 * goes to the common-timeout queue, where adding is O(1); any other wait
 * (several lines in flight) to the heap.
 */
static void
reverb_arm(struct reverb_conn *rc, uint64_t now)
{
	struct timeval tv;
	uint64_t due, wait;

	if (!echoq_next(&rc->q, &due)) {
		evtimer_del(&rc->echo_ev);
		return;
	}
	if (due == now + rd.delay_us) {
		evtimer_add(&rc->echo_ev, rd.common_delay);
		rd.armed_common++;
		return;
	}
	rd.armed_heap++;
	wait = due > now ? due - now : 0;
	tv.tv_sec = (time_t)(wait / 1000000);
	tv.tv_usec = (suseconds_t)(wait % 1000000);
	evtimer_add(&rc->echo_ev, &tv);
}

/* Sends every echo that is due, then takes more input if there was room. */
static void
reverb_echo_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct reverb_conn *rc = conn_data(c);
	struct echo *e;
	enum reverb_echo which;
	uint64_t now = reverb_now();
	size_t len;

	while ((e = echoq_due(&rc->q, now)) != NULL) {
		which = e->stage == ECHO_PLAIN ? REVERB_PLAIN : REVERB_LOWER;
		if (which == REVERB_LOWER)
			rd.pending--;
		rd.owed--;
		/* The text leaves the queue, which conn_send may free. */
		len = e->len;
		memcpy(rd.line, e->line, len);
		echoq_sent(&rc->q, e, now + rd.delay_us);
		if (reverb_send(c, rd.line, len, which) == -1)
			return;
	}
	if (reverb_input(c, now) == -1)
		return;
	reverb_arm(rc, now);
	if (rd.handing && rd.owed == 0)
		reverbd_store_soon();
}

/*
 * Closes once the output has gone; a client that does not take it within
 * the idle timeout is dropped, so it cannot hold the connection.
 */
static void
reverb_finish(struct conn *c, const char *why)
{
	struct reverb_conn *rc = conn_data(c);

	if (conn_output_len(c) != 0) {
		rc->lingering = 1;
		idle_touch(&rd.idle_list, &rc->idle);
	}
	conn_close_after_flush(c, why);
}

static void
reverb_idle_cb(struct idle_entry *e, void *arg)
{
	struct reverb_conn *rc = (struct reverb_conn *)(void *)
	    ((char *)e - offsetof(struct reverb_conn, idle));
	struct conn *c = rc->c;

	if (rc->lingering) {
		conn_drop(c, "output not read within the idle timeout");
		return;
	}
	/* Not idle while echoes are owed (a delay longer than the timeout). */
	if (rc->q.count != 0) {
		idle_touch(&rd.idle_list, &rc->idle);
		return;
	}
	conn_read_pause(c);
	reverb_finish(c, "idle timeout");
}

static void
reverb_status_cb(evutil_socket_t fd, short what, void *arg)
{
	const struct server_stats *st = server_stats(rd.srv);

	sdn_status("%lu clients, %llu lines in flight (peak %llu), %llu echoes "
	    "owed, %llu lines, %llu bytes sent, %llu dropped", st->clients,
	    rd.pending, rd.peak, rd.owed, rd.lines, st->bytes_out, st->dropped);
}

/*
 * Stop with an fd store, once every echo owed is out (or the grace
 * period ends, the rest then going in the records): the clients go to
 * the store.  When that fails they are closed as on a plain stop.
 */
static void
reverbd_to_store(void)
{
	if (!rd.handing)
		return;
	rd.handing = 0;
	event_del(rd.handover_ev);
	if (handover_to_store(rd.srv, NULL, 0) == 0) {
		rd.handed = 1;
		event_base_loopbreak(rd.base);
		return;
	}
	life_stop_graceful(&rd.stop);
}

/* From a callback: the hand-over runs from the loop, not under it. */
static void
reverbd_store_soon(void)
{
	struct timeval now = { 0, 0 };

	evtimer_add(rd.handover_ev, &now);
}

static void
reverbd_store_cb(evutil_socket_t fd, short what, void *arg)
{
	if (rd.owed != 0)
		log_info("stop: %llu echoes still owed after the grace "
		    "period go to the successor", rd.owed);
	reverbd_to_store();
}

/*
 * Stop under systemd with an fd store (life_stop_server): no new line is
 * taken, the echoes owed go out within the grace period, then the
 * clients go to the store.
 */
static void
reverbd_store(void *arg)
{
	evtimer_del(rd.status_ev);
	rd.handing = 1;
	if (rd.owed == 0)
		reverbd_to_store();
	else
		evtimer_add(rd.handover_ev, &rd.stop.grace);
}

/* SIGHUP: the clients and their echoes to a fresh reverbd. */
static void
reverbd_reload(void *arg)
{
	/* Back here only when it failed: go on as before. */
	(void)handover_reexec(rd.srv, NULL, 0);
}

/* SIGTERM: owed echoes still go out, within a bounded grace period. */
static void
reverbd_grace(struct timeval *grace)
{
	grace->tv_sec = 2 * rd.delay.tv_sec + 1;
	grace->tv_usec = 2 * rd.delay.tv_usec;
	if (grace->tv_usec >= 1000000) {
		grace->tv_sec++;
		grace->tv_usec -= 1000000;
	}
	if (grace->tv_sec >= REVERBD_GRACE_MAX) {
		grace->tv_sec = REVERBD_GRACE_MAX;
		grace->tv_usec = 0;
	}
}

/* Reads the command line into rd and cli; exits 64 on a bad one. */
static void
reverbd_options(int argc, char **argv, struct cli_common *cli)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "delay",	  required_argument, NULL, 'd' },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
		{ "max-line",	  required_argument, NULL, OPT_MAX_LINE },
		{ "max-pending",  required_argument, NULL, OPT_MAX_PENDING },
		{ NULL, 0, NULL, 0 }
	};
	unsigned long n;
	int ch;

	rd.max_line = REVERBD_MAX_LINE;
	rd.max_pending = REVERBD_MAX_PENDING;
	rd.delay.tv_sec = REVERBD_DELAY;
	rd.idle.tv_sec = REVERBD_IDLE;
	cli_init(cli, argv[0]);
	cli_go_style(argc, argv);
	while ((ch = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "d:",
	    longopts, NULL)) != -1) {
		if (cli_common_option(cli, ch, optarg))
			continue;
		switch (ch) {
		case 'd':
			if (parse_seconds(optarg, 0, 3600, &rd.delay) == -1)
				cli_usage_error("bad delay '%s' (0-3600 "
				    "seconds)", optarg);
			break;
		case OPT_IDLE_TIMEOUT:
			if (parse_seconds(optarg, 0.001, 86400, &rd.idle) == -1)
				cli_usage_error("bad idle timeout '%s' "
				    "(0.001-86400 seconds)", optarg);
			break;
		case OPT_MAX_LINE:
			if (parse_ulong(optarg, 1, 1048576, &n) == -1)
				cli_usage_error("bad --max-line '%s' "
				    "(1-1048576)", optarg);
			rd.max_line = n;
			break;
		case OPT_MAX_PENDING:
			if (parse_ulong(optarg, 1, 100000, &n) == -1)
				cli_usage_error("bad --max-pending '%s' "
				    "(1-100000)", optarg);
			rd.max_pending = n;
			break;
		case 'h':
			usage();
		default:
			cli_usage_hint();
		}
	}
	if (optind < argc)
		cli_usage_error("unexpected argument '%s'", argv[optind]);
	rd.delay_us = (uint64_t)rd.delay.tv_sec * 1000000 +
	    (uint64_t)rd.delay.tv_usec;
	/* Otherwise a client could be closed with echoes still owed. */
	if ((uint64_t)rd.idle.tv_sec * 1000000 + (uint64_t)rd.idle.tv_usec <=
	    2 * rd.delay_us)
		cli_usage_error("the idle timeout must be longer than twice "
		    "the delay");
}

/*
 * Sizes the buffers and limits from --max-line: one line and its CR, one
 * echo of it, and room for at least its three echoes in the output.  The
 * text in flight is checked before each line is taken, so that a line of
 * --max-line always gets in: at the default a 64 KiB line alone fills
 * the 64 KiB, and the client's next lines wait in its socket until that
 * line's last echo has gone.
 */
static void
reverbd_size(struct server_limits *limits)
{
	int ret;

	rd.linecap = rd.max_line + 2;		/* and the NUL line_read adds */
	rd.outcap = 3 + CASEMAP_BOUND(rd.max_line);
	ret = snprintf(rd.too_long, sizeof(rd.too_long), "line longer than "
	    "%zu bytes (--max-line)", rd.max_line);
	if (ret < 0 || (size_t)ret >= sizeof(rd.too_long))
		fatalx(EX_SOFTWARE, "snprintf");
	rd.pending_bytes = REVERBD_PENDING_BYTES;
	if (rd.pending_bytes < rd.max_line)
		rd.pending_bytes = rd.max_line;
	if ((rd.line = malloc(rd.linecap)) == NULL ||
	    (rd.out = malloc(rd.outcap)) == NULL)
		fatal(EX_OSERR, "malloc");
	limits->max_input = rd.linecap;
	if (limits->max_output < 4 * rd.outcap)
		limits->max_output = 4 * rd.outcap;
}

int
main(int argc, char **argv)
{
	struct server_limits limits = {
		.max_output = REVERBD_MAX_OUTPUT,
		.sndbuf = REVERBD_SNDBUF,
		.lean = 1,	/* buffers only while input or output waits */
	};
	struct timeval status_tv = { REVERBD_STATUS_SEC, 0 };
	struct cli_common cli;
	struct listen_set set;

	handover_init(argc, argv);
	reverbd_options(argc, argv, &cli);
	log_init(argv[0], cli.verbosity);
	reverbd_size(&limits);
	rd.srv = serve_open(&cli, &reverb_ops, &limits, NULL, &rd.base, &set);
	rd.common_delay = event_base_init_common_timeout(rd.base, &rd.delay);
	if (rd.common_delay == NULL ||
	    idle_list_init(&rd.idle_list, rd.base, &rd.idle, reverb_idle_cb,
	    NULL) == -1)
		fatalx(EX_OSERR, "cannot create the timeout queues");
	if ((rd.status_ev = event_new(rd.base, -1, EV_PERSIST,
	    reverb_status_cb, NULL)) == NULL ||
	    event_add(rd.status_ev, &status_tv) == -1)
		fatalx(EX_OSERR, "cannot create the status timer");
	if ((rd.handover_ev = evtimer_new(rd.base, reverbd_store_cb,
	    NULL)) == NULL)
		fatalx(EX_OSERR, "cannot create the hand-over timer");
	rd.stop.srv = rd.srv;
	rd.stop.timer = rd.status_ev;
	reverbd_grace(&rd.stop.grace);
	rd.stop.to_store = reverbd_store;
	if (life_start(rd.base, life_stop_server, &rd.stop) == -1)
		fatalx(EX_OSERR, "cannot watch signals");
	life_on_reload(reverbd_reload, NULL);
	/* A predecessor's clients, with the echoes they are owed. */
	handover_adopt(rd.srv);

	serve_log_ready(&set, "delay %ld.%03ld s, idle timeout %ld s, max %lu "
	    "clients", (long)rd.delay.tv_sec,
	    (long)rd.delay.tv_usec / 1000, (long)rd.idle.tv_sec,
	    cli.max_clients);
	sdn_ready();
	/* Clients taken over count from the start. */
	sdn_status("%lu clients", server_stats(rd.srv)->clients);
	if (event_base_dispatch(rd.base) == -1)
		fatalx(EX_SOFTWARE, "event loop failed");

	log_debug("echo timers: %llu added to the common queue, %llu to the "
	    "heap", rd.armed_common, rd.armed_heap);
	log_info(rd.handed ? "stopped; the clients wait in systemd's fd "
	    "store" : "stopped");
	life_end();
	event_free(rd.handover_ev);
	event_free(rd.status_ev);
	server_free(rd.srv);
	idle_list_free(&rd.idle_list);
	event_base_free(rd.base);
	free(rd.out);
	free(rd.line);
	return EX_OK;
}
