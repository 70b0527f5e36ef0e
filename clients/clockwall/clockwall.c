/* SPDX-License-Identifier: ISC */
/*
 * clockwall: a wall of clocks, like the ones in business offices, fed by
 * several clockd at once (Exercise 8.1).  One event loop connects to every
 * clock concurrently; on a terminal the table is redrawn in place as lines
 * arrive, elsewhere each new time is one plain line.  Each clock's offset
 * from ours is shown beside its time, and a clock further off than
 * --max-offset is marked.  --once prints one snapshot for scripts.
 */
#include <sys/types.h>

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli.h"
#include "clock.h"
#include "log.h"
#include "lookup.h"
#include "numparse.h"
#include "spec.h"
#include "view.h"

#define WALL_UI_TICK_MS		100	/* spinner frame, as in the book */
#define WALL_REDRAW_MS		15	/* lines arriving together: one frame */
#define WALL_ONCE_TIMEOUT	5.0	/* --once waits at most this long */
#define WALL_ONCE_LINES		3	/* --once: lines for a median offset */
#define WALL_EXIT_OFF		1	/* --once: every clock up, one off */

enum {
	OPT_ONCE = CLI_OPT_DAEMON_FIRST,
};

/* What a key asks of the live view. */
enum wall_key {
	KEY_NONE,
	KEY_UP,
	KEY_DOWN,
	KEY_PAGE_UP,
	KEY_PAGE_DOWN,
	KEY_HOME,
	KEY_END,
};

struct wall {
	struct event_base	*base;
	struct clock		*clocks[SPEC_CLOCKS_MAX];
	size_t			 n;
	struct view		*view;
	int			 once;
	int			 exit_code;
	unsigned		 ticks;
	struct event		*signals[5];
	size_t			 nsignals;
	struct event		*key_ev;
	struct event		*ui_ev;
	struct event		*redraw_ev;
	struct event		*deadline_ev;
};

static void	usage(void) __attribute__((noreturn));
static void	wall_changed_cb(struct clock *, void *);
static void	wall_deadline_cb(evutil_socket_t, short, void *);
static void	wall_key_cb(evutil_socket_t, short, void *);
static void	wall_redraw_cb(evutil_socket_t, short, void *);
static void	wall_signal_cb(evutil_socket_t, short, void *);
static void	wall_ui_cb(evutil_socket_t, short, void *);
static void	wall_quit(struct wall *, int);
static void	wall_redraw_soon(struct wall *);
static int	wall_signal(struct wall *, int);
static size_t	wall_specs(int, char **, const char *, int, struct spec *);
static void	wall_clocks(struct wall *, const struct spec *, size_t, int);
static void	wall_events(struct wall *, int);
static void	wall_free(struct wall *);
static size_t	wall_key_escape(const char *, size_t, enum wall_key *);
static void	wall_key_scroll(struct wall *, enum wall_key);

static void
usage(void)
{
	printf("Usage: %s [options] [NAME=HOST:PORT ...]\n"
	    "Show the time of several clockd at once, as a wall of clocks.\n"
	    "\n"
	    "  NAME=HOST:PORT        a clock (HOST may be [V6]; empty is "
	    "localhost)\n"
	    "  -c, --config DIR      without clocks given, read DIR/"
	    "clock@PORT.env\n"
	    "                        (default %s)\n"
	    "  -m, --max-offset SECS a clock further from ours is shown off\n"
	    "                        (default %.1f)\n"
	    "      --once            print one snapshot and exit\n"
	    "  -t, --timeout SECS    --once waits at most SECS (default %.0f)\n"
	    "  -h, --help            show this help and exit\n"
	    "      --version         show the version and exit\n"
	    "\n"
	    "Keys: q quits, r retries the clocks that are down, j/k or arrows "
	    "scroll,\nspace/b page.  Exit status: 0; with --once 69 when a "
	    "clock is down,\n%d when one is off; 64 usage, 78 no clocks "
	    "configured.\n"
	    "See clockwall(1).\n", cli_progname(), SPEC_CONFIG_DIR,
	    VIEW_MAX_OFFSET, WALL_ONCE_TIMEOUT, WALL_EXIT_OFF);
	exit(EX_OK);
}

/*
 * The clocks to show: the arguments, else the configured ones.  Exits 64
 * on a bad argument and 78 when there is nothing to show.
 */
static size_t
wall_specs(int argc, char **argv, const char *config, int utf8,
    struct spec *specs)
{
	char err[512];
	size_t n = 0;
	int i;

	if (argc > SPEC_CLOCKS_MAX)
		cli_usage_error("at most %d clocks", SPEC_CLOCKS_MAX);
	if (argc > 0 && config != NULL)
		cli_usage_error("give clocks or --config, not both");
	for (i = 0; i < argc; i++)
		if (spec_parse(argv[i], &specs[n++], utf8, err,
		    sizeof(err)) == -1)
			cli_usage_error("%s", err);
	if (argc > 0)
		return n;
	if (config == NULL)
		config = SPEC_CONFIG_DIR;
	if (spec_config_read(config, specs, SPEC_CLOCKS_MAX, &n, utf8, err,
	    sizeof(err)) == -1)
		fatalx(EX_CONFIG, "%s", err);
	if (n == 0)
		fatalx(EX_CONFIG, "no clocks configured in %s (clock@PORT.env);"
		    " give them as NAME=HOST:PORT", config);
	return n;
}

static void
wall_quit(struct wall *w, int code)
{
	w->exit_code = code;
	event_base_loopexit(w->base, NULL);
}

/* A frame shortly: lines from several clocks arriving together share it. */
static void
wall_redraw_soon(struct wall *w)
{
	struct timeval tv = { 0, WALL_REDRAW_MS * 1000 };

	if (!evtimer_pending(w->redraw_ev, NULL))
		evtimer_add(w->redraw_ev, &tv);
}

static void
wall_redraw_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wall *w = arg;

	if (view_draw(w->view, w->clocks, w->n) == -1)
		wall_quit(w, errno == EPIPE ? EX_OK : EX_IOERR);
}

/*
 * A clock has a new time or state.  --once ends when every clock has sent
 * WALL_ONCE_LINES lines (its offset a median of them) or failed for good.
 */
static void
wall_changed_cb(struct clock *c, void *arg)
{
	struct wall *w = arg;
	struct timeval tick = { 0, WALL_UI_TICK_MS * 1000 };
	size_t i;

	if (w->once) {
		for (i = 0; i < w->n; i++)
			if (w->clocks[i] == NULL || (w->clocks[i]->lines <
			    WALL_ONCE_LINES && w->clocks[i]->state != CLOCK_DOWN))
				return;
		event_base_loopexit(w->base, NULL);
		return;
	}
	if (w->view->mode == VIEW_PLAIN) {
		if (view_line(w->view, c) == -1)
			wall_quit(w, errno == EPIPE ? EX_OK : EX_IOERR);
		return;
	}
	wall_redraw_soon(w);
	if (c->state != CLOCK_UP && !event_pending(w->ui_ev, EV_TIMEOUT,
	    NULL))
		event_add(w->ui_ev, &tick);
}

/*
 * --once ran out of time: what has not answered by now is down; a clock
 * that answered shows what it has.
 */
static void
wall_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wall *w = arg;
	size_t i;

	for (i = 0; i < w->n; i++)
		clock_give_up(w->clocks[i], "no answer");
	event_base_loopexit(w->base, NULL);
}

/*
 * The spinner turns; retry countdowns and silences are redrawn twice a
 * second.  With every clock up the timer stops: the lines themselves
 * redraw the wall.
 */
static void
wall_ui_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wall *w = arg;
	size_t i;
	int spinning = 0, down = 0;

	w->ticks++;
	w->view->spin++;
	for (i = 0; i < w->n; i++) {
		if (w->clocks[i]->state == CLOCK_CONNECTING)
			spinning = 1;
		else if (w->clocks[i]->state != CLOCK_UP)
			down = 1;
	}
	if (spinning || (down && w->ticks % 5 == 0))
		wall_redraw_soon(w);
	if (!spinning && !down)
		event_del(w->ui_ev);
}

/*
 * A terminal's escape sequence at p (n bytes): the arrows, Page Up/Down,
 * Home and End, as xterm and the Linux console send them.  Returns the
 * bytes it takes (1 for a lone ESC) and the key in *key.
 */
static size_t
wall_key_escape(const char *p, size_t n, enum wall_key *key)
{
	size_t i;

	*key = KEY_NONE;
	if (n < 3 || (p[1] != '[' && p[1] != 'O'))
		return 1;
	switch (p[2]) {
	case 'A':
		*key = KEY_UP;
		return 3;
	case 'B':
		*key = KEY_DOWN;
		return 3;
	case 'H':
		*key = KEY_HOME;
		return 3;
	case 'F':
		*key = KEY_END;
		return 3;
	}
	/* CSI digits ~ */
	for (i = 2; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		;
	if (i == 2 || i == n || p[i] != '~')
		return i < n ? i + 1 : n;
	switch (p[2]) {
	case '1':
	case '7':
		*key = i == 3 ? KEY_HOME : KEY_NONE;
		break;
	case '4':
	case '8':
		*key = i == 3 ? KEY_END : KEY_NONE;
		break;
	case '5':
		*key = i == 3 ? KEY_PAGE_UP : KEY_NONE;
		break;
	case '6':
		*key = i == 3 ? KEY_PAGE_DOWN : KEY_NONE;
		break;
	}
	return i + 1;
}

/* Moves the page of a wall taller than the window. */
static void
wall_key_scroll(struct wall *w, enum wall_key key)
{
	long page = w->view->page > 1 ? (long)w->view->page - 1 : 1;

	switch (key) {
	case KEY_UP:
		view_scroll(w->view, -1, w->n);
		break;
	case KEY_DOWN:
		view_scroll(w->view, 1, w->n);
		break;
	case KEY_PAGE_UP:
		view_scroll(w->view, -page, w->n);
		break;
	case KEY_PAGE_DOWN:
		view_scroll(w->view, page, w->n);
		break;
	case KEY_HOME:
		view_scroll(w->view, -(long)w->n, w->n);
		break;
	case KEY_END:
		view_scroll(w->view, (long)w->n, w->n);
		break;
	case KEY_NONE:
		return;
	}
	wall_redraw_soon(w);
}

/*
 * Keys on the live view: q quits, r retries now, Ctrl-L redraws; j/k and
 * the arrows scroll by a row, space/b and Page Down/Up by a page, g/G and
 * Home/End go to the top and the bottom.
 */
static void
wall_key_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wall *w = arg;
	enum wall_key key;
	char buf[64];
	ssize_t n, i;
	size_t j;

	n = read(fd, buf, sizeof(buf));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* No more keys (stdin closed); signals still stop us. */
		event_del(w->key_ev);
		return;
	}
	for (i = 0; i < n; i++) {
		key = KEY_NONE;
		switch (buf[i]) {
		case 'q':
		case 'Q':
			wall_quit(w, EX_OK);
			return;
		case 'r':
		case 'R':
			for (j = 0; j < w->n; j++)
				clock_retry_now(w->clocks[j]);
			break;
		case '\014':
			view_leave(w->view);
			(void)view_enter(w->view);
			wall_redraw_soon(w);
			break;
		case 'j':
			key = KEY_DOWN;
			break;
		case 'k':
			key = KEY_UP;
			break;
		case ' ':
		case 'f':
			key = KEY_PAGE_DOWN;
			break;
		case 'b':
			key = KEY_PAGE_UP;
			break;
		case 'g':
			key = KEY_HOME;
			break;
		case 'G':
			key = KEY_END;
			break;
		case '\033':
			i += (ssize_t)wall_key_escape(buf + i, (size_t)(n - i),
			    &key) - 1;
			break;
		}
		wall_key_scroll(w, key);
	}
}

/*
 * INT, TERM, HUP end the wall (exit 0, terminal restored); WINCH redraws
 * at the new size; TSTP gives the terminal back while stopped.
 */
static void
wall_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct wall *w = arg;

	switch (sig) {
	case SIGWINCH:
		view_size(w->view);
		wall_redraw_soon(w);
		break;
	case SIGTSTP:
		view_leave(w->view);
		(void)kill(getpid(), SIGSTOP);
		/* Continued. */
		(void)view_enter(w->view);
		wall_redraw_soon(w);
		break;
	default:
		wall_quit(w, EX_OK);
		break;
	}
}

static int
wall_signal(struct wall *w, int sig)
{
	struct event *ev;

	if ((ev = evsignal_new(w->base, sig, wall_signal_cb, w)) == NULL ||
	    evsignal_add(ev, NULL) == -1)
		return -1;
	w->signals[w->nsignals++] = ev;
	return 0;
}

static void
wall_free(struct wall *w)
{
	size_t i;

	if (w->view != NULL)
		view_leave(w->view);
	for (i = 0; i < w->n; i++)
		clock_free(w->clocks[i]);
	for (i = 0; i < w->nsignals; i++)
		event_free(w->signals[i]);
	if (w->key_ev != NULL)
		event_free(w->key_ev);
	if (w->ui_ev != NULL)
		event_free(w->ui_ev);
	if (w->redraw_ev != NULL)
		event_free(w->redraw_ev);
	if (w->deadline_ev != NULL)
		event_free(w->deadline_ev);
	view_free(w->view);
	event_base_free(w->base);
	lookup_reap();
}

/*
 * Resolves every clock's host, once, before the loop: an unknown host is
 * a usage error (64), a resolver that cannot answer now is 69.
 */
static void
wall_clocks(struct wall *w, const struct spec *specs, size_t n, int utf8)
{
	struct addrinfo *ai;
	char err[512];
	size_t i;

	for (i = 0; i < n; i++) {
		switch (spec_resolve(&specs[i], &ai, err, sizeof(err))) {
		case SPEC_RESOLVED:
			break;
		case SPEC_UNKNOWN_HOST:
			cli_usage_error("%s", err);
		default:
			fatalx(EX_UNAVAILABLE, "%s", err);
		}
		if ((w->clocks[i] = clock_new(w->base, &specs[i], ai, !w->once,
		    utf8, wall_changed_cb, w)) == NULL)
			fatalx(EX_OSERR, "out of memory");
		w->n++;
	}
}

/*
 * Signals and timers; on a terminal also the keyboard, the screen and the
 * spinner.
 */
static void
wall_events(struct wall *w, int live)
{
	struct timeval tick = { 0, WALL_UI_TICK_MS * 1000 };

	(void)signal(SIGPIPE, SIG_IGN);
	if (wall_signal(w, SIGINT) == -1 || wall_signal(w, SIGTERM) == -1 ||
	    wall_signal(w, SIGHUP) == -1 || (live &&
	    (wall_signal(w, SIGWINCH) == -1 || wall_signal(w, SIGTSTP) == -1)))
		fatalx(EX_OSERR, "cannot watch signals");
	if ((w->redraw_ev = evtimer_new(w->base, wall_redraw_cb, w)) == NULL ||
	    (w->deadline_ev = evtimer_new(w->base, wall_deadline_cb, w)) ==
	    NULL ||
	    (w->ui_ev = event_new(w->base, -1, EV_PERSIST, wall_ui_cb, w)) ==
	    NULL)
		fatalx(EX_OSERR, "cannot create timers");
	if (!live)
		return;
	if (isatty(STDIN_FILENO) && ((w->key_ev = event_new(w->base,
	    STDIN_FILENO, EV_READ | EV_PERSIST, wall_key_cb, w)) == NULL ||
	    event_add(w->key_ev, NULL) == -1))
		fatalx(EX_OSERR, "cannot watch the keyboard");
	if (view_enter(w->view) == -1)
		fatal(EX_IOERR, "cannot write to the terminal");
	event_add(w->ui_ev, &tick);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument, NULL, 'c' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ "max-offset",	required_argument, NULL, 'm' },
		{ "once",	no_argument,	   NULL, OPT_ONCE },
		{ "timeout",	required_argument, NULL, 't' },
		{ "version",	no_argument,	   NULL, CLI_OPT_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	static struct spec specs[SPEC_CLOCKS_MAX];
	struct cli_common cli;
	struct wall w;
	struct timeval timeout, max_offset;
	const char *config = NULL, *term;
	size_t i, n;
	int ch, utf8, live;

	memset(&w, 0, sizeof(w));
	cli_init(&cli, argv[0]);
	timeout.tv_sec = (time_t)WALL_ONCE_TIMEOUT;
	timeout.tv_usec = 0;
	max_offset.tv_sec = 0;
	max_offset.tv_usec = (suseconds_t)(VIEW_MAX_OFFSET * 1e6);
	while ((ch = getopt_long(argc, argv, "c:hm:t:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			usage();
		case 'm':
			if (parse_seconds(optarg, 0.001, OFFSET_PERIOD / 2,
			    &max_offset) == -1)
				cli_usage_error("bad --max-offset '%s' "
				    "(0.001-%d seconds)", optarg,
				    OFFSET_PERIOD / 2);
			break;
		case 't':
			if (parse_seconds(optarg, 0.1, 3600, &timeout) == -1)
				cli_usage_error("bad --timeout '%s' "
				    "(0.1-3600 seconds)", optarg);
			break;
		case OPT_ONCE:
			w.once = 1;
			break;
		case CLI_OPT_VERSION:
			cli_version();
		default:
			cli_usage_hint();
		}
	}
	log_init(argv[0], LOG_VERBOSITY_NORMAL);
	(void)setlocale(LC_CTYPE, "");
	utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	n = wall_specs(argc - optind, argv + optind, config, utf8, specs);

	if ((w.base = event_base_new()) == NULL)
		fatalx(EX_OSERR, "cannot create the event base");
	wall_clocks(&w, specs, n, utf8);
	term = getenv("TERM");
	live = !w.once && isatty(STDOUT_FILENO) && term != NULL &&
	    *term != '\0' && strcmp(term, "dumb") != 0;
	if ((w.view = view_new(live ? VIEW_LIVE : VIEW_PLAIN,
	    view_colour_ok(term, getenv("COLORTERM"), getenv("NO_COLOR")),
	    STDOUT_FILENO)) == NULL)
		fatalx(EX_OSERR, "out of memory");
	w.view->max_offset = (double)max_offset.tv_sec +
	    (double)max_offset.tv_usec / 1e6;
	view_names(w.view, w.clocks, w.n);
	wall_events(&w, live);
	if (w.once)
		evtimer_add(w.deadline_ev, &timeout);

	for (i = 0; i < w.n; i++)
		clock_start(w.clocks[i]);
	if (event_base_dispatch(w.base) == -1) {
		wall_free(&w);
		fatalx(EX_SOFTWARE, "event loop failed");
	}

	if (w.once) {
		view_leave(w.view);
		w.exit_code = EX_OK;
		for (i = 0; i < w.n; i++)
			if (w.exit_code == EX_OK && view_off(w.view, w.clocks[i]))
				w.exit_code = WALL_EXIT_OFF;
		for (i = 0; i < w.n; i++)
			if (!w.clocks[i]->answered)
				w.exit_code = EX_UNAVAILABLE;
		if (view_table(w.view, w.clocks, w.n) == -1)
			w.exit_code = EX_IOERR;
	}
	wall_free(&w);
	return w.exit_code;
}
