// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring passthrough of /dev/karena (kmod/uring.c): every op through
 * KARENA_URING_TRANSITION and KARENA_URING_VEC gives the same page states
 * (KARENA_IOC_QUERY) and results as the ioctls; malformed commands fail
 * cleanly; many commands in flight; the device fd closed and unmapped, or
 * the process gone, with commands in flight.  Every test runs twice:
 * commands punted to io-wq (uring_inline=0, the default) and run inline.
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "uring_util.h"

#define NPG	16

FIXTURE(uring) {
	int fd;
	int old_inline;
	struct io_uring ring;
	char *a, *b;		/* same shape: a via io_uring, b via ioctl */
};

FIXTURE_VARIANT(uring) {
	int inline_cmds;
};

FIXTURE_VARIANT_ADD(uring, iowq) { .inline_cmds = 0 };
FIXTURE_VARIANT_ADD(uring, inline) { .inline_cmds = 1 };

FIXTURE_SETUP(uring)
{
	struct karena_info info;

	self->fd = kt_open();
	if (self->fd < 0)
		SKIP(return, "no %s", KARENA_DEVICE);
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	ASSERT_EQ(0, ioctl(self->fd, KARENA_IOC_INFO, &info));
	if (!(info.features & KARENA_FEAT_URING_CMD))
		SKIP(return, "module without KARENA_FEAT_URING_CMD");
	self->old_inline = ku_get_inline();
	ASSERT_LE(0, self->old_inline);
	ASSERT_EQ(0, ku_set_inline(variant->inline_cmds));
	ASSERT_EQ(0, ku_ring(&self->ring, 256));
	self->a = ku_reserve(self->fd, NPG * PS);
	self->b = ku_reserve(self->fd, NPG * PS);
	ASSERT_NE(NULL, self->a);
	ASSERT_NE(NULL, self->b);
}

FIXTURE_TEARDOWN(uring)
{
	if (self->fd < 0)
		return;
	if (self->old_inline >= 0)
		ku_set_inline(self->old_inline);
	io_uring_queue_exit(&self->ring);
	munmap(self->a, NPG * PS);
	munmap(self->b, NPG * PS);
	close(self->fd);
}

struct step {
	unsigned int op, first, n, flags;
	int touch;		/* write the range afterwards (Ready only) */
};

static const struct step steps[] = {
	{ KARENA_OP_MAP, 0, 12, 0, 0 },
	{ KARENA_OP_USED, 0, 4, KARENA_F_POPULATE, 1 },
	{ KARENA_OP_USED, 4, 4, 0, 1 },
	{ KARENA_OP_UNUSED, 2, 3, 0, 0 },
	{ KARENA_OP_HUGEPAGE, 0, 16, 0, 0 },
	{ KARENA_OP_NOHUGEPAGE, 0, 2, 0, 0 },
	{ KARENA_OP_FAULT, 6, 2, 0, 0 },
	{ KARENA_OP_ALLOC, 12, 2, KARENA_F_POPULATE, 1 },
	{ KARENA_OP_FREE, 14, 2, 0, 0 },
	{ KARENA_OP_ALLOC, 14, 1, 0, 1 },
	{ KARENA_OP_USED, 2, 3, 0, 1 },
	{ KARENA_OP_UNUSED, 0, 6, 0, 0 },
	{ KARENA_OP_FREE, 0, 2, 0, 0 },
	{ KARENA_OP_RESERVE, 0, 2, 0, 0 },
};

/* Every op, one range per command: same states and results as the ioctl. */
TEST_F(uring, every_op_matches_ioctl)
{
	struct karena_stats sa, sb;
	uint8_t qa[NPG], qb[NPG];
	size_t i;

	ASSERT_EQ(0, kt_stats(self->fd, &sb));
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const struct step *s = &steps[i];
		uint64_t pages = 0;
		int res;

		res = ku_uring_range(&self->ring, self->fd, self->a + s->first * PS,
				     s->n, s->op, s->flags);
		ASSERT_EQ(0, kt_trans_pages(self->fd, self->b + s->first * PS,
					    s->n * PS, s->op, s->flags, &pages))
			TH_LOG("step %zu", i);
		ASSERT_EQ((int)pages, res) TH_LOG("step %zu op %u", i, s->op);
		if (s->touch) {
			memset(self->a + s->first * PS, 0x5a, s->n * PS);
			memset(self->b + s->first * PS, 0x5a, s->n * PS);
		}
		ASSERT_EQ(0, kt_query(self->fd, self->a, NPG * PS, qa));
		ASSERT_EQ(0, kt_query(self->fd, self->b, NPG * PS, qb));
		ASSERT_EQ(0, memcmp(qa, qb, NPG)) TH_LOG("step %zu op %u", i, s->op);
	}
	/* both paths count the same transitions in the per-file stats */
	ASSERT_EQ(0, kt_stats(self->fd, &sa));
	for (i = KARENA_OP_RESERVE; i <= KARENA_OP_MAX; i++)
		ASSERT_EQ(0, (sa.transitions[i] - sb.transitions[i]) % 2)
			TH_LOG("op %zu", i);
}

/* The same steps as one vector per region: same final states. */
TEST_F(uring, vector_matches_ioctl_vector)
{
	struct karena_range ra[16], rb[16];
	struct karena_vec v;
	uint8_t qa[NPG], qb[NPG];
	uint64_t done = 0;
	size_t i, n = 0;
	int res;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const struct step *s = &steps[i];

		if (s->touch)
			continue;
		kt_range(&ra[n], self->a + s->first * PS, s->n * PS, s->op, s->flags);
		kt_range(&rb[n], self->b + s->first * PS, s->n * PS, s->op, s->flags);
		n++;
	}
	/* without the USED steps, UNUSED of 2..4 is illegal: cut before it */
	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);
	v.range_size = sizeof(struct karena_range);
	v.ranges = (uintptr_t)rb;
	v.count = n;
	errno = 0;
	ioctl(self->fd, KARENA_IOC_VEC, &v);
	res = ku_uring_vec(&self->ring, self->fd, ra, n, &done);
	ASSERT_EQ(v.error, res < 0 ? res : 0);
	ASSERT_EQ(v.done, done);
	if (!res)
		ASSERT_EQ((int)v.pages, res);
	ASSERT_EQ(0, kt_query(self->fd, self->a, NPG * PS, qa));
	ASSERT_EQ(0, kt_query(self->fd, self->b, NPG * PS, qb));
	ASSERT_EQ(0, memcmp(qa, qb, NPG));

	/* a vector that succeeds: pages in res, ranges in the extra word */
	kt_range(&ra[0], self->a + 8 * PS, 4 * PS, KARENA_OP_FREE, 0);
	kt_range(&ra[1], self->a + 8 * PS, 4 * PS, KARENA_OP_ALLOC, 0);
	kt_range(&ra[2], self->a + 8 * PS, 2 * PS, KARENA_OP_UNUSED, 0);
	res = ku_uring_vec(&self->ring, self->fd, ra, 3, &done);
	ASSERT_EQ(10, res);
	ASSERT_EQ(3, done);
	ASSERT_EQ(0, kt_query(self->fd, self->a + 8 * PS, 4 * PS, qa));
	ASSERT_EQ(KARENA_STATE_PREPARED, qa[0] & KARENA_STATE_MASK);
	ASSERT_EQ(KARENA_STATE_PREPARED, qa[1] & KARENA_STATE_MASK);
	ASSERT_EQ(KARENA_STATE_READY, qa[2] & KARENA_STATE_MASK);
}

/*
 * KARENA_F_LAZY through io_uring, one range and a vector: the touched
 * pages stay with their entries (QUERY: Prepared, RESIDENT, LAZY) and a
 * Used gets their contents back; LAZY on another op is -EINVAL.
 */
TEST_F(uring, lazy_unused_range_and_vector)
{
	struct karena_range r[4];
	struct karena_stats st;
	uint8_t q[8];
	uint64_t done = 0;
	int i;

	ASSERT_EQ(8, ku_uring_range(&self->ring, self->fd, self->a, 8,
				    KARENA_OP_ALLOC, 0));
	for (i = 0; i < 8; i++)
		self->a[i * PS] = (char)(i + 1);
	ASSERT_EQ(2, ku_uring_range(&self->ring, self->fd, self->a, 2,
				    KARENA_OP_UNUSED, KARENA_F_LAZY));
	for (i = 0; i < 3; i++)
		kt_range(&r[i], self->a + (2 + 2 * i) * PS, PS,
			 KARENA_OP_UNUSED, KARENA_F_LAZY);
	ASSERT_EQ(3, ku_uring_vec(&self->ring, self->fd, r, 3, &done));
	ASSERT_EQ(3, done);
	ASSERT_EQ(0, kt_query(self->fd, self->a, 8 * PS, q));
	for (i = 0; i < 8; i++) {
		uint8_t want = i < 2 || (i >= 2 && !(i & 1)) ?
			KARENA_STATE_PREPARED | KARENA_PAGE_RESIDENT |
			KARENA_PAGE_LAZY :
			KARENA_STATE_READY | KARENA_PAGE_RESIDENT;

		EXPECT_EQ(want, q[i] & (KARENA_STATE_MASK |
				       KARENA_PAGE_RESIDENT |
				       KARENA_PAGE_LAZY)) TH_LOG("page %d", i);
	}
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(5 * PS, st.lazy_bytes);
	EXPECT_EQ(-EINVAL, ku_uring_range(&self->ring, self->fd, self->a, 2,
					  KARENA_OP_FAULT, KARENA_F_LAZY));
	ASSERT_EQ(2, ku_uring_range(&self->ring, self->fd, self->a, 2,
				    KARENA_OP_USED, 0));
	EXPECT_EQ(1, self->a[0]);
	EXPECT_EQ(2, self->a[PS]);
}

/* A vector stops at the failing range; the extra word says how far. */
TEST_F(uring, vector_partial)
{
	struct karena_range r[4];
	uint8_t q[NPG];
	uint64_t done = 99;

	kt_range(&r[0], self->a, 2 * PS, KARENA_OP_MAP, 0);
	kt_range(&r[1], self->a + 2 * PS, 2 * PS, KARENA_OP_MAP, 0);
	kt_range(&r[2], self->a + 8 * PS, 2 * PS, KARENA_OP_UNUSED, 0);
	kt_range(&r[3], self->a + 4 * PS, 2 * PS, KARENA_OP_MAP, 0);
	ASSERT_EQ(-EINVAL, ku_uring_vec(&self->ring, self->fd, r, 4, &done));
	ASSERT_EQ(2, done);
	ASSERT_EQ(0, kt_query(self->fd, self->a, NPG * PS, q));
	ASSERT_EQ(KARENA_STATE_PREPARED, q[3] & KARENA_STATE_MASK);
	ASSERT_EQ(KARENA_STATE_RESERVED, q[4] & KARENA_STATE_MASK);
	ASSERT_EQ(KARENA_STATE_RESERVED, q[8] & KARENA_STATE_MASK);
}

TEST_F(uring, bad_commands)
{
	struct karena_uring_range u;
	struct karena_uring_vec v;
	struct karena_range r[2];
	char *anon, *none;
	int fd2;
	char *other;

	/* unknown cmd_op */
	ku_range_pdu(&u, self->a, 1, KARENA_OP_MAP, 0);
	ASSERT_EQ(-ENOTTY, ku_cmd(&self->ring, self->fd, 0x77, &u, NULL));
	ASSERT_EQ(-ENOTTY, ku_cmd(&self->ring, self->fd, 0, &u, NULL));
	/* unknown op, unknown flag */
	ASSERT_EQ(-EINVAL, ku_uring_range(&self->ring, self->fd, self->a, 1, 0, 0));
	ASSERT_EQ(-EINVAL, ku_uring_range(&self->ring, self->fd, self->a, 1,
					  KARENA_OP_MAX + 1, 0));
	ASSERT_EQ(-EINVAL, ku_uring_range(&self->ring, self->fd, self->a, 1,
					  KARENA_OP_MAP, 0x80));
	/* npages 0, unaligned start, overflow, outside user space */
	ASSERT_EQ(-EINVAL, ku_uring_range(&self->ring, self->fd, self->a, 0,
					  KARENA_OP_MAP, 0));
	ASSERT_EQ(-EINVAL, ku_uring_range(&self->ring, self->fd, self->a + 8, 1,
					  KARENA_OP_MAP, 0));
	ASSERT_EQ(-EINVAL, ku_uring_range(&self->ring, self->fd,
					  (void *)(uintptr_t)-PS, 4,
					  KARENA_OP_MAP, 0));
	ASSERT_EQ(-EINVAL, ku_uring_range(&self->ring, self->fd,
					  (void *)0xffff800000000000UL, 1,
					  KARENA_OP_MAP, 0));
	/* past the end of the mapping */
	ASSERT_EQ(-EINVAL, ku_uring_range(&self->ring, self->fd, self->a, NPG + 1,
					  KARENA_OP_MAP, 0));
	/* foreign ranges: anonymous memory, another file's mapping */
	anon = mmap(NULL, PS, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, anon);
	ASSERT_EQ(-EINVAL, ku_uring_range(&self->ring, self->fd, anon, 1,
					  KARENA_OP_MAP, 0));
	fd2 = kt_open();
	ASSERT_LE(0, fd2);
	other = ku_reserve(fd2, PS);
	ASSERT_NE(NULL, other);
	ASSERT_EQ(-EINVAL, ku_uring_range(&self->ring, self->fd, other, 1,
					  KARENA_OP_MAP, 0));
	/* the right fd works on it */
	ASSERT_EQ(1, ku_uring_range(&self->ring, fd2, other, 1, KARENA_OP_MAP, 0));
	munmap(other, PS);
	close(fd2);
	/* nonzero reserved */
	ku_range_pdu(&u, self->a, 1, KARENA_OP_MAP, 0);
	u.reserved = 1;
	ASSERT_EQ(-EINVAL, ku_cmd(&self->ring, self->fd, KARENA_URING_TRANSITION,
				  &u, NULL));
	/* illegal transition */
	ASSERT_EQ(-EINVAL, ku_uring_range(&self->ring, self->fd, self->a, 1,
					  KARENA_OP_UNUSED, 0));

	/* vectors: count 0, too big, reserved, bad pointers, bad range */
	kt_range(&r[0], self->a, PS, KARENA_OP_MAP, 0);
	kt_range(&r[1], self->a + PS, PS, KARENA_OP_MAP, 0);
	ASSERT_EQ(-EINVAL, ku_uring_vec(&self->ring, self->fd, r, 0, NULL));
	ASSERT_EQ(-EINVAL, ku_uring_vec(&self->ring, self->fd, r,
					KARENA_VEC_MAX + 1, NULL));
	memset(&v, 0, sizeof(v));
	v.ranges = (uintptr_t)r;
	v.count = 1;
	v.reserved = 1;
	ASSERT_EQ(-EINVAL, ku_cmd(&self->ring, self->fd, KARENA_URING_VEC, &v, NULL));
	ASSERT_EQ(-EFAULT, ku_uring_vec(&self->ring, self->fd,
					(struct karena_range *)16, 1, NULL));
	none = mmap(NULL, 2 * PS, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, none);
	ASSERT_EQ(-EFAULT, ku_uring_vec(&self->ring, self->fd,
					(struct karena_range *)none, 2, NULL));
	/* the array runs into an inaccessible page */
	ASSERT_EQ(0, mprotect(none, PS, PROT_READ | PROT_WRITE));
	memcpy(none + PS - sizeof(r[0]), &r[0], sizeof(r[0]));
	ASSERT_EQ(-EFAULT, ku_uring_vec(&self->ring, self->fd,
					(struct karena_range *)(none + PS - sizeof(r[0])),
					2, NULL));
	r[1].reserved = 1;
	ASSERT_EQ(-EINVAL, ku_uring_vec(&self->ring, self->fd, r, 2, NULL));
	munmap(none, 2 * PS);
	munmap(anon, PS);

	/* nothing above changed a page of the mapping except r[0] */
	{
		uint8_t q[NPG];
		int i;

		ASSERT_EQ(0, kt_query(self->fd, self->a, NPG * PS, q));
		ASSERT_EQ(KARENA_STATE_PREPARED, q[0] & KARENA_STATE_MASK);
		for (i = 1; i < NPG; i++)
			ASSERT_EQ(KARENA_STATE_RESERVED, q[i] & KARENA_STATE_MASK);
	}
}

/* Commands on a ring without CQE32, and with SQE128, work the same. */
TEST_F(uring, plain_and_sqe128_rings)
{
	struct io_uring r1, r2;
	struct io_uring_params p;
	struct karena_uring_range u;

	ASSERT_EQ(0, io_uring_queue_init(8, &r1, 0));
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQE128;
	ASSERT_EQ(0, io_uring_queue_init_params(8, &r2, &p));
	ku_range_pdu(&u, self->a, 4, KARENA_OP_MAP, 0);
	ASSERT_EQ(4, ku_cmd(&r1, self->fd, KARENA_URING_TRANSITION, &u, NULL));
	ku_range_pdu(&u, self->a, 4, KARENA_OP_USED, 0);
	ASSERT_EQ(4, ku_cmd(&r2, self->fd, KARENA_URING_TRANSITION, &u, NULL));
	ASSERT_EQ(-EINVAL, ku_cmd(&r2, self->fd, KARENA_URING_TRANSITION, &u, NULL));
	io_uring_queue_exit(&r1);
	io_uring_queue_exit(&r2);
}

/* io-wq worker threads of this process (named iou-wrk-PID). */
static int iowq_workers(void)
{
	char path[300], comm[64];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/task");
	int n = 0;

	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "iou-wrk", 7))
			n++;
		fclose(f);
	}
	closedir(dir);
	return n;
}

#define MANY	256

/* 256 commands on disjoint ranges in one submission, then 256 more. */
TEST_F(uring, many_in_flight)
{
	const size_t len = MANY * PS;
	char *p = ku_reserve(self->fd, len);
	uint8_t q[MANY];
	unsigned int seen[MANY] = { 0 };
	int pass, i;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, kt_trans_pages(self->fd, p, len, KARENA_OP_MAP, 0, NULL));
	for (pass = 0; pass < 2; pass++) {
		unsigned int op = pass ? KARENA_OP_UNUSED : KARENA_OP_USED;

		for (i = 0; i < MANY; i++) {
			struct karena_uring_range u;

			ku_range_pdu(&u, p + (size_t)i * PS, 1, op, 0);
			ASSERT_NE(NULL, ku_prep(&self->ring, self->fd,
						KARENA_URING_TRANSITION, &u, i));
		}
		ASSERT_EQ(MANY, io_uring_submit(&self->ring));
		for (i = 0; i < MANY; i++) {
			uint64_t ud = 0;

			ASSERT_EQ(1, ku_reap(&self->ring, NULL, &ud));
			ASSERT_GT(MANY, ud);
			seen[ud]++;
		}
		for (i = 0; i < MANY; i++)
			ASSERT_EQ(pass + 1, seen[i]);
		if (!pass)
			for (i = 0; i < MANY; i++)
				p[(size_t)i * PS] = 1;
		ASSERT_EQ(0, kt_query(self->fd, p, len, q));
		for (i = 0; i < MANY; i++)
			ASSERT_EQ(pass ? KARENA_STATE_PREPARED : KARENA_STATE_READY,
				  q[i] & KARENA_STATE_MASK);
	}
	/* uncontended commands ran inline: no io-wq worker was needed */
	if (variant->inline_cmds) {
		ASSERT_EQ(0, iowq_workers());
	} else {
		ASSERT_LT(0, iowq_workers());
	}
	munmap(p, len);
}

static int wait_files(long want)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (ku_sysfs("files") == want)
			return 0;
		usleep(10000);
	}
	return -1;
}

/*
 * Close and unmap the device while 256 populating commands are in flight:
 * every command completes (done, or -EINVAL once the mapping is gone),
 * and the file is released afterwards.
 */
TEST_F(uring, close_in_flight)
{
	const size_t per = 16, len = MANY * per * PS;
	long files0 = ku_sysfs("files");
	int fd2 = kt_open(), i, ok = 0, gone = 0;
	char *p;

	ASSERT_LE(0, fd2);
	p = ku_reserve(fd2, len);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, kt_trans_pages(fd2, p, len, KARENA_OP_MAP, 0, NULL));
	for (i = 0; i < MANY; i++) {
		struct karena_uring_range u;

		ku_range_pdu(&u, p + (size_t)i * per * PS, per, KARENA_OP_USED,
			     KARENA_F_POPULATE);
		ASSERT_NE(NULL, ku_prep(&self->ring, fd2, KARENA_URING_TRANSITION,
					&u, i));
	}
	ASSERT_EQ(MANY, io_uring_submit(&self->ring));
	ASSERT_EQ(0, close(fd2));
	ASSERT_EQ(0, munmap(p, len));
	for (i = 0; i < MANY; i++) {
		int res = ku_reap(&self->ring, NULL, NULL);

		if (res == (int)per)
			ok++;
		else if (res == -EINVAL)
			gone++;
		else
			ASSERT_EQ(per, res);
	}
	TH_LOG("%d applied, %d after the unmap", ok, gone);
	ASSERT_EQ(MANY, ok + gone);
	ASSERT_EQ(0, wait_files(files0));
}

/* A process exits with commands in flight and its ring never reaped. */
TEST_F(uring, exit_in_flight)
{
	long files0 = ku_sysfs("files");
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		const size_t per = 16, len = MANY * per * PS;
		struct io_uring ring;
		int fd = kt_open(), i;
		char *p;

		if (fd < 0 || ku_ring(&ring, MANY))
			_exit(2);
		p = ku_reserve(fd, len);
		if (!p || kt_trans_pages(fd, p, len, KARENA_OP_MAP, 0, NULL))
			_exit(3);
		for (i = 0; i < MANY; i++) {
			struct karena_uring_range u;

			ku_range_pdu(&u, p + (size_t)i * per * PS, per,
				     KARENA_OP_USED, KARENA_F_POPULATE);
			ku_prep(&ring, fd, KARENA_URING_TRANSITION, &u, i);
		}
		io_uring_submit(&ring);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, wait_files(files0));
}

/* After fork the child's commands act on the child's pages only. */
TEST_F(uring, fork_child_private)
{
	uint8_t q[NPG];
	int status;
	pid_t pid;

	ASSERT_EQ(NPG, ku_uring_range(&self->ring, self->fd, self->a, NPG,
				      KARENA_OP_MAP, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct io_uring ring;

		if (ku_ring(&ring, 8))
			_exit(2);
		if (ku_uring_range(&ring, self->fd, self->a, NPG,
				   KARENA_OP_USED, 0) != NPG)
			_exit(3);
		if (kt_query(self->fd, self->a, NPG * PS, q) ||
		    (q[0] & KARENA_STATE_MASK) != KARENA_STATE_READY)
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, kt_query(self->fd, self->a, NPG * PS, q));
	ASSERT_EQ(KARENA_STATE_PREPARED, q[0] & KARENA_STATE_MASK);
}

struct hog {
	int fd;
	char *p;
	size_t len;
	int rounds;
};

/* Hold the file mutex often: POPULATE and drop a range, again and again. */
static void *hog_main(void *arg)
{
	struct hog *h = arg;
	int i;

	for (i = 0; i < h->rounds; i++) {
		if (kt_trans_pages(h->fd, h->p, h->len, KARENA_OP_USED,
				   KARENA_F_POPULATE, NULL) ||
		    kt_trans_pages(h->fd, h->p, h->len, KARENA_OP_UNUSED, 0, NULL))
			return (void *)1;
	}
	return NULL;
}

/*
 * Commands issued while another thread's transitions hold the file mutex
 * (punted to io-wq when inline), and POPULATE commands big enough to be
 * punted: all complete with the right result and states.
 */
TEST_F(uring, contended_and_big_populate)
{
	const size_t n = 64, big = 128;
	char *p = ku_reserve(self->fd, n * PS);
	char *q = ku_reserve(self->fd, big * PS);
	struct hog h = { .fd = self->fd, .rounds = 20 };
	uint8_t st[128];
	pthread_t t;
	void *ret;
	size_t i;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, q);
	h.len = 64 * PS;
	h.p = ku_reserve(self->fd, h.len);
	ASSERT_NE(NULL, h.p);
	ASSERT_EQ(0, kt_trans_pages(self->fd, h.p, h.len, KARENA_OP_MAP, 0, NULL));
	ASSERT_EQ(0, kt_trans_pages(self->fd, p, n * PS, KARENA_OP_MAP, 0, NULL));
	ASSERT_EQ(0, kt_trans_pages(self->fd, q, big * PS, KARENA_OP_MAP, 0, NULL));
	ASSERT_EQ(0, pthread_create(&t, NULL, hog_main, &h));
	for (i = 0; i < n; i++) {
		struct karena_uring_range u;

		ku_range_pdu(&u, p + i * PS, 1, KARENA_OP_USED, 0);
		ASSERT_NE(NULL, ku_prep(&self->ring, self->fd,
					KARENA_URING_TRANSITION, &u, i));
		if (i % 8 == 7) {
			ASSERT_EQ(8, io_uring_submit(&self->ring));
			usleep(1000);
		}
	}
	for (i = 0; i < n; i++)
		ASSERT_EQ(1, ku_reap(&self->ring, NULL, NULL));
	ASSERT_EQ(big, ku_uring_range(&self->ring, self->fd, q, big,
				      KARENA_OP_USED, KARENA_F_POPULATE));
	/* the big POPULATE (at least) went to io-wq */
	ASSERT_LT(0, iowq_workers());
	ASSERT_EQ(0, pthread_join(t, &ret));
	ASSERT_EQ(NULL, ret);
	ASSERT_EQ(0, kt_query(self->fd, p, n * PS, st));
	for (i = 0; i < n; i++)
		ASSERT_EQ(KARENA_STATE_READY, st[i] & KARENA_STATE_MASK);
	ASSERT_EQ(0, kt_query(self->fd, q, big * PS, st));
	for (i = 0; i < big; i++) {
		ASSERT_EQ(KARENA_STATE_READY, st[i] & KARENA_STATE_MASK);
		ASSERT_TRUE(st[i] & KARENA_PAGE_RESIDENT);
	}
	for (i = 0; i < big; i++)
		ASSERT_EQ(0, q[i * PS]);
	munmap(h.p, h.len);
	munmap(p, n * PS);
	munmap(q, big * PS);
}

TEST_HARNESS_MAIN
