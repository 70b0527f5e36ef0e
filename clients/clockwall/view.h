/* SPDX-License-Identifier: ISC */
/* What the wall looks like: a live terminal view, or plain lines. */
#ifndef CLOCKWALL_VIEW_H
#define CLOCKWALL_VIEW_H

#include <sys/time.h>

#include <stddef.h>
#include <termios.h>

#define VIEW_STATE_MAX	160	/* bytes of a state text */
#define VIEW_MAX_OFFSET	0.5	/* seconds, --max-offset's default */

struct clock;
struct evbuffer;

enum view_mode {
	VIEW_LIVE,	/* a terminal: the table redrawn in place */
	VIEW_PLAIN,	/* not a terminal: one line per new time or failure */
};

struct view {
	enum view_mode		 mode;
	int			 colour;
	int			 fd;		/* where frames go */
	int			 active;	/* the terminal is in our mode */
	int			 saved_ok;	/* saved holds stdin's modes */
	struct termios		 saved;
	unsigned		 rows, cols;
	unsigned		 spin;		/* spinner frame */
	size_t			 name_w;	/* plain lines: name column */
	double			 max_offset;	/* seconds: beyond, a clock is off */
	size_t			 top;		/* first clock row shown */
	size_t			 page;		/* clock rows that fit */
	struct evbuffer		*out;
};

struct view *view_new(enum view_mode, int, int);
void	view_free(struct view *);
int	view_enter(struct view *);
void	view_leave(struct view *);
void	view_size(struct view *);
int	view_draw(struct view *, struct clock **, size_t);
int	view_line(struct view *, struct clock *);
int	view_table(struct view *, struct clock **, size_t);
void	view_names(struct view *, struct clock **, size_t);
void	view_scroll(struct view *, long, size_t);
int	view_off(const struct view *, const struct clock *);
const char *view_state(const struct view *, const struct clock *,
	    const struct timeval *, char *, size_t);
int	view_colour_ok(const char *, const char *, const char *);

#endif
