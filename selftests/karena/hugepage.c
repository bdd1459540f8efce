// SPDX-License-Identifier: GPL-2.0
/*
 * karena huge-block selftests (kmod/huge.c, kmod/README.md "Huge blocks").
 *
 * A 2 MiB-aligned Ready block with the HUGEPAGE hint is backed on its first
 * fault by one compound page mapped with one PMD: one fault per 2 MiB
 * (getrusage minflt and /sys/kernel/karena/faults_huge), FilePmdMapped in
 * smaps, zeroed contents.  Everything else falls back to 4 KiB pages: no
 * hint, a block not wholly Ready or not wholly inside the VMA, the module
 * parameter hugepage=0, a bound or the memcg refusing 512 pages.  A
 * transition or VMA split that cuts a block copies the block into 4 KiB
 * pages first (huge_splits), so RssFile and the held count stay exact; a
 * fork gives the child copies.
 *
 * Huge blocks exist on the 6.1 guest kernel only (kmod/compat.h): on newer
 * kernels the tests that expect a PMD check that everything falls back and
 * the data tests run as they are.
 */
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/utsname.h>

#include "kselftest_harness.h"
#include "karena_test.h"
#include "kt_cgroup.h"

#define SYSFS		"/sys/kernel/karena/"
#define PARAMS		"/sys/module/karena/parameters/"
#define HUGE		(2UL << 20)
#define NBLOCKS		4
#define LEN		(NBLOCKS * HUGE)

/* Does this kernel map huge blocks (kmod/compat.h: before 6.10)? */
static bool kt_huge_kernel(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major < 6 || (major == 6 && minor < 10);
}

static long kt_minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* Faults this file's space in this process served (KARENA_IOC_STATS). */
static long long kt_space_faults(int fd)
{
	struct karena_stats st;

	return kt_stats(fd, &st) ? -1 : (long long)st.faults;
}

static long long kt_counter(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), SYSFS "%s", name);
	return kt_read_num(path);
}

/* FilePmdMapped of the mapping at @p in /proc/self/smaps, in kB, or -1. */
static long kt_pmd_mapped_kb(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long start, end;
	char line[256];
	long long kb = -1;
	bool in = false;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = start <= (uintptr_t)p && (uintptr_t)p < end;
			continue;
		}
		if (in && sscanf(line, "FilePmdMapped: %lld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* Write one byte per 4 KiB page of [p, p + len): value seed + page. */
static void touch(char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i += 4096)
		((volatile char *)p)[i] = (char)(seed + i / 4096);
}

/* Index of the first page of [p, p + len) not touch()ed with @seed, or -1. */
static long untouched(const char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i += 4096)
		if (p[i] != (char)(seed + i / 4096))
			return i / 4096;
	return -1;
}

/*
 * What the device's pages add to RssFile, in kB: RssFile (counters: the
 * core's for mapped pages, rss.c's for held unmapped ones) less the Rss of
 * the other file mappings (libc's and the test's code, which faults in
 * 64 KiB at a time whenever new code runs).
 */
/*
 * 6.1 batches the RSS counts of a task's faults (SPLIT_RSS_COUNTING) and
 * adds them to the mm after 64 faults: fault 70 anonymous pages so the
 * counters that /proc/self/status reads are up to date.
 */
static void kt_rss_sync(void)
{
	static char *area;
	int i;

	if (!area)
		area = mmap(NULL, 70 * 4096, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return;
	madvise(area, 70 * 4096, MADV_DONTNEED);
	for (i = 0; i < 70; i++)
		((volatile char *)area)[i * 4096] = 1;
}

static long kt_dev_rss_kb(void)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long start, end, inode;
	long long kb, other = 0;
	char line[512], path[256];
	bool file = false;

	if (!f)
		return -1;
	kt_rss_sync();
	while (fgets(line, sizeof(line), f)) {
		path[0] = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %lu %255s", &start, &end,
			   &inode, path) >= 3) {
			file = inode && strcmp(path, KARENA_DEVICE);
			continue;
		}
		/* A private file mapping's written pages are anonymous. */
		if (file && sscanf(line, "Rss: %lld kB", &kb) == 1)
			other += kb;
		if (file && sscanf(line, "Anonymous: %lld kB", &kb) == 1)
			other -= kb;
	}
	fclose(f);
	/*
	 * Files on tmpfs (the installed kselftests run from a copy there)
	 * count in RssShmem, the rest in RssFile: take both, so that what
	 * is left is the device's share of RssFile.
	 */
	return kt_rss_file_kb() +
	       kt_proc_num("/proc/self/status", "RssShmem: %lld kB") - other;
}

/* Run once the code the measured parts use, so it faults in beforehand. */
static void warm_up(void)
{
	char *scratch = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (scratch == MAP_FAILED)
		return;
	touch(scratch, 3 * 4096, 0);
	(void)untouched(scratch, 3 * 4096, 0);
	(void)kt_first_nonzero(scratch, 3 * 4096);
	(void)kt_dev_rss_kb();
	(void)kt_minflt();
	mprotect(scratch + 4096, 4096, PROT_READ);
	munmap(scratch, 3 * 4096);
}

static int set_param(const char *name, long long v)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), PARAMS "%s", name);
	snprintf(buf, sizeof(buf), "%lld", v);
	return write_file(path, buf);
}

/* The hugepage parameter: 1 (Y), 0 (N), or -1 when it is missing. */
static int hugepage_param(void)
{
	FILE *f = fopen(PARAMS "hugepage", "r");
	int c;

	if (!f)
		return -1;
	c = fgetc(f);
	fclose(f);
	return c == 'Y' ? 1 : c == 'N' ? 0 : -1;
}

FIXTURE(huge) {
	int fd;
	char *p;
	bool huge;	/* this kernel maps huge blocks */
};

FIXTURE_SETUP(huge)
{
	KT_OPEN_OR_SKIP(self->fd);
	warm_up();
	self->huge = kt_huge_kernel();
	ASSERT_EQ(1, hugepage_param())
		TH_LOG("hugepage parameter missing or off");
	self->p = kt_mmap(self->fd, LEN);
	ASSERT_NE(MAP_FAILED, self->p);
}

FIXTURE_TEARDOWN(huge)
{
	munmap(self->p, LEN);
	close(self->fd);
}

/* Make [p, p + len) Ready with the hint. */
static int ready_huge(int fd, void *p, size_t len)
{
	int ret = kt_trans(fd, p, len, KARENA_OP_ALLOC);

	return ret ? ret : kt_trans(fd, p, len, KARENA_OP_HUGEPAGE);
}

/* Mappings of 2 MiB or more come back 2 MiB aligned (->get_unmapped_area). */
TEST_F(huge, aligned_mapping)
{
	int i;

	EXPECT_EQ(0, (uintptr_t)self->p % HUGE);
	for (i = 0; i < 8; i++) {
		char *q = kt_mmap(self->fd, HUGE + 4096 * i);

		ASSERT_NE(MAP_FAILED, q);
		EXPECT_EQ(0, (uintptr_t)q % HUGE) TH_LOG("mmap %d: %p", i, q);
		munmap(q, HUGE + 4096 * i);
	}
}

/* A fully written Ready hinted range: one fault per 2 MiB, zeroed, PMDs. */
TEST_F(huge, one_fault_per_block)
{
	long long huge0 = kt_counter("faults_huge");
	long long faults0 = kt_space_faults(self->fd);
	long flt, rss0 = kt_dev_rss_kb();
	size_t b;

	ASSERT_EQ(0, ready_huge(self->fd, self->p, LEN));
	flt = kt_minflt();
	for (b = 0; b < NBLOCKS; b++) {
		char *blk = self->p + b * HUGE;

		*(volatile char *)blk = 1;
		/* No read of the block before that write. */
		__asm__ volatile("" ::: "memory");
		/* The first write brought the whole block in, zeroed. */
		EXPECT_EQ(-1, kt_first_nonzero(blk + 1, HUGE - 1));
		touch(blk, HUGE, 7);
	}
	flt = kt_minflt() - flt;
	if (self->huge) {
		/* The space's count is exact; minflt has the code's too. */
		EXPECT_EQ(NBLOCKS, kt_space_faults(self->fd) - faults0);
		EXPECT_LE(flt, NBLOCKS + 64) TH_LOG("%ld faults", flt);
		EXPECT_LE(NBLOCKS, kt_counter("faults_huge") - huge0);
		EXPECT_EQ(LEN / 1024, kt_pmd_mapped_kb(self->p));
	} else {
		EXPECT_GE(flt, LEN / 4096) TH_LOG("%ld faults", flt);
		EXPECT_EQ(0, kt_counter("faults_huge") - huge0);
	}
	EXPECT_EQ(-1, untouched(self->p, LEN, 7));
	EXPECT_EQ(LEN / 1024, kt_dev_rss_kb() - rss0);
	EXPECT_EQ(LEN / 1024, kt_dev_rss_kb());
}

/* Read first (read-only PMD), then write: two faults per block. */
TEST_F(huge, read_then_write)
{
	long long faults0 = kt_space_faults(self->fd);
	long flt;
	size_t b;

	ASSERT_EQ(0, ready_huge(self->fd, self->p, LEN));
	flt = kt_minflt();
	for (b = 0; b < NBLOCKS; b++) {
		char *blk = self->p + b * HUGE;

		EXPECT_EQ(-1, kt_first_nonzero(blk, HUGE));
		touch(blk, HUGE, 3);
	}
	flt = kt_minflt() - flt;
	if (self->huge) {
		EXPECT_EQ(2 * NBLOCKS, kt_space_faults(self->fd) - faults0);
		EXPECT_LE(flt, 2 * NBLOCKS + 64) TH_LOG("%ld faults", flt);
	}
	EXPECT_EQ(-1, untouched(self->p, LEN, 3));
	EXPECT_EQ(LEN / 1024, kt_dev_rss_kb());
}

/* Touch [p, p + len) and return the faults_huge delta and minflt. */
static long long touch_count(char *p, size_t len, long *flt)
{
	long long h = kt_counter("faults_huge");

	*flt = kt_minflt();
	touch(p, len, 9);
	*flt = kt_minflt() - *flt;
	return kt_counter("faults_huge") - h;
}

/* No hint, part of a block not Ready, hugepage=0: 4 KiB faults. */
TEST_F(huge, fallback)
{
	char *p = self->p;
	long flt;

	/* Ready without the hint. */
	ASSERT_EQ(0, kt_trans(self->fd, p, HUGE, KARENA_OP_ALLOC));
	EXPECT_EQ(0, touch_count(p, HUGE, &flt));
	EXPECT_GE(flt, HUGE / 4096);
	/* Hinted, but the block's last page is not Ready. */
	p += HUGE;
	ASSERT_EQ(0, kt_trans(self->fd, p, HUGE - 4096, KARENA_OP_ALLOC));
	ASSERT_EQ(0, kt_trans(self->fd, p, HUGE, KARENA_OP_HUGEPAGE));
	EXPECT_EQ(0, touch_count(p, HUGE - 4096, &flt));
	EXPECT_GE(flt, HUGE / 4096 - 1);
	/* Hinted and Ready, but the module parameter is off. */
	p += HUGE;
	ASSERT_EQ(0, ready_huge(self->fd, p, HUGE));
	ASSERT_EQ(0, set_param("hugepage", 0));
	EXPECT_EQ(0, touch_count(p, HUGE, &flt));
	ASSERT_EQ(0, set_param("hugepage", 1));
	EXPECT_GE(flt, HUGE / 4096);
	/* NOHUGEPAGE takes the hint back. */
	p += HUGE;
	ASSERT_EQ(0, ready_huge(self->fd, p, HUGE));
	ASSERT_EQ(0, kt_trans(self->fd, p, HUGE, KARENA_OP_NOHUGEPAGE));
	EXPECT_EQ(0, touch_count(p, HUGE, &flt));
	EXPECT_EQ(-1, untouched(self->p + HUGE * 2, HUGE * 2, 9));
}

/* A VMA whose file offset and address disagree mod 2 MiB: 4 KiB faults. */
TEST_F(huge, fallback_unaligned_vma)
{
	char *q;
	long flt;

	/* Address 2 MiB aligned, file offset 4 KiB: never suitable. */
	q = mmap(self->p, LEN - HUGE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, self->fd, 4096);
	ASSERT_EQ(self->p, q);
	ASSERT_EQ(0, ready_huge(self->fd, q, HUGE));
	EXPECT_EQ(0, touch_count(q, HUGE, &flt));
	EXPECT_GE(flt, HUGE / 4096);
	EXPECT_EQ(-1, untouched(q, HUGE, 9));
}

/*
 * Unused of part of a block: the block goes to 4 KiB pages (survivors
 * keep their data, the released part reads zeros when Used again), and
 * RssFile and the held count drop by exactly the released part.
 */
TEST_F(huge, partial_unused)
{
	long long held0, splits0 = kt_counter("huge_splits");
	char *blk = self->p + HUGE;
	long rss0;

	ASSERT_EQ(0, ready_huge(self->fd, self->p, LEN));
	touch(self->p, LEN, 5);
	held0 = kt_counter("pages_allocated");
	rss0 = kt_dev_rss_kb();
	/* 64 KiB in the middle of block 1. */
	ASSERT_EQ(0, kt_trans(self->fd, blk + 65536, 65536, KARENA_OP_UNUSED));
	EXPECT_EQ(self->huge ? 1 : 0, kt_counter("huge_splits") - splits0);
	EXPECT_EQ(held0 - 16, kt_counter("pages_allocated"));
	EXPECT_EQ(rss0 - 64, kt_dev_rss_kb());
	EXPECT_EQ(-1, untouched(blk, 65536, 5 + 512));
	EXPECT_EQ(-1, untouched(blk + 131072, HUGE - 131072,
				5 + 512 + 32));
	ASSERT_EQ(0, kt_trans(self->fd, blk + 65536, 65536, KARENA_OP_USED));
	EXPECT_EQ(-1, kt_first_nonzero(blk + 65536, 65536));
	/* A whole block: freed at once, no copy. */
	splits0 = kt_counter("huge_splits");
	held0 = kt_counter("pages_allocated");
	rss0 = kt_dev_rss_kb();
	ASSERT_EQ(0, kt_trans(self->fd, self->p + 2 * HUGE, HUGE,
			      KARENA_OP_UNUSED));
	EXPECT_EQ(0, kt_counter("huge_splits") - splits0);
	EXPECT_EQ(held0 - 512, kt_counter("pages_allocated"));
	EXPECT_EQ(rss0 - 2048, kt_dev_rss_kb());
	EXPECT_EQ(-1, untouched(self->p, HUGE, 5));
	EXPECT_EQ(-1, untouched(self->p + 3 * HUGE, HUGE, 5 + 3 * 512));
}

/* munmap and mprotect of part of a block: the survivors keep their data. */
TEST_F(huge, partial_unmap_protect)
{
	long long splits0 = kt_counter("huge_splits");
	long rss0;

	ASSERT_EQ(0, ready_huge(self->fd, self->p, LEN));
	touch(self->p, LEN, 11);
	rss0 = kt_dev_rss_kb();
	ASSERT_EQ(0, munmap(self->p + HUGE + 8192, 4096));
	EXPECT_EQ(rss0 - 4, kt_dev_rss_kb());
	ASSERT_EQ(0, mprotect(self->p + 2 * HUGE + 4096, 4096, PROT_READ));
	EXPECT_EQ(self->huge ? 2 : 0, kt_counter("huge_splits") - splits0);
	EXPECT_EQ(-1, untouched(self->p, HUGE + 8192, 11));
	EXPECT_EQ(-1, untouched(self->p + HUGE + 12288,
				LEN - HUGE - 12288, 11 + 515));
	touch(self->p + 2 * HUGE + 8192, HUGE - 8192, 1);
	EXPECT_EQ(rss0 - 4, kt_dev_rss_kb());
}

/*
 * A block someone else holds (vmsplice()d pages sit in a pipe) cannot be
 * copied: Unused of part of it fails with EBUSY and changes nothing; a
 * munmap inside it still succeeds (the block stays whole in two VMAs).
 * Once the pipe is drained, the Unused works.
 */
TEST_F(huge, held_block)
{
	long long fails0 = kt_counter("huge_split_fails");
	struct iovec iov = { .iov_base = self->p, .iov_len = 4096 };
	char buf[4096];
	int pfd[2];

	if (!self->huge)
		SKIP(return, "no huge blocks on this kernel (kmod/compat.h)");
	ASSERT_EQ(0, ready_huge(self->fd, self->p, LEN));
	touch(self->p, LEN, 31);
	ASSERT_EQ(0, pipe(pfd));
	ASSERT_EQ(4096, vmsplice(pfd[1], &iov, 1, 0));
	EXPECT_EQ(EBUSY,
		  kt_trans(self->fd, self->p + 65536, 65536, KARENA_OP_UNUSED));
	EXPECT_EQ(-1, untouched(self->p, LEN, 31));
	/* Two splits (at both ends of the hole), neither can copy. */
	ASSERT_EQ(0, munmap(self->p + 8192, 4096));
	EXPECT_EQ(2, kt_counter("huge_split_fails") - fails0);
	EXPECT_EQ(-1, untouched(self->p, 8192, 31));
	EXPECT_EQ(-1, untouched(self->p + 12288, LEN - 12288, 31 + 3));
	ASSERT_EQ(4096, read(pfd[0], buf, sizeof(buf)));
	EXPECT_EQ(31, buf[0]);
	close(pfd[0]);
	close(pfd[1]);
	/* The block lost a page: no PMD maps it, Unused needs no copy. */
	EXPECT_EQ(0, kt_trans(self->fd, self->p + 65536, 65536,
			      KARENA_OP_UNUSED));
	EXPECT_EQ(-1, untouched(self->p + 12288, 65536 - 12288, 31 + 3));
	EXPECT_EQ((LEN - HUGE) / 1024, kt_pmd_mapped_kb(self->p + 12288));
	EXPECT_EQ(-1, untouched(self->p + 131072, LEN - 131072, 31 + 32));
}

/*
 * A lazy Unused (KARENA_F_LAZY) keeps 4 KiB pages but releases a whole
 * huge block at once (lazy reclaim would take it apart page by page);
 * cutting a block demotes it first, then the cut part is kept lazily.
 */
TEST_F(huge, lazy_unused)
{
	long long held0, lazy0, splits0;

	ASSERT_EQ(0, ready_huge(self->fd, self->p, LEN));
	touch(self->p, LEN, 41);
	held0 = kt_counter("pages_allocated");
	lazy0 = kt_counter("lazy_pages");
	splits0 = kt_counter("huge_splits");
	ASSERT_EQ(0, kt_trans_f(self->fd, self->p, HUGE, KARENA_OP_UNUSED,
				KARENA_F_LAZY));
	EXPECT_EQ(self->huge ? held0 - 512 : held0,
		  kt_counter("pages_allocated"));
	EXPECT_EQ(self->huge ? lazy0 : lazy0 + 512, kt_counter("lazy_pages"));
	ASSERT_EQ(0, kt_trans_f(self->fd, self->p + HUGE + 65536, 65536,
				KARENA_OP_UNUSED, KARENA_F_LAZY));
	EXPECT_EQ(self->huge ? 1 : 0, kt_counter("huge_splits") - splits0);
	EXPECT_EQ(lazy0 + (self->huge ? 16 : 528), kt_counter("lazy_pages"));
	EXPECT_EQ(-1, untouched(self->p + HUGE, 65536, 41 + 512));
	EXPECT_EQ(-1, untouched(self->p + HUGE + 131072, LEN - HUGE - 131072,
				41 + 512 + 32));
	/* Ready again: the whole block reads zeros, and comes back huge. */
	ASSERT_EQ(0, kt_trans(self->fd, self->p, HUGE, KARENA_OP_USED));
	if (self->huge) {
		EXPECT_EQ(-1, kt_first_nonzero(self->p, HUGE));
		EXPECT_EQ(LEN / 1024 - 2048, kt_pmd_mapped_kb(self->p));
	}
}

/* MADV_DONTNEED of a block keeps its data; RssFile stays the same. */
TEST_F(huge, dontneed)
{
	long rss0, flt;

	ASSERT_EQ(0, ready_huge(self->fd, self->p, LEN));
	touch(self->p, LEN, 13);
	rss0 = kt_dev_rss_kb();
	ASSERT_EQ(0, madvise(self->p, HUGE, MADV_DONTNEED));
	EXPECT_EQ(rss0, kt_dev_rss_kb());
	flt = kt_minflt();
	EXPECT_EQ(-1, untouched(self->p, LEN, 13));
	flt = kt_minflt() - flt;
	if (self->huge)
		EXPECT_LE(flt, 1 + 64) TH_LOG("%ld faults", flt);
	EXPECT_EQ(rss0, kt_dev_rss_kb());
}

/* Fork: parent and child each see their own data in a huge block. */
TEST_F(huge, fork)
{
	long long shared0 = kt_counter("cow_shared");
	pid_t pid;

	ASSERT_EQ(0, ready_huge(self->fd, self->p, LEN));
	touch(self->p, LEN, 21);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (untouched(self->p, LEN, 21) != -1)
			_exit(1);
		touch(self->p, LEN, 99);
		if (untouched(self->p, LEN, 99) != -1)
			_exit(2);
		_exit(0);
	}
	EXPECT_EQ(0, kt_wait(pid));
	/* Huge blocks are copied for the child, never shared. */
	EXPECT_EQ(self->huge ? 0 : LEN / 4096,
		  kt_counter("cow_shared") - shared0);
	EXPECT_EQ(-1, untouched(self->p, LEN, 21));
	touch(self->p, HUGE, 22);
	EXPECT_EQ(-1, untouched(self->p, HUGE, 22));
	EXPECT_EQ(-1, untouched(self->p + HUGE, LEN - HUGE, 21 + 512));
	/* The parent's blocks are whole again: mapped by PMDs. */
	if (self->huge)
		EXPECT_EQ(LEN / 1024, kt_pmd_mapped_kb(self->p));
}

/* A bound that leaves room for fewer than 512 pages: 4 KiB faults. */
TEST_F(huge, bound_fallback)
{
	long long held = kt_counter("pages_allocated");
	long long old = kt_read_num(PARAMS "max_held");
	long long fb0 = kt_counter("huge_fallbacks");
	long flt;

	ASSERT_LE(0, held);
	ASSERT_EQ(0, ready_huge(self->fd, self->p, HUGE));
	ASSERT_EQ(0, set_param("max_held", (held + 300) * 4096));
	EXPECT_EQ(0, touch_count(self->p, HUGE / 2, &flt));
	ASSERT_EQ(0, set_param("max_held", old));
	EXPECT_GE(flt, HUGE / 2 / 4096);
	if (self->huge)
		EXPECT_LE(1, kt_counter("huge_fallbacks") - fb0);
	EXPECT_EQ(-1, untouched(self->p, HUGE / 2, 9));
}

/*
 * memory.max leaves room for less than a block: the fault falls back to
 * 4 KiB pages (no OOM kill, no SIGBUS) for what fits.  The child reports
 * through its exit code: 13 HUGEPAGE, 14 the data.
 */
TEST(memcg_fallback)
{
	long long fb0 = kt_counter("huge_fallbacks"), h0;
	const char *why;
	char cg[128];
	pid_t pid;
	int fd;

	why = cg_make(cg, sizeof(cg), "huge");
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, cg_write(cg, "memory.max", "1M"));
	h0 = kt_counter("faults_huge");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char *p = cg_child_map(cg, 2 * HUGE, &fd);

		if (ready_huge(fd, p, 2 * HUGE))
			_exit(13);
		/* 512 KiB of 4 KiB pages fits; a 2 MiB block does not. */
		touch(p, HUGE / 4, 9);
		if (untouched(p, HUGE / 4, 9) != -1)
			_exit(14);
		_exit(0);
	}
	EXPECT_EQ(0, kt_wait(pid));
	EXPECT_EQ(0, cg_event(cg, "oom_kill"));
	EXPECT_EQ(0, kt_counter("faults_huge") - h0);
	if (kt_huge_kernel())
		EXPECT_LE(1, kt_counter("huge_fallbacks") - fb0);
	rmdir(cg);
}

/*
 * Pages of [p, p + len) whose QUERY byte has KARENA_PAGE_HUGE_BACKED, or
 * -1 when QUERY fails.
 */
static long backed_pages(int fd, const char *p, size_t len)
{
	static unsigned char vec[LEN / 4096];
	long n = 0;
	size_t i;

	if (len > LEN || kt_query(fd, p, len, vec))
		return -1;
	for (i = 0; i < len / 4096; i++)
		n += !!(vec[i] & KARENA_PAGE_HUGE_BACKED);
	return n;
}

/*
 * QUERY's KARENA_PAGE_HUGE_BACKED is the backing, not the hint: set on
 * all 512 pages of a block a huge fault backed, clear on a hinted block
 * not backed yet, on 4 KiB pages (no hint, hugepage=0), after an Unused of
 * part of a block (demoted) and after the whole block's release; set
 * again when the block comes back huge.  Never set where blocks are not
 * made (kmod/compat.h).
 */
TEST_F(huge, backed_bit)
{
	const long per = self->huge ? HUGE / 4096 : 0;
	struct karena_info info = { .size = sizeof(info) };
	char *p = self->p;
	long flt;

	ASSERT_EQ(0, ioctl(self->fd, KARENA_IOC_INFO, &info));
	EXPECT_TRUE(info.features & KARENA_FEAT_HUGE_BACKED);
	ASSERT_EQ(0, ready_huge(self->fd, p, 3 * HUGE));
	ASSERT_EQ(0, kt_trans(self->fd, p + 3 * HUGE, HUGE, KARENA_OP_ALLOC));
	EXPECT_EQ(0, backed_pages(self->fd, p, LEN));
	touch(p, HUGE, 1);
	EXPECT_EQ(per, backed_pages(self->fd, p, HUGE));
	EXPECT_EQ(0, backed_pages(self->fd, p + HUGE, LEN - HUGE));
	/* Block 3, Ready without the hint: 4 KiB pages, resident. */
	touch(p + 3 * HUGE, HUGE, 2);
	EXPECT_EQ(0, backed_pages(self->fd, p + 3 * HUGE, HUGE));
	EXPECT_EQ(KARENA_PAGE_RESIDENT | KARENA_STATE_READY,
		  kt_state_of(self->fd, p + 3 * HUGE));
	/* Block 1, hinted, with hugepage=0: 4 KiB pages keep the hint. */
	ASSERT_EQ(0, set_param("hugepage", 0));
	touch_count(p + HUGE, HUGE, &flt);
	ASSERT_EQ(0, set_param("hugepage", 1));
	EXPECT_EQ(0, backed_pages(self->fd, p + HUGE, HUGE));
	EXPECT_EQ(KARENA_PAGE_RESIDENT | KARENA_PAGE_HUGE | KARENA_STATE_READY,
		  kt_state_of(self->fd, p + HUGE + 4096));
	/* Block 2 huge, then 8 KiB of it released: demoted, all 512. */
	touch(p + 2 * HUGE, HUGE, 3);
	EXPECT_EQ(per, backed_pages(self->fd, p + 2 * HUGE, HUGE));
	ASSERT_EQ(0, kt_trans(self->fd, p + 2 * HUGE + 65536, 8192,
			      KARENA_OP_UNUSED));
	EXPECT_EQ(0, backed_pages(self->fd, p + 2 * HUGE, HUGE));
	EXPECT_EQ(-1, untouched(p + 2 * HUGE, 65536, 3));
	/* Block 0 released whole, Used and touched: huge again. */
	EXPECT_EQ(per, backed_pages(self->fd, p, HUGE));
	ASSERT_EQ(0, kt_trans(self->fd, p, HUGE, KARENA_OP_UNUSED));
	EXPECT_EQ(0, backed_pages(self->fd, p, HUGE));
	ASSERT_EQ(0, kt_trans(self->fd, p, HUGE, KARENA_OP_USED));
	EXPECT_EQ(0, backed_pages(self->fd, p, HUGE));
	touch(p, HUGE, 4);
	EXPECT_EQ(per, backed_pages(self->fd, p, HUGE));
	EXPECT_EQ(per, backed_pages(self->fd, p, LEN));
}

/* QUERY with bad input: EINVAL or EFAULT, the buffer and states unchanged. */
TEST_F(huge, backed_bit_bad_query)
{
	unsigned char vec[4] = { 0xa5, 0xa5, 0xa5, 0xa5 };
	struct karena_query q = { .size = sizeof(q) };
	int i;

	ASSERT_EQ(0, ready_huge(self->fd, self->p, HUGE));
	touch(self->p, HUGE, 5);
	EXPECT_EQ(EINVAL, kt_query(self->fd, self->p + 1, 4096, vec));
	EXPECT_EQ(EINVAL, kt_query(self->fd, self->p, 0, vec));
	EXPECT_EQ(EINVAL, kt_query(self->fd, self->p + LEN, 4096, vec));
	EXPECT_EQ(EINVAL, kt_query(self->fd, self->p + LEN - 4096, 8192, vec));
	q.start = (uintptr_t)self->p;
	q.len = 4096;
	q.vec = (uintptr_t)vec;
	q.reserved0 = 1;
	EXPECT_EQ(-1, ioctl(self->fd, KARENA_IOC_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);
	q.reserved0 = 0;
	q.vec = 8;
	EXPECT_EQ(-1, ioctl(self->fd, KARENA_IOC_QUERY, &q));
	EXPECT_EQ(EFAULT, errno);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0xa5, vec[i]);
	EXPECT_EQ(self->huge ? HUGE / 4096 : 0,
		  backed_pages(self->fd, self->p, HUGE));
	EXPECT_EQ(-1, untouched(self->p, HUGE, 5));
}

/* Bad input to the hint ops: EINVAL, nothing changes. */
TEST_F(huge, bad_input)
{
	unsigned char st;

	EXPECT_EQ(EINVAL, kt_trans(self->fd, self->p + 1, HUGE,
				   KARENA_OP_HUGEPAGE));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, self->p, LEN + 4096,
				   KARENA_OP_HUGEPAGE));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, self->p, 0, KARENA_OP_HUGEPAGE));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, HUGE, KARENA_OP_FREE));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, self->p, HUGE,
				   KARENA_OP_HUGEPAGE));
	ASSERT_EQ(0, kt_query(self->fd, self->p, 4096, &st));
	EXPECT_EQ(KARENA_STATE_NONE, KT_STATE(st));
	EXPECT_EQ(0, st & KARENA_PAGE_HUGE);
	EXPECT_NE(0, set_param("hugepage", 2));
	EXPECT_EQ(1, hugepage_param());
}

TEST_HARNESS_MAIN
