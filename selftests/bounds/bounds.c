// SPDX-License-Identifier: GPL-2.0
/*
 * bounds selftests: device memory is bounded and visible to the
 * OOM killer (kmod/bounds.c, kmod/rss.c, kmod/README.md "Bounds").
 *
 * - every page a store holds counts once in its process's RssFile,
 *   mapped or not (POPULATE, MADV_DONTNEED), and leaves it with FREE;
 * - a global bound (max_held) and a per-user bound (user_max_held,
 *   user_max_reserved) hold across files and users: ENOMEM from the
 *   ioctl and mmap, SIGBUS at fault; raising them needs CAP_SYS_RESOURCE;
 * - a user's end checks its held count over every CPU, also while CPU 1
 *   goes offline (its count is folded in only after it left
 *   cpu_online_mask);
 * - the issue-17 run: a victim holding 300 MiB of anonymous memory
 *   survives an unprivileged process that loops open, mmap 128 MiB,
 *   ALLOC|POPULATE, MADV_DONTNEED keeping its files: with the default
 *   bounds it gets ENOMEM and nobody is OOM-killed; with the bounds
 *   raised to RAM the OOM killer picks it, the holder, and not the victim.
 *
 * Everything runs in the root cgroup (no memory.max).  The unprivileged
 * processes are forked children that become nobody with the device's
 * group (kt_become_nobody()) and exec nothing.  The OOM tests set
 * oom_score_adj -1000 on the test process and its ancestors (restored
 * afterwards) so that the run reports a result whatever the kernel kills.
 */
#include <sched.h>
#include <signal.h>

#include "kselftest_harness.h"
#include "karena_test.h"

#define PARAMS		"/sys/module/karena/parameters/"
#define MiB		(1024L * 1024)
#define CHUNK		(128 * MiB)
#define VICTIM		(300 * MiB)
#define SLACK_KB	1024	/* RssFile of other file mappings moving */

static const char *const bound_names[] = {
	"max_held", "user_max_held", "user_max_reserved",
};

/* What forked children report back (a shared anonymous page). */
struct report {
	volatile long held_mib;
	volatile int err;
	volatile int ready;
};

FIXTURE(bounds) {
	long ps;
	long long saved[3];	/* the bound parameters, -1 if absent */
	struct report *r;
};

static int param_write(const char *name, long long v)
{
	char path[128], buf[32];
	int fd, n, ret = 0;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	n = snprintf(buf, sizeof(buf), "%lld", v);
	if (write(fd, buf, n) != n)
		ret = errno;
	close(fd);
	return ret;
}

static long long param_read(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), PARAMS "%s", name);
	return kt_read_num(path);
}

FIXTURE_SETUP(bounds)
{
	int fd;

	self->ps = kt_ps();
	KT_OPEN_OR_SKIP(fd);
	close(fd);
	if (geteuid() != 0)
		KT_SKIP_SETUP("needs root (module parameters, other users)");
	for (int i = 0; i < 3; i++)
		self->saved[i] = param_read(bound_names[i]);
	self->r = mmap(NULL, kt_ps(), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->r);
}

FIXTURE_TEARDOWN(bounds)
{
	for (int i = 0; i < 3; i++)
		if (self->saved[i] >= 0)
			param_write(bound_names[i], self->saved[i]);
	munmap(self->r, kt_ps());
}

/* Set a bound for this test (restored by the teardown). */
#define SET_BOUND(name, v)						\
	ASSERT_EQ(0, param_write(name, v)) TH_LOG("set %s", (name))

/* --- RssFile ------------------------------------------------------------ */

#define EXPECT_RSS(base, pages, what)					\
	do {								\
		long now_ = kt_rss_file_kb();				\
		long want_ = (base) + (pages) * (self->ps / 1024);	\
		EXPECT_GE(want_ + SLACK_KB, now_) TH_LOG("%s: RssFile %ld kB, want %ld", \
							  what, now_, want_); \
		EXPECT_LE(want_ - SLACK_KB, now_) TH_LOG("%s: RssFile %ld kB, want %ld", \
							  what, now_, want_); \
	} while (0)

TEST_F(bounds, held_pages_count_in_rssfile_once)
{
	const long n = 8192;	/* 32 MiB: 8 times the slack */
	long base;
	char *p;
	int fd;

	fd = kt_open();
	ASSERT_LE(0, fd);
	p = kt_mmap(fd, n * self->ps);
	ASSERT_NE(MAP_FAILED, p);
	base = kt_rss_file_kb();
	ASSERT_EQ(0, kt_trans_f(fd, p, n * self->ps, KARENA_OP_ALLOC,
				KARENA_F_POPULATE));
	EXPECT_RSS(base, n, "POPULATEd, never touched");
	kt_fill(p, n, 0x11);
	EXPECT_RSS(base, n, "touched (mapped: counted once)");
	ASSERT_EQ(0, madvise(p, n * self->ps, MADV_DONTNEED));
	EXPECT_RSS(base, n, "after MADV_DONTNEED (the store holds them)");
	EXPECT_EQ(-1, kt_check(p, n, 0x11));
	EXPECT_RSS(base, n, "touched again");
	ASSERT_EQ(0, madvise(p, n * self->ps, MADV_DONTNEED));
	{
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (pid == 0) {
			/* Shared after fork: the child holds them too. */
			_exit(kt_check(p, n / 2, 0x11) == -1 ? 0 : 1);
		}
		EXPECT_EQ(0, kt_wait(pid));
	}
	EXPECT_RSS(base, n, "after a child copied half and exited");
	ASSERT_EQ(0, kt_trans(fd, p, n * self->ps / 2, KARENA_OP_FREE));
	EXPECT_RSS(base, n / 2, "half FREEd");
	ASSERT_EQ(0, munmap(p, n * self->ps));
	EXPECT_RSS(base, 0, "munmap");
	close(fd);
}

/* --- bounds ------------------------------------------------------------- */

/* In a child as nobody: ALLOC @mib MiB in a new file, POPULATE or not. */
static int nobody_alloc(long mib, bool populate, bool touch)
{
	size_t len = mib * MiB;
	int fd = kt_open();
	void *p;

	if (fd < 0)
		return errno;
	p = kt_mmap(fd, len);
	if (p == MAP_FAILED)
		return errno;
	if (kt_trans_f(fd, p, len, KARENA_OP_ALLOC,
		       populate ? KARENA_F_POPULATE : 0))
		return errno ? errno : ENOMEM;
	if (touch)
		kt_fill(p, len / kt_ps(), 0x22);
	return 0;
}

/* A fault past user_max_held raises SIGBUS; POPULATE past it is ENOMEM. */
TEST_F(bounds, user_bound_sigbus_at_fault_enomem_at_populate)
{
	pid_t pid;

	SET_BOUND("user_max_held", 8 * MiB);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (kt_become_nobody())
			_exit(10);
		if (nobody_alloc(16, true, false) != ENOMEM)
			_exit(11);
		nobody_alloc(16, false, true);	/* SIGBUS half way */
		_exit(12);
	}
	EXPECT_EQ(128 + SIGBUS, kt_wait(pid))
		TH_LOG("child step (10 nobody, 11 POPULATE not ENOMEM, 12 no SIGBUS)");
}

/* One user's files share user_max_held; another user is not charged. */
TEST_F(bounds, user_bound_spans_files)
{
	pid_t pid;

	SET_BOUND("user_max_held", 10 * MiB);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (kt_become_nobody())
			_exit(10);
		if (nobody_alloc(6, true, false))
			_exit(11);
		if (nobody_alloc(6, true, false) != ENOMEM)
			_exit(12);
		if (nobody_alloc(2, true, false))
			_exit(13);
		pause();	/* keep holding while root allocates */
		_exit(0);
	}
	for (int i = 0; i < 200 && kt_read_num("/sys/kernel/karena/pages_allocated") *
	     self->ps < 8 * MiB; i++)
		usleep(50000);
	/* Root is another user: its own 8 MiB fit. */
	EXPECT_EQ(0, nobody_alloc(8, true, false));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, kt_wait(pid))
		TH_LOG("child step (10 nobody, 11 first file, 12 second file not ENOMEM, "
		       "13 what is left)");
}

/* max_held bounds all users together. */
TEST_F(bounds, global_bound_spans_users)
{
	long held = kt_read_num("/sys/kernel/karena/pages_allocated") * self->ps;
	pid_t pid;

	SET_BOUND("max_held", held + 10 * MiB);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (nobody_alloc(6, true, false))	/* root */
			_exit(11);
		if (kt_become_nobody())
			_exit(10);
		if (nobody_alloc(6, true, false) != ENOMEM)
			_exit(12);
		_exit(0);
	}
	EXPECT_EQ(0, kt_wait(pid)) TH_LOG("child step (10 nobody, 11 root's file, "
					  "12 nobody's file not ENOMEM)");
}

/* user_max_reserved bounds what one user's files map, None included. */
TEST_F(bounds, user_reserved_bound_spans_files)
{
	pid_t pid;

	SET_BOUND("user_max_reserved", 4 * MiB);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int a, b;
		void *p;

		if (kt_become_nobody())
			_exit(10);
		a = kt_open();
		b = kt_open();
		if (a < 0 || b < 0)
			_exit(11);
		p = kt_mmap(a, 3 * MiB);
		if (p == MAP_FAILED ||
		    kt_trans(a, p, 3 * MiB, KARENA_OP_FREE))
			_exit(12);
		if (kt_mmap(b, 2 * MiB) != MAP_FAILED || errno != ENOMEM)
			_exit(13);
		if (kt_mmap(b, MiB) == MAP_FAILED)
			_exit(14);
		_exit(0);
	}
	EXPECT_EQ(0, kt_wait(pid)) TH_LOG("child step (10 nobody, 11 open, 12 first map, "
					  "13 second not ENOMEM, 14 what is left)");
}

/* Root without CAP_SYS_RESOURCE may lower a bound, not raise it. */
TEST_F(bounds, raising_a_bound_needs_cap_sys_resource)
{
	pid_t pid;

	/* The parameters exist (max_held, user_max_held, user_max_reserved). */
	ASSERT_LT(0, self->saved[0]);
	ASSERT_LT(0, self->saved[1]);
	ASSERT_LT(0, self->saved[2]);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (kt_drop_cap_sys_resource())
			_exit(10);
		for (int i = 0; i < 3; i++) {
			if (param_write(bound_names[i], self->saved[i] - 4096))
				_exit(20 + i);
			if (param_write(bound_names[i], self->saved[i]) != EPERM)
				_exit(30 + i);
		}
		if (param_write("max_ready", param_read("max_ready") + 4096) != EPERM)
			_exit(40);
		_exit(0);
	}
	EXPECT_EQ(0, kt_wait(pid)) TH_LOG("child step (10 capset, 2N lower, "
					  "3N raise not EPERM, 40 max_ready)");
}

/* --- a user's end across CPU hotplug ------------------------------------- */

#define CPU1_ONLINE	"/sys/devices/system/cpu/cpu1/online"
#define LIVES_USERS	4
#define LIVES_UID	61000	/* users of nobody else's files */
#define LIVES_PAGES	15	/* under the per-CPU counters' batch */
#define LIVES_CYCLES	40

static int cpu1_online(bool on)
{
	int fd = open(CPU1_ONLINE, O_WRONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return errno;
	if (write(fd, on ? "1" : "0", 1) != 1)
		ret = errno;
	close(fd);
	return ret;
}

/* Is CPU 1 in cpu_online_mask (which leaves it before its counts fold)? */
static bool cpu1_in_online_mask(void)
{
	char buf[256], *tok, *save;
	int fd = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int lo, hi;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (tok = strtok_r(buf, ",\n", &save); tok;
	     tok = strtok_r(NULL, ",\n", &save)) {
		n = sscanf(tok, "%d-%d", &lo, &hi);
		if (n >= 1 && lo <= 1 && (n == 1 ? lo : hi) >= 1)
			return true;
	}
	return false;
}

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);	/* EINVAL: CPU offline */
}

/*
 * Lives of user @uid until *@stop: its only file charges LIVES_PAGES on
 * CPU 1 (they stay in CPU 1's count of the user's held pages), gives them
 * back on CPU 0, and closes as soon as CPU 1 leaves cpu_online_mask,
 * which ends the user and checks that its held count is 0 (bounds.c):
 * CPU 1's count is folded into the total only later in the offline.
 */
static void user_lives(uid_t uid, volatile int *stop)
{
	size_t len = LIVES_PAGES * kt_ps();
	struct stat st;
	gid_t g;
	void *p;
	int fd;

	if (stat(KARENA_DEVICE, &st))
		_exit(10);
	g = st.st_gid;
	if (setgroups(1, &g) || setgid(uid) || setuid(uid))
		_exit(11);
	while (!*stop) {
		if (!cpu1_in_online_mask())
			continue;
		pin_to(1);
		fd = kt_open();
		if (fd < 0)
			_exit(12);
		p = kt_mmap(fd, len);
		if (p == MAP_FAILED)
			_exit(13);
		if (kt_trans_f(fd, p, len, KARENA_OP_ALLOC, KARENA_F_POPULATE))
			_exit(14);
		pin_to(0);
		if (kt_trans(fd, p, len, KARENA_OP_FREE))
			_exit(15);
		munmap(p, len);
		/* End the user the moment CPU 1 leaves cpu_online_mask. */
		while (!*stop && cpu1_in_online_mask())
			;
		close(fd);
	}
	_exit(0);
}

/* Did the kernel log @what since @fd (/dev/kmsg, at its end) was opened? */
static bool kmsg_has(int fd, const char *what)
{
	char rec[2048];
	ssize_t n;
	bool found = false;

	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 ||
	       (n < 0 && errno == EPIPE)) {
		if (n > 0) {
			rec[n] = '\0';
			found |= strstr(rec, what) != NULL;
		}
	}
	return found;
}

/*
 * The check that a user's files left no held page behind must count every
 * CPU: 6.1's percpu_counter_sum() misses a CPU between its leaving
 * cpu_online_mask and the fold of its count (issue: the fuzz suite's
 * WARN in karena_user_put() with CPU 1 going offline).
 */
TEST_F_TIMEOUT(bounds, user_end_check_counts_a_cpu_going_offline, 300)
{
	pid_t pid[LIVES_USERS];
	int kmsg, i;

	if (access(CPU1_ONLINE, W_OK))
		SKIP(return, "no CPU 1 to take offline");
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, kmsg);
	lseek(kmsg, 0, SEEK_END);
	self->r->ready = 0;
	for (i = 0; i < LIVES_USERS; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0)
			user_lives(LIVES_UID + i, &self->r->ready);
	}
	for (i = 0; i < LIVES_CYCLES; i++) {
		usleep(20000);
		EXPECT_EQ(0, cpu1_online(false));
		usleep(20000);
		EXPECT_EQ(0, cpu1_online(true));
	}
	self->r->ready = 1;
	for (i = 0; i < LIVES_USERS; i++)
		EXPECT_EQ(0, kt_wait(pid[i]))
			TH_LOG("user %d step (10 stat, 11 setuid, 12 open, 13 mmap, "
			       "14 ALLOC, 15 FREE)", i);
	EXPECT_FALSE(kmsg_has(kmsg, "karena_user_put"))
		TH_LOG("karena_user_put() WARNed: a user ended with held pages");
	close(kmsg);
}

/* --- the issue-17 run ------------------------------------------------------ */

#define MAX_ANCESTORS	16

struct protect {
	pid_t pid[MAX_ANCESTORS];
	int adj[MAX_ANCESTORS];
	int n;
};

static int adj_rw(pid_t pid, int *old, int v)
{
	char path[64], buf[16];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", pid);
	f = fopen(path, "r+");
	if (!f)
		return -1;
	if (old && fscanf(f, "%d", old) != 1)
		*old = 0;
	rewind(f);
	snprintf(buf, sizeof(buf), "%d", v);
	fputs(buf, f);
	return fclose(f);
}

static pid_t parent_of(pid_t pid)
{
	char path[64], line[256];
	pid_t pp = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "PPid: %d", &pp) == 1)
			break;
	fclose(f);
	return pp;
}

/* This process and its ancestors (below init) out of the OOM killer's way. */
static void protect_chain(struct protect *pr)
{
	pid_t pid = getpid();

	pr->n = 0;
	while (pid > 1 && pr->n < MAX_ANCESTORS) {
		if (!adj_rw(pid, &pr->adj[pr->n], -1000))
			pr->pid[pr->n++] = pid;
		pid = parent_of(pid);
	}
}

static void unprotect_chain(struct protect *pr)
{
	while (pr->n--)
		adj_rw(pr->pid[pr->n], NULL, pr->adj[pr->n]);
}

static long long oom_kills(void)
{
	return kt_proc_num("/proc/vmstat", "oom_kill %lld");
}

static long mem_total_mib(void)
{
	return kt_proc_num("/proc/meminfo", "MemTotal: %lld kB") / 1024;
}

static pid_t start_victim(struct report *r)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	adj_rw(getpid(), NULL, 0);
	{
		char *v = mmap(NULL, VICTIM, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (v == MAP_FAILED)
			_exit(1);
		memset(v, 0x5a, VICTIM);
	}
	r->ready = 1;
	for (;;)
		pause();
}

/*
 * As nobody: open, mmap 128 MiB, ALLOC|POPULATE, MADV_DONTNEED, keeping
 * every file, until something fails (the errno is reported) or it holds
 * more than the machine has.
 */
static void hog(struct report *r, long goal_mib, const char *cg)
{
	adj_rw(getpid(), NULL, 0);
	if (cg) {
		char path[128];
		FILE *f;

		snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
		f = fopen(path, "w");
		if (!f || fprintf(f, "%d", getpid()) < 0 || fclose(f))
			_exit(14);
	}
	if (kt_become_nobody())
		_exit(10);
	for (;;) {
		int fd = kt_open();
		void *p;

		if (fd < 0) {
			r->err = errno;
			_exit(11);
		}
		p = kt_mmap(fd, CHUNK);
		if (p == MAP_FAILED) {
			r->err = errno;
			_exit(12);
		}
		r->err = kt_trans_f(fd, p, CHUNK, KARENA_OP_ALLOC,
				    KARENA_F_POPULATE);
		if (r->err)
			_exit(13);
		madvise(p, CHUNK, MADV_DONTNEED);
		r->held_mib += CHUNK / MiB;
		if (r->held_mib > goal_mib)
			_exit(0);
	}
}

/* Wait for @pid up to @secs; its kt_wait() status, or -2 on timeout. */
static int wait_for(pid_t pid, int secs)
{
	int status;

	for (int i = 0; i < secs * 10; i++) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			       128 + WTERMSIG(status);
		usleep(100000);
	}
	return -2;
}

static bool alive(pid_t pid)
{
	int status;

	return waitpid(pid, &status, WNOHANG) == 0 && kill(pid, 0) == 0;
}

/*
 * Victim first, then the hog; afterwards, from this process, the victim
 * must still be alive.  Returns the hog's status; *kills: OOM kills.
 */
static int victim_and_hog(struct __test_metadata *_metadata,
			  struct report *r, const char *cg, long long *kills,
			  bool *victim_ok)
{
	long goal = mem_total_mib() + CHUNK / MiB;
	struct protect pr;
	long long k0;
	pid_t victim, h;
	int st;

	protect_chain(&pr);
	memset((void *)r, 0, sizeof(*r));
	victim = start_victim(r);
	EXPECT_LT(0, victim);
	for (int i = 0; i < 600 && !r->ready; i++)
		usleep(100000);
	EXPECT_TRUE(r->ready) TH_LOG("victim did not get its 300 MiB");
	k0 = oom_kills();
	/* Without CONFIG_VM_EVENT_COUNTERS there is no count to compare. */
	EXPECT_LE(0, k0) TH_LOG("no oom_kill line in /proc/vmstat");
	h = fork();
	if (h == 0)
		hog(r, goal, cg);
	st = wait_for(h, 600);
	if (st == -2) {
		kill(h, SIGKILL);
		waitpid(h, NULL, 0);
	}
	*kills = oom_kills() - k0;
	*victim_ok = alive(victim);
	TH_LOG("hog: status %d, held %ld MiB (MemTotal %ld MiB), errno %d; "
	       "OOM kills %lld; victim %s", st, r->held_mib, mem_total_mib(),
	       r->err, *kills, *victim_ok ? "alive" : "dead");
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	unprotect_chain(&pr);
	return st;
}

/*
 * The default bounds stop the hog with ENOMEM at user_max_held (a quarter
 * of RAM): no OOM kill at all, the victim lives.
 */
static void hog_stopped_by_default_bounds(struct __test_metadata *_metadata,
					  struct report *r, const char *cg)
{
	long long kills;
	bool victim_ok;
	int st = victim_and_hog(_metadata, r, cg, &kills, &victim_ok);

	EXPECT_TRUE(victim_ok);
	EXPECT_EQ(0, kills);
	EXPECT_EQ(13, st) TH_LOG("the hog must end on a failed ALLOC|POPULATE");
	EXPECT_EQ(ENOMEM, r->err);
	EXPECT_GE(mem_total_mib() / 2, r->held_mib);
}

TEST_F_TIMEOUT(bounds, hog_stopped_by_default_bounds_victim_alive, 900)
{
	hog_stopped_by_default_bounds(_metadata, self->r, NULL);
}

/* The same with the hog in a cgroup of its own without memory.max. */
TEST_F_TIMEOUT(bounds, hog_in_unlimited_cgroup_stopped_victim_alive, 900)
{
	const char *cg = "/sys/fs/cgroup/karena-bounds-hog";

	if (access("/sys/fs/cgroup/cgroup.subtree_control", F_OK))
		SKIP(return, "no cgroup2 at /sys/fs/cgroup");
	rmdir(cg);
	ASSERT_EQ(0, mkdir(cg, 0755)) TH_LOG("mkdir %s: %s", cg, strerror(errno));
	hog_stopped_by_default_bounds(_metadata, self->r, cg);
	EXPECT_EQ(0, rmdir(cg)) TH_LOG("rmdir %s: %s", cg, strerror(errno));
}

/*
 * Bounds raised to all of RAM (where the module has them): the hog runs
 * the guest out of memory, and the OOM killer must pick it, the process
 * whose RssFile holds its device pages, not the 300 MiB victim.
 */
TEST_F_TIMEOUT(bounds, oom_killer_picks_the_holder, 900)
{
	long long kills;
	bool victim_ok;
	long long ram = mem_total_mib() * MiB * 2;
	int st, i;

	for (i = 0; i < 2; i++)
		if (self->saved[i] >= 0)
			SET_BOUND(bound_names[i], ram);
	st = victim_and_hog(_metadata, self->r, NULL, &kills, &victim_ok);
	EXPECT_TRUE(victim_ok);
	EXPECT_EQ(128 + SIGKILL, st) TH_LOG("the hog must be the one killed");
	EXPECT_LE(1, kills);
}

TEST_HARNESS_MAIN
