/* SPDX-License-Identifier: ISC */
/*
 * clockd: a TCP clock.  Every client receives the local time (TZ) once a
 * second, right after each wall-clock second boundary.  One timer serves
 * the whole daemon and formats the line once per tick; a client that stops
 * reading is dropped once a few lines are queued for it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <event2/event.h>

#include "cli.h"
#include "fanout.h"
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
#define CLOCKD_GRACE_SEC	2	/* for queued lines on SIGTERM */

enum {
	OPT_FORMAT = CLI_OPT_DAEMON_FIRST,
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
};

static void	clockd_arm(struct clockd *, const struct timespec *);
static int	clockd_format(struct clockd *, time_t);
static void	clockd_tick_cb(evutil_socket_t, short, void *);
static void	clockd_eof(struct conn *);
static void	usage(void) __attribute__((noreturn));

static const struct server_ops clockd_ops = {
	/* A client that shuts its sending side still gets the time. */
	.eof = clockd_eof,
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
	struct life_stop stop = { .grace = { CLOCKD_GRACE_SEC, 0 } };
	struct cli_common cli;
	struct listen_set set;
	struct timespec now;
	int ch;

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
	stop.srv = cd.srv;
	stop.timer = cd.tick_ev;
	if (life_start(cd.base, life_stop_server, &stop) == -1)
		fatalx(EX_OSERR, "cannot watch signals");
	cd.last_sec = now.tv_sec;
	clockd_arm(&cd, &now);

	serve_log_ready(&set, "TZ=%s, max %lu clients",
	    getenv("TZ") != NULL ? getenv("TZ") : "(system)",
	    cli.max_clients);
	sdn_ready();
	sdn_status("0 clients");
	if (event_base_dispatch(cd.base) == -1)
		fatalx(EX_SOFTWARE, "event loop failed");

	log_info("stopped");
	life_end();
	event_free(cd.tick_ev);
	fanout_free(cd.fanout);
	server_free(cd.srv);
	event_base_free(cd.base);
	return EX_OK;
}
