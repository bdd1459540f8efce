// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz: random operations on /dev/karena from several processes with
 * several threads each, until a budget of operations is spent.
 *
 *   fuzz [-s SEED] [-n OPS] [-p PROCS] [-t THREADS] [-l LIFE] [-m CGROUP]
 *        [-u UID] [-o PROGRESS] [-w SECS] [-U]
 *
 * The runner keeps PROCS worker processes alive.  A worker does LIFE
 * operations (all its threads together) and then exits at once, with its
 * files, mappings and io_uring commands in whatever state they are; the
 * runner starts its next life.  Workers with an odd index join CGROUP
 * (a small memcg) first; their SIGKILL is counted as an OOM kill, not a
 * failure.  Every third worker (index 2, 5, ...) runs as UID (-u, e.g.
 * nobody) in the device node's group: its limits requests may be refused.  -U: no io_uring
 * commands.
 *
 * Failures: anything fuzz_ops.c/fuzz_io.c report, a worker ending by a
 * signal (other than an OOM kill) or a nonzero status, and a hang: when
 * the operation count has not moved for SECS seconds (default 120) the
 * runner prints every worker's kernel stacks, asks the kernel for its
 * blocked tasks (sysrq w, into dmesg), kills the workers and exits 2.
 * PROGRESS, when given, is rewritten every second with "ops N failures N"
 * for a watchdog outside.  The summary (seed, operation counts per kind)
 * goes to stdout as '# ' lines; exit status 0 only without failures.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

#define FZ_PROCS_MAX	16

struct fz_opts {
	unsigned long seed, ops, life;
	int procs, threads, hang_secs;
	const char *cgroup, *progress;
	long uid;				/* -1: stay root */
	bool no_uring;
};

/* ------------------------------------------------------------------ */
/* a worker process */

static struct fz_proc fz_self;
static struct fz_thread fz_threads[FZ_THREADS_MAX];

static void *fz_thread_main(void *arg)
{
	struct fz_thread *t = arg;

	fz_thread_init(t);
	while (atomic_load(&fz_self.sh->ops) < fz_self.sh->budget &&
	       atomic_load(&fz_self.done) < fz_self.life_ops)
		fz_one_op(t);
	_exit(0);	/* the whole process, mid-operation in other threads */
}

static void fz_join_cgroup(const char *cg)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	f = fopen(path, "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f)) {
		fprintf(stderr, "fuzz: cannot join %s\n", cg);
		_exit(3);
	}
}

/*
 * Become @uid (and gid) with the device node's group as the only other
 * group: the node is 0660, and group membership is how a user gets in.
 */
static int fz_become(uid_t uid)
{
	struct stat st;
	gid_t g;

	if (stat(KARENA_DEVICE, &st))
		return -1;
	g = st.st_gid;
	return setgroups(1, &g) || setgid(uid) || setuid(uid);
}

static void fz_worker(struct fz_shared *sh, const struct fz_opts *o,
		      int index, int life)
{
	pthread_t tid;
	int i;

	if (o->cgroup && (index & 1))
		fz_join_cgroup(o->cgroup);
	if (o->uid >= 0 && index % 3 == 2 && fz_become(o->uid)) {
		perror("fuzz: setuid");
		_exit(3);
	}
	fz_catch_signals();
	if (mmap((void *)FZ_REGION_BASE, FZ_REGION_LEN, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
		 -1, 0) != (void *)FZ_REGION_BASE) {
		perror("fuzz: region");
		_exit(3);
	}
	fz_self.sh = sh;
	fz_self.seed = o->seed;
	fz_self.index = index;
	fz_self.life = life;
	fz_self.life_ops = o->life;
	for (i = 0; i < FZ_FDS; i++)
		fz_self.fds[i] = i < 2 ? open(KARENA_DEVICE, O_RDWR | O_CLOEXEC) : -1;
	fz_self.proc_mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	for (i = 0; i < o->threads; i++) {
		fz_threads[i].p = &fz_self;
		fz_threads[i].index = i;
		fz_threads[i].rng = o->seed ^ ((uint64_t)index << 48) ^
				    ((uint64_t)life << 16) ^ (uint64_t)i;
	}
	for (i = 1; i < o->threads; i++)
		if (pthread_create(&tid, NULL, fz_thread_main, &fz_threads[i])) {
			perror("fuzz: pthread_create");
			_exit(3);
		}
	fz_thread_main(&fz_threads[0]);
}

/* ------------------------------------------------------------------ */
/* the runner */

static double fz_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fz_cat(const char *path, const char *label)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return;
	fprintf(stderr, "fuzz: --- %s\n", label);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, stderr);
	close(fd);
}

/* A hang: show where every task of every worker is, then give up. */
static void fz_hang(const pid_t *pids, int n, int secs)
{
	char path[320], label[320];
	struct dirent *de;
	DIR *d;
	int i, fd;

	fprintf(stderr, "fuzz: HANG: no operation completed for %d s\n", secs);
	for (i = 0; i < n; i++) {
		if (!pids[i])
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task", pids[i]);
		d = opendir(path);
		while (d && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%s/stack",
				 pids[i], de->d_name);
			snprintf(label, sizeof(label), "worker %d task %s kernel stack",
				 i, de->d_name);
			fz_cat(path, label);
		}
		if (d)
			closedir(d);
	}
	fd = open("/proc/sysrq-trigger", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "w", 1) != 1)
			perror("fuzz: sysrq");
		close(fd);
	}
	for (i = 0; i < n; i++)
		if (pids[i])
			kill(pids[i], SIGKILL);
	sleep(5);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	exit(2);
}

struct fz_run {
	pid_t pids[FZ_PROCS_MAX];
	int lives[FZ_PROCS_MAX];
	int started, oom_kills, bad_exits;
};

/* A child ended: one of our workers (or an orphaned grandchild). */
static void fz_reaped(struct fz_run *r, const struct fz_opts *o, pid_t pid, int st)
{
	int i;

	for (i = 0; i < o->procs && r->pids[i] != pid; i++)
		;
	if (i == o->procs)
		return;
	r->pids[i] = 0;
	r->lives[i]++;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && o->cgroup && (i & 1)) {
		r->oom_kills++;
		return;
	}
	r->bad_exits++;
	if (WIFSIGNALED(st))
		fprintf(stderr, "fuzz: FAIL worker %d life %d killed by signal %d\n",
			i, r->lives[i] - 1, WTERMSIG(st));
	else
		fprintf(stderr, "fuzz: FAIL worker %d life %d exited with %d\n",
			i, r->lives[i] - 1, WEXITSTATUS(st));
}

static void fz_progress(const struct fz_opts *o, const struct fz_shared *sh)
{
	char line[96];
	int fd, n;

	if (!o->progress)
		return;
	n = snprintf(line, sizeof(line), "ops %lu failures %lu\n",
		     atomic_load(&sh->ops), atomic_load(&sh->failures));
	fd = open(o->progress, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, line, n) != n)
			perror("fuzz: progress");
		close(fd);
	}
}

static void fz_run(struct fz_shared *sh, const struct fz_opts *o, struct fz_run *r)
{
	double last_tick = fz_now(), last_move = last_tick;
	unsigned long seen = 0;
	int i, st, alive;
	pid_t pid;

	for (;;) {
		alive = 0;
		for (i = 0; i < o->procs; i++) {
			if (!r->pids[i] && atomic_load(&sh->ops) < sh->budget) {
				pid = fork();
				if (pid == 0)
					fz_worker(sh, o, i, r->lives[i]);
				if (pid > 0) {
					r->pids[i] = pid;
					r->started++;
				}
			}
			alive += r->pids[i] != 0;
		}
		if (!alive)
			break;
		pid = waitpid(-1, &st, WNOHANG);
		if (pid > 0) {
			fz_reaped(r, o, pid, st);
			continue;
		}
		usleep(20000);
		if (fz_now() - last_tick < 1)
			continue;
		last_tick = fz_now();
		fz_progress(o, sh);
		if (atomic_load(&sh->ops) != seen) {
			seen = atomic_load(&sh->ops);
			last_move = last_tick;
		} else if (last_tick - last_move > o->hang_secs) {
			fz_hang(r->pids, o->procs, o->hang_secs);
		}
	}
	/* Orphaned fork children of workers that exited first. */
	while ((pid = waitpid(-1, NULL, WNOHANG)) >= 0) {
		if (!pid)
			usleep(20000);
		if (fz_now() - last_tick > o->hang_secs)
			fz_hang(r->pids, o->procs, o->hang_secs);
	}
	fz_progress(o, sh);
}

static void fz_usage(void)
{
	fprintf(stderr, "usage: fuzz [-s SEED] [-n OPS] [-p PROCS] [-t THREADS] "
		"[-l LIFE] [-m CGROUP] [-u UID] [-o PROGRESS] [-w SECS] [-U]\n");
	exit(2);
}

static void fz_parse(int argc, char **argv, struct fz_opts *o)
{
	int c;

	o->seed = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 20);
	o->ops = 20000;
	o->life = 3000;
	o->procs = 2;
	o->threads = 2;
	o->hang_secs = 120;
	o->uid = -1;
	while ((c = getopt(argc, argv, "s:n:p:t:l:m:u:o:w:U")) != -1) {
		switch (c) {
		case 's': o->seed = strtoul(optarg, NULL, 0); break;
		case 'n': o->ops = strtoul(optarg, NULL, 0); break;
		case 'p': o->procs = atoi(optarg); break;
		case 't': o->threads = atoi(optarg); break;
		case 'l': o->life = strtoul(optarg, NULL, 0); break;
		case 'm': o->cgroup = optarg; break;
		case 'u': o->uid = atol(optarg); break;
		case 'o': o->progress = optarg; break;
		case 'w': o->hang_secs = atoi(optarg); break;
		case 'U': o->no_uring = true; break;
		default: fz_usage();
		}
	}
	if (o->procs < 1 || o->procs > FZ_PROCS_MAX || o->threads < 1 ||
	    o->threads > FZ_THREADS_MAX || !o->life || o->hang_secs < 1)
		fz_usage();
}

int main(int argc, char **argv)
{
	struct fz_opts o = { 0 };
	struct fz_run r = { 0 };
	struct fz_shared *sh;
	double t0;
	int i;

	fz_parse(argc, argv, &o);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return perror("fuzz: mmap"), 3;
	sh->budget = o.ops;
	sh->no_uring = o.no_uring;
	prctl(PR_SET_CHILD_SUBREAPER, 1);	/* orphans of workers come here */
	printf("# fuzz: seed 0x%lx, %lu operations, %d processes x %d threads, "
	       "%lu per life%s%s%s%s\n", o.seed, o.ops, o.procs, o.threads, o.life,
	       o.cgroup ? ", odd workers in " : "", o.cgroup ? o.cgroup : "",
	       o.uid >= 0 ? ", every third worker unprivileged" : "",
	       o.no_uring ? ", no io_uring" : "");
	fflush(stdout);
	t0 = fz_now();
	fz_run(sh, &o, &r);
	printf("# fuzz: seed 0x%lx: %lu operations in %.0f s, %d worker lives, "
	       "%d OOM-killed, %lu rings torn down busy, %lu failures, %d bad exits\n",
	       o.seed, atomic_load(&sh->ops), fz_now() - t0, r.started, r.oom_kills,
	       atomic_load(&sh->uring_inflight_exits), atomic_load(&sh->failures),
	       r.bad_exits);
	printf("# fuzz: by kind:");
	for (i = 0; i < FZ_NR_OPS; i++)
		printf(" %s=%lu", fz_op_names[i], atomic_load(&sh->by_op[i]));
	printf("\n");
	return atomic_load(&sh->failures) || r.bad_exits ? 1 : 0;
}
