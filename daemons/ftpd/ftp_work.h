/* SPDX-License-Identifier: ISC */
/*
 * Blocking work off the event loop: worker threads run jobs (a password
 * hash, an fsync, a copy, TLS records) and the loop gets each job back
 * once it is done.
 */
#ifndef CLOCKWORK_FTP_WORK_H
#define CLOCKWORK_FTP_WORK_H

#include <sys/queue.h>

#include <stddef.h>

struct event_base;
struct ftp_work;

/*
 * A job, embedded in the caller's own structure.  run() is called on a
 * worker thread and may touch only what the job owns; done() is called in
 * the loop after run() has returned, and may free the job.  From
 * ftp_work_submit() until done() the job belongs to the pool.
 */
struct ftp_job {
	void			(*run)(struct ftp_job *);
	void			(*done)(struct ftp_job *);
	/* The pool's. */
	TAILQ_ENTRY(ftp_job)	 entry;
	int			 queued;
};

/* ftp_work_submit(): never refused for a full queue. */
#define FTP_WORK_ALWAYS		0x01

struct ftp_work *ftp_work_new(struct event_base *, unsigned, size_t,
	    const char *, int);
int	ftp_work_submit(struct ftp_work *, struct ftp_job *, int);
int	ftp_work_cancel(struct ftp_work *, struct ftp_job *);
void	ftp_work_free(struct ftp_work *);

#endif
