// SPDX-License-Identifier: GPL-2.0
/*
 * hold: helper for module.sh (not a test by itself).
 *
 *   hold open        keep /dev/karena open until stdin reaches EOF
 *   hold map         map it, back 64 pages, close the fd, keep the mapping
 *   hold smoke       open, map, alloc, touch, check zeros, exit 0 on success
 *   hold info        print INFO as "key value" lines
 *   hold churn N     cycle N pages through Ready/Unused many times, so the
 *                    per-CPU caches hold pages afterwards
 *
 * open/map print "ready" on stdout once the resource is held, then block
 * on stdin; the caller releases them by closing the pipe.
 */
#include <stdio.h>

#include "karena.h"
#include "karena_test.h"

static int die(const char *what)
{
	fprintf(stderr, "hold: %s: %s\n", what, strerror(errno));
	return 1;
}

static void block_until_eof(void)
{
	char buf[64];

	printf("ready\n");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
}

int main(int argc, char **argv)
{
	long ps = kt_ps();
	const char *mode = argc > 1 ? argv[1] : "open";
	int fd = kt_open();
	char *p;
	long n, i;

	if (fd < 0)
		return die("open " KARENA_DEVICE);
	if (!strcmp(mode, "open")) {
		block_until_eof();
		return 0;
	}
	if (!strcmp(mode, "info")) {
		struct karena_info info;

		unsigned int cfg = 0;

		if (kt_info(fd, &info))
			return die("INFO");
		errno = kt_config(fd, 0, &cfg);
		if (errno)
			return die("CONFIG");
		printf("lenient %u\n", cfg & KARENA_CFG_LENIENT);
		printf("abi_version %u\npage_size %u\nvec_max %u\nfeatures %llu\n"
		       "max_reserved %llu\nmax_ready %llu\ncache_pages %u\nnr_cpus %u\n",
		       info.abi_version, info.page_size, info.vec_max,
		       (unsigned long long)info.features,
		       (unsigned long long)info.max_reserved,
		       (unsigned long long)info.max_ready, info.cache_pages,
		       info.nr_cpus);
		return 0;
	}
	n = !strcmp(mode, "churn") && argc > 2 ? atol(argv[2]) : 64;
	p = kt_mmap(fd, n * ps);
	if (p == MAP_FAILED)
		return die("mmap");
	errno = kt_trans(fd, p, n * ps, KARENA_OP_ALLOC);
	if (errno)
		return die("ALLOC");
	if (kt_first_nonzero(p, n * ps) != -1) {
		fprintf(stderr, "hold: fresh Ready pages are not zeroed\n");
		return 1;
	}
	memset(p, 0x42, n * ps);
	if (!strcmp(mode, "map")) {
		close(fd);
		block_until_eof();
		for (i = 0; i < n * ps; i++)
			if (p[i] != 0x42)
				return 1;
		return 0;
	}
	if (!strcmp(mode, "churn")) {
		for (i = 0; i < 8; i++) {
			errno = kt_trans(fd, p, n * ps, KARENA_OP_UNUSED);
			if (errno)
				return die("UNUSED");
			errno = kt_trans(fd, p, n * ps, KARENA_OP_USED);
			if (errno)
				return die("USED");
			memset(p, 0x42, n * ps);
		}
		/* Leave them all in the caches. */
		errno = kt_trans(fd, p, n * ps, KARENA_OP_FREE);
		if (errno)
			return die("FREE");
	}
	munmap(p, n * ps);
	close(fd);
	return 0;
}
