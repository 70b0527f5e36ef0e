/* SPDX-License-Identifier: ISC */
/*
 * What the wall looks like.  On a terminal: the alternate screen, one row
 * per clock redrawn in place (every row positioned and cleared to its end,
 * so nothing scrolls or flickers), a spinner for clocks still connecting,
 * colour when the terminal has it and NO_COLOR is not set; a wall taller
 * than the window shows a page of it, moved with view_scroll().
 * Elsewhere: plain lines, "NAME  TIME  OFFSET" for each new time (with
 * "off" after it when the offset passes max_offset), "NAME  silent" and
 * "NAME  down (why)" when a clock stops.  Every text was cleaned by
 * text_clean() before it got here, so no clock can send the terminal a
 * control sequence.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "clock.h"
#include "monotime.h"
#include "text.h"
#include "view.h"

#define VIEW_NAME_W_MAX	24
#define VIEW_TIME_W_MAX	24
#define VIEW_ADDR_W_MAX	32
#define VIEW_OFFSET_W_MAX	12

#define SGR_RESET	"\033[m"
#define SGR_TITLE	"\033[7m"
#define SGR_HEAD	"\033[1m"
#define SGR_UP		"\033[1;32m"
#define SGR_CONNECTING	"\033[33m"
#define SGR_DOWN	"\033[31m"

static const char view_spinner[] = "-\\|/";

static struct view *view_current;	/* restored at exit */

static void	view_atexit(void);
static int	view_flush(struct view *);
static void	view_cell(struct view *, const char *, size_t, const char *,
		    size_t *);
static size_t	view_max_width(struct clock **, size_t, int, size_t, size_t);
static const char *view_offset(const struct clock *, char *, size_t);
static void	view_plain(struct view *, const struct clock *, const char *);

/*
 * Colour when the terminal is known to have it: TERM names a colour
 * terminal (or COLORTERM is set), and NO_COLOR is unset or empty.
 */
int
view_colour_ok(const char *term, const char *colorterm, const char *no_color)
{
	static const char *prefixes[] = { "xterm", "screen", "tmux", "rxvt",
	    "linux", "ansi", "cygwin", "putty", "konsole", "gnome",
	    "alacritty", "kitty", "foot", "wezterm", "st-", "vte", "iterm",
	    "eterm", "contour" };
	size_t i;

	if (no_color != NULL && *no_color != '\0')
		return 0;
	if (term == NULL || *term == '\0' || strcmp(term, "dumb") == 0)
		return 0;
	if (colorterm != NULL && *colorterm != '\0')
		return 1;
	if (strstr(term, "color") != NULL || strcmp(term, "st") == 0)
		return 1;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(term, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

struct view *
view_new(enum view_mode mode, int colour, int fd)
{
	struct view *v;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	if ((v->out = evbuffer_new()) == NULL) {
		free(v);
		return NULL;
	}
	v->mode = mode;
	v->colour = colour && mode == VIEW_LIVE;
	v->fd = fd;
	v->rows = 24;
	v->cols = 80;
	v->max_offset = VIEW_MAX_OFFSET;
	return v;
}

void
view_free(struct view *v)
{
	if (v == NULL)
		return;
	view_leave(v);
	evbuffer_free(v->out);
	free(v);
}

/* Writes out everything buffered; -1 when the output is gone. */
static int
view_flush(struct view *v)
{
	while (evbuffer_get_length(v->out) > 0) {
		if (evbuffer_write(v->out, v->fd) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			evbuffer_drain(v->out, evbuffer_get_length(v->out));
			return -1;
		}
	}
	return 0;
}

static void
view_atexit(void)
{
	if (view_current != NULL)
		view_leave(view_current);
}

/*
 * Takes the terminal: keys one at a time without echo (signals still
 * work, so Ctrl-C stops the wall), the alternate screen, no cursor.
 */
int
view_enter(struct view *v)
{
	static int registered;
	struct termios t;

	if (v->mode != VIEW_LIVE || v->active)
		return 0;
	if (!registered && atexit(view_atexit) == 0)
		registered = 1;
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &v->saved) == 0) {
		v->saved_ok = 1;
		t = v->saved;
		t.c_lflag &= ~(ICANON | ECHO);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	v->active = 1;
	view_current = v;
	view_size(v);
	evbuffer_add_printf(v->out, "\033[?1049h\033[?25l\033[H\033[2J");
	return view_flush(v);
}

/* Gives the terminal back as it was. */
void
view_leave(struct view *v)
{
	if (!v->active)
		return;
	v->active = 0;
	view_current = NULL;
	evbuffer_drain(v->out, evbuffer_get_length(v->out));
	evbuffer_add_printf(v->out, "%s\033[?25h\033[?1049l",
	    v->colour ? SGR_RESET : "");
	(void)view_flush(v);
	if (v->saved_ok)
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &v->saved);
}

void
view_size(struct view *v)
{
	struct winsize ws;

	if (ioctl(v->fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0) {
		v->rows = ws.ws_row;
		v->cols = ws.ws_col;
	}
}

/* The clock is up but further from our clock than max_offset. */
int
view_off(const struct view *v, const struct clock *c)
{
	return (c->state == CLOCK_UP || c->state == CLOCK_SILENT) &&
	    c->has_offset && fabs(c->offset) > v->max_offset;
}

/* The offset column's text: "+0.004s", or "" before the first. */
static const char *
view_offset(const struct clock *c, char *buf, size_t cap)
{
	if ((c->state != CLOCK_UP && c->state != CLOCK_SILENT) ||
	    !c->has_offset || offset_format(c->offset, buf, cap) == -1)
		buf[0] = '\0';
	return buf;
}

/*
 * The state column: "up", "off" (up, but too far from our clock),
 * "silent Ns" since the last line, "connecting |" with the spinner, or
 * "down (why), retry in Ns" counted down from the monotonic now.
 */
const char *
view_state(const struct view *v, const struct clock *c,
    const struct timeval *now, char *buf, size_t cap)
{
	struct timeval left;
	long ms;
	int r;

	switch (c->state) {
	case CLOCK_UP:
		r = snprintf(buf, cap, "%s", view_off(v, c) ? "off" : "up");
		break;
	case CLOCK_SILENT:
		if (now == NULL) {
			r = snprintf(buf, cap, "silent");
			break;
		}
		timersub(now, &c->last_line, &left);
		r = snprintf(buf, cap, "silent %lds", (long)left.tv_sec);
		break;
	case CLOCK_CONNECTING:
		r = snprintf(buf, cap, "connecting %c",
		    view_spinner[v->spin % 4]);
		break;
	default:
		if (!c->retry || now == NULL) {
			r = snprintf(buf, cap, "down (%s)", c->why);
			break;
		}
		if (timercmp(&c->retry_at, now, >))
			timersub(&c->retry_at, now, &left);
		else
			timerclear(&left);
		ms = (long)left.tv_sec * 1000 + left.tv_usec / 1000;
		r = snprintf(buf, cap, "down (%s), retry in %lds", c->why,
		    (ms + 999) / 1000);
		break;
	}
	if (r < 0 || (size_t)r >= cap)
		buf[cap > 0 ? cap - 1 : 0] = '\0';
	return buf;
}

/* The widest of a column's texts, within [min, max]. */
static size_t
view_max_width(struct clock **clocks, size_t n, int which, size_t min,
    size_t max)
{
	char off[OFFSET_TEXT_MAX];
	size_t i, w, best = min;

	for (i = 0; i < n; i++) {
		if (which == 0)
			w = text_width(clocks[i]->spec.name);
		else if (which == 1)
			w = clocks[i]->answered ? text_width(clocks[i]->time) : 0;
		else if (which == 2)
			w = text_width(clocks[i]->addr);
		else
			w = strlen(view_offset(clocks[i], off, sizeof(off)));
		if (w > best)
			best = w;
	}
	return best > max ? max : best;
}

/*
 * Appends one cell: text cut to width columns and padded to it (width 0:
 * whatever is left, unpadded), never past the *left columns of the row.
 * The padding takes the cell's attributes, so a title bar runs on.
 */
static void
view_cell(struct view *v, const char *text, size_t width, const char *sgr,
    size_t *left)
{
	size_t bytes, w, pad, fill;

	fill = width;
	if (width == 0 || width > *left)
		width = *left;
	if (fill > width)
		fill = width;
	bytes = text_fit(text, width, &w);
	if (v->colour && sgr != NULL)
		evbuffer_add_printf(v->out, "%s", sgr);
	evbuffer_add(v->out, text, bytes);
	for (pad = w; pad < fill; pad++)
		evbuffer_add(v->out, " ", 1);
	if (v->colour && sgr != NULL)
		evbuffer_add_printf(v->out, "%s", SGR_RESET);
	*left -= fill > w ? fill : w;
}

/*
 * Moves the page by rows (negative: up), kept within the wall of n
 * clocks; a move past either end stops there.
 */
void
view_scroll(struct view *v, long rows, size_t n)
{
	size_t last = n > v->page ? n - v->page : 0;

	if (v->top > last)
		v->top = last;
	if (rows < 0)
		v->top = (size_t)-rows >= v->top ? 0 : v->top - (size_t)-rows;
	else
		v->top = (size_t)rows >= last - v->top ? last :
		    v->top + (size_t)rows;
}

/* Draws the whole wall in place: a page of it when it is too tall. */
int
view_draw(struct view *v, struct clock **clocks, size_t n)
{
	struct timeval now;
	size_t i, up = 0, down = 0, silent = 0, off = 0, left, name_w, time_w,
	    addr_w, off_w, last;
	unsigned row = 1, avail;
	char title[160], state[VIEW_STATE_MAX], otext[OFFSET_TEXT_MAX];
	const char *sgr, *t;
	struct clock *c;
	int r;

	if (!v->active)
		return 0;
	monotime_tv(&now);
	for (i = 0; i < n; i++) {
		if (clocks[i]->state == CLOCK_UP)
			up++;
		else if (clocks[i]->state == CLOCK_SILENT)
			silent++;
		else if (clocks[i]->state == CLOCK_DOWN)
			down++;
		if (view_off(v, clocks[i]))
			off++;
	}
	name_w = view_max_width(clocks, n, 0, 4, VIEW_NAME_W_MAX);
	time_w = view_max_width(clocks, n, 1, 8, VIEW_TIME_W_MAX);
	addr_w = view_max_width(clocks, n, 2, 7, VIEW_ADDR_W_MAX);
	off_w = view_max_width(clocks, n, 3, 6, VIEW_OFFSET_W_MAX);

	/* Title bar: the counts that are not zero, down always. */
	r = snprintf(title, sizeof(title), " clockwall: %zu clock%s, %zu up,"
	    " %zu down", n, n == 1 ? "" : "s", up, down);
	if (r > 0 && (size_t)r < sizeof(title) && silent > 0)
		r += snprintf(title + r, sizeof(title) - (size_t)r,
		    ", %zu silent", silent);
	if (r > 0 && (size_t)r < sizeof(title) && off > 0)
		(void)snprintf(title + r, sizeof(title) - (size_t)r,
		    ", %zu off", off);
	evbuffer_add_printf(v->out, "\033[%u;1H", row++);
	left = v->cols;
	if (left > 17) {
		left -= 17;
		view_cell(v, title, left, SGR_TITLE, &left);
		left = 17;
		view_cell(v, " q quit  r retry ", 17, SGR_TITLE, &left);
	} else
		view_cell(v, title, 0, SGR_TITLE, &left);
	evbuffer_add_printf(v->out, "\033[K");

	if (v->rows >= 3) {
		evbuffer_add_printf(v->out, "\033[%u;1H\033[K\033[%u;1H", row,
		    row + 1);
		row += 2;
		left = v->cols;
		view_cell(v, "  ", 2, NULL, &left);
		view_cell(v, "NAME", name_w + 2, SGR_HEAD, &left);
		view_cell(v, "TIME", time_w + 2, SGR_HEAD, &left);
		view_cell(v, "OFFSET", off_w + 2, SGR_HEAD, &left);
		view_cell(v, "ADDRESS", addr_w + 2, SGR_HEAD, &left);
		view_cell(v, "STATE", 0, SGR_HEAD, &left);
		evbuffer_add_printf(v->out, "\033[K");
	}

	/*
	 * Clocks: all when they fit, else a page of them from v->top and a
	 * last row that says which and how to move.
	 */
	avail = v->rows >= row ? v->rows - row + 1 : 0;
	v->page = n <= avail ? n : avail > 0 ? avail - 1 : 0;
	last = n > v->page ? n - v->page : 0;
	if (v->top > last)
		v->top = last;
	for (i = v->top; i < v->top + v->page; i++) {
		c = clocks[i];
		evbuffer_add_printf(v->out, "\033[%u;1H", row++);
		left = v->cols;
		sgr = view_off(v, c) ? SGR_DOWN : c->state == CLOCK_UP ?
		    SGR_UP : c->state == CLOCK_DOWN ? SGR_DOWN :
		    SGR_CONNECTING;
		t = c->state == CLOCK_UP || c->state == CLOCK_SILENT ?
		    c->time : time_w >= 8 ? "--:--:--" : "-";
		view_cell(v, "  ", 2, NULL, &left);
		view_cell(v, c->spec.name, name_w + 2, NULL, &left);
		view_cell(v, t, time_w + 2, c->state == CLOCK_UP ? SGR_UP :
		    NULL, &left);
		view_cell(v, view_offset(c, otext, sizeof(otext)), off_w + 2,
		    view_off(v, c) ? SGR_DOWN : NULL, &left);
		view_cell(v, c->addr, addr_w + 2, NULL, &left);
		view_cell(v, view_state(v, c, &now, state, sizeof(state)), 0,
		    sgr, &left);
		evbuffer_add_printf(v->out, "\033[K");
	}
	if (v->page < n && row <= v->rows) {
		(void)snprintf(title, sizeof(title), "  %zu-%zu of %zu: j/k or "
		    "arrows scroll, space/b page", v->page ? v->top + 1 : 0,
		    v->top + v->page, n);
		evbuffer_add_printf(v->out, "\033[%u;1H", row++);
		left = v->cols;
		view_cell(v, title, 0, NULL, &left);
		evbuffer_add_printf(v->out, "\033[K");
	}
	if (row <= v->rows)
		evbuffer_add_printf(v->out, "\033[%u;1H\033[J", row);
	return view_flush(v);
}

/* Sets the name column of plain lines to the widest name. */
void
view_names(struct view *v, struct clock **clocks, size_t n)
{
	v->name_w = view_max_width(clocks, n, 0, 1, VIEW_NAME_W_MAX);
}

/*
 * One plain line: the name padded to the column, then text; for a clock
 * that is up, its offset after it and "off" when it is too far.
 */
static void
view_plain(struct view *v, const struct clock *c, const char *text)
{
	char off[OFFSET_TEXT_MAX];
	size_t pad;

	evbuffer_add_printf(v->out, "%s", c->spec.name);
	for (pad = text_width(c->spec.name); pad < v->name_w; pad++)
		evbuffer_add(v->out, " ", 1);
	evbuffer_add_printf(v->out, "  %s", text);
	if (text == c->time && *view_offset(c, off, sizeof(off)) != '\0')
		evbuffer_add_printf(v->out, "  %s%s", off, view_off(v, c) ?
		    "  off" : "");
	evbuffer_add(v->out, "\n", 1);
}

/*
 * One plain line for what just happened to c: its new time, or its
 * silence or failure when that differs from the last one printed (a
 * clock that keeps refusing is reported once, not at every retry).
 */
int
view_line(struct view *v, struct clock *c)
{
	char state[VIEW_STATE_MAX];
	const char *text;

	switch (c->state) {
	case CLOCK_UP:
		snprintf(c->said, sizeof(c->said), "up");
		text = c->time;
		break;
	case CLOCK_SILENT:
	case CLOCK_DOWN:
		text = view_state(v, c, NULL, state, sizeof(state));
		if (strcmp(text, c->said) == 0)
			return 0;
		snprintf(c->said, sizeof(c->said), "%s", state);
		break;
	default:
		return 0;
	}
	view_plain(v, c, text);
	return view_flush(v);
}

/*
 * The --once table: one line per clock, its time and offset if it
 * answered, else why not.
 */
int
view_table(struct view *v, struct clock **clocks, size_t n)
{
	char state[VIEW_STATE_MAX];
	size_t i;

	view_names(v, clocks, n);
	for (i = 0; i < n; i++)
		view_plain(v, clocks[i], clocks[i]->answered ? clocks[i]->time :
		    view_state(v, clocks[i], NULL, state, sizeof(state)));
	return view_flush(v);
}
