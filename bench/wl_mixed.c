/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mixed: a realistic mixed workload.  Two threads each repeatedly build
 * and destroy data structures of strings, as compilers, interpreters and
 * servers do: random words (fixed seed) are strdup'ed into a chained
 * hash table that grows by calloc + rehash, and into a binary search tree
 * keyed by the same strings with a small value array per node; half of
 * the entries are deleted and re-inserted with longer values (realloc),
 * everything is looked up, then all is torn down.
 */
#include "common.h"
#include <pthread.h>

#define NTHREADS 2

struct hent {
	struct hent *next;
	char *key;
	char *val;
	uint64_t hash;
};

struct table {
	struct hent **b;
	size_t nb, n;
};

struct tnode {
	struct tnode *l, *r;
	char *key;
	int *vals;
	int nvals;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static char *rand_word(struct rng *r)
{
	size_t n = 4 + rng_below(r, 37);
	char *s = xmalloc(n + 1);

	for (size_t i = 0; i < n; i++)
		s[i] = 'a' + (char)rng_below(r, 26);
	s[n] = 0;
	return s;
}

static void t_grow(struct table *t)
{
	size_t nb = t->nb ? t->nb * 2 : 64;
	struct hent **b = calloc(nb, sizeof(*b));

	if (!b)
		exit(2);
	for (size_t i = 0; i < t->nb; i++) {
		struct hent *e = t->b[i], *nx;

		for (; e; e = nx) {
			nx = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

static struct hent **t_find(struct table *t, const char *k, uint64_t h)
{
	struct hent **pp = &t->b[h & (t->nb - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && !strcmp((*pp)->key, k))
			return pp;
	return pp;
}

static void t_put(struct table *t, char *k, char *v)
{
	uint64_t h = fnv(k);
	struct hent **pp;

	if (t->n >= t->nb)
		t_grow(t);
	pp = t_find(t, k, h);
	if (*pp) {
		free((*pp)->val);
		(*pp)->val = v;
		free(k);
		return;
	}
	struct hent *e = xmalloc(sizeof(*e));

	e->next = NULL;
	e->key = k;
	e->val = v;
	e->hash = h;
	*pp = e;
	t->n++;
}

static int t_del(struct table *t, const char *k)
{
	struct hent **pp = t_find(t, k, fnv(k)), *e = *pp;

	if (!e)
		return 0;
	*pp = e->next;
	free(e->key);
	free(e->val);
	free(e);
	t->n--;
	return 1;
}

static void t_free(struct table *t)
{
	for (size_t i = 0; i < t->nb; i++) {
		struct hent *e = t->b[i], *nx;

		for (; e; e = nx) {
			nx = e->next;
			free(e->key);
			free(e->val);
			free(e);
		}
	}
	free(t->b);
	memset(t, 0, sizeof(*t));
}

static struct tnode *tree_ins(struct tnode *n, const char *k, int v)
{
	struct tnode **pp = &n, *root = n;

	while (*pp) {
		int c = strcmp(k, (*pp)->key);

		if (c == 0) {
			struct tnode *x = *pp;

			x->vals = realloc(x->vals, (x->nvals + 1) * sizeof(int));
			if (!x->vals)
				exit(2);
			x->vals[x->nvals++] = v;
			return root;
		}
		pp = c < 0 ? &(*pp)->l : &(*pp)->r;
	}
	struct tnode *x = xmalloc(sizeof(*x));

	x->l = x->r = NULL;
	x->key = strdup(k);
	x->vals = xmalloc(sizeof(int));
	x->vals[0] = v;
	x->nvals = 1;
	*pp = x;
	return root ? root : x;
}

static unsigned long tree_free(struct tnode *n)
{
	unsigned long s = 0;

	/* iterative post-order via pointer reversal is overkill: recurse, depth is O(log n) expected */
	if (!n)
		return 0;
	s += tree_free(n->l);
	s += tree_free(n->r);
	s += (unsigned long)n->nvals;
	free(n->key);
	free(n->vals);
	free(n);
	return s;
}

struct job {
	uint64_t seed;
	int rounds, words;
	unsigned long check;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	struct rng r;

	rng_seed(&r, j->seed);
	for (int rd = 0; rd < j->rounds; rd++) {
		struct table t = { 0 };
		struct tnode *root = NULL;
		char **keys = xmalloc(j->words * sizeof(char *));

		for (int i = 0; i < j->words; i++) {
			char *k = rand_word(&r);

			keys[i] = strdup(k);
			root = tree_ins(root, k, i);
			t_put(&t, k, rand_word(&r));
		}
		for (int i = 0; i < j->words; i += 2)
			j->check += (unsigned long)t_del(&t, keys[i]);
		for (int i = 0; i < j->words; i += 2) {
			size_t n = strlen(keys[i]);
			char *v = xmalloc(n * 3 + 1);

			memset(v, 'x', n * 3);
			v[n * 3] = 0;
			t_put(&t, strdup(keys[i]), v);
		}
		for (int i = 0; i < j->words; i++) {
			struct hent **pp = t_find(&t, keys[i], fnv(keys[i]));

			j->check += *pp ? strlen((*pp)->val) : 0;
		}
		j->check += tree_free(root);
		t_free(&t);
		for (int i = 0; i < j->words; i++)
			free(keys[i]);
		free(keys);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double scale = bench_scale(argc, argv);
	struct job jobs[NTHREADS];
	pthread_t th[NTHREADS];
	unsigned long check = 0;
	double t0 = now_s();

	for (int i = 0; i < NTHREADS; i++) {
		jobs[i].seed = 5000 + i;
		jobs[i].rounds = (int)(2 * scale) < 1 ? 1 : (int)(2 * scale);
		jobs[i].words = 100000;
		jobs[i].check = 0;
		pthread_create(&th[i], NULL, worker, &jobs[i]);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		check += jobs[i].check;
	}
	printf("RESULT wl=mixed time_s=%.6f check=%lu\n", now_s() - t0, check);
	return 0;
}
