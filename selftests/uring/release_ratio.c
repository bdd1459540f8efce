// SPDX-License-Identifier: GPL-2.0
/*
 * release_ratio: release N scattered single-page ranges (every other page
 * of resident memory), as the scavenger does, by
 *   (a) N madvise(MADV_DONTNEED) calls on anonymous memory (mmap backend)
 *   (b) one KARENA_IOC_VEC call (N <= KARENA_VEC_MAX ranges)
 *   (c) one io_uring submission: N KARENA_URING_TRANSITION commands,
 *       punted to io-wq (uring_inline=0) and run inline (uring_inline=1),
 *       and one KARENA_URING_VEC command
 * plus N KARENA_IOC_TRANSITION calls for reference.  Variants alternate
 * rep by rep (rotating order) in one process; medians are reported as ratios to (a),
 * because absolute times under QEMU TCG mean little.  Output: '# ' lines
 * (TAP diagnostics) and one 'ok' line.  Env: RATIO_PAGES (1024), RATIO_REPS (7).
 */
#include <stdlib.h>
#include <time.h>

#include "uring_util.h"

#define MAXREPS 31

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void touch(char *p, long n)
{
	long i;

	for (i = 0; i < n; i++)
		p[i * PS] = 1;
}

enum { V_MADV, V_IOC1, V_VEC, V_URING_WQ, V_URING_INL, V_URINGVEC_INL, V_NR };
static const char *const vname[V_NR] = {
	"madvise_loop", "ioctl_loop", "vector_ioctl", "uring_batch_iowq",
	"uring_batch_inline", "uring_vec_inline",
};

int main(void)
{
	long n = getenv("RATIO_PAGES") ? atol(getenv("RATIO_PAGES")) : 1024;
	int reps = getenv("RATIO_REPS") ? atoi(getenv("RATIO_REPS")) : 7;
	double t[V_NR][MAXREPS], med[V_NR];
	struct karena_range *rg;
	struct io_uring ring;
	int fd, old_inline, r, v, j, fails = 0;
	char *anon, *k;
	long i;

	if (n < 1 || n > KARENA_VEC_MAX)
		n = 1024;
	if (reps < 1 || reps > MAXREPS)
		reps = 7;
	fd = kt_open();
	if (fd < 0) {
		printf("ok 1 release_ratio # SKIP no %s\n", KARENA_DEVICE);
		return 0;
	}
	old_inline = ku_get_inline();
	if (old_inline < 0 || ku_ring(&ring, 1024)) {
		printf("ok 1 release_ratio # SKIP no io_uring or uring_inline\n");
		return 0;
	}
	anon = mmap(NULL, 2 * n * PS, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	k = ku_reserve(fd, 2 * n * PS);
	rg = calloc(n, sizeof(*rg));
	if (anon == MAP_FAILED || !k || !rg ||
	    kt_trans_pages(fd, k, 2 * n * PS, KARENA_OP_MAP, 0, NULL) ||
	    kt_trans_pages(fd, k, 2 * n * PS, KARENA_OP_USED, 0, NULL)) {
		printf("not ok 1 release_ratio setup\n");
		return 1;
	}
	for (r = 0; r < reps; r++) {
		for (j = 0; j < V_NR; j++) {
			struct karena_vec kv;
			double t0;
			int bad = 0;

			v = (j + r) % V_NR;	/* rotate: no order bias */

			/* untimed: make every page resident and Ready again */
			if (v == V_MADV) {
				touch(anon, 2 * n);
			} else {
				for (i = 0; i < n; i++)
					kt_range(&rg[i], k + 2 * i * PS, PS,
						  KARENA_OP_USED, 0);
				memset(&kv, 0, sizeof(kv));
				kv.size = sizeof(kv);
				kv.range_size = sizeof(*rg);
				kv.ranges = (uintptr_t)rg;
				kv.count = n;
				ioctl(fd, KARENA_IOC_VEC, &kv);	/* EINVAL if Ready */
				touch(k, 2 * n);
				for (i = 0; i < n; i++)
					rg[i].op = KARENA_OP_UNUSED;
			}
			if (v == V_URING_WQ)
				ku_set_inline(0);
			else if (v == V_URING_INL || v == V_URINGVEC_INL)
				ku_set_inline(1);

			t0 = now();
			switch (v) {
			case V_MADV:
				for (i = 0; i < n; i++)
					bad |= madvise(anon + 2 * i * PS, PS,
						       MADV_DONTNEED);
				break;
			case V_IOC1:
				for (i = 0; i < n; i++)
					bad |= kt_trans_pages(fd, k + 2 * i * PS,
							      PS, KARENA_OP_UNUSED,
							      0, NULL);
				break;
			case V_VEC:
				bad = ioctl(fd, KARENA_IOC_VEC, &kv);
				break;
			case V_URING_WQ:
			case V_URING_INL:
				for (i = 0; i < n; i++) {
					struct karena_uring_range u;

					ku_range_pdu(&u, k + 2 * i * PS, 1,
						     KARENA_OP_UNUSED, 0);
					ku_prep(&ring, fd, KARENA_URING_TRANSITION,
						&u, i);
				}
				if (io_uring_submit_and_wait(&ring, n) != n)
					bad = 1;
				for (i = 0; i < n; i++)
					bad |= ku_reap(&ring, NULL, NULL) != 1;
				break;
			case V_URINGVEC_INL:
				bad = ku_uring_vec(&ring, fd, rg, n, NULL) != n;
				break;
			}
			t[v][r] = now() - t0;
			if (bad) {
				printf("# %s failed in rep %d\n", vname[v], r);
				fails++;
			}
		}
	}
	ku_set_inline(old_inline);
	for (v = 0; v < V_NR; v++)
		med[v] = median(t[v], reps);
	printf("# release of %ld scattered pages, median of %d reps (QEMU TCG)\n",
	       n, reps);
	for (v = 0; v < V_NR; v++)
		printf("# ratio %-20s %10.0f ns  %7.1f ns/page  %.3f x madvise_loop\n",
		       vname[v], med[v] * 1e9, med[v] * 1e9 / n,
		       med[v] / med[V_MADV]);
	printf("# ratio madvise_loop/vector_ioctl %.2f  madvise_loop/uring_batch_iowq %.2f  madvise_loop/uring_batch_inline %.2f\n",
	       med[V_MADV] / med[V_VEC], med[V_MADV] / med[V_URING_WQ],
	       med[V_MADV] / med[V_URING_INL]);
	printf("%sok 1 release_ratio\n", fails ? "not " : "");
	return fails ? 1 : 0;
}
