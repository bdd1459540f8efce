// SPDX-License-Identifier: GPL-2.0
/*
 * karena reclaim selftests: pages a cgroup left in the per-CPU caches
 * (still charged to it, kmod/pcp_cache.c) come back when that cgroup is
 * at its limit, and a cache does not keep a removed cgroup alive.
 *
 * - cached_pages_reclaimed_at_limit: a child in a cgroup with
 *   memory.max = 48M populates 16M of device memory and releases it
 *   (UNUSED): the pages sit in one CPU's cache, charged to the cgroup.  It
 *   then touches 40M of anonymous memory.  There is no swap, so the limit
 *   can only be met by taking the cached pages back: memcg reclaim must
 *   reach the module's shrinker (memcg-aware) with that cgroup.  A
 *   shrinker only global reclaim calls leaves the memcg OOM killer as the
 *   way out: the child dies of SIGKILL.  Variants: the cache is on the
 *   CPU the child then allocates on, or on the other one.
 * - removed_cgroup_not_pinned: a child fills CPU 0's cache in a cgroup
 *   and exits, the cgroup is removed; the next device fault on CPU 0 (from
 *   the root cgroup) must free those pages (and with them the cache's
 *   reference on the dying memcg) at once, not after cache_batch more
 *   faults or memory pressure.  Seen in debugfs karena/cpus.
 *
 * cache_high is raised to 4096 pages for the tests and restored after.
 */
#include "kselftest_harness.h"
#include "karena_test.h"
#include "kt_cgroup.h"

#define PARAMS		"/sys/module/karena/parameters/"
#define MiB		(1024L * 1024)
#define CACHED		(16 * MiB)	/* left in a per-CPU cache */
#define LIMIT		(48 * MiB)	/* memory.max */
#define ANON		(40 * MiB)	/* touched afterwards */
#define HIGH		"4096"		/* cache_high: CACHED fits */

FIXTURE(reclaim) {
	char cg[96];
	char high[32];
	long ps;
};

FIXTURE_VARIANT(reclaim) {
	int cache_cpu;		/* where the pages are cached */
	int alloc_cpu;		/* where the anonymous memory is touched */
};

FIXTURE_VARIANT_ADD(reclaim, same_cpu) { .cache_cpu = 0, .alloc_cpu = 0 };
FIXTURE_VARIANT_ADD(reclaim, other_cpu) { .cache_cpu = 1, .alloc_cpu = 0 };

static int read_param(const char *name, char *buf, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return 0;
}

FIXTURE_SETUP(reclaim)
{
	const char *why;
	int fd;

	self->ps = kt_ps();
	KT_OPEN_OR_SKIP(fd);
	close(fd);
	if (variant->cache_cpu >= sysconf(_SC_NPROCESSORS_ONLN))
		KT_SKIP_SETUP("needs CPU %d online", variant->cache_cpu);
	why = cg_make(self->cg, sizeof(self->cg), "reclaim");
	if (why)
		KT_SKIP_SETUP("%s", why);
	ASSERT_EQ(0, read_param("cache_high", self->high, sizeof(self->high)));
	ASSERT_EQ(0, write_file(PARAMS "cache_high", HIGH));
}

FIXTURE_TEARDOWN(reclaim)
{
	if (self->high[0])
		write_file(PARAMS "cache_high", self->high);
	cg_remove(self->cg);
}

/*
 * Child: on @cpu, in @cg, populate @len bytes of device memory and
 * release them: they go to @cpu's cache, still charged to @cg.
 * Exit codes 10 cgroup, 11 open, 12 mmap, 13 ALLOC, 14 UNUSED, 16 affinity.
 */
static void cache_pages_in(const char *cg, int cpu, size_t len)
{
	char *p;
	int fd;

	if (pin_cpu(cpu))
		_exit(16);
	p = cg_child_map(cg, len, &fd);
	if (kt_trans_f(fd, p, len, KARENA_OP_ALLOC, KARENA_F_POPULATE))
		_exit(13);
	if (kt_trans(fd, p, len, KARENA_OP_UNUSED))
		_exit(14);
	munmap(p, len);
	close(fd);
}

TEST_F_TIMEOUT(reclaim, cached_pages_reclaimed_at_limit, 120)
{
	long long cached, freed0, ooms;
	int status;
	pid_t pid;

	ASSERT_EQ(0, cg_write(self->cg, "memory.max", "48M"));
	freed0 = kt_read_num("/sys/kernel/karena/shrinker_freed");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *a;
		long i;

		cache_pages_in(self->cg, variant->cache_cpu, CACHED);
		/* Report what sits in the cache, charged here. */
		printf("# memory.current after release: %lld kB\n",
		       cg_current(self->cg) / 1024);
		fflush(stdout);
		if (cg_current(self->cg) < CACHED / 2)
			_exit(20);	/* nothing cached: no test */
		if (pin_cpu(variant->alloc_cpu))
			_exit(16);
		a = mmap(NULL, ANON, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (a == MAP_FAILED)
			_exit(17);
		for (i = 0; i < ANON; i += self->ps)
			a[i] = 1;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ooms = cg_event(self->cg, "oom_kill");
	cached = kt_read_num("/sys/kernel/karena/shrinker_freed") - freed0;
	TH_LOG("child status 0x%x, oom_kill %lld, shrinker_freed +%lld pages",
	       status, ooms, cached);
	ASSERT_TRUE(WIFEXITED(status))
		TH_LOG("killed by signal %d: the cached pages were not reclaimed",
		       WTERMSIG(status));
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("exit codes: 10 cgroup, 11 open, 12 mmap, 13 ALLOC, "
		       "14 UNUSED, 16 affinity, 17 mmap anon, 20 nothing cached");
	EXPECT_EQ(0, ooms);
	EXPECT_LT(0, cached);
}

/* Clean plus dirty pages in CPU @cpu's cache (debugfs), or -1. */
static long cpu_cached(int cpu)
{
	FILE *f = fopen("/sys/kernel/debug/karena/cpus", "r");
	long c, count, dirty, ret = -1;
	char line[256];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%ld %*d %ld %*u %*u %*u %*u %*u %*u %*u %ld",
			   &c, &count, &dirty) == 3 && c == cpu)
			ret = count + dirty;
	fclose(f);
	return ret;
}

#define PINNED_PAGES	512	/* 2 MiB left in CPU 0's cache */

TEST_F_TIMEOUT(reclaim, removed_cgroup_not_pinned, 60)
{
	long before, after;
	int status, fd;
	char *p;
	pid_t pid;

	if (variant->cache_cpu != 0)
		SKIP(return, "one variant is enough");
	/* Empty every cache first (the shrinker drains them all). */
	ASSERT_EQ(0, write_file("/proc/sys/vm/drop_caches", "2"));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		cache_pages_in(self->cg, 0, PINNED_PAGES * self->ps);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	ASSERT_EQ(0, rmdir(self->cg)) TH_LOG("rmdir: %s", strerror(errno));
	usleep(200000);		/* the memcg goes offline after a grace period */
	before = cpu_cached(0);
	/* Precondition: the removed cgroup's pages sit in CPU 0's cache. */
	ASSERT_LE(PINNED_PAGES, before);

	/* One fault on CPU 0 from the root cgroup. */
	ASSERT_EQ(0, pin_cpu(0));
	fd = kt_open();
	ASSERT_LE(0, fd);
	p = kt_mmap(fd, self->ps);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, kt_trans(fd, p, self->ps, KARENA_OP_ALLOC));
	p[0] = 1;
	munmap(p, self->ps);
	close(fd);
	after = cpu_cached(0);
	TH_LOG("CPU 0 cache: %ld pages of the removed cgroup, %ld after a fault",
	       before, after);
	/* Its pages were freed (a new batch for the root is smaller). */
	EXPECT_GT(PINNED_PAGES, after) TH_LOG("the removed cgroup is still pinned");
}

TEST_HARNESS_MAIN
