// SPDX-License-Identifier: GPL-2.0
/*
 * libkarena-prefixed.so, the prefix-only build: linked into a program it
 * serves karena_malloc & co and leaves malloc to the C library.
 * Linked with -lkarena-prefixed (rpath to $TOP/lib).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <karena.h>

#include "kselftest_harness.h"

static const char *object_of(void *fn)
{
	Dl_info info;

	return dladdr(fn, &info) && info.dli_fname ? info.dli_fname : "?";
}

TEST(malloc_stays_libc)
{
	void *m = dlsym(RTLD_DEFAULT, "malloc");
	void *k = dlsym(RTLD_DEFAULT, "karena_malloc");

	ASSERT_NE(NULL, m);
	ASSERT_NE(NULL, k);
	TH_LOG("malloc from %s, karena_malloc from %s", object_of(m), object_of(k));
	EXPECT_NE(NULL, strstr(object_of(m), "libc.so"));
	EXPECT_NE(NULL, strstr(object_of(k), "libkarena-prefixed.so"));
}

TEST(only_karena_calls_counted)
{
	struct karena_heap_stats a = { .size = sizeof(a) }, b = { .size = sizeof(b) },
				 c = { .size = sizeof(c) };
	enum { N = 1000 };
	void *v[N];

	ASSERT_EQ(0, karena_stats(&a));
	for (int i = 0; i < N; i++)
		v[i] = malloc(100);
	ASSERT_EQ(0, karena_stats(&b));
	for (int i = 0; i < N; i++) {
		free(v[i]);
		v[i] = karena_malloc(100);
		ASSERT_NE(NULL, v[i]);
		ASSERT_GE(karena_malloc_usable_size(v[i]), 100);
	}
	ASSERT_EQ(0, karena_stats(&c));
	for (int i = 0; i < N; i++)
		karena_free(v[i]);
	TH_LOG("karena mallocs: %llu, after libc mallocs %llu, after karena_mallocs %llu",
	       (unsigned long long)a.mallocs, (unsigned long long)b.mallocs,
	       (unsigned long long)c.mallocs);
	EXPECT_EQ(a.mallocs, b.mallocs);
	EXPECT_EQ(b.mallocs + N, c.mallocs);
}

TEST_HARNESS_MAIN
