// SPDX-License-Identifier: GPL-2.0
/*
 * iowq_hotplug [SECONDS] [serialised]: new io_uring tasks while CPU 1
 * goes offline and online, without /dev/karena.
 *
 * A task gets an io-wq when it sets up its first ring (6.1:
 * io_uring_install_fd() -> io_uring_alloc_task_context() ->
 * io_wq_create()).  Threads pinned to CPU 0 keep creating such tasks --
 * a thread sets up a ring, submits a NOP and exits -- while the main
 * thread takes CPU 1 offline and online as fast as it can.  The spawners
 * run SCHED_IDLE next to a CPU hog that sleeps briefly every 2 ms: they
 * are often preempted at a might_sleep() inside io_wq_create(), which
 * stretches its window (uring_util.h, ku_cpuhp_lock()) from microseconds
 * to milliseconds.  On Debian's 6.1 this oopses in io_wq_for_each_worker()
 * from __io_wq_cpu_online() (cpuhp/1) within a minute, with no module
 * loaded: the io-wq oops of issue 17 item 0 is the kernel's.  With
 * "serialised" ring setup and the hotplug writes take ku_cpuhp_lock() and
 * the run is clean.  Not part of make check (it crashes 6.1 by design).
 * Prints TAP (one test): ok when the run ends.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "uring_util.h"

#define CPU1		"/sys/devices/system/cpu/cpu1/online"
#define NTHREADS	8

static volatile int stop;
static volatile long created;
static int serialised;

/* One short-lived io_uring task: ring, one request, exit. */
static void *one_task(void *arg)
{
	int lock = serialised ? ku_cpuhp_lock(0) : -1;
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	int ret = ku_ring(&ring, 4);

	if (lock >= 0)
		close(lock);
	if (ret)
		return NULL;
	sqe = io_uring_get_sqe(&ring);
	if (sqe) {
		io_uring_prep_nop(sqe);
		io_uring_submit(&ring);
	}
	io_uring_queue_exit(&ring);
	__atomic_add_fetch(&created, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void pin0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * CPU 0 busy, with short sleeps: each wakeup asks the SCHED_IDLE
 * spawners to give way at their next might_sleep() point, which is often
 * inside io_wq_create() (its allocations), and they then stay off the CPU
 * for a while: the window between the io-wq's hotplug registration and
 * its initialisation grows from microseconds to milliseconds.
 */
static void *hog(void *arg)
{
	pin0();
	while (!stop) {
		struct timespec t0, t;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		do
			clock_gettime(CLOCK_MONOTONIC, &t);
		while ((t.tv_sec - t0.tv_sec) * 1000000000L +
		       t.tv_nsec - t0.tv_nsec < 2000000);
		usleep(200);
	}
	return NULL;
}

static void *spawner(void *arg)
{
	struct sched_param sp = { 0 };

	pin0();
	sched_setscheduler(0, SCHED_IDLE, &sp);
	while (!stop) {
		pthread_t t;

		if (!pthread_create(&t, NULL, one_task, arg))
			pthread_join(t, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 20, i, flips = 0;
	pthread_t t[NTHREADS], h;
	struct timespec end;

	serialised = argc > 2 && !strcmp(argv[2], "serialised");
	printf("TAP version 13\n1..1\n");
	if (access(CPU1, W_OK)) {
		printf("ok 1 iowq_hotplug # SKIP no CPU 1 hotplug\n");
		return 0;
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, spawner, NULL);
	pthread_create(&h, NULL, hog, NULL);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += secs;
	for (;;) {
		struct timespec now;
		int lock;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			break;
		lock = serialised ? ku_cpuhp_lock(1) : -1;

		ku_write(CPU1, "0");
		ku_write(CPU1, "1");
		if (lock >= 0)
			close(lock);
		flips++;
		usleep(10000);	/* room for ring setup between the cycles */
	}
	stop = 1;
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_join(h, NULL);
	ku_write(CPU1, "1");
	printf("# %d offline/online cycles, %ld io_uring tasks\n", flips,
	       created);
	printf("ok 1 iowq_hotplug: %d s%s\n", secs,
	       serialised ? ", serialised" : "");
	return 0;
}
