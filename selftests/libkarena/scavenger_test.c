// SPDX-License-Identifier: MIT
/* The scavenger really returns memory: RSS drops. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "kselftest_harness.h"
#include "internal.h"

#define CHUNKS	64
#define CHUNK	(1 << 20)

static long rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Rss: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void churn(void)
{
	char *p[CHUNKS];

	for (int i = 0; i < CHUNKS; i++) {
		p[i] = karena_malloc(CHUNK);
		memset(p[i], i + 1, CHUNK);
	}
	for (int i = 0; i < CHUNKS; i++)
		karena_free(p[i]);
}

TEST(release_returns_idle_pages)
{
	struct karena_heap_stats a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	long before, after;
	size_t got;

	scavenger_enabled = 0;
	churn();
	before = rss_kib();
	ASSERT_GT(before, 0);
	ASSERT_EQ(0, karena_stats(&a));
	got = karena_release();
	after = rss_kib();
	ASSERT_EQ(0, karena_stats(&b));
	TH_LOG("rss %ld -> %ld KiB, released %zu", before, after, got);
	ASSERT_GE(got, (size_t)CHUNKS * CHUNK / 2);
	ASSERT_LT(after, before - CHUNKS * CHUNK / 1024 / 2);
	ASSERT_GE(b.heap_released, a.heap_released + (uint64_t)CHUNKS * CHUNK / 2);
	ASSERT_EQ(b.heap_sys, a.heap_sys);	/* address space kept */
}

TEST(malloc_trim_releases_too)
{
	long before, after;

	scavenger_enabled = 0;
	churn();
	before = rss_kib();
	ASSERT_EQ(1, malloc_trim(0));
	after = rss_kib();
	ASSERT_LT(after, before - CHUNKS * CHUNK / 1024 / 2);
}

TEST(background_scavenger_releases)
{
	long before, now = 0;
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	churn();
	before = rss_kib();
	for (int i = 0; i < 60; i++) {	/* up to 3 s */
		nanosleep(&ts, NULL);
		now = rss_kib();
		if (now < before - CHUNKS * CHUNK / 1024 / 2)
			break;
	}
	TH_LOG("rss %ld -> %ld KiB", before, now);
	ASSERT_LT(now, before - CHUNKS * CHUNK / 1024 / 2);
}

TEST(scavenger_keeps_memory_in_use)
{
	char *p = karena_malloc(32 << 20);
	struct timespec ts = { 0, 300 * 1000 * 1000 };

	memset(p, 7, 32 << 20);
	nanosleep(&ts, NULL);
	karena_release();
	for (size_t i = 0; i < (32 << 20); i += 4096)
		ASSERT_EQ(7, p[i]);
	karena_free(p);
}

TEST_HARNESS_MAIN
