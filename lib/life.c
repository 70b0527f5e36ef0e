/* SPDX-License-Identifier: ISC */
/*
 * The daemon's life.  SIGTERM or SIGINT asks for a graceful stop: the
 * daemon's stop callback runs once (it stops accepting and lets clients
 * drain) and a second signal leaves the loop at once.  SIGUSR2 is the
 * stop half of a restart (sent by the units' ExecStop=, which alone can
 * ask systemd which it is): under systemd with an fd store, a daemon that
 * hands its clients over leaves them there for the next start (systemd
 * 252 keeps the store across a restart and empties it on a stop).
 * SIGHUP runs the daemon's reload callback, if it has one
 * (life_on_reload), in the loop like any event: a re-execution that keeps
 * the clients (lib/handover.c) or a daemon's configuration read again.
 * SIGPIPE is ignored: a vanished client is an error on its own socket,
 * not a dead daemon.
 */
#include <signal.h>
#include <string.h>

#include <event2/event.h>

#include "handover.h"
#include "life.h"
#include "log.h"
#include "sdnotify.h"
#include "server.h"

static struct event *sig_events[4];
static void (*stop_cb)(void *);
static void *stop_arg;
static void (*reload_cb)(void *);
static void *reload_arg;
static int stopping;
static int for_restart;		/* the stop is half of a restart */

/* A precise timer, so that clockd's ticks land within microseconds. */
struct event_base *
life_base_new(void)
{
	struct event_config *cfg;
	struct event_base *base;

	if ((cfg = event_config_new()) == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

static void
life_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	if (sig == SIGHUP) {
		if (stopping)
			log_info("SIGHUP ignored: stopping");
		else if (reload_cb != NULL)
			reload_cb(reload_arg);
		else
			log_info("SIGHUP ignored: there is no configuration "
			    "to reload");
		return;
	}
	if (stopping) {
		log_info("%s again: stopping now", strsignal((int)sig));
		event_base_loopbreak(base);
		return;
	}
	stopping = 1;
	for_restart = sig == SIGUSR2;
	log_info("%s: stopping%s", strsignal((int)sig),
	    for_restart ? " for a restart" : "");
	sdn_stopping();
	if (stop_cb != NULL)
		stop_cb(stop_arg);
	else
		event_base_loopexit(base, NULL);
}

/*
 * Arms the signal events, the watchdog and the timer of the log's
 * summaries.  cb (may be NULL) starts the graceful stop and must end with
 * event_base_loopexit once done.
 */
int
life_start(struct event_base *base, void (*cb)(void *), void *arg)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR2 };
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	log_set_base(base);
	stop_cb = cb;
	stop_arg = arg;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sig_events[i] = evsignal_new(base, sigs[i], life_signal_cb,
		    base);
		if (sig_events[i] == NULL ||
		    evsignal_add(sig_events[i], NULL) == -1)
			return -1;
	}
	return sdn_watchdog_start(base);
}

/*
 * What SIGHUP does: cb(arg), which reads the daemon's configuration again
 * and logs what came of it.  Without one, SIGHUP is logged and ignored.
 */
void
life_on_reload(void (*cb)(void *), void *arg)
{
	reload_cb = cb;
	reload_arg = arg;
}

/*
 * The stop callback of every daemon on lib/server, with a struct
 * life_stop as its argument: the daemon's periodic timer (tick, status)
 * stops, and the server lets its clients finish within the grace period
 * (server_shutdown), after which the loop exits.  In a restart under
 * systemd with an fd store (SIGUSR2), a daemon that hands its clients
 * over leaves them there instead, for the next start.
 */
void
life_stop_server(void *arg)
{
	struct life_stop *ls = arg;

	if (ls->to_store != NULL && for_restart && handover_store_enabled()) {
		/* Newcomers wait in the backlog for the next process. */
		server_stop_accepting(ls->srv);
		ls->to_store(ls->arg);
		return;
	}
	life_stop_graceful(ls);
}

/* The graceful stop itself: timer off, clients finish, loop exits. */
void
life_stop_graceful(struct life_stop *ls)
{
	if (ls->timer != NULL)
		event_del(ls->timer);
	server_shutdown(ls->srv, &ls->grace);
}

int
life_stopping(void)
{
	return stopping;
}

/* Frees what life_start made; the log's last summaries are written. */
void
life_end(void)
{
	size_t i;

	log_set_base(NULL);
	sdn_watchdog_stop();
	reload_cb = NULL;
	for (i = 0; i < sizeof(sig_events) / sizeof(sig_events[0]); i++)
		if (sig_events[i] != NULL) {
			event_free(sig_events[i]);
			sig_events[i] = NULL;
		}
}
