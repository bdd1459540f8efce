// SPDX-License-Identifier: GPL-2.0
/*
 * karena notifier selftest: the module's mmu notifier (kmod/rss.c) keeps
 * a held page counted in RssFile exactly once, and leaves alone what is
 * not a zap of its own VMA.
 *
 * - thp_split_next_to_a_mapping: an anonymous transparent huge page is
 *   cut (munmap of its second half), so it stays PTE-mapped in the first
 *   half and waits on the deferred-split queue; a device mapping with
 *   populated pages takes the second half.  drop_caches runs the deferred
 *   split, whose rmap walk (no mmap_lock) notifies MMU_NOTIFY_CLEAR for
 *   the whole 2 MiB around the huge page, over the device mapping too,
 *   where nothing was unmapped.  The module must not treat it as a zap of
 *   its VMA: a recheck there warns that mmap_lock is not held on the
 *   debug kernel (make check-debug) and on 6.12 (rwsem_assert_held()
 *   needs no debug option there), and the kernel-log check fails; it
 *   would also walk the mm's spaces without the lock that keeps them
 *   alive (kmod/rss.c, kmod/compat.h).  Everywhere:
 *   the split happened (thp_split_page rose), and the device's pages are
 *   still mapped (the mapping's Rss) with their data.
 */
#include "kselftest_harness.h"
#include "karena_test.h"
#include "kt_cgroup.h"	/* write_file() */

#define HUGE		(2UL << 20)
#define HALF		(HUGE / 2)

/* One of /proc/vmstat's counters, or -1. */
static long long kt_vmstat(const char *name)
{
	char fmt[64];

	snprintf(fmt, sizeof(fmt), "%s %%lld", name);
	return kt_proc_num("/proc/vmstat", fmt);
}

/* A 2 MiB-aligned anonymous range backed by one huge page, or NULL. */
static char *kt_anon_thp(void)
{
	char *raw = mmap(NULL, 2 * HUGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p;
	long long before = kt_vmstat("thp_fault_alloc");

	if (raw == MAP_FAILED)
		return NULL;
	p = (char *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
	/* keep exactly [p, p + HUGE) */
	if (p > raw)
		munmap(raw, p - raw);
	munmap(p + HUGE, raw + 2 * HUGE - (p + HUGE));
	madvise(p, HUGE, MADV_HUGEPAGE);
	memset(p, 0x5a, HUGE);
	if (kt_vmstat("thp_fault_alloc") <= before) {
		munmap(p, HUGE);
		return NULL;
	}
	return p;
}

TEST(thp_split_next_to_a_mapping)
{
	long ps = kt_ps(), npages = HALF / ps, rss0, rss1;
	long long splits;
	char *thp, *dev;
	int fd;

	KT_OPEN_OR_SKIP(fd);
	if (geteuid())
		SKIP(close(fd); return, "drop_caches needs root");
	thp = kt_anon_thp();
	if (!thp)
		SKIP(close(fd); return, "no anonymous huge page (THP off?)");
	/* The second half goes: the huge page is PTE-mapped in the first. */
	ASSERT_EQ(0, munmap(thp + HALF, HALF));
	dev = mmap(thp + HALF, HALF, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_FIXED, fd, 0);
	ASSERT_EQ(thp + HALF, dev) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(0, kt_trans_f(fd, dev, HALF, KARENA_OP_ALLOC,
				KARENA_F_POPULATE));
	kt_fill(dev, npages, 7);
	rss0 = kt_vma_rss_kb(dev);
	ASSERT_EQ(HALF / 1024, rss0);

	splits = kt_vmstat("thp_split_page");
	ASSERT_LE(0, splits) TH_LOG("no thp_split_page in /proc/vmstat");
	ASSERT_EQ(0, write_file("/proc/sys/vm/drop_caches", "3"));
	ASSERT_LT(splits, kt_vmstat("thp_split_page"))
		TH_LOG("the deferred split did not run: the test proves nothing");

	EXPECT_EQ(-1, kt_check(dev, npages, 7));
	rss1 = kt_vma_rss_kb(dev);
	EXPECT_EQ(rss0, rss1);
	/* the anonymous half kept its data through the split */
	EXPECT_EQ(0x5a, thp[0]);
	EXPECT_EQ(0x5a, thp[HALF - 1]);
	munmap(thp, HALF);
	munmap(dev, HALF);
	close(fd);
}

TEST_HARNESS_MAIN
