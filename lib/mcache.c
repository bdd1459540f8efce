// SPDX-License-Identifier: MIT
/*
 * mcache.c - per-thread caches.
 *
 * Each thread owns one struct mcache, reached through an initial-exec TLS
 * pointer (one load on the fast path).  It holds one span per span class;
 * empty slots point at a static empty span whose allocCache is 0, so the
 * fast path needs no NULL test.  The caches are allocated from persistent
 * metadata, registered in a global list (stats, fork), and recycled.
 *
 * Thread exit: a pthread key destructor flushes the cache: every span
 * goes back to its mcentral (partial, full, or the heap when empty), the
 * tiny block is retired, and the counters are folded into the globals.
 * If the thread allocates again after that (a later TLS destructor), it
 * gets a fresh cache and the key destructor runs again.
 */
#include <string.h>
#include "internal.h"

HIDDEN __thread struct mcache *tls_mcache __attribute__((tls_model("initial-exec")));
HIDDEN struct mspan empty_span = { .state = SPAN_INUSE };

static pthread_mutex_t mcaches_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mcache *mcaches;		/* live */
static struct mcache *mcache_free;	/* recycled */
static uint64_t dead_nmalloc[NUM_CLASSES], dead_nfree[NUM_CLASSES], dead_tiny;
static pthread_key_t mcache_key;
static int key_ok;

static void mcache_destroy(void *arg)
{
	struct mcache *c = arg;

	if (!c)
		return;
	mcache_flush(c);
	tls_mcache = NULL;
	pthread_mutex_lock(&mcaches_lock);
	for (int i = 0; i < NUM_CLASSES; i++) {
		dead_nmalloc[i] += LOAD(&c->nmalloc[i]);
		dead_nfree[i] += LOAD(&c->nfree[i]);
	}
	dead_tiny += LOAD(&c->tinyallocs);
	if (c->prev)
		c->prev->next = c->next;
	else
		mcaches = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = mcache_free;
	mcache_free = c;
	pthread_mutex_unlock(&mcaches_lock);
}

HIDDEN void mcache_init_key(void)
{
	if (!pthread_key_create(&mcache_key, mcache_destroy))
		key_ok = 1;
}

HIDDEN struct mcache *mcache_get_slow(void)
{
	struct mcache *c;

	if (!karena_inited)
		karena_init_slow();
	if (tls_mcache)
		return tls_mcache;
	pthread_mutex_lock(&mcaches_lock);
	c = mcache_free;
	if (c)
		mcache_free = c->next;
	else
		c = persistent_alloc(sizeof(*c));
	if (!c) {
		pthread_mutex_unlock(&mcaches_lock);
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < NUM_SPANCLASS; i++)
		c->alloc[i] = &empty_span;
	c->next = mcaches;
	if (mcaches)
		mcaches->prev = c;
	mcaches = c;
	pthread_mutex_unlock(&mcaches_lock);
	tls_mcache = c;
	if (key_ok)
		pthread_setspecific(mcache_key, c);
	return c;
}

/*
 * The span for spc ran out: drain remote frees and rescan it if anything
 * came back, else hand it to mcentral and get another one.  Returns a span
 * with a free slot, or NULL when out of memory.
 */
HIDDEN struct mspan *mcache_refill(struct mcache *c, int spc)
{
	struct mspan *s = c->alloc[spc];

	if (s != &empty_span) {
		span_drain_remote(s);
		/* rescan only when a useful fraction came back */
		if (s->allocCount < s->nelems &&
		    (s->nelems - s->allocCount) * 8u >= s->nelems) {
			s->freeindex = 0;
			s->allocCache = 0;
			return s;
		}
		c->alloc[spc] = &empty_span;
		mcentral_uncache_span(s);
	}
	s = mcentral_cache_span(spc, c);
	if (!s)
		return NULL;
	c->alloc[spc] = s;
	return s;
}

HIDDEN void mcache_flush(struct mcache *c)
{
	tiny_retire(c);
	for (int i = 0; i < NUM_SPANCLASS; i++) {
		struct mspan *s = c->alloc[i];

		if (s != &empty_span) {
			c->alloc[i] = &empty_span;
			mcentral_uncache_span(s);
		}
	}
}

HIDDEN void mcache_sum(uint64_t *nmalloc, uint64_t *nfree, uint64_t *tiny,
		       uint64_t *nthreads)
{
	uint64_t n = 0;

	pthread_mutex_lock(&mcaches_lock);
	for (int i = 0; i < NUM_CLASSES; i++) {
		nmalloc[i] = dead_nmalloc[i];
		nfree[i] = dead_nfree[i] + LOAD(&global_nfree[i]);
	}
	*tiny = dead_tiny;
	for (struct mcache *c = mcaches; c; c = c->next) {
		for (int i = 0; i < NUM_CLASSES; i++) {
			nmalloc[i] += LOAD(&c->nmalloc[i]);
			nfree[i] += LOAD(&c->nfree[i]);
		}
		*tiny += LOAD(&c->tinyallocs);
		n++;
	}
	pthread_mutex_unlock(&mcaches_lock);
	*nthreads = n;
}

HIDDEN void mcache_lock_all(void)
{
	pthread_mutex_lock(&mcaches_lock);
}

HIDDEN void mcache_unlock_all(void)
{
	pthread_mutex_unlock(&mcaches_lock);
}

HIDDEN void mcache_reinit_locks(void)
{
	pthread_mutex_init(&mcaches_lock, NULL);
}
