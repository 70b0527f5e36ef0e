/* SPDX-License-Identifier: ISC */
/*
 * chatd: the chat server of chapter 8 of The Go Programming Language
 * (section 8.10), with the fixes its exercises ask for: the newcomer is
 * told who is here (8.12), idle clients are closed (8.13), clients may
 * choose a name (8.14), and a client that does not read is closed instead
 * of stalling everyone (8.15).
 *
 * One event loop serves everyone.  The room (room.c) holds the members in
 * order of arrival; what is said goes through one batch per turn of the
 * loop (relay.c), so every member sees one order; a client's life is in
 * client.c; its text is cleaned by chat_text.c.  This file has main(),
 * the options, the status line and the stop.
 *
 * Reload (SIGHUP) re-executes the binary with the room, and a stop under
 * systemd with an fd store leaves it in the store for the next start
 * (lib/handover.c, client_handover.c): the clients stay connected, with
 * their names, their order of arrival and every byte owed to them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <event2/event.h>

#include "chatd.h"
#include "cli.h"
#include "client.h"
#include "handover.h"
#include "life.h"
#include "log.h"
#include "relay.h"
#include "sdnotify.h"
#include "serve.h"
#include "server.h"

#define CHATD_IDLE		300		/* seconds; 0: never */
#define CHATD_MAX_LINE		4096		/* bytes before the newline */
#define CHATD_MAX_QUEUE		(256 * 1024)	/* unsent bytes per client */
#define CHATD_SNDBUF		65536		/* the kernel's share of it */
#define CHATD_STATUS_SEC	5
#define CHATD_GRACE_SEC		2		/* to flush on stop */

enum {
	OPT_IDLE_TIMEOUT = CLI_OPT_DAEMON_FIRST,
	OPT_MAX_LINE,
	OPT_MAX_QUEUE,
	OPT_NAMES,
};

struct chatd		 chatd;
static struct life_stop	 stop = { .grace = { CHATD_GRACE_SEC, 0 } };

static void	chatd_options(int, char **, struct cli_common *,
		    struct timeval *);
static void	chatd_size(void);
static void	chatd_status_cb(evutil_socket_t, short, void *);
static void	chatd_stop(void *);
static void	chatd_reload(void *);
static void	chatd_to_store(void *);
static void	usage(void) __attribute__((noreturn));

static void
usage(void)
{
	printf("Usage: %s [options]\n"
	    "A chat room: every line a client sends goes to every client, "
	    "as WHO: LINE.\n"
	    "\n"
	    "      --names           ask each client for a name "
	    "(default: its address)\n"
	    "      --idle-timeout SECONDS\n"
	    "                        close a client that sends no line for "
	    "that long;\n"
	    "                        0: never (default %d)\n"
	    "      --max-line BYTES  longest line relayed (default %d)\n"
	    "      --max-queue BYTES close a client with more unsent output "
	    "(default %d)\n"
	    CLI_COMMON_HELP
	    "\nSee chatd(8).\n",
	    cli_progname(), CHATD_IDLE, CHATD_MAX_LINE, CHATD_MAX_QUEUE);
	exit(EX_OK);
}

static void
chatd_status_cb(evutil_socket_t fd, short what, void *arg)
{
	const struct server_stats *st = server_stats(chatd.srv);

	sdn_status("%lu clients, %zu in the room, %llu messages relayed, "
	    "%llu dropped as too slow", st->clients, chatd.room.count,
	    relay_said(chatd.relay), chatd.slow);
}

/*
 * SIGTERM: what was said so far goes out, nothing is said from then on,
 * and lib/life's stop follows: every client gets the farewell
 * (client_stopping) and is closed once it is sent, within the grace.
 */
static void
chatd_stop(void *arg)
{
	relay_flush(chatd.relay);
	chatd.stopping = 1;
	life_stop_server(arg);
}

/* SIGHUP: the room to a fresh chatd, after what was said so far. */
static void
chatd_reload(void *arg)
{
	uint8_t blob[CLIENT_BLOB_LEN];

	relay_flush(chatd.relay);
	client_handover_blob(blob);
	/* Back here only when it failed: go on as before. */
	(void)handover_reexec(chatd.srv, blob, sizeof(blob));
}

/*
 * Stop under systemd with an fd store (chatd_stop has flushed the batch):
 * the room goes to the store for the next start; when it cannot, the
 * plain stop, farewells and all.
 */
static void
chatd_to_store(void *arg)
{
	uint8_t blob[CLIENT_BLOB_LEN];

	client_handover_blob(blob);
	event_del(stop.timer);
	if (handover_to_store(chatd.srv, blob, sizeof(blob)) == 0) {
		chatd.handed = 1;
		event_base_loopbreak(chatd.base);
		return;
	}
	life_stop_graceful(&stop);
}

/* Reads the command line into chatd and cli; exits 64 on a bad one. */
static void
chatd_options(int argc, char **argv, struct cli_common *cli,
    struct timeval *idle)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
		{ "max-line",	  required_argument, NULL, OPT_MAX_LINE },
		{ "max-queue",	  required_argument, NULL, OPT_MAX_QUEUE },
		{ "names",	  no_argument,	     NULL, OPT_NAMES },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	chatd.max_line = CHATD_MAX_LINE;
	chatd.max_queue = CHATD_MAX_QUEUE;
	idle->tv_sec = CHATD_IDLE;
	idle->tv_usec = 0;
	cli_init(cli, argv[0]);
	cli_go_style(argc, argv);
	while ((ch = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (cli_common_option(cli, ch, optarg))
			continue;
		switch (ch) {
		case OPT_IDLE_TIMEOUT:
			cli_seconds("--idle-timeout", optarg, 0, 86400, idle);
			break;
		case OPT_MAX_LINE:
			chatd.max_line = cli_number("--max-line", optarg, 1,
			    1048576);
			break;
		case OPT_MAX_QUEUE:
			chatd.max_queue = cli_number("--max-queue", optarg,
			    1024, 1073741824);
			break;
		case OPT_NAMES:
			chatd.names = 1;
			break;
		case 'h':
			usage();
		default:
			cli_usage_hint();
		}
	}
	if (optind < argc)
		cli_usage_error("unexpected argument '%s'", argv[optind]);
	chatd.idle_on = idle->tv_sec != 0 || idle->tv_usec != 0;
}

/* The line buffer (a line, its CR, line_read's NUL) and the refusal. */
static void
chatd_size(void)
{
	int n;

	chatd.linecap = chatd.max_line + 2;
	if ((chatd.line = malloc(chatd.linecap)) == NULL)
		fatal(EX_OSERR, "malloc");
	n = snprintf(chatd.too_long, sizeof(chatd.too_long),
	    "Line too long (max %zu bytes).\n", chatd.max_line);
	if (n < 0 || (size_t)n >= sizeof(chatd.too_long))
		fatalx(EX_SOFTWARE, "snprintf");
	chatd.too_long_len = (size_t)n;
}

int
main(int argc, char **argv)
{
	struct server_limits limits = {
		/* --max-queue is chatd's own check (client.c), not lib's. */
		.max_output = 0,
		/*
		 * Left to itself the kernel would hold up to 4 MiB for a
		 * client that does not read before --max-queue saw a byte.
		 */
		.sndbuf = CHATD_SNDBUF,
		.lean = 1,	/* buffers only while input or output waits */
	};
	struct timeval status_tv = { CHATD_STATUS_SEC, 0 }, idle;
	struct cli_common cli;
	struct listen_set set;
	const void *blob;
	size_t bloblen = 0;

	handover_init(argc, argv);
	chatd_options(argc, argv, &cli, &idle);
	log_init(argv[0], cli.verbosity);
	chatd_size();
	/* A line, its CR and LF wait at most; more is not read meanwhile. */
	limits.max_input = chatd.linecap;
	if (room_init(&chatd.room, chatd.names) == -1)
		fatal(EX_OSERR, "room");
	chatd.srv = serve_open(&cli, &client_ops, &limits, NULL, &chatd.base,
	    &set);
	if ((chatd.relay = relay_new(chatd.base, chatd.srv, client_pos,
	    client_flushed, NULL)) == NULL)
		fatalx(EX_OSERR, "cannot set up the relay");
	if (chatd.idle_on && idle_list_init(&chatd.idle, chatd.base, &idle,
	    client_idle_cb, NULL) == -1)
		fatalx(EX_OSERR, "cannot create the idle timer");
	if ((stop.timer = event_new(chatd.base, -1, EV_PERSIST,
	    chatd_status_cb, NULL)) == NULL ||
	    event_add(stop.timer, &status_tv) == -1)
		fatalx(EX_OSERR, "cannot create the status timer");
	stop.srv = chatd.srv;
	stop.to_store = chatd_to_store;
	if (life_start(chatd.base, chatd_stop, &stop) == -1)
		fatalx(EX_OSERR, "cannot watch signals");
	life_on_reload(chatd_reload, NULL);
	/* A predecessor's room: its counters, its members in their order. */
	blob = handover_blob(&bloblen);
	client_handover_begin(blob, bloblen);
	handover_adopt(chatd.srv);
	client_handover_end();

	serve_log_ready(&set, "%s, idle timeout %ld.%03ld s, max line %zu, "
	    "max queue %zu, max %lu clients", chatd.names ? "names" :
	    "addresses", (long)idle.tv_sec, (long)idle.tv_usec / 1000,
	    chatd.max_line, chatd.max_queue, cli.max_clients);
	sdn_ready();
	chatd_status_cb(-1, 0, NULL);
	if (event_base_dispatch(chatd.base) == -1)
		fatalx(EX_SOFTWARE, "event loop failed");

	log_info("stopped%s: %llu messages relayed, %llu clients dropped as "
	    "too slow", chatd.handed ? " (the room waits in systemd's fd "
	    "store)" : "", relay_said(chatd.relay), chatd.slow);
	life_end();
	event_free(stop.timer);
	chatd.stopping = 1;	/* the last closes tell nobody */
	server_free(chatd.srv);
	relay_free(chatd.relay);
	if (chatd.idle_on)
		idle_list_free(&chatd.idle);
	room_clear(&chatd.room);
	event_base_free(chatd.base);
	free(chatd.line);
	return EX_OK;
}
