// SPDX-License-Identifier: GPL-2.0
/*
 * karena fork selftests: pages that another party holds while fork runs.
 *
 * A page that some kernel path holds a reference to when fork runs (a read
 * in flight into it, a vmsplice()d page sitting in a pipe, a pin) stays the
 * parent's, and the child gets a copy at fork, as anonymous memory does
 * (kmod/README.md, "Fork").  Otherwise the holder keeps writing, or keeps
 * reading, a page that after the next copy on first touch belongs to the
 * other process.  The hold may begin while fork runs: GUP-fast takes no
 * lock, so the module must look for holders only after the parent's PTEs
 * are gone.
 *
 * Holders used here:
 * - a read(2) of a file on 9p (cache=none): the guest's 9p client hands
 *   the user pages themselves to the host, which writes the data into them
 *   while the read is in flight (references on 6.1, pins on 6.12);
 * - vmsplice(2): the pipe keeps references until it is read;
 * - the same read with userfaultfd WP_ASYNC + EVENT_FORK registered on the
 *   mapping, which makes the core copy the mapping's PTEs into the child
 *   (6.7 and later; skipped where the kernel lacks UFFD_FEATURE_WP_ASYNC).
 *
 * Each race test forks ITERS times while a thread of the parent keeps a
 * holder busy on the mapping, and checks both ways: the parent always finds
 * its own data after its read, and the child's writes never show in the
 * parent (pipe contents included) nor the parent's data in the child.
 *
 * A fork allocates the child's copy of each store; it cannot fail from the
 * module, so when that copy cannot be had the child gets the mapping
 * Reserved instead.  A fork of a large store in a cgroup near memory.max
 * must neither go past memory.max nor wake the OOM killer.
 */
#include <linux/io_uring.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "karena_test.h"
#include "kt_cgroup.h"

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC	(1 << 15)	/* 6.7 */
#endif

#define NPAGES		64	/* one 9p read (msize 512000) covers them */
#define ITERS		100
#define PARENT_BYTE	0x11	/* the parent's writes before each hold */
#define CHILD_BYTE	0xcc	/* the child's writes; nobody else's */

/* The data the reads bring: page i is all (0x40 + i % 64). */
static unsigned char data_byte(size_t off, long ps)
{
	return 0x40 + (off / ps) % 64;
}

/* Index of the first byte of [p, p + len) that is not the read's data. */
static long first_not_data(const unsigned char *p, size_t len, long ps)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != data_byte(i, ps))
			return i;
	return -1;
}

static bool has_byte(const unsigned char *p, size_t len, unsigned char b)
{
	return memchr(p, b, len) != NULL;
}

enum holder { HOLD_READ, HOLD_VMSPLICE };

FIXTURE(hold) {
	int fd;
	long ps;
	size_t len;
	unsigned char *p;
	int file;		/* HOLD_READ: the 9p file */
	int pipe[2];		/* HOLD_VMSPLICE */
	int uffd;
	pthread_t holder, monitor;
	bool holder_on, monitor_on;
	atomic_int stop;
	atomic_long rounds;	/* holds completed by the holder thread */
	atomic_long parent_bad;	/* parent found foreign data */
	atomic_long first_bad;	/* what it found: byte offset, -1 none */
	atomic_long forks_seen;	/* EVENT_FORK messages */
};

FIXTURE_VARIANT(hold) {
	enum holder holder;
	bool uffd_wp;
};

FIXTURE_VARIANT_ADD(hold, read_in_flight) {
	.holder = HOLD_READ,
};

FIXTURE_VARIANT_ADD(hold, vmsplice_in_pipe) {
	.holder = HOLD_VMSPLICE,
};

FIXTURE_VARIANT_ADD(hold, read_in_flight_uffd_wp_async) {
	.holder = HOLD_READ,
	.uffd_wp = true,
};

/*
 * Is @dir on a 9p mount?  (statfs() on 9p reports the host's file system
 * type, so look the longest mount point up in /proc/mounts.)
 */
static bool on_9p(const char *dir)
{
	char mnt[256], type[64], best[64] = "";
	size_t bestlen = 0, n;
	FILE *f = fopen("/proc/mounts", "r");

	if (!f)
		return false;
	while (fscanf(f, "%*s %255s %63s %*[^\n]", mnt, type) == 2) {
		n = strlen(mnt);
		if (n >= bestlen && !strncmp(dir, mnt, n) &&
		    (dir[n] == '/' || dir[n] == '\0' || n == 1)) {
			bestlen = n;
			snprintf(best, sizeof(best), "%s", type);
		}
	}
	fclose(f);
	return !strcmp(best, "9p");
}

/* A file of NPAGES pages of data_byte() on 9p, opened for reading. */
static int data_file(long ps, const char **why)
{
	const char *dir = getenv("KARENA_OUT");
	size_t len = NPAGES * ps, i;
	unsigned char *buf;
	char path[256];
	int fd;

	if (!dir)
		dir = "/tmp";
	if (!on_9p(dir)) {
		*why = "KARENA_OUT is not on 9p (reads would not be zero-copy)";
		return -1;
	}
	snprintf(path, sizeof(path), "%s/karena-fork-data-%d", dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	buf = malloc(len);
	if (fd < 0 || !buf) {
		*why = "cannot create the data file";
		free(buf);
		return -1;
	}
	for (i = 0; i < len; i++)
		buf[i] = data_byte(i, ps);
	if (pwrite(fd, buf, len, 0) != (ssize_t)len) {
		*why = "cannot write the data file";
		close(fd);
		fd = -1;
	}
	unlink(path);
	free(buf);
	return fd;
}

/*
 * userfaultfd with WP_ASYNC and EVENT_FORK; 0, or -1 with *why set when the
 * kernel lacks a feature (the test then skips), or -2 on another error.
 */
static int uffd_wp_async(const char **why)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC);

	if (fd < 0) {
		*why = "kernel without userfaultfd";
		return -1;
	}
	/* Features 0: the kernel reports what it has. */
	if (ioctl(fd, UFFDIO_API, &api)) {
		close(fd);
		return -2;
	}
	close(fd);
	if (!(api.features & UFFD_FEATURE_WP_ASYNC) ||
	    !(api.features & UFFD_FEATURE_EVENT_FORK)) {
		*why = "kernel lacks UFFD_FEATURE_WP_ASYNC (6.7+)";
		return -1;
	}
	fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	api.api = UFFD_API;
	api.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_EVENT_FORK;
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api)) {
		*why = "UFFDIO_API with WP_ASYNC | EVENT_FORK failed";
		return -2;
	}
	return fd;
}

/*
 * Reads the uffd's messages: fork waits until its EVENT_FORK is read.  The
 * uffd is non-blocking: poll() may report it readable with nothing to read.
 */
static void *monitor_fn(void *arg)
{
	FIXTURE_DATA(hold) *self = arg;
	struct pollfd pfd = { .fd = self->uffd, .events = POLLIN };
	struct uffd_msg msg;

	while (!atomic_load(&self->stop)) {
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if (read(self->uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event == UFFD_EVENT_FORK) {
			close(msg.arg.fork.ufd);
			atomic_fetch_add(&self->forks_seen, 1);
		}
	}
	return NULL;
}

static void parent_found(FIXTURE_DATA(hold) *self, long off)
{
	long none = -1;

	atomic_fetch_add(&self->parent_bad, 1);
	atomic_compare_exchange_strong(&self->first_bad, &none, off);
}

/* Write our own bytes, read the file over them, check the data is ours. */
static void hold_read(FIXTURE_DATA(hold) *self)
{
	ssize_t n;
	long off;

	memset(self->p, PARENT_BYTE, self->len);
	n = pread(self->file, self->p, self->len, 0);
	if (n != (ssize_t)self->len) {
		parent_found(self, -2);
		return;
	}
	off = first_not_data(self->p, self->len, self->ps);
	if (off >= 0)
		parent_found(self, off);
}

/* Splice the pages into the pipe and read them back: never the child's. */
static void hold_vmsplice(FIXTURE_DATA(hold) *self, unsigned char *buf)
{
	struct iovec iov = { .iov_base = self->p, .iov_len = self->len };
	size_t got = 0;
	ssize_t n;

	memset(self->p, PARENT_BYTE, self->len);
	n = vmsplice(self->pipe[1], &iov, 1, 0);
	if (n != (ssize_t)self->len) {
		parent_found(self, -3);
		return;
	}
	while (got < self->len) {
		n = read(self->pipe[0], buf + got, self->len - got);
		if (n <= 0) {
			parent_found(self, -4);
			return;
		}
		got += n;
	}
	if (has_byte(buf, self->len, CHILD_BYTE))
		parent_found(self, (unsigned char *)memchr(buf, CHILD_BYTE,
							   self->len) - buf);
}

static void *holder_fn(void *arg)
{
	FIXTURE_DATA(hold) *self = arg;
	unsigned char *buf = malloc(self->len);

	while (buf && !atomic_load(&self->stop)) {
		if (self->file >= 0)
			hold_read(self);
		else
			hold_vmsplice(self, buf);
		atomic_fetch_add(&self->rounds, 1);
	}
	free(buf);
	return NULL;
}

FIXTURE_SETUP(hold)
{
	const char *why = NULL;

	self->ps = kt_ps();
	self->len = NPAGES * self->ps;
	self->file = self->uffd = -1;
	self->pipe[0] = self->pipe[1] = -1;
	atomic_store(&self->first_bad, -1);
	KT_OPEN_OR_SKIP(self->fd);
	self->p = kt_mmap(self->fd, self->len);
	ASSERT_NE(MAP_FAILED, self->p) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_ALLOC));
	memset(self->p, PARENT_BYTE, self->len);

	if (variant->holder == HOLD_READ) {
		self->file = data_file(self->ps, &why);
		if (self->file < 0)
			KT_SKIP_SETUP("%s", why);
	} else {
		ASSERT_EQ(0, pipe(self->pipe));
		/* Room for all the pages, so vmsplice never blocks. */
		ASSERT_LE((int)self->len, fcntl(self->pipe[1], F_SETPIPE_SZ,
						 (int)self->len));
	}
	if (variant->uffd_wp) {
		struct uffdio_register reg = {
			.range = { .start = (uintptr_t)self->p, .len = self->len },
			.mode = UFFDIO_REGISTER_MODE_WP,
		};

		self->uffd = uffd_wp_async(&why);
		if (self->uffd == -1)
			KT_SKIP_SETUP("%s", why);
		ASSERT_LE(0, self->uffd) TH_LOG("%s", why);
		ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_REGISTER, &reg))
			TH_LOG("UFFDIO_REGISTER(WP) on karena memory: %s",
			       strerror(errno));
		ASSERT_EQ(0, pthread_create(&self->monitor, NULL, monitor_fn,
					    self));
		self->monitor_on = true;
	}
}

FIXTURE_TEARDOWN(hold)
{
	atomic_store(&self->stop, 1);
	if (self->holder_on)
		pthread_join(self->holder, NULL);
	if (self->monitor_on)
		pthread_join(self->monitor, NULL);
	if (self->uffd >= 0)
		close(self->uffd);
	if (self->file >= 0)
		close(self->file);
	if (self->pipe[0] >= 0) {
		close(self->pipe[0]);
		close(self->pipe[1]);
	}
	if (self->p && self->p != MAP_FAILED)
		munmap(self->p, self->len);
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * The child: write its own bytes over everything at once, wait until the
 * parent's holds in flight at fork are over, then check they stayed.
 * Exit 0, or 1 when anything else showed up (the parent's data or bytes).
 */
static void __attribute__((noreturn)) child(FIXTURE_DATA(hold) *self, int go)
{
	size_t i;
	char c;

	memset(self->p, CHILD_BYTE, self->len);
	if (read(go, &c, 1) != 1)
		_exit(2);
	for (i = 0; i < self->len; i++)
		if (self->p[i] != CHILD_BYTE)
			_exit(1);
	_exit(0);
}

/* Wait until the holder thread finished @n more rounds (or stopped). */
static void wait_rounds(FIXTURE_DATA(hold) *self, long n)
{
	long until = atomic_load(&self->rounds) + n;
	int i;

	for (i = 0; i < 20000 && atomic_load(&self->rounds) < until; i++)
		usleep(100);
}

TEST_F_TIMEOUT(hold, fork_never_shares_a_held_page, 300)
{
	long i, j, forks = 0, child_bad = 0, child_err = 0;

	ASSERT_EQ(0, pthread_create(&self->holder, NULL, holder_fn, self));
	self->holder_on = true;
	wait_rounds(self, 1);
	for (i = 0; i < ITERS; i++) {
		int go[2], st;
		pid_t pid;

		ASSERT_EQ(0, pipe(go));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			close(go[1]);
			child(self, go[0]);
		}
		close(go[0]);
		forks++;
		/* Touch every page now, while the hold may still be on. */
		for (j = 0; j < NPAGES; j++)
			(void)*(volatile unsigned char *)(self->p + j * self->ps);
		wait_rounds(self, 2);
		ASSERT_EQ(1, write(go[1], "g", 1));
		close(go[1]);
		st = kt_wait(pid);
		if (st == 1)
			child_bad++;
		else if (st)
			child_err++;
	}
	atomic_store(&self->stop, 1);
	pthread_join(self->holder, NULL);
	self->holder_on = false;
	TH_LOG("%ld forks, %ld holds: parent found foreign data %ld times "
	       "(first at byte %ld), child found the parent's %ld times%s",
	       forks, atomic_load(&self->rounds), atomic_load(&self->parent_bad),
	       atomic_load(&self->first_bad), child_bad,
	       variant->uffd_wp ? " (uffd-wp registered)" : "");
	EXPECT_EQ(0, child_err);
	EXPECT_EQ(0, atomic_load(&self->parent_bad));
	EXPECT_EQ(0, child_bad);
	if (variant->uffd_wp)
		EXPECT_EQ(forks, atomic_load(&self->forks_seen));
}

/*
 * Without any race: a page spliced into a pipe before fork stays the
 * parent's.  The parent writes first (its copy on first touch), then the
 * child writes; the pipe must still hold the parent's bytes, not the
 * child's (the child must not take back the page the pipe holds).
 */
TEST(vmspliced_page_stays_with_parent)
{
	unsigned char buf[4096];
	int fd, pfd[2], go[2], done[2], st;
	long ps = kt_ps();
	struct iovec iov;
	unsigned char *p;
	char c;
	pid_t pid;

	ASSERT_GE((long)sizeof(buf), ps);
	KT_OPEN_OR_SKIP(fd);
	p = kt_mmap(fd, ps);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, kt_trans(fd, p, ps, KARENA_OP_ALLOC));
	memset(p, PARENT_BYTE, ps);
	ASSERT_EQ(0, pipe(pfd));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	iov.iov_base = p;
	iov.iov_len = ps;
	ASSERT_EQ(ps, vmsplice(pfd[1], &iov, 1, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		memset(p, CHILD_BYTE, ps);
		_exit(write(done[1], "d", 1) == 1 ? 0 : 3);
	}
	p[0] = PARENT_BYTE + 1;		/* the parent's write comes first */
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(1, read(done[0], &c, 1));
	ASSERT_EQ(ps, read(pfd[0], buf, ps));
	st = kt_wait(pid);
	EXPECT_EQ(0, st);
	EXPECT_FALSE(has_byte(buf, ps, CHILD_BYTE))
		TH_LOG("the pipe shows the child's write (byte 0: %#x)", buf[0]);
	EXPECT_EQ(PARENT_BYTE + 1, p[0]);
	munmap(p, ps);
	close(fd);
}

/*
 * io_uring's fixed buffers would be the long-term pin to race with fork,
 * but neither kernel lets io_uring pin this mapping: 6.1 refuses
 * file-backed memory (EOPNOTSUPP), 6.12 refuses a long-term writable pin
 * of a shared mapping that needs write notification (EFAULT).  Should a
 * kernel start to allow it, this fails: cover it in the race above then.
 */
TEST(uring_cannot_pin_karena_memory)
{
	struct io_uring_params par;
	struct iovec iov;
	long ps = kt_ps();
	int fd, ring, ret;
	char *p;

	KT_OPEN_OR_SKIP(fd);
	p = kt_mmap(fd, 4 * ps);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, kt_trans(fd, p, 4 * ps, KARENA_OP_ALLOC));
	memset(p, 1, 4 * ps);
	memset(&par, 0, sizeof(par));
	ring = syscall(__NR_io_uring_setup, 4, &par);
	if (ring < 0)
		SKIP(return, "io_uring_setup: %s", strerror(errno));
	iov.iov_base = p;
	iov.iov_len = 4 * ps;
	ret = syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS,
		      &iov, 1);
	EXPECT_EQ(-1, ret) TH_LOG("io_uring registered karena memory as a fixed buffer");
	EXPECT_TRUE(errno == EOPNOTSUPP || errno == EFAULT)
		TH_LOG("errno %d (%s)", errno, strerror(errno));
	close(ring);
	munmap(p, 4 * ps);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* A fork of a large store in a small cgroup */

#define STORE_LEN	(1L << 30)	/* 262144 Prepared entries */
#define VICTIM_LEN	(8L << 20)	/* bigger than the forker: OOM's pick */
#define HEADROOM	(512L << 10)	/* memory.max - memory.current */
#define QCHUNK		4096

struct forkmem_report {
	volatile int stage;		/* 1 store built, 2 fork, 3 done */
	volatile int victim_ready;
	volatile int fork_errno;
	volatile int child_status;	/* kt_wait() of the forked child */
	volatile long child_states[KARENA_NR_STATES]; /* the child's pages by state */
	volatile long parent_prepared;
};

FIXTURE(forkmem) {
	char cg[96];
	bool have_cg;
	pid_t victim, forker;
	struct forkmem_report *r;
};

FIXTURE_SETUP(forkmem)
{
	const char *why;
	int fd;

	KT_OPEN_OR_SKIP(fd);
	close(fd);
	why = cg_make(self->cg, sizeof(self->cg), "forkmem");
	if (why)
		KT_SKIP_SETUP("%s", why);
	self->have_cg = true;
	self->r = mmap(NULL, sizeof(*self->r), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->r);
	memset(self->r, 0, sizeof(*self->r));
}

FIXTURE_TEARDOWN(forkmem)
{
	if (self->victim > 0) {
		kill(self->victim, SIGKILL);
		waitpid(self->victim, NULL, 0);
	}
	if (self->forker > 0) {
		kill(self->forker, SIGKILL);
		waitpid(self->forker, NULL, 0);
	}
	if (self->have_cg && cg_remove(self->cg))
		TH_LOG("rmdir %s: %s", self->cg, strerror(errno));
	if (self->r && self->r != MAP_FAILED)
		munmap(self->r, sizeof(*self->r));
}

/* Count @len bytes at @p by state into @n[]; 0 or an errno value. */
static int count_states(int fd, const char *p, size_t len, long *n)
{
	static unsigned char vec[QCHUNK];
	size_t off, i, ps = kt_ps();
	int ret;

	for (off = 0; off < len; off += QCHUNK * ps) {
		size_t chunk = len - off < QCHUNK * ps ? len - off : QCHUNK * ps;

		ret = kt_query(fd, p + off, chunk, vec);
		if (ret)
			return ret;
		for (i = 0; i < chunk / ps; i++)
			n[KT_STATE(vec[i])]++;
	}
	return 0;
}

static void __attribute__((noreturn)) victim(FIXTURE_DATA(forkmem) *self)
{
	volatile char *m;
	long i;

	if (cg_enter(self->cg))
		_exit(10);
	m = malloc(VICTIM_LEN);
	if (!m)
		_exit(11);
	for (i = 0; i < VICTIM_LEN; i += 512)	/* volatile: not optimised out */
		m[i] = 1;
	self->r->victim_ready = 1;
	for (;;)
		pause();
}

/*
 * The forker: build a store of STORE_LEN Prepared pages (xarray nodes,
 * no pages), wait for the go, fork; the child counts its pages by state.
 * Exit codes: 10 cgroup, 11 open, 12 mmap, 13 MAP, 14 QUERY.
 */
static void __attribute__((noreturn)) forker(FIXTURE_DATA(forkmem) *self)
{
	long n[KARENA_NR_STATES] = { 0 };
	pid_t pid;
	char *p;
	int fd;

	p = cg_child_map(self->cg, STORE_LEN, &fd);
	if (kt_trans(fd, p, STORE_LEN, KARENA_OP_MAP))
		_exit(13);
	self->r->stage = 1;
	while (self->r->stage != 2)
		usleep(1000);
	pid = fork();
	if (pid == 0) {
		if (count_states(fd, p, STORE_LEN, n))
			_exit(14);
		memcpy((long *)self->r->child_states, n, sizeof(n));
		_exit(0);
	}
	self->r->fork_errno = pid < 0 ? errno : 0;
	if (pid > 0)
		self->r->child_status = kt_wait(pid);
	if (count_states(fd, p, STORE_LEN, n))
		_exit(14);
	self->r->parent_prepared = n[KARENA_STATE_PREPARED];
	self->r->stage = 3;
	_exit(0);
}

static bool wait_flag(volatile int *flag, int value, int seconds)
{
	int i;

	for (i = 0; i < seconds * 100 && *flag != value; i++)
		usleep(10000);
	return *flag == value;
}

TEST_F_TIMEOUT(forkmem, fork_of_large_store_stays_under_memory_max, 600)
{
	long long cur, max, peak, ooms;
	long npages = STORE_LEN / kt_ps();
	const volatile long *cs = self->r->child_states;
	char buf[32];
	int st;

	self->victim = fork();
	ASSERT_LE(0, self->victim);
	if (self->victim == 0)
		victim(self);
	ASSERT_TRUE(wait_flag(&self->r->victim_ready, 1, 120));
	self->forker = fork();
	ASSERT_LE(0, self->forker);
	if (self->forker == 0)
		forker(self);
	ASSERT_TRUE(wait_flag(&self->r->stage, 1, 400))
		TH_LOG("the forker did not build its store (stage %d)",
		       self->r->stage);

	cur = cg_current(self->cg);
	snprintf(buf, sizeof(buf), "%lld", cur + HEADROOM);
	ASSERT_EQ(0, cg_write(self->cg, "memory.max", buf));
	max = cg_read(self->cg, "memory.max");
	self->r->stage = 2;
	st = kt_wait(self->forker);
	self->forker = 0;
	peak = cg_read(self->cg, "memory.peak");
	ooms = cg_event(self->cg, "oom_kill");

	TH_LOG("store of %ld Prepared pages, memory.current %lld kB before the "
	       "fork, memory.max %lld kB, memory.peak %lld kB, oom_kill %lld; "
	       "fork: %s; child sees %ld Prepared, %ld Reserved",
	       npages, cur / 1024, max / 1024, peak / 1024, ooms,
	       self->r->fork_errno ? strerror(self->r->fork_errno) : "ok",
	       cs[KARENA_STATE_PREPARED], cs[KARENA_STATE_RESERVED]);
	ASSERT_EQ(0, st) TH_LOG("forker: status %d (10 cgroup, 11 open, "
				"12 mmap, 13 MAP, 14 QUERY, 137 killed)", st);
	/* Nobody was killed, and the cgroup never went past its limit. */
	EXPECT_EQ(0, waitpid(self->victim, &st, WNOHANG))
		TH_LOG("the victim died (status %#x)", st);
	EXPECT_EQ(0, ooms);
	EXPECT_GE(max, peak);
	/* The parent keeps its store whole. */
	EXPECT_EQ(npages, self->r->parent_prepared);
	/*
	 * The child's copy did not fit: the child has the mapping all
	 * Reserved (fork itself may also have failed with ENOMEM).
	 */
	if (!self->r->fork_errno) {
		EXPECT_EQ(0, self->r->child_status);
		EXPECT_EQ(npages, cs[KARENA_STATE_RESERVED]);
	} else {
		EXPECT_EQ(ENOMEM, self->r->fork_errno);
	}
}

TEST_HARNESS_MAIN
