// SPDX-License-Identifier: GPL-2.0
/*
 * chaos [SECONDS]: io_uring commands in flight under CPU hotplug.
 *
 * Two worker processes with two threads each do random device work for
 * SECONDS (default 20): mmap, ioctl transitions and vectors, touches, and
 * io_uring TRANSITION/VEC commands, a third of them forced through io-wq
 * (IOSQE_ASYNC), with rings (and sometimes the file and mapping) torn
 * down while commands are in flight, and forked children that exit with
 * commands in flight.  One worker process runs in a cgroup with
 * memory.max = 64M.  Meanwhile the main process takes CPU 1 offline and
 * online every 0.3 s, drops caches and flips the module parameters
 * uring_inline, strict, cache_high and cache_batch.
 *
 * A kernel that corrupts memory under this load oopses or hangs (the
 * guest run fails: scripts/vm/guest-run.sh checks dmesg and times out a
 * hung guest); here the test checks that every worker finished within its
 * time, that no worker died of anything but the memcg OOM killer, and that
 * afterwards no file, mapping or page of the module is left.  Rings are
 * set up under ku_cpuhp_lock() (uring_util.h): Debian 6.1's io-wq oopses
 * when a task's first ring races with a CPU coming online, device or not.
 * Prints TAP (one test).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "uring_util.h"

#define NPROC		2
#define NTHREAD		2
#define MAXPG		256		/* pages per mapping, 1 MiB ... */
#define BIGPG		8192		/* ... or, one in four, 32 MiB */
#define RING		32
#define PARAMS		"/sys/module/karena/parameters/"
#define CPU1		"/sys/devices/system/cpu/cpu1/online"
#define CGROOT		"/sys/fs/cgroup"

static double deadline;
/* Shared with the workers: commands submitted, ioctls, opens. */
static struct tally {
	volatile long cmds, async, ioctls, opens, forks;
} *tally;
static __thread sigjmp_buf touch_jmp;
static __thread volatile int touching;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned int rnd(unsigned int *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void on_fault(int sig)
{
	if (touching)
		siglongjmp(touch_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Write a page that may be in any state (SIGSEGV is expected). */
static void touch(char *p)
{
	if (sigsetjmp(touch_jmp, 1) == 0) {
		touching = 1;
		*(volatile char *)p = 1;
	}
	touching = 0;
}

/*
 * A new ring, set up under the shared CPU hotplug lock: its task's io-wq
 * may be created here, which must not race with a CPU coming online on
 * Debian's 6.1 (uring_util.h, ku_cpuhp_lock(); iowq_hotplug.c).
 */
static int chaos_ring(struct io_uring *ring)
{
	int lock = ku_cpuhp_lock(0), ret;

	ret = ku_ring(ring, RING);
	if (lock >= 0)
		close(lock);
	return ret;
}

struct arena {
	int fd;
	char *p;
	unsigned int npg;
	struct io_uring ring;
	int ring_up;
	unsigned int inflight;
	struct karena_range vec[8];	/* read by VEC commands in flight */
};

static unsigned int pick_op(unsigned int *s)
{
	static const unsigned int ops[] = {
		KARENA_OP_MAP, KARENA_OP_USED, KARENA_OP_UNUSED,
		KARENA_OP_FAULT, KARENA_OP_FREE, KARENA_OP_ALLOC,
		KARENA_OP_RESERVE, KARENA_OP_HUGEPAGE,
	};

	return ops[rnd(s) % (sizeof(ops) / sizeof(ops[0]))];
}

static void pick_range(struct arena *a, unsigned int *s, unsigned int *first,
		       unsigned int *n)
{
	*first = rnd(s) % a->npg;
	*n = 1 + rnd(s) % (a->npg - *first);
	if (*n > 64 && rnd(s) % 4)
		*n = 1 + rnd(s) % 64;
}

static void reap_some(struct arena *a, int all)
{
	struct io_uring_cqe *cqe;

	while (a->inflight) {
		if (all ? io_uring_wait_cqe(&a->ring, &cqe) :
			  io_uring_peek_cqe(&a->ring, &cqe))
			break;
		io_uring_cqe_seen(&a->ring, cqe);
		a->inflight--;
	}
}

static void uring_cmd(struct arena *a, unsigned int *s)
{
	unsigned int first, n, i, cnt;
	struct io_uring_sqe *sqe;
	uint8_t pdu[16];

	if (!a->ring_up || a->inflight >= RING) {
		if (a->ring_up)
			reap_some(a, 0);
		return;
	}
	if (rnd(s) % 2) {
		pick_range(a, s, &first, &n);
		ku_range_pdu((struct karena_uring_range *)pdu,
			     a->p + (size_t)first * PS, n, pick_op(s),
			     rnd(s) % 3 ? 0 : KARENA_F_POPULATE);
		sqe = ku_prep(&a->ring, a->fd, KARENA_URING_TRANSITION, pdu, 1);
	} else {
		struct karena_uring_vec v = { 0 };

		cnt = 1 + rnd(s) % 8;
		for (i = 0; i < cnt; i++) {
			pick_range(a, s, &first, &n);
			kt_range(&a->vec[i], a->p + (size_t)first * PS,
				  (size_t)n * PS, pick_op(s),
				  rnd(s) % 3 ? 0 : KARENA_F_POPULATE);
		}
		v.ranges = (uintptr_t)a->vec;
		v.count = cnt;
		sqe = ku_prep(&a->ring, a->fd, KARENA_URING_VEC, &v, 2);
	}
	if (!sqe)
		return;
	if (rnd(s) % 3 == 0)
		sqe->flags |= IOSQE_ASYNC;	/* straight to io-wq */
	if (io_uring_submit(&a->ring) == 1) {
		a->inflight++;
		__atomic_add_fetch(&tally->cmds, 1, __ATOMIC_RELAXED);
		if (sqe->flags & IOSQE_ASYNC)
			__atomic_add_fetch(&tally->async, 1, __ATOMIC_RELAXED);
	}
	reap_some(a, 0);
}

static void ioctl_op(struct arena *a, unsigned int *s)
{
	unsigned int first, n;

	pick_range(a, s, &first, &n);
	__atomic_add_fetch(&tally->ioctls, 1, __ATOMIC_RELAXED);
	kt_trans_pages(a->fd, a->p + (size_t)first * PS, (size_t)n * PS,
		       pick_op(s), rnd(s) % 3 ? 0 : KARENA_F_POPULATE, NULL);
}

static int arena_open(struct arena *a, unsigned int *s)
{
	memset(a, 0, sizeof(*a));
	a->fd = kt_open();
	if (a->fd < 0)
		return -1;
	a->npg = 1 + rnd(s) % (rnd(s) % 4 ? MAXPG : BIGPG);
	a->p = ku_reserve(a->fd, (size_t)a->npg * PS);
	if (!a->p) {
		close(a->fd);
		return -1;
	}
	a->ring_up = !chaos_ring(&a->ring);
	/* Half the time all of it at once: memory pressure in the memcg. */
	if (rnd(s) % 2)
		kt_trans_pages(a->fd, a->p, (size_t)a->npg * PS,
			       KARENA_OP_ALLOC, KARENA_F_POPULATE, NULL);
	__atomic_add_fetch(&tally->opens, 1, __ATOMIC_RELAXED);
	return 0;
}

/* Tear down, often with commands still in flight. */
static void arena_close(struct arena *a, unsigned int *s)
{
	unsigned int how = rnd(s) % 4;

	if (a->ring_up && how == 0)
		reap_some(a, 1);
	if (how == 1) {		/* file and mapping first, ring last */
		close(a->fd);
		munmap(a->p, (size_t)a->npg * PS);
	}
	if (a->ring_up)
		io_uring_queue_exit(&a->ring);
	if (how != 1) {
		munmap(a->p, (size_t)a->npg * PS);
		close(a->fd);
	}
}

/* A child that submits commands and exits without reaping them. */
static void fork_in_flight(struct arena *a, unsigned int *s)
{
	pid_t pid = fork();
	int i;

	if (pid == 0) {
		struct io_uring r;

		a->ring_up = !chaos_ring(&r);
		a->ring = r;
		a->inflight = 0;
		for (i = 0; i < 8; i++)
			uring_cmd(a, s);
		_exit(0);
	}
	if (pid > 0) {
		waitpid(pid, NULL, 0);
		__atomic_add_fetch(&tally->forks, 1, __ATOMIC_RELAXED);
	}
}

/* One arena's life: open, random work, teardown (often in flight). */
static void arena_life(unsigned int *seed)
{
	struct arena a;
	int k, steps;

	if (arena_open(&a, seed))
		return;
	steps = 1 + rnd(seed) % 64;
	for (k = 0; k < steps && now() < deadline; k++) {
		switch (rnd(seed) % 8) {
		case 0:
		case 1:
			ioctl_op(&a, seed);
			break;
		case 2:
			touch(a.p + (size_t)(rnd(seed) % a.npg) * PS);
			break;
		case 7:
			if (rnd(seed) % 16 == 0) {
				fork_in_flight(&a, seed);
				break;
			}
			/* fall through */
		default:
			uring_cmd(&a, seed);
		}
	}
	arena_close(&a, seed);
}

static void *arena_thread(void *arg)
{
	arena_life(arg);
	return NULL;
}

/*
 * Every fourth arena lives in a thread of its own: its exit tears down
 * that thread's io-wq with commands in flight.
 */
static void *worker(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg * 2654435761u + 1;

	while (now() < deadline) {
		pthread_t t;

		if (rnd(&seed) % 4 == 0 &&
		    !pthread_create(&t, NULL, arena_thread, &seed))
			pthread_join(t, NULL);
		else
			arena_life(&seed);
	}
	return NULL;
}

static void worker_process(int idx, const char *cg)
{
	pthread_t t[NTHREAD];
	struct sigaction sa = { .sa_handler = on_fault };
	int i;

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	if (cg) {
		char path[160];

		snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
		if (ku_write(path, "0"))
			_exit(10);
	}
	for (i = 0; i < NTHREAD; i++)
		pthread_create(&t[i], NULL, worker,
			       (void *)(uintptr_t)(idx * NTHREAD + i + getpid()));
	for (i = 0; i < NTHREAD; i++)
		pthread_join(t[i], NULL);
	_exit(0);
}

static pid_t spawn(int idx, const char *cg)
{
	pid_t pid = fork();

	if (pid == 0)
		worker_process(idx, cg);
	return pid;
}

/* A worker the memcg OOM killer took is started again. */
static void respawn(pid_t *pids, const char *cg, int *killed)
{
	int i, st;

	for (i = 0; i < NPROC; i++) {
		if (waitpid(pids[i], &st, WNOHANG) != pids[i])
			continue;
		if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
			(*killed)++;
			pids[i] = spawn(i, i == 0 ? cg : NULL);
		} else {
			pids[i] = -st - 1;	/* done: main() reads st */
		}
	}
}

/* The chaos shell: hotplug, drop_caches, parameters. */
static void chaos(unsigned int seed, int hotplug, pid_t *pids, const char *cg,
		  int *killed)
{
	static const char *const high[] = { "0", "4", "64", "256" };
	static const char *const batch[] = { "1", "8", "32", "300" };
	int online = 1;
	double next_cpu = now();

	while (now() < deadline) {
		if (hotplug && now() >= next_cpu) {
			int lock = ku_cpuhp_lock(1);

			online = !online;
			ku_write(CPU1, online ? "1" : "0");
			if (lock >= 0)
				close(lock);
			next_cpu = now() + 0.3;
		}
		switch (rnd(&seed) % 5) {
		case 0:
			ku_write("/proc/sys/vm/drop_caches", "3");
			break;
		case 1:
			ku_write(PARAMS "uring_inline", rnd(&seed) % 2 ? "1" : "0");
			break;
		case 2:
			ku_write(PARAMS "strict", rnd(&seed) % 2 ? "1" : "0");
			break;
		case 3:
			ku_write(PARAMS "cache_high", high[rnd(&seed) % 4]);
			break;
		default:
			ku_write(PARAMS "cache_batch", batch[rnd(&seed) % 4]);
		}
		usleep(50000);
		respawn(pids, cg, killed);
	}
	ku_write(CPU1, "1");
}

static int wait_counter(const char *name, long want)
{
	int i;

	for (i = 0; i < 1000; i++) {
		if (ku_sysfs(name) == want)
			return 0;
		usleep(10000);
	}
	return -1;
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 20, i, bad = 0, killed = 0;
	int hotplug = access(CPU1, W_OK) == 0;
	char cg[96] = "";
	pid_t pids[NPROC];
	const char *params[] = { "uring_inline", "strict", "cache_high",
				 "cache_batch" };
	char saved[4][32];

	long files0 = ku_sysfs("files"), maps0 = ku_sysfs("mappings");
	long pages0 = ku_sysfs("pages_allocated");

	printf("TAP version 13\n1..1\n");
	tally = mmap(NULL, sizeof(*tally), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tally == MAP_FAILED || access(KARENA_DEVICE, R_OK | W_OK)) {
		printf("not ok 1 chaos: no %s or no memory\n", KARENA_DEVICE);
		return 1;
	}
	for (i = 0; i < 4; i++) {
		char path[128];
		int fd;
		ssize_t n;

		snprintf(path, sizeof(path), PARAMS "%s", params[i]);
		fd = open(path, O_RDONLY);
		n = fd < 0 ? -1 : read(fd, saved[i], sizeof(saved[i]) - 1);
		saved[i][n > 0 ? n : 0] = 0;
		if (fd >= 0)
			close(fd);
	}
	if (!access(CGROOT "/cgroup.controllers", F_OK)) {
		ku_write(CGROOT "/cgroup.subtree_control", "+memory");
		char max[160];

		snprintf(cg, sizeof(cg), CGROOT "/karena-chaos-%d", getpid());
		snprintf(max, sizeof(max), "%s/memory.max", cg);
		if (mkdir(cg, 0755) || ku_write(max, "64M"))
			cg[0] = 0;
	}
	printf("# %d s, %d processes x %d threads, hotplug %s, memcg %s\n",
	       secs, NPROC, NTHREAD, hotplug ? "cpu1" : "no", cg[0] ? cg : "no");
	fflush(stdout);
	deadline = now() + secs;
	for (i = 0; i < NPROC; i++)
		pids[i] = spawn(i, i == 0 && cg[0] ? cg : NULL);
	chaos(getpid(), hotplug, pids, cg[0] ? cg : NULL, &killed);
	if (killed)
		printf("# %d workers killed by the memcg OOM killer, restarted\n",
		       killed);
	for (i = 0; i < NPROC; i++) {
		int st = 0, waited;

		if (pids[i] < 0) {
			st = -pids[i] - 1;
			if (st) {
				printf("# worker %d: status 0x%x\n", i, st);
				bad++;
			}
			continue;
		}
		for (waited = 0; waited < 600; waited++) {
			if (waitpid(pids[i], &st, WNOHANG) == pids[i])
				break;
			usleep(100000);
		}
		if (waited == 600) {
			printf("# worker %d still running 60 s after the end\n", i);
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &st, 0);
			bad++;
		} else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
			printf("# worker %d: killed (memcg OOM)\n", i);
		} else if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			printf("# worker %d: status 0x%x\n", i, st);
			bad++;
		}
	}
	for (i = 0; i < 4; i++) {
		char path[128];

		snprintf(path, sizeof(path), PARAMS "%s", params[i]);
		if (saved[i][0])
			ku_write(path, saved[i]);
	}
	if (wait_counter("files", files0) ||
	    wait_counter("mappings", maps0) ||
	    wait_counter("pages_allocated", pages0)) {
		printf("# left behind: files %ld mappings %ld pages %ld\n",
		       ku_sysfs("files"), ku_sysfs("mappings"),
		       ku_sysfs("pages_allocated"));
		bad++;
	}
	printf("# %ld opens, %ld ioctls, %ld uring commands (%ld via io-wq), %ld forks\n",
	       tally->opens, tally->ioctls, tally->cmds, tally->async,
	       tally->forks);
	if (!tally->cmds || !tally->opens)
		bad++;
	ku_write("/proc/sys/vm/drop_caches", "3");
	if (cg[0])
		for (i = 0; i < 100 && rmdir(cg); i++)
			usleep(100000);
	printf("%sok 1 chaos: io_uring commands under CPU hotplug, %d s\n",
	       bad ? "not " : "", secs);
	return bad ? 1 : 0;
}
