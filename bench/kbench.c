/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kbench: kernel-path microbenchmarks of /dev/karena, meant to run in the
 * test guest (make -C bench vm).  Everything is reported as a RATIO of two
 * variants measured in the same process, interleaved rep by rep: under
 * QEMU TCG absolute times mean nothing.
 *
 *   fault    touch N pages of a Ready karena mapping (served from the
 *            per-CPU cache of pre-zeroed pages) vs touch N pages of fresh
 *            anonymous memory
 *   populate USED|KARENA_F_POPULATE of N Prepared pages vs
 *            madvise(MADV_POPULATE_WRITE) of N fresh anonymous pages
 *            (not like for like: POPULATE maps no page, see populate_touch)
 *   populate_touch  make N pages ready and write each: anonymous memory
 *            with MADV_POPULATE_WRITE vs USED|POPULATE (the writes still
 *            fault) vs USED + MADV_POPULATE_WRITE on the karena mapping;
 *            also reports the faults of each per page
 *   release  release N scattered single-page ranges (every other page of
 *            touched memory): N madvise(MADV_DONTNEED) calls on anonymous
 *            memory vs N KARENA_IOC_TRANSITION(UNUSED) calls vs one
 *            KARENA_IOC_VEC vs the same with KARENA_F_LAZY on every range
 *            (ioctl_vec_lazy: no zap, the pages stay until reclaimed) vs
 *            one io_uring submission of KARENA_URING_VEC
 *            commands (one per vec_max ranges) vs one io_uring submission
 *            of N KARENA_URING_TRANSITION commands
 *
 * Output, one line per measurement (medians over KBENCH_REPS, default 7):
 *   KBENCH test=<t> variant=<v> ns=<median ns> per_page_ns=<..> [ratio=<v/base>]
 *          [faults_per_page=<..>]
 *   KBENCH test=<t> variant=<v> na=<reason>
 * Env: KBENCH_PAGES (default 2048; vm.py passes 1024 = one vector), KBENCH_REPS,
 * KBENCH_ONLY (a space-separated list of tests to run, e.g. "release").
 */
#include "common.h"
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <karena.h>
#include "karena_ioctl.h"
#include "karena_uring.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define MAXREPS 32

static long npages, psz;
static int reps;
static int kfd = -1;
static struct karena_info kinfo;

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(double), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One result line; faults < 0: no fault count to report. */
static void report_faults(const char *test, const char *variant, double *v, int n,
			  double base, double faults)
{
	double m = median(v, n);

	printf("KBENCH test=%s variant=%s ns=%.0f per_page_ns=%.1f", test, variant,
	       m * 1e9, m * 1e9 / npages);
	if (base > 0)
		printf(" ratio=%.3f", m / base);
	if (faults >= 0)
		printf(" faults_per_page=%.2f", faults / npages);
	printf("\n");
	fflush(stdout);
}

static void report(const char *test, const char *variant, double *v, int n, double base)
{
	report_faults(test, variant, v, n, base, -1);
}

/* Minor faults of this process so far (getrusage). */
static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static void na(const char *test, const char *variant, const char *why, int err)
{
	printf("KBENCH test=%s variant=%s na=%s%s%s\n", test, variant, why,
	       err ? ":" : "", err ? strerrorname_np(err) : "");
	fflush(stdout);
}

static void touch_all(volatile char *p, long pages)
{
	for (long i = 0; i < pages; i++)
		p[i * psz] = 1;
}

/* A fresh karena mapping of 'pages' pages (Reserved), or NULL. */
static char *kmap(long pages)
{
	void *p = mmap(NULL, pages * psz, PROT_READ | PROT_WRITE, MAP_SHARED, kfd, 0);

	if (p == MAP_FAILED)
		p = mmap(NULL, pages * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE, kfd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static char *anon(long pages)
{
	void *p = mmap(NULL, pages * psz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap anon");
		exit(1);
	}
	return p;
}

static void print_stats(const char *when);

static void bench_fault(void)
{
	double ta[MAXREPS], tk[MAXREPS];
	int err = 0;

	for (int r = -1; r < reps; r++) {	/* r = -1: warm-up, fills the caches */
		char *a = anon(npages), *k;
		double t0 = now_s();

		touch_all(a, npages);
		if (r >= 0)
			ta[r] = now_s() - t0;
		munmap(a, npages * psz);

		if (err)
			continue;
		k = kmap(npages);
		if (!k) {
			err = errno;
			continue;
		}
		err = kt_trans_f(kfd, k, npages * psz, KARENA_OP_ALLOC, 0);
		if (!err) {
			t0 = now_s();
			touch_all(k, npages);
			if (r >= 0)
				tk[r] = now_s() - t0;
			if (r == reps - 1)
				print_stats("after_fault_test");
		}
		munmap(k, npages * psz);
	}
	report("fault", "anon_touch", ta, reps, 0);
	if (err)
		na("fault", "karena_ready_touch", "mmap_or_ALLOC_failed", err);
	else
		report("fault", "karena_ready_touch", tk, reps, median(ta, reps));
}

static void bench_populate(void)
{
	double ta[MAXREPS], tk[MAXREPS];
	int erra = 0, errk = 0;

	for (int r = -1; r < reps; r++) {
		char *a = anon(npages), *k;
		double t0 = now_s();

		if (madvise(a, npages * psz, MADV_POPULATE_WRITE))
			erra = errno;
		if (r >= 0)
			ta[r] = now_s() - t0;
		munmap(a, npages * psz);

		if (errk)
			continue;
		k = kmap(npages);
		if (!k) {
			errk = errno;
			continue;
		}
		errk = kt_trans_f(kfd, k, npages * psz, KARENA_OP_MAP, 0);
		if (!errk) {
			t0 = now_s();
			errk = kt_trans_f(kfd, k, npages * psz, KARENA_OP_USED, KARENA_F_POPULATE);
			if (r >= 0)
				tk[r] = now_s() - t0;
		}
		munmap(k, npages * psz);
	}
	if (erra) {
		na("populate", "madv_populate_write", "madvise_failed", erra);
		erra = 1;
	} else {
		report("populate", "madv_populate_write", ta, reps, 0);
	}
	if (errk)
		na("populate", "karena_used_populate", "MAP_or_USED_failed", errk);
	else
		report("populate", "karena_used_populate", tk, reps, erra ? 0 : median(ta, reps));
}

/* Ready + touched karena region of 2n pages, or NULL (errno set). */
/*
 * Pages made ready ahead and then written, end to end (what an allocator
 * pays for a span it populates and fills at once).  The faults of the
 * timed part are counted too: KARENA_F_POPULATE puts pages in the store
 * but maps none, so the writes still fault; MADV_POPULATE_WRITE on the
 * karena mapping runs the fault handler from the kernel (counted as
 * faults by getrusage, but no trap per page).
 */
enum { PT_ANON, PT_KPOP, PT_KMADV, PT_N };

static int populate_touch_once(int v, double *t, long *flt)
{
	char *p = v == PT_ANON ? anon(npages) : kmap(npages);
	long f0;
	double t0;
	int err = 0;

	if (!p)
		return errno;
	if (v != PT_ANON)
		err = kt_trans_f(kfd, p, npages * psz, KARENA_OP_MAP, 0);
	f0 = minflt();
	t0 = now_s();
	if (!err && v == PT_KPOP)
		err = kt_trans_f(kfd, p, npages * psz, KARENA_OP_USED, KARENA_F_POPULATE);
	if (!err && v == PT_KMADV)
		err = kt_trans_f(kfd, p, npages * psz, KARENA_OP_USED, 0);
	if (!err && v != PT_KPOP && madvise(p, npages * psz, MADV_POPULATE_WRITE))
		err = errno;
	if (!err)
		touch_all(p, npages);
	*t = now_s() - t0;
	*flt = minflt() - f0;
	munmap(p, npages * psz);
	return err;
}

static void bench_populate_touch(void)
{
	static const char *const name[PT_N] = {
		"anon_madv_populate_touch", "karena_used_populate_touch",
		"karena_used_madv_populate_touch",
	};
	double t[PT_N][MAXREPS];
	long flt[PT_N] = { 0 };
	int err[PT_N] = { 0 };

	for (int r = -1; r < reps; r++) {
		for (int v = 0; v < PT_N; v++) {
			double tv = 0;
			long fv = 0;

			if (err[v] || (v != PT_ANON && kfd < 0))
				continue;
			err[v] = populate_touch_once(v, &tv, &fv);
			if (r >= 0) {
				t[v][r] = tv;
				flt[v] = fv;
			}
		}
	}
	for (int v = 0; v < PT_N; v++) {
		if (err[v] || (v != PT_ANON && kfd < 0))
			na("populate_touch", name[v], "failed", err[v]);
		else
			report_faults("populate_touch", name[v], t[v], reps,
				      v == PT_ANON || err[PT_ANON] ? 0 : median(t[PT_ANON], reps),
				      (double)flt[v]);
	}
}

static char *kready(long n2)
{
	char *k = kmap(n2);
	int e;

	if (!k)
		return NULL;
	e = kt_trans_f(kfd, k, n2 * psz, KARENA_OP_ALLOC, 0);
	if (e) {
		munmap(k, n2 * psz);
		errno = e;
		return NULL;
	}
	touch_all(k, n2);
	return k;
}

static void fill_ranges(struct karena_range *rg, char *k, long n,
			unsigned int flags)
{
	memset(rg, 0, n * sizeof(*rg));
	for (long i = 0; i < n; i++) {
		rg[i].start = (uintptr_t)(k + 2 * i * psz);
		rg[i].len = psz;
		rg[i].op = KARENA_OP_UNUSED;
		rg[i].flags = flags;
	}
}

static int do_vec(struct karena_range *rg, long n)
{
	long vmax = kinfo.vec_max ? kinfo.vec_max : KARENA_VEC_MAX;

	for (long off = 0; off < n; off += vmax) {
		struct karena_vec v;
		int err = kt_vec(kfd, rg + off, n - off < vmax ? n - off : vmax, &v);

		if (err)
			return err;
		if (v.done != v.count)
			return v.error ? -v.error : EIO;
	}
	return 0;
}

/* One submission of uring commands; vec=1: KARENA_URING_VEC per vec_max
 * ranges, vec=0: one KARENA_URING_TRANSITION per range.  0 or an errno. */
static int do_uring(struct io_uring *ring, struct karena_range *rg, long n, int vec)
{
	long vmax = kinfo.vec_max ? kinfo.vec_max : KARENA_VEC_MAX;
	long nsqe = 0;
	int ret, bad = 0;

	for (long off = 0; off < n; off += vec ? vmax : 1) {
		struct karena_uring_vec uv = {
			.ranges = (uintptr_t)(rg + off),
			.count = n - off < vmax ? n - off : vmax,
		};
		struct karena_uring_range ur;
		uint32_t op = vec ? KARENA_URING_VEC : KARENA_URING_TRANSITION;
		const void *pdu = vec ? (const void *)&uv : (const void *)&ur;

		ku_range_pdu(&ur, (void *)(uintptr_t)rg[off].start, 1,
			     KARENA_OP_UNUSED, 0);
		if (!ku_prep(ring, kfd, op, pdu, 0)) {
			ret = io_uring_submit(ring);
			if (ret < 0)
				return -ret;
			if (!ku_prep(ring, kfd, op, pdu, 0))
				return EBUSY;
		}
		nsqe++;
	}
	ret = io_uring_submit_and_wait(ring, nsqe);
	if (ret < 0)
		return -ret;
	for (long i = 0; i < nsqe; i++) {
		ret = ku_reap(ring, NULL, NULL);
		if (ret < -100000)
			return EIO;
		if (ret < 0 && !bad)
			bad = -ret;
	}
	return bad;
}

static void bench_release(void)
{
	long n = npages, n2 = 2 * npages;
	struct karena_range *rg = xmalloc(n * sizeof(*rg));
	double tm[MAXREPS], ts[MAXREPS], tv[MAXREPS], tu[MAXREPS], tt[MAXREPS];
	double tl[MAXREPS];
	int es = 0, ev = 0, eu = 0, et = 0, el = 0, ring_ok;
	struct io_uring ring;
	unsigned entries = 1;

	while (entries < (unsigned)n && entries < 4096)
		entries <<= 1;
	ring_ok = io_uring_queue_init(entries, &ring, 0);
	if (ring_ok)
		eu = et = -ring_ok;

	for (int r = -1; r < reps; r++) {
		char *a = anon(n2), *k;
		double t0;

		touch_all(a, n2);
		t0 = now_s();
		for (long i = 0; i < n; i++)
			madvise(a + 2 * i * psz, psz, MADV_DONTNEED);
		if (r >= 0)
			tm[r] = now_s() - t0;
		munmap(a, n2 * psz);

		/* N single-range ioctls */
		if (!es) {
			k = kready(n2);
			if (!k) {
				es = errno;
			} else {
				t0 = now_s();
				for (long i = 0; i < n && !es; i++)
					es = kt_trans_f(kfd, k + 2 * i * psz, psz, KARENA_OP_UNUSED, 0);
				if (r >= 0)
					ts[r] = now_s() - t0;
				munmap(k, n2 * psz);
			}
		}
		/*
		 * One vector ioctl (ceil(N / vec_max) calls); then the same
		 * with KARENA_F_LAZY: entries change, no zap, no page freed.
		 */
		for (int lazy = 0; lazy <= 1; lazy++) {
			int *e = lazy ? &el : &ev;

			if (*e)
				continue;
			k = kready(n2);
			if (!k) {
				*e = errno;
				continue;
			}
			fill_ranges(rg, k, n, lazy ? KARENA_F_LAZY : 0);
			t0 = now_s();
			*e = do_vec(rg, n);
			if (r >= 0)
				(lazy ? tl : tv)[r] = now_s() - t0;
			munmap(k, n2 * psz);
		}
		/* io_uring: vector commands, then single-range commands */
		for (int vec = 1; vec >= 0; vec--) {
			int *e = vec ? &eu : &et;

			if (*e)
				continue;
			k = kready(n2);
			if (!k) {
				*e = errno;
				continue;
			}
			fill_ranges(rg, k, n, 0);
			t0 = now_s();
			*e = do_uring(&ring, rg, n, vec);
			if (r >= 0)
				(vec ? tu : tt)[r] = now_s() - t0;
			munmap(k, n2 * psz);
		}
	}
	double base = median(tm, reps);

	report("release", "madvise_dontneed_loop", tm, reps, 0);
	if (es)
		na("release", "ioctl_transition_loop", "failed", es);
	else
		report("release", "ioctl_transition_loop", ts, reps, base);
	if (ev)
		na("release", "ioctl_vec", "failed", ev);
	else
		report("release", "ioctl_vec", tv, reps, base);
	if (el)
		na("release", "ioctl_vec_lazy", "failed", el);
	else
		report("release", "ioctl_vec_lazy", tl, reps, base);
	if (eu)
		na("release", "uring_vec", "failed", eu);
	else
		report("release", "uring_vec", tu, reps, base);
	if (et)
		na("release", "uring_transition_batch", "failed", et);
	else
		report("release", "uring_transition_batch", tt, reps, base);
	if (!ring_ok)
		io_uring_queue_exit(&ring);
	free(rg);
}

/* Is @test selected by KBENCH_ONLY (unset: every test)? */
static int wanted(const char *test)
{
	const char *only = getenv("KBENCH_ONLY");
	size_t n = strlen(test);

	for (const char *p = only; p && (p = strstr(p, test)); p += n)
		if ((p == only || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return 1;
	return !only;
}

static void print_stats(const char *when)
{
	struct karena_stats st;
	int err = kt_stats(kfd, &st);

	if (err) {
		na("stats", when, "KARENA_IOC_STATS_failed", err);
		return;
	}
	printf("KBENCH test=stats variant=%s faults=%llu cache_hit=%llu cache_miss=%llu\n",
	       when, (unsigned long long)st.faults, (unsigned long long)st.faults_cache_hit,
	       (unsigned long long)st.faults_cache_miss);
}

int main(void)
{
	const char *s;

	psz = sysconf(_SC_PAGESIZE);
	s = getenv("KBENCH_PAGES");
	npages = s ? atol(s) : 2048;
	if (npages < 16)
		npages = 16;
	s = getenv("KBENCH_REPS");
	reps = s ? atoi(s) : 7;
	if (reps < 1)
		reps = 1;
	if (reps > MAXREPS)
		reps = MAXREPS;

	kfd = kt_open();
	if (kfd >= 0) {
		int err = kt_info(kfd, &kinfo);

		if (err) {
			printf("KBENCH test=info na=INFO_failed:%s\n", strerrorname_np(err));
			memset(&kinfo, 0, sizeof(kinfo));
		} else {
			printf("KBENCH test=info abi=%u page_size=%u vec_max=%u features=0x%llx "
			       "cache_pages=%u nr_cpus=%u\n", kinfo.abi_version, kinfo.page_size,
			       kinfo.vec_max, (unsigned long long)kinfo.features,
			       kinfo.cache_pages, kinfo.nr_cpus);
		}
	} else {
		printf("KBENCH test=info na=open_%s:%s\n", KARENA_DEVICE, strerrorname_np(errno));
	}
	printf("KBENCH test=config pages=%ld reps=%d\n", npages, reps);
	fflush(stdout);
	if (wanted("fault"))
		bench_fault();
	if (wanted("populate"))
		bench_populate();
	if (wanted("populate_touch"))
		bench_populate_touch();
	if (wanted("release"))
		bench_release();
	if (kfd >= 0)
		print_stats("at_end");
	return 0;
}
