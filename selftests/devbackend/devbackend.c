// SPDX-License-Identifier: GPL-2.0
/*
 * libkarena on the /dev/karena backend (lib/os_dev.c), linked with
 * -lkarena and run in the guest with KARENA_BACKEND=dev: the heap really
 * lives in device mappings, releases go through the module (global
 * counters in /sys/kernel/karena move), spans carved from freshly mapped
 * memory need no transition each, ranges that cross the heap's
 * 64 MiB reservations are split correctly, fork gives the child a private
 * heap, and with KARENA_URING=1 batches go through an io_uring ring.  The
 * scavenger releases lazily (KARENA_F_LAZY) unless KARENA_LAZY_RELEASE=0,
 * and calloc zeroes memory that comes back from a lazy release.
 */
#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "karena.h"

/*
 * A module counter.  Read with open/read into a stack buffer, not stdio:
 * fopen's FILE and buffer come from the heap under test, and their spans
 * moving in and out of the heap between two reads would move the page
 * counts the tests compare.
 */
static long kar_sysfs(const char *name)
{
	char path[128], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/karena/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* The pathname of the mapping holding addr, "" if anonymous, NULL if none. */
static int mapping_of(const void *addr, char *name, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		int off = 0;

		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &off) < 2)
			continue;
		if (a >= lo && a < hi) {
			snprintf(name, len, "%s", off ? line + off : "");
			name[strcspn(name, "\n")] = 0;
			found = 1;
			break;
		}
	}
	fclose(f);
	return found;
}

static uint64_t scavenged(void)
{
	struct karena_heap_stats st = { .size = sizeof(st) };

	return karena_stats(&st) ? 0 : st.scavenged_total;
}

/*
 * karena_release() until want bytes were returned since s0: the
 * background scavenger may hold a free span at the moment we ask.
 */
static int released_since(uint64_t s0, uint64_t want)
{
	int i;

	for (i = 0; i < 300; i++) {
		karena_release();
		if (scavenged() - s0 >= want)
			return 1;
		usleep(10000);
	}
	return 0;
}

static int have_dev(void)
{
	return access("/dev/karena", R_OK | W_OK) == 0;
}

#define NEED_DEV() do {							\
	if (!have_dev())						\
		SKIP(return, "no /dev/karena");				\
} while (0)

TEST(backend_is_dev)
{
	NEED_DEV();
	ASSERT_STREQ("dev", karena_backend());
}

TEST(heap_in_device_mapping)
{
	char name[256];
	void *small, *large;

	NEED_DEV();
	small = malloc(100);
	large = malloc(1 << 20);
	ASSERT_NE(NULL, small);
	ASSERT_NE(NULL, large);
	ASSERT_TRUE(mapping_of(small, name, sizeof(name)));
	ASSERT_STREQ("/dev/karena", name);
	ASSERT_TRUE(mapping_of(large, name, sizeof(name)));
	ASSERT_STREQ("/dev/karena", name);
	free(small);
	free(large);
}

/* Does the backend release lazily (KARENA_LAZY_RELEASE, default 1)? */
static int lazy_mode(void)
{
	const char *v = getenv("KARENA_LAZY_RELEASE");

	return !v || strcmp(v, "0");
}

/*
 * Freed, touched memory goes back through the module on karena_release:
 * given back (pages_allocated drops), or lazily released (lazy_pages
 * grows: still held until the module reclaims them).
 */
TEST(release_through_device)
{
	enum { NB = 64, BS = 256 << 10 };
	long t0, p0, t1, p1, l0, l1;
	uint64_t s0;
	char *b[NB];
	int i;

	NEED_DEV();
	for (i = 0; i < NB; i++) {
		b[i] = malloc(BS);
		ASSERT_NE(NULL, b[i]);
		for (size_t o = 0; o < BS; o += 4096)
			b[i][o] = (char)i;
	}
	karena_release();
	t0 = kar_sysfs("transitions");
	p0 = kar_sysfs("pages_allocated");
	l0 = kar_sysfs("lazy_pages");
	ASSERT_LT(0, t0);
	s0 = scavenged();
	for (i = 0; i < NB; i++)
		free(b[i]);
	ASSERT_TRUE(released_since(s0, (size_t)NB * BS / 2));
	t1 = kar_sysfs("transitions");
	p1 = kar_sysfs("pages_allocated");
	l1 = kar_sysfs("lazy_pages");
	TH_LOG("transitions %ld -> %ld, pages %ld -> %ld, lazy %ld -> %ld",
	       t0, t1, p0, p1, l0, l1);
	ASSERT_LT(t0, t1);
	ASSERT_LE(p1 - (l1 - l0) + NB * (BS / 4096) / 2, p0);
}

/*
 * Write @bs bytes of @fill into a new block, free it and scavenge until
 * at least half of it is released (a block of 2 MiB or more holds a whole
 * 2 MiB block, released whole; the huge blocks at its ends may stay with
 * the heap while they hold other objects: lib/mgcscavenge.c scav_keep_huge);
 * *@lazy0 gets lazy_pages from just before the free, *@released (if
 * given) the bytes released.  Returns the block's (freed) address, or NULL.
 */
static char *freed_and_released(size_t bs, int fill, long *lazy0,
				long *held0, uint64_t *released)
{
	char *b = malloc(bs);
	uint64_t s0;

	if (!b)
		return NULL;
	memset(b, fill, bs);
	karena_release();
	*lazy0 = kar_sysfs("lazy_pages");
	if (held0)
		*held0 = kar_sysfs("pages_allocated");
	s0 = scavenged();
	free(b);
	if (!released_since(s0, bs / 2))
		return NULL;
	if (released)
		*released = scavenged() - s0;
	return b;
}

/*
 * The scavenger's release is lazy on this backend by default: the pages
 * stay with the heap's mapping (lazy_pages grows by what was released)
 * until the module reclaims them (drop_caches here); with
 * KARENA_LAZY_RELEASE=0 they are given back at once.  The module releases
 * whole huge blocks (the heap's arenas have the HUGEPAGE hint) at once
 * even then: those leave pages_allocated instead.
 */
TEST(scavenger_release_is_lazy)
{
	enum { BS = 4 << 20 };
	long l0, l1, l2, held0, held1;
	uint64_t rel = 0;
	FILE *f;
	int i;

	NEED_DEV();
	ASSERT_NE(NULL, freed_and_released(BS, 1, &l0, &held0, &rel));
	l1 = kar_sysfs("lazy_pages");
	held1 = kar_sysfs("pages_allocated");
	/* A reclaim skips a file whose lock is busy (the scavenger): retry. */
	for (i = 0; i < 20 && kar_sysfs("lazy_pages"); i++) {
		f = fopen("/proc/sys/vm/drop_caches", "w");
		ASSERT_NE(NULL, f);
		fputs("3", f);
		fclose(f);
	}
	l2 = kar_sysfs("lazy_pages");
	TH_LOG("lazy mode %d: lazy_pages %ld -> %ld, after drop_caches %ld",
	       lazy_mode(), l0, l1, l2);
	TH_LOG("pages_allocated %ld -> %ld, %llu KiB released", held0, held1,
	       (unsigned long long)rel >> 10);
	if (lazy_mode()) {
		ASSERT_LT(l0, l1);
		/*
		 * all of it lazy, or given back at once (huge blocks); the
		 * heap's own bookkeeping may back a new page or two of the
		 * device meanwhile (6.12 with the per-thread lists of
		 * lib/tcache.c: 1023 of 1024), so allow one 64 KiB span
		 */
		ASSERT_LE(rel / 4096, (l1 - l0) + (held0 - held1) + 16);
	} else {
		ASSERT_EQ(l0, l1);
	}
	ASSERT_EQ(0, l2);
}

/*
 * calloc of memory that was released lazily and comes back with its old
 * data (the module kept the page) must still read zero: the heap marks
 * lazily released pages dirty (lib/mheap.c) and zeroes them.  The block
 * is freed, released and asked for again at the same size; the heap
 * hands the same pages back.
 */
TEST(calloc_after_lazy_release_is_zero)
{
	enum { BS = 1 << 20 };
	char *a, *c;
	long i, l0;

	NEED_DEV();
	a = freed_and_released(BS, 0xAA, &l0, NULL, NULL);
	ASSERT_NE(NULL, a);
	c = calloc(1, BS);
	ASSERT_NE(NULL, c);
	TH_LOG("freed %p, calloc %p", (void *)a, (void *)c);
	ASSERT_EQ(a, c);
	for (i = 0; i < BS; i++)
		if (c[i])
			break;
	ASSERT_EQ(BS, i) TH_LOG("byte %ld is 0x%x", i, c[i] & 0xff);
	free(c);
}

/* Huge blocks: the 6.1 guest only (kmod/compat.h), module parameter on. */
static int huge_blocks(void)
{
	struct utsname u;
	int major = 0, minor = 0;
	char c = 0;
	FILE *f;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2 ||
	    major > 6 || (major == 6 && minor >= 10))
		return 0;
	f = fopen("/sys/module/karena/parameters/hugepage", "r");
	if (!f)
		return 0;
	if (fscanf(f, " %c", &c) != 1)
		c = 0;
	fclose(f);
	return c == 'Y';
}

/* Allocate n objects of size sz and write every byte of them. */
static int fill_objects(char **o, int n, size_t sz)
{
	for (int i = 0; i < n; i++) {
		o[i] = malloc(sz);
		if (!o[i])
			return 0;
		memset(o[i], i | 1, sz);
	}
	return 1;
}

/*
 * Free all but every @keep_every-th object of o (all of them for 0; freed
 * slots become NULL) and malloc_trim(0).
 */
static void free_keep_trim(char **o, int n, int keep_every)
{
	for (int i = 0; i < n; i++)
		if (!keep_every || i % keep_every) {
			free(o[i]);
			o[i] = NULL;
		}
	malloc_trim(0);
}

/* fill_objects(), then free_keep_trim(). */
static int fill_keep_trim(char **o, int n, size_t sz, int keep_every)
{
	if (!fill_objects(o, n, sz))
		return 0;
	free_keep_trim(o, n, keep_every);
	return 1;
}

/* Allocate and write the NULL slots of o again, as fill_objects() did. */
static int refill_objects(char **o, int n, size_t sz)
{
	for (int i = 0; i < n; i++)
		if (!o[i]) {
			o[i] = malloc(sz);
			if (!o[i])
				return 0;
			memset(o[i], i | 1, sz);
		}
	return 1;
}

/* refill_objects(), counting the module's faults (and huge ones) meanwhile. */
static int refill_counted(char **o, int n, size_t sz, long *faults, long *huge)
{
	long f0 = kar_sysfs("faults"), h0 = kar_sysfs("faults_huge");

	if (!refill_objects(o, n, sz))
		return 0;
	*faults = kar_sysfs("faults") - f0;
	*huge = kar_sysfs("faults_huge") - h0;
	return 1;
}

/*
 * Free every object of o, checking first that it still holds what
 * fill_objects() wrote (its last byte): the index of the first that does
 * not, or -1.  Freed slots become NULL.
 */
static int free_checked_objects(char **o, int n, size_t sz)
{
	int bad = -1;

	for (int i = 0; i < n; i++) {
		if (!o[i])
			continue;
		if (bad < 0 && o[i][sz - 1] != (char)(i | 1))
			bad = i;
		free(o[i]);
		o[i] = NULL;
	}
	return bad;
}

/*
 * A heap given back with malloc_trim() and filled again, one small span at
 * a time, comes back on huge blocks: the backend makes the whole 2 MiB
 * blocks an eager Unused dropped Ready again (lib/os_dev.c, "Whole
 * blocks"), so the first fault in each maps all of it.  Used span by span
 * instead, every block would be partly Prepared at its first fault and
 * come back on 4 KiB pages: 4096 faults for the 16 MiB.  Blocks that
 * still hold a live span (the harness's, the allocator's cached spans)
 * are cut by the trim and stay 4 KiB: at least half of the 8 come back
 * huge (6 in the guest, 1 with the old backend: 3585 faults).
 */
TEST(trimmed_blocks_come_back_huge)
{
	enum { NO = 16384, OS = 1024, PAGES = NO * OS / 4096 };
	static char *o[NO];
	long faults, huge;

	NEED_DEV();
	if (!huge_blocks())
		SKIP(return, "no huge blocks on this kernel or module");
	ASSERT_TRUE(fill_keep_trim(o, NO, OS, 0));
	ASSERT_TRUE(refill_counted(o, NO, OS, &faults, &huge));
	TH_LOG("refill of %d pages after malloc_trim: %ld faults, %ld huge",
	       PAGES, faults, huge);
	ASSERT_LE(4, huge);
	ASSERT_GT(PAGES / 2, faults);
	ASSERT_EQ(-1, free_checked_objects(o, NO, OS));
}

/*
 * The same when the released run reaches into a fresh region whose top
 * the heap never handed out (the heap's last Map, 4 MiB, a quarter used):
 * the backend makes the run's whole blocks Ready again piece by piece,
 * inside that region and outside it.  Filled until the heap has mapped
 * two more regions, then 1 MiB more; freed, trimmed and filled again.
 * The old backend gave up on the whole run when it overlapped a region
 * only in part: every block came back on 4 KiB pages for good (bench
 * rounds: 17,602 faults, 13 huge).
 */
TEST(trim_refreshes_blocks_next_to_fresh_top)
{
	enum { MAXO = 32768, OS = 1024 };
	static char *o[MAXO];
	struct karena_heap_stats st = { .size = sizeof(st) };
	long faults, huge, pages;
	uint64_t sys0;
	int n = 0, extra = -1;

	NEED_DEV();
	if (!huge_blocks())
		SKIP(return, "no huge blocks on this kernel or module");
	ASSERT_EQ(0, karena_stats(&st));
	sys0 = st.heap_sys;
	while (n < MAXO && extra) {
		o[n] = malloc(OS);
		ASSERT_NE(NULL, o[n]);
		memset(o[n], n | 1, OS);
		n++;
		if (extra > 0) {
			extra--;
			continue;
		}
		ASSERT_EQ(0, karena_stats(&st));
		if (st.heap_sys >= sys0 + (8u << 20))
			extra = (1 << 20) / OS;
	}
	ASSERT_EQ(0, extra) TH_LOG("heap_sys %llu after %d objects",
				   (unsigned long long)st.heap_sys, n);
	free_keep_trim(o, n, 0);
	pages = (long)n * OS / 4096;
	ASSERT_TRUE(refill_counted(o, n, OS, &faults, &huge));
	TH_LOG("refill of %ld pages after malloc_trim: %ld faults, %ld huge",
	       pages, faults, huge);
	ASSERT_LE(2, huge);
	ASSERT_GT(pages / 4, faults);
	ASSERT_EQ(-1, free_checked_objects(o, n, OS));
}

/*
 * Hugepage-aware release (lib/mgcscavenge.c, scav_keep_huge):
 * malloc_trim() releases whole free 2 MiB blocks and leaves the free pages
 * of a huge-backed block that still holds objects with it, where releasing
 * them would copy the block to 4 KiB pages (huge_splits) whose every page
 * then faults back one by one.  16 MiB of 1 KiB objects, one 64 KiB span
 * of them kept alive per 2 MiB: no split, and the refill takes a fault per
 * block released whole (not 4 KiB faults).  The old library cut every
 * block with a live span: 8 splits, thousands of faults.
 */
TEST(trim_keeps_huge_blocks)
{
	enum { NO = 16384, OS = 1024, PAGES = NO * OS / 4096 };
	static char *o[NO];
	long s0, s1, faults, huge;

	NEED_DEV();
	if (!huge_blocks())
		SKIP(return, "no huge blocks on this kernel or module");
	s0 = kar_sysfs("huge_splits");
	ASSERT_TRUE(fill_keep_trim(o, NO, OS, 2048));
	s1 = kar_sysfs("huge_splits");
	ASSERT_TRUE(refill_counted(o, NO, OS, &faults, &huge));
	TH_LOG("malloc_trim: %ld huge blocks cut; refill of %d pages: %ld faults",
	       s1 - s0, PAGES, faults);
	ASSERT_EQ(0, s1 - s0);
	ASSERT_GT(PAGES / 4, faults);
	ASSERT_EQ(-1, free_checked_objects(o, NO, OS));
}

/*
 * The other half: the kept pages are not kept for ever.  Once the heap in
 * use stays far below both the goal plus its slack and its recent peak
 * (1-2 s), the background scavenger cuts the kept blocks too: within a
 * few seconds the heap's released bytes grow by most of the kept pages
 * (8 blocks of 2 MiB, less one 64 KiB span each).
 */
TEST(scavenger_cuts_kept_blocks_later)
{
	enum { NO = 16384, OS = 1024 };
	static char *o[NO];
	uint64_t r0 = 0, r1 = 0;
	int i;

	NEED_DEV();
	if (!huge_blocks())
		SKIP(return, "no huge blocks on this kernel or module");
	ASSERT_TRUE(fill_keep_trim(o, NO, OS, 2048));
	r0 = scavenged();
	for (i = 0; i < 100; i++) {
		usleep(100000);
		r1 = scavenged();
		if (r1 - r0 >= (8u << 20))
			break;
	}
	TH_LOG("scavenger released %llu KiB after malloc_trim, in %d ms",
	       (unsigned long long)(r1 - r0) >> 10, i * 100);
	ASSERT_LE(8u << 20, r1 - r0);
	ASSERT_EQ(-1, free_checked_objects(o, NO, OS));
}

/*
 * Spans taken from memory the heap just mapped cost no transition each:
 * the backend made the fresh region Ready in one call (lib/os_dev.c,
 * "Fresh regions"), where it used to issue one Used per span.  Each test
 * runs in a fork of the harness, whose heap is mostly memory mapped and
 * never used; 1024 objects of 2 KiB fill 32 spans of 64 KiB from it (or
 * from one more region).  They must read zero (calloc skips the memset on
 * fresh pages) and be writable.
 */
TEST(fresh_spans_without_transitions)
{
	enum { NO = 1024, OS = 2048 };
	char *o[NO];
	long t0, t1;
	int i;

	NEED_DEV();
	t0 = kar_sysfs("transitions");
	for (i = 0; i < NO; i++) {
		o[i] = calloc(1, OS);
		ASSERT_NE(NULL, o[i]);
		ASSERT_EQ(0, o[i][OS - 1]);
		memset(o[i], i, OS);
	}
	t1 = kar_sysfs("transitions");
	TH_LOG("transitions for %d spans: %ld", NO * OS / (64 << 10), t1 - t0);
	ASSERT_LT(t1 - t0, 8);
	for (i = 0; i < NO; i++) {
		ASSERT_EQ((char)i, o[i][OS / 2]);
		free(o[i]);
	}
}

/*
 * Heap regions made of several adjacent 64 MiB reservations: one span
 * crosses a reservation boundary, so Used and Unused ranges must be split
 * at it (device mappings never merge, the module refuses a range over two).
 */
TEST(ranges_across_reservations)
{
	struct karena_heap_stats st = { .size = sizeof(st) };
	char *a, *b, *c;
	uint64_t s0;
	size_t i;

	NEED_DEV();
	a = malloc(60u << 20);
	b = malloc(60u << 20);
	c = malloc(60u << 20);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_NE(NULL, c);
	for (i = 0; i < (60u << 20); i += 1 << 20)
		a[i] = b[i] = c[i] = 1;
	s0 = scavenged();
	free(a);
	free(b);
	free(c);
	ASSERT_TRUE(released_since(s0, 150u << 20));
	a = malloc(170u << 20);
	ASSERT_NE(NULL, a);
	for (i = 0; i < (170u << 20); i += 1 << 20)
		ASSERT_EQ(0, a[i]);
	memset(a + (100u << 20), 7, 1 << 20);
	s0 = scavenged();
	free(a);
	ASSERT_TRUE(released_since(s0, 150u << 20));
	ASSERT_EQ(0, karena_stats(&st));
}

TEST(fork_private_heap)
{
	char *p = malloc(1 << 20);
	int status;
	pid_t pid;

	NEED_DEV();
	ASSERT_NE(NULL, p);
	memset(p, 'A', 1 << 20);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char *q = malloc(1 << 20);

		memset(p, 'B', 1 << 20);
		if (!q || p[12345] != 'B')
			_exit(2);
		free(q);
		karena_release();
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ('A', p[12345]);
	ASSERT_EQ('A', p[(1 << 20) - 1]);
	free(p);
}

static void *churn(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	void *v[64] = { 0 };
	int i;

	for (i = 0; i < 6000; i++) {
		int k = rand_r(&seed) % 64;

		free(v[k]);
		v[k] = malloc(rand_r(&seed) % 3 ? 64 + k : (size_t)(k + 1) << 14);
		if (v[k])
			memset(v[k], 1, 64);
		if (i % 2000 == 0)
			karena_release();
	}
	for (i = 0; i < 64; i++)
		free(v[i]);
	return NULL;
}

/* Releases from several threads at once (the ring is one per process). */
TEST(threads_release)
{
	pthread_t t[4];
	int i;

	NEED_DEV();
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, churn,
					    (void *)(uintptr_t)(i + 1)));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	ASSERT_LE(0, (long)karena_release());
}

/* Sum of CqTail over this process's io_uring fds (fdinfo), -1 if none. */
static long uring_cq_tail(void)
{
	char path[300], target[128], line[128];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	long sum = -1;

	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		unsigned int v;
		ssize_t n;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", d->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (!strstr(target, "io_uring"))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "CqTail: %u", &v) == 1)
				sum = (sum < 0 ? 0 : sum) + v;
		fclose(f);
	}
	closedir(dir);
	return sum;
}

/*
 * KARENA_URING=1: the first batch sets up the ring, releases work.  The
 * free runs are 3.75 MiB apart from each other: each holds a whole 2 MiB
 * block, which the heap releases even where huge blocks back the heap
 * (lib/mgcscavenge.c scav_keep_huge keeps only a huge block's partly free ends).
 */
TEST(uring_batches)
{
	enum { NB = 64, BS = 256 << 10, KEEP = 16 };
	const size_t whole = (size_t)NB / KEEP * (2 << 20);
	char *b[NB], *x;
	long t0, c0, c1;
	uint64_t s0;
	int i;

	NEED_DEV();
	if (!getenv("KARENA_URING") || strcmp(getenv("KARENA_URING"), "1"))
		SKIP(return, "KARENA_URING=1 not set");
	for (i = 0; i < NB; i++) {
		b[i] = malloc(BS);
		ASSERT_NE(NULL, b[i]);
		memset(b[i], i, BS);
	}
	x = malloc(4 << 20);	/* holds a whole block: released */
	ASSERT_NE(NULL, x);
	memset(x, 1, 4 << 20);
	free(x);
	karena_release();	/* x's pages: the ring exists (in this process) now */
	c0 = uring_cq_tail();
	ASSERT_LE(0, c0);
	/* free all but every KEEP-th block: scattered free runs, one batch */
	for (i = 0; i < NB; i++)
		if (i % KEEP)
			free(b[i]);
	t0 = kar_sysfs("transitions");
	s0 = scavenged();
	ASSERT_TRUE(released_since(s0, whole));
	ASSERT_LT(t0, kar_sysfs("transitions"));
	c1 = uring_cq_tail();
	TH_LOG("io_uring completions %ld -> %ld", c0, c1);
	ASSERT_LT(c0, c1);
	for (i = 0; i < NB; i += KEEP) {
		ASSERT_EQ((char)i, b[i][BS - 1]);
		free(b[i]);
	}
	/* reuse of released pages: zeroed, writable */
	for (i = 0; i < NB; i++) {
		b[i] = calloc(1, BS);
		ASSERT_NE(NULL, b[i]);
		ASSERT_EQ(0, b[i][BS / 2]);
		b[i][0] = 1;
	}
	s0 = scavenged();
	for (i = 0; i < NB; i++)
		free(b[i]);
	ASSERT_TRUE(released_since(s0, whole));
}

TEST_HARNESS_MAIN
