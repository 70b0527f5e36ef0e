/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for daemons/ftpd/ftp_work.c: jobs run on worker threads and
 * come back in the loop; the queue's bound, taking a job back, and a
 * shutdown that still finishes every job.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "../../daemons/ftpd/ftp_work.h"
#include "timeout.h"

#define NJOBS	64

struct tjob {
	struct ftp_job	 job;		/* first: the pool's handle */
	pthread_t	 ran_on;
	int		 ran;		/* run() returned */
	int		 ran_before_done;
	int		 done;		/* done() calls */
	pthread_t	 done_on;
	int		 gate;		/* run() waits for a byte here, or -1 */
};

static int ndone;

static void
tjob_run(struct ftp_job *job)
{
	struct tjob *j = (struct tjob *)job;
	char c;

	if (j->gate != -1)
		(void)read(j->gate, &c, 1);
	j->ran_on = pthread_self();
	j->ran = 1;
}

static void
tjob_done(struct ftp_job *job)
{
	struct tjob *j = (struct tjob *)job;

	j->ran_before_done = j->ran;
	j->done++;
	j->done_on = pthread_self();
	ndone++;
}

static void
tjob_init(struct tjob *j, int gate)
{
	memset(j, 0, sizeof(*j));
	j->job.run = tjob_run;
	j->job.done = tjob_done;
	j->gate = gate;
}

/*
 * A pool of one worker held at a gate by blocker (a pipe of the caller's:
 * a byte written to gate[1] lets it go), with at most max jobs waiting.
 */
static struct ftp_work *
held_pool(struct event_base *base, size_t max, struct tjob *blocker,
    int *gate)
{
	struct ftp_work *w = ftp_work_new(base, 1, max, "test-work", 0);

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(pipe(gate), 0);
	ndone = 0;
	tjob_init(blocker, gate[0]);
	ck_assert_int_eq(ftp_work_submit(w, &blocker->job, 0), 0);
	/* Until the worker takes the blocker, it counts in the queue too. */
	while (ftp_work_cancel(w, &blocker->job) == 1)
		ck_assert_int_eq(ftp_work_submit(w, &blocker->job, 0), 0);
	return w;
}

/* Runs the loop until n jobs in all are done. */
static void
loop_until(struct event_base *base, int n)
{
	while (ndone < n)
		ck_assert_int_ne(event_base_loop(base, EVLOOP_ONCE), -1);
}

START_TEST(test_run_then_done)
{
	struct event_base *base = event_base_new();
	struct ftp_work *w = ftp_work_new(base, 3, NJOBS, "test-work", 0);
	struct tjob *jobs = calloc(NJOBS, sizeof(*jobs));
	int i;

	ck_assert_ptr_nonnull(w);
	ndone = 0;
	for (i = 0; i < NJOBS; i++) {
		tjob_init(&jobs[i], -1);
		ck_assert_int_eq(ftp_work_submit(w, &jobs[i].job, 0), 0);
	}
	loop_until(base, NJOBS);
	for (i = 0; i < NJOBS; i++) {
		ck_assert_int_eq(jobs[i].done, 1);
		ck_assert_int_eq(jobs[i].ran_before_done, 1);
		/* run() on a worker, done() in the loop's thread. */
		ck_assert(!pthread_equal(jobs[i].ran_on, pthread_self()));
		ck_assert(pthread_equal(jobs[i].done_on, pthread_self()));
	}
	ftp_work_free(w);
	ck_assert_int_eq(ndone, NJOBS);
	free(jobs);
	event_base_free(base);
}
END_TEST

/* One worker held at a gate: what waits behind it is queued. */
START_TEST(test_queue_bound)
{
	struct event_base *base = event_base_new();
	struct tjob blocker, a, b, c, must;
	int gate[2];
	struct ftp_work *w = held_pool(base, 2, &blocker, gate);

	tjob_init(&a, -1);
	tjob_init(&b, -1);
	tjob_init(&c, -1);
	tjob_init(&must, -1);
	ck_assert_int_eq(ftp_work_submit(w, &a.job, 0), 0);
	ck_assert_int_eq(ftp_work_submit(w, &b.job, 0), 0);
	ck_assert_int_eq(ftp_work_submit(w, &c.job, 0), -1);
	ck_assert_int_eq(ftp_work_submit(w, &must.job, FTP_WORK_ALWAYS), 0);
	ck_assert_int_eq(ftp_work_submit(NULL, &c.job, FTP_WORK_ALWAYS), -1);
	ck_assert_int_eq(write(gate[1], "x", 1), 1);
	loop_until(base, 4);
	ck_assert_int_eq(c.done, 0);
	ck_assert_int_eq(must.done, 1);
	ftp_work_free(w);
	close(gate[0]);
	close(gate[1]);
	event_base_free(base);
}
END_TEST

/* A job not started is taken back; one running still gets its done(). */
START_TEST(test_cancel)
{
	struct event_base *base = event_base_new();
	struct tjob blocker, a, b;
	int gate[2];
	struct ftp_work *w = held_pool(base, 8, &blocker, gate);

	tjob_init(&a, -1);
	tjob_init(&b, -1);
	ck_assert_int_eq(ftp_work_submit(w, &a.job, 0), 0);
	ck_assert_int_eq(ftp_work_submit(w, &b.job, 0), 0);
	ck_assert_int_eq(ftp_work_cancel(w, &a.job), 1);
	ck_assert_int_eq(write(gate[1], "x", 1), 1);
	loop_until(base, 2);
	ck_assert_int_eq(blocker.done, 1);
	ck_assert_int_eq(b.done, 1);
	ck_assert_int_eq(a.ran, 0);
	ck_assert_int_eq(a.done, 0);
	ftp_work_free(w);
	ck_assert_int_eq(a.done, 0);
	close(gate[0]);
	close(gate[1]);
	event_base_free(base);
}
END_TEST

/* Opens the gate a little later, from another thread. */
static void *
open_gate_later(void *arg)
{
	usleep(100000);
	(void)write(*(int *)arg, "x", 1);
	return NULL;
}

/*
 * Freed with jobs waiting (the worker is still held at the gate when the
 * pool is told to stop, in all likelihood) and jobs done but not yet
 * back: every one still runs and comes back.
 */
START_TEST(test_free_finishes_all)
{
	struct event_base *base = event_base_new();
	struct ftp_work *w = ftp_work_new(base, 1, NJOBS, "test-work", 0);
	struct tjob blocker, *jobs = calloc(NJOBS, sizeof(*jobs));
	pthread_t opener;
	int gate[2], i;

	ck_assert_int_eq(pipe(gate), 0);
	ndone = 0;
	tjob_init(&blocker, gate[0]);
	ck_assert_int_eq(ftp_work_submit(w, &blocker.job, 0), 0);
	for (i = 0; i < NJOBS - 1; i++) {
		tjob_init(&jobs[i], -1);
		ck_assert_int_eq(ftp_work_submit(w, &jobs[i].job, 0), 0);
	}
	ck_assert_int_eq(pthread_create(&opener, NULL, open_gate_later,
	    &gate[1]), 0);
	ftp_work_free(w);		/* the loop never ran */
	pthread_join(opener, NULL);
	ck_assert_int_eq(ndone, NJOBS);
	ck_assert_int_eq(blocker.done, 1);
	for (i = 0; i < NJOBS - 1; i++) {
		ck_assert_int_eq(jobs[i].done, 1);
		ck_assert_int_eq(jobs[i].ran_before_done, 1);
	}
	close(gate[0]);
	close(gate[1]);
	free(jobs);
	event_base_free(base);
}
END_TEST

static Suite *
ftp_work_suite(void)
{
	Suite *s = suite_create("ftp_work");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	/* Worker threads on 64 jobs, a gate opened after 0.1 s: well under a
	 * second at rest. */
	tcase_budget(core, 10);
	tcase_budget(limits, 10);
	tcase_add_test(core, test_run_then_done);
	tcase_add_test(core, test_free_finishes_all);
	tcase_add_test(limits, test_queue_bound);
	tcase_add_test(limits, test_cancel);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ftp_work_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
