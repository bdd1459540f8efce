// SPDX-License-Identifier: MIT
/* The generated size class tables against Go's published ones. */
#include <stdint.h>
#include "kselftest_harness.h"
#include "internal.h"
#include "go_sizeclasses.h"

TEST(class_count_is_68)
{
	ASSERT_EQ(68, KARENA_NUM_CLASSES);
	ASSERT_EQ(68, sizeof(go_class_to_size) / sizeof(go_class_to_size[0]));
	ASSERT_EQ(32768, karena_class_to_size[67]);
}

TEST(class_to_size_matches_go)
{
	for (int i = 0; i < 68; i++) {
		ASSERT_EQ(go_class_to_size[i], karena_class_to_size[i]) TH_LOG("class %d", i);
	}
}

TEST(class_to_allocnpages_matches_go)
{
	for (int i = 0; i < 68; i++) {
		ASSERT_EQ(go_class_to_allocnpages[i], karena_class_to_allocnpages[i])
			TH_LOG("class %d", i);
	}
}

TEST(size_to_class8_matches_go)
{
	ASSERT_EQ(sizeof(go_size_to_class8) / sizeof(go_size_to_class8[0]), SIZE_TO_CLASS8_LEN);
	for (int i = 0; i < SIZE_TO_CLASS8_LEN; i++) {
		ASSERT_EQ(go_size_to_class8[i], karena_size_to_class8[i]) TH_LOG("index %d", i);
	}
}

TEST(size_to_class128_matches_go)
{
	ASSERT_EQ(sizeof(go_size_to_class128) / sizeof(go_size_to_class128[0]),
		  SIZE_TO_CLASS128_LEN);
	for (int i = 0; i < SIZE_TO_CLASS128_LEN; i++) {
		ASSERT_EQ(go_size_to_class128[i], karena_size_to_class128[i]) TH_LOG("index %d", i);
	}
}

TEST(max_waste_is_one_eighth)
{
	for (int i = 1; i < 68; i++) {
		unsigned span = karena_class_to_allocnpages[i] * 8192u;

		ASSERT_LE(span % karena_class_to_size[i], span / 8) TH_LOG("class %d", i);
	}
}

TEST(divmul_divides_exactly)
{
	for (int i = 1; i < 68; i++) {
		uint64_t span = karena_class_to_allocnpages[i] * 8192ull;
		uint32_t sz = karena_class_to_size[i];

		for (uint64_t off = 0; off < span; off += sz / 2 + 1) {
			ASSERT_EQ(off / sz, (off * karena_class_divmul[i]) >> 32)
				TH_LOG("class %d off %llu", i, (unsigned long long)off);
		}
	}
}

TEST(size_class_api_is_smallest_fit)
{
	for (size_t n = 1; n <= 32768; n++) {
		int c = karena_size_class(n);

		ASSERT_GT(c, 0);
		ASSERT_GE(karena_class_size(c), n);
		if (n >= 16) {	/* 16-byte alignment for n >= 16 */
			ASSERT_EQ(0, karena_class_size(c) % 16) TH_LOG("n=%zu", n);
		}
		/* no smaller usable class fits */
		for (int d = 1; d < c; d++) {
			if (n < 16 || karena_class_size(d) % 16 == 0) {
				ASSERT_LT(karena_class_size(d), n) TH_LOG("n=%zu d=%d", n, d);
			}
		}
	}
	ASSERT_EQ(0, karena_size_class(32769));
	ASSERT_EQ(0, karena_class_size(0));
	ASSERT_EQ(0, karena_class_size(68));
}

TEST_HARNESS_MAIN
