/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The 6.1 harness has no -t option. MALLOC_TEST_FILTER="a b" runs only the
 * tests whose name contains one of the words; MALLOC_TEST_EXCLUDE="c d"
 * drops those containing one of them. Include after kselftest_harness.h.
 */
#ifndef MALLOC_SELFTEST_FILTER_H
#define MALLOC_SELFTEST_FILTER_H

/* Does name contain one of the space-separated words of list? */
static bool name_in(const char *name, const char *list)
{
	char word[128];

	while (*list) {
		size_t len = strcspn(list, " ");

		if (len && len < sizeof(word)) {
			memcpy(word, list, len);
			word[len] = 0;
			if (strstr(name, word))
				return true;
		}
		list += len;
		list += strspn(list, " ");
	}
	return false;
}

static void filter_tests(void)
{
	const char *f = getenv("MALLOC_TEST_FILTER");
	const char *x = getenv("MALLOC_TEST_EXCLUDE");
	struct __test_metadata *t, *next, *head = NULL, *last = NULL;

	if ((!f || !*f) && (!x || !*x))
		return;
	for (t = _fixture_global.tests; t; t = next) {
		next = t->next;
		if (f && *f && !name_in(t->name, f))
			continue;
		if (x && *x && name_in(t->name, x))
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
