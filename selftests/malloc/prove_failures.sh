#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prove the tests can fail: run the glibc-validated binaries (`make glibc`)
# under mutants.so, an LD_PRELOAD shim whose MUTANT=name breaks one
# behaviour, and check that the tests meant to catch it fail (and that with
# MUTANT=none the shim changes nothing). Not part of `make check`:
#   make -C selftests/malloc glibc mutants.so && selftests/malloc/prove_failures.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here" || exit 1
SO=$here/mutants.so
bad=0

# mutant  binary  tests that must fail
cases=(
"misalign         conformance-plain alignment_16_all_size_classes alignment_small_sizes alignment_large"
"usable_lie       conformance-plain usable_bytes_do_not_overlap"
"usable_short     conformance-plain usable_size_at_least_requested posix_memalign_alignments valloc_page_aligned"
"calloc_dirty     conformance-plain calloc_returns_zeroed calloc_zeroed_after_dirty_reuse_same_size calloc_zeroed_after_span_reuse_other_class"
"realloc_lose     conformance-plain realloc_grow_every_size realloc_into_and_out_of_large realloc_of_aligned_block_preserves reallocarray_basic realloc_large_in_place_no_overlap"
"large_leak       conformance-plain large_alloc_free_cycles_bounded"
"no_enomem        conformance-plain malloc_huge_enomem calloc_overflow_enomem reallocarray_overflow_enomem"
"weak_align       conformance-plain posix_memalign_alignments aligned_alloc_alignments memalign_alignments valloc_page_aligned posix_memalign_bad_alignment_einval aligned_apis_huge_enomem"
"realloc0_leak    conformance-plain realloc_zero_frees"
"trim_noop        conformance-plain malloc_trim_releases_memory malloc_trim_on_fresh_heap"
"mallinfo_zero    conformance-plain mallinfo2_tracks_usage"
"stats_silent     conformance-plain malloc_stats_prints_to_stderr"
"pvalloc_short    conformance-plain pvalloc_page_aligned_whole_pages"
"tiny_overlap     conformance-plain tiny_objects_free_interleaved usable_bytes_do_not_overlap"
"malloc0_null     conformance-plain malloc_zero_unique_freeable realloc_null_is_malloc"
"free_null_crash  conformance-plain free_null_is_noop"
"usable_null      conformance-plain usable_size_null_is_zero"
"realloc_fail_frees conformance-plain realloc_failure_keeps_block"
"reuse_live       conformance-plain usable_bytes_do_not_overlap tiny_objects_free_interleaved aligned_blocks_do_not_overlap"
"reuse_live       stress-glibc      tiny_block_pieces_freed_by_two_threads producer_consumer_cross_thread_free many_threads_random_sizes larson_like xmalloc_test_like trim_concurrent_with_allocation"
"remote_free_leak stress-glibc      cross_thread_free_memory_reused thread_churn_caches_flushed"
"shared_heap      stress-glibc      fork_heap_is_private"
"fork_lock        stress-glibc      fork_in_threaded_program"
)

for c in "${cases[@]}"; do
	read -r mutant bin tests <<< "$c"
	# env inside timeout: only the test binary gets the broken allocator
	out=$(timeout 120 env MUTANT="$mutant" LD_PRELOAD="$SO" \
		MALLOC_TEST_FILTER="$tests" STRESS_SECONDS=0.5 "./$bin" 2>/dev/null)
	for t in $tests; do
		if grep -q "^not ok [0-9]* global\.$t\$" <<< "$out"; then
			echo "ok - MUTANT=$mutant fails $bin:$t"
		else
			echo "not ok - MUTANT=$mutant: $bin:$t did not fail"
			bad=$((bad + 1))
		fi
	done
done

# served_by_karena*, stats_line_at_exit*, karena_stats*, backend* fail on
# glibc (see MUTANT=none below); mallinfo2_counts_bytes_once and
# aligned_alloc_bad_alignment_einval fail on libkarena and glibc 2.36
# respectively (FINDINGS.md); trim_concurrent_with_allocation under TSan.

# the shim itself is transparent: only the karena-specific tests fail
for bin in conformance-plain stress-glibc; do
	out=$(MUTANT=none LD_PRELOAD=$SO STRESS_SECONDS=0.5 "./$bin" 2>/dev/null)
	unexpected=$(grep "^not ok" <<< "$out" | grep -v -E "served_by_karena|stats_line_at_exit|karena_stats_counts|backend_as_expected|aligned_alloc_bad_alignment")
	if [ -z "$unexpected" ]; then
		echo "ok - MUTANT=none: $bin fails only the karena-specific tests"
	else
		echo "not ok - MUTANT=none: $bin: $unexpected"
		bad=$((bad + 1))
	fi
done
echo "# $bad unexpected results"
[ "$bad" -eq 0 ]
