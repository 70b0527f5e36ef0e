/* SPDX-License-Identifier: ISC */
/*
 * clockd: a TCP clock.  Every client receives the local time (TZ) once a
 * second, right after each wall-clock second boundary.  One timer serves
 * the whole daemon and formats the line once per tick; a client that stops
 * reading is dropped once a few lines are queued for it.
 *
 * Reload (SIGHUP) re-executes the binary with every client, and a stop
 * under systemd leaves them in its fd store for the next start
 * (lib/handover.c): the successor learns the second last sent, so that it
 * neither repeats nor skips one.  The hand-over is made right after a
 * tick, so that the successor has all but that tick's sends of a second
 * before the next one is due.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <event2/event.h>

#include "cli.h"
#include "fanout.h"
#include "handover.h"
#include "life.h"
#include "listen.h"
#include "log.h"
#include "sdnotify.h"
#include "serve.h"
#include "server.h"

#define CLOCKD_LINE_MAX		4096	/* longest formatted line */
#define CLOCKD_MAX_OUTPUT	8192	/* queued bytes before a drop */
#define CLOCKD_SNDBUF		4096	/* a line a second needs little */
#define CLOCKD_RCVBUF		4096	/* input is thrown away */
#define CLOCKD_STATUS_EVERY	5	/* ticks between STATUS= updates */
#define CLOCKD_SPLIT_MIN	512	/* clients before two threads send */
#define CLOCKD_CATCHUP_MAX	10	/* seconds a successor sends late */
#define CLOCKD_BLOB_LEN		8	/* the second last sent */
#define CLOCKD_GRACE_SEC	2	/* for queued lines on SIGTERM */

enum {
	OPT_FORMAT = CLI_OPT_DAEMON_FIRST,
};

/* A hand-over asked for, done right after the next tick. */
enum clockd_handover {
	CLOCKD_KEEP,		/* none */
	CLOCKD_REEXEC,		/* reload: re-execute with the clients */
	CLOCKD_STORE,		/* stop: the clients to systemd's fd store */
};

struct clockd {
	struct event_base	*base;
	struct server		*srv;
	struct event		*tick_ev;
	struct fanout		*fanout;	/* the tick's sends, two threads */
	const char		*format;
	char			 line[CLOCKD_LINE_MAX + 1];
	size_t			 linelen;
	time_t			 last_sec;	/* second last sent */
	unsigned		 ticks;
	enum clockd_handover	 handover;	/* pending */
	int			 handed;	/* to the store: exit quietly */
	struct life_stop	 stop;
};

static void	clockd_arm(struct clockd *, const struct timespec *);
static void	clockd_catch_up(struct clockd *, time_t, time_t);
static int	clockd_format(struct clockd *, time_t);
static void	clockd_hand_over(struct clockd *);
static void	clockd_reload(void *);
static void	clockd_to_store(void *);
static void	clockd_tick_cb(evutil_socket_t, short, void *);
static void	clockd_eof(struct conn *);
static void	usage(void) __attribute__((noreturn));

/* A client is its socket and its queue: no record of clockd's own. */
static const struct handover_ops clockd_handover_ops = {
	.name = "clockd",
};

static const struct server_ops clockd_ops = {
	/* A client that shuts its sending side still gets the time. */
	.eof = clockd_eof,
	.handover = &clockd_handover_ops,
};

static void
usage(void)
{
	printf("Usage: %s [options]\n"
	    "Send every client the local time once a second, on the second.\n"
	    "\n"
	    "  -f, --format FMT      strftime(3) format of a line "
	    "(default %%H:%%M:%%S)\n"
	    CLI_COMMON_HELP
	    "\n"
	    "The time zone is TZ's (e.g. TZ=Asia/Tokyo).  See clockd(8).\n",
	    cli_progname());
	exit(EX_OK);
}

static void
clockd_eof(struct conn *c)
{
}

/*
 * Formats the line for second sec; -1 if it is empty or too long.  The
 * format is the user's by design (-f), hence the non-literal.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int
clockd_format(struct clockd *cd, time_t sec)
{
	struct tm tm;
	size_t n;

	if (localtime_r(&sec, &tm) == NULL)
		return -1;
	n = strftime(cd->line, CLOCKD_LINE_MAX, cd->format, &tm);
	if (n == 0)
		return -1;
	cd->line[n++] = '\n';
	cd->linelen = n;
	return 0;
}
#pragma GCC diagnostic pop

/*
 * Arms the one-shot timer for just after the next second boundary.  The
 * base keeps time on the monotonic clock, so the wait is recomputed from
 * the wall clock every tick and never drifts.
 */
static void
clockd_arm(struct clockd *cd, const struct timespec *now)
{
	struct timeval tv;
	long ns = 1000000000L - now->tv_nsec;

	tv.tv_sec = ns / 1000000000L;
	tv.tv_usec = (ns % 1000000000L) / 1000 + 1;
	evtimer_add(cd->tick_ev, &tv);
}

static void
clockd_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct clockd *cd = arg;
	struct timespec now, end;
	const struct server_stats *st;

	clock_gettime(CLOCK_REALTIME, &now);
	/* Woken before the boundary (timer slack): wait the rest. */
	if (now.tv_sec == cd->last_sec) {
		clockd_arm(cd, &now);
		return;
	}
	cd->last_sec = now.tv_sec;
	clockd_arm(cd, &now);
	if (clockd_format(cd, now.tv_sec) == -1) {
		log_warnx("cannot format the time with '%s'", cd->format);
		return;
	}
	fanout_send(cd->fanout, cd->srv, cd->line, cd->linelen);
	clock_gettime(CLOCK_REALTIME, &end);
	log_debug("tick: woke %ld us after the second, sent in %ld us",
	    now.tv_nsec / 1000, (long)((end.tv_sec - now.tv_sec) * 1000000 +
	    (end.tv_nsec - now.tv_nsec) / 1000));
	/*
	 * The loop computes its next wait from the time it cached before this
	 * callback; after thousands of sends that is stale, and the next tick
	 * would fire late by as much.  Refresh it.
	 */
	event_base_update_cache_time(cd->base);
	if (++cd->ticks % CLOCKD_STATUS_EVERY == 0) {
		st = server_stats(cd->srv);
		sdn_status("%lu clients, %llu served, %llu dropped for not "
		    "reading", st->clients, st->accepted, st->dropped);
	}
	if (cd->handover != CLOCKD_KEEP)
		clockd_hand_over(cd);
}

/*
 * After a hand-over: the lines of the seconds between the predecessor's
 * last and now, at once, so that no client misses one.  After a gap
 * longer than CLOCKD_CATCHUP_MAX (a stalled host) only the current
 * second is sent, as after any stall.
 */
static void
clockd_catch_up(struct clockd *cd, time_t prev, time_t now)
{
	time_t s;

	if (prev >= now) {
		/* Nothing missed (or the clock went back: wait for a tick). */
		cd->last_sec = prev == now ? now : now - 1;
		return;
	}
	if (now - prev > CLOCKD_CATCHUP_MAX) {
		log_warnx("hand-over took %lld s: seconds skipped",
		    (long long)(now - prev));
		prev = now - 1;
	}
	for (s = prev + 1; s <= now; s++)
		if (clockd_format(cd, s) == 0)
			fanout_send(cd->fanout, cd->srv, cd->line, cd->linelen);
	log_info("hand-over: sent %lld second%s late", (long long)(now - prev),
	    now - prev == 1 ? "" : "s");
	cd->last_sec = now;
}

/* The pending hand-over, with the second last sent as clockd's blob. */
static void
clockd_hand_over(struct clockd *cd)
{
	uint8_t blob[CLOCKD_BLOB_LEN];
	uint64_t sec = (uint64_t)cd->last_sec;
	enum clockd_handover what = cd->handover;
	int i;

	cd->handover = CLOCKD_KEEP;
	for (i = 0; i < CLOCKD_BLOB_LEN; i++)
		blob[i] = (uint8_t)(sec >> (8 * i));
	if (what == CLOCKD_REEXEC) {
		/* Back here only when it failed: go on as before. */
		(void)handover_reexec(cd->srv, blob, sizeof(blob));
		return;
	}
	evtimer_del(cd->tick_ev);
	if (handover_to_store(cd->srv, blob, sizeof(blob)) == 0) {
		cd->handed = 1;
		event_base_loopbreak(cd->base);
		return;
	}
	life_stop_graceful(&cd->stop);
}

/* SIGHUP: re-executed after the next tick. */
static void
clockd_reload(void *arg)
{
	struct clockd *cd = arg;

	if (cd->handover == CLOCKD_KEEP)
		cd->handover = CLOCKD_REEXEC;
}

/* Stop under systemd with an fd store: right after the next tick. */
static void
clockd_to_store(void *arg)
{
	struct clockd *cd = arg;

	cd->handover = CLOCKD_STORE;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct server_limits limits = {
		.max_output = CLOCKD_MAX_OUTPUT,
		.sndbuf = CLOCKD_SNDBUF,
		.rcvbuf = CLOCKD_RCVBUF,
		.lean = 1,		/* write-mostly: no bufferevent */
	};
	struct clockd cd;
	struct cli_common cli;
	struct listen_set set;
	struct timespec now;
	const uint8_t *blob;
	uint64_t prev = 0;
	size_t bloblen;
	int ch, i;

	handover_init(argc, argv);
	memset(&cd, 0, sizeof(cd));
	cd.format = "%H:%M:%S";
	cli_init(&cli, argv[0]);
	cli_go_style(argc, argv);
	while ((ch = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "f:",
	    longopts, NULL)) != -1) {
		if (cli_common_option(&cli, ch, optarg))
			continue;
		switch (ch) {
		case 'f':
			cd.format = optarg;
			break;
		case 'h':
			usage();
		default:
			cli_usage_hint();
		}
	}
	if (optind < argc)
		cli_usage_error("unexpected argument '%s'", argv[optind]);
	log_init(argv[0], cli.verbosity);
	tzset();
	clock_gettime(CLOCK_REALTIME, &now);
	if (clockd_format(&cd, now.tv_sec) == -1)
		cli_usage_error("format '%s' gives an empty line or one longer "
		    "than %d bytes", cd.format, CLOCKD_LINE_MAX);
	if (limits.max_output < 2 * cd.linelen)
		limits.max_output = 2 * cd.linelen;

	cd.srv = serve_open(&cli, &clockd_ops, &limits, &cd, &cd.base, &set);
	if ((cd.tick_ev = evtimer_new(cd.base, clockd_tick_cb, &cd)) == NULL)
		fatalx(EX_OSERR, "cannot create the tick timer");
	if ((cd.fanout = fanout_new(CLOCKD_SPLIT_MIN)) == NULL)
		fatalx(EX_OSERR, "cannot set up the tick's sends");
	cd.stop.srv = cd.srv;
	cd.stop.grace.tv_sec = CLOCKD_GRACE_SEC;
	cd.stop.timer = cd.tick_ev;
	cd.stop.to_store = clockd_to_store;
	cd.stop.arg = &cd;
	if (life_start(cd.base, life_stop_server, &cd.stop) == -1)
		fatalx(EX_OSERR, "cannot watch signals");
	life_on_reload(clockd_reload, &cd);
	/*
	 * A predecessor's clients, and the second it sent them last (read
	 * before adopting, which lets go of the image); adopting thousands
	 * takes a while, so the clock is read after.
	 */
	if ((blob = handover_blob(&bloblen)) != NULL &&
	    bloblen == CLOCKD_BLOB_LEN)
		for (i = 0; i < CLOCKD_BLOB_LEN; i++)
			prev |= (uint64_t)blob[i] << (8 * i);
	handover_adopt(cd.srv);
	clock_gettime(CLOCK_REALTIME, &now);
	cd.last_sec = now.tv_sec;
	if (prev != 0)
		clockd_catch_up(&cd, (time_t)prev, now.tv_sec);
	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec != cd.last_sec) {
		/* A second began meanwhile: its tick at once. */
		now.tv_nsec = 999999999L;
	}
	clockd_arm(&cd, &now);

	serve_log_ready(&set, "TZ=%s, max %lu clients",
	    getenv("TZ") != NULL ? getenv("TZ") : "(system)",
	    cli.max_clients);
	sdn_ready();
	/* Clients taken over count from the start. */
	sdn_status("%lu clients", server_stats(cd.srv)->clients);
	if (event_base_dispatch(cd.base) == -1)
		fatalx(EX_SOFTWARE, "event loop failed");

	log_info(cd.handed ? "stopped; the clients wait in systemd's fd "
	    "store" : "stopped");
	life_end();
	event_free(cd.tick_ev);
	fanout_free(cd.fanout);
	server_free(cd.srv);
	event_base_free(cd.base);
	return EX_OK;
}
