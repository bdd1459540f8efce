// SPDX-License-Identifier: MIT
/*
 * Owner tokens (lib/mcache.c "Owner tokens"): a span's owner field holds
 * its cache's token, the owning thread's thread pointer, so free() tells
 * "mine" by one compare.  A new thread may get the thread pointer of one
 * that is gone (glibc reuses the stack and its TCB): it must not take
 * that thread's spans for its own, neither in a fork child (the parent's
 * other threads are dead there, their caches unflushed) nor after a
 * thread whose last cache was made after its key destructor's last round
 * (never flushed).  Freeing there as the owner would push onto a span
 * another cache's lists hold, without an atomic.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "internal.h"
#include "test_util.h"

#define SIZE	64

static void *obj;		/* the first thread's object */
static uintptr_t first_tp;	/* the first thread's thread pointer */
static int first_owned;		/* it owned obj's span */

/* Does the calling thread's token own p's span? */
static int owned_here(void *p)
{
	return LOAD(&span_of((uintptr_t)p)->owner) == thread_token();
}

struct verdict {
	int reused;		/* the second thread got first_tp */
	int mine;		/* and took obj's span for its own */
};

static void alloc_obj(void)
{
	obj = karena_malloc(SIZE);
	first_tp = thread_token();
	first_owned = owned_here(obj);
}

static void *second_frees(void *arg)
{
	struct verdict *v = arg;

	v->reused = thread_token() == first_tp;
	v->mine = owned_here(obj);
	karena_free(obj);
	return NULL;
}

static int ready[2], go[2];

static void *alloc_and_wait(void *arg)
{
	char c = 0;

	alloc_obj();
	if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
		abort();
	return arg;
}

TEST(fork_child_never_takes_a_dead_threads_spans)
{
	struct verdict v = { 0 };
	pthread_t t, u;
	int status = -1;
	char c = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pthread_create(&t, NULL, alloc_and_wait, NULL));
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_TRUE(first_owned);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* t is dead here; a new thread likely gets its TCB */
		if (pthread_create(&u, NULL, second_frees, &v) || pthread_join(u, NULL))
			_exit(3);
		_exit(!v.reused ? 2 : v.mine ? 1 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(1, write(go[1], &c, 1));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 2)
		SKIP(return, "the child's thread did not get the dead thread's TCB");
	ASSERT_EQ(0, WEXITSTATUS(status));	/* 1: it took the span */
}

static pthread_key_t key;
static int rounds;

/* Every destructor round allocates; the last round's cache is never flushed. */
static void alloc_again(void *arg)
{
	alloc_obj();
	if (++rounds < 16)
		pthread_setspecific(key, arg);
}

static void *alloc_in_destructors(void *arg)
{
	karena_free(karena_malloc(SIZE));	/* has a cache (an earlier key) */
	pthread_setspecific(key, (void *)1);
	return arg;
}

TEST(cache_made_after_the_last_destructor_round_is_never_mine)
{
	struct verdict v = { 0 };
	pthread_t t;

	karena_free(karena_malloc(SIZE));	/* karena's key is created first */
	ASSERT_EQ(0, pthread_key_create(&key, alloc_again));
	ASSERT_EQ(0, pthread_create(&t, NULL, alloc_in_destructors, NULL));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_GE(rounds, 2);
	ASSERT_EQ(0, pthread_create(&t, NULL, second_frees, &v));
	ASSERT_EQ(0, pthread_join(t, NULL));
	if (!v.reused)
		SKIP(return, "the second thread did not get the first one's TCB");
	ASSERT_FALSE(v.mine);
}

TEST_HARNESS_MAIN
