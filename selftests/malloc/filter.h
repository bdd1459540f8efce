/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MALLOC_TEST_FILTER=substr runs only the tests whose name contains substr
 * (the 6.1 harness has no -t option). Include after kselftest_harness.h.
 */
#ifndef MALLOC_SELFTEST_FILTER_H
#define MALLOC_SELFTEST_FILTER_H

static void filter_tests(void)
{
	const char *f = getenv("MALLOC_TEST_FILTER");
	struct __test_metadata *t, *next, *head = NULL, *last = NULL;

	if (!f || !*f)
		return;
	for (t = _fixture_global.tests; t; t = next) {
		next = t->next;
		if (!strstr(t->name, f))
			continue;
		t->next = NULL;
		if (!head) {
			head = t;
		} else {
			last->next = t;
			t->prev = last;
		}
		last = t;
	}
	if (head)
		head->prev = last;
	_fixture_global.tests = head;
}

#endif
