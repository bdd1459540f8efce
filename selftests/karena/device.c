// SPDX-License-Identifier: GPL-2.0
/*
 * karena device selftests: the device node, KARENA_IOC_INFO, and the
 * ioctl-level checks every command shares (command encoding, the size
 * field, reserved fields, user pointers).  Range-level errors are in
 * badinput.c.
 */
#include <dirent.h>
#include <sys/sysmacros.h>

#include "kselftest_harness.h"
#include "karena_test.h"

#ifndef MISC_MAJOR
#define MISC_MAJOR	10
#endif

/* The mode the module gives the node (miscdevice.mode; the udev rule agrees). */
#ifndef KT_DEV_MODE
#define KT_DEV_MODE	0660
#endif

#define KT_FEAT_KNOWN	(KARENA_FEAT_VEC | KARENA_FEAT_QUERY | KARENA_FEAT_STATS | \
			 KARENA_FEAT_LIMITS | KARENA_FEAT_URING_CMD |		 \
			 KARENA_FEAT_LENIENT | KARENA_FEAT_FORK_COW | \
			 KARENA_FEAT_LAZY | KARENA_FEAT_HUGE_BACKED)

FIXTURE(device) {
	int fd;
	long ps;
};

FIXTURE_SETUP(device)
{
	self->ps = kt_ps();
	KT_OPEN_OR_SKIP(self->fd);
}

FIXTURE_TEARDOWN(device)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(device, module_is_loaded)
{
	struct stat st;

	ASSERT_EQ(0, stat("/sys/module/karena", &st))
		TH_LOG("/sys/module/karena: %s", strerror(errno));
	ASSERT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(device, node_is_misc_char_device)
{
	unsigned int maj = 0, min = 0;
	struct stat st;
	FILE *f;

	ASSERT_EQ(0, stat(KARENA_DEVICE, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(MISC_MAJOR, major(st.st_rdev));
	f = fopen("/sys/class/misc/karena/dev", "r");
	ASSERT_NE(NULL, f) TH_LOG("/sys/class/misc/karena/dev: %s", strerror(errno));
	ASSERT_EQ(2, fscanf(f, "%u:%u", &maj, &min));
	fclose(f);
	EXPECT_EQ(maj, major(st.st_rdev));
	EXPECT_EQ(min, minor(st.st_rdev));
}

TEST_F(device, node_has_documented_mode)
{
	struct stat st;

	ASSERT_EQ(0, stat(KARENA_DEVICE, &st));
	EXPECT_EQ(KT_DEV_MODE, st.st_mode & 07777)
		TH_LOG("mode %o, expected %o", st.st_mode & 07777, KT_DEV_MODE);
}

TEST_F(device, opens_are_independent_files)
{
	struct karena_info a, b;
	int fd2 = kt_open();

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, kt_info(self->fd, &a));
	ASSERT_EQ(0, kt_info(fd2, &b));
	EXPECT_EQ(0, memcmp(&a, &b, sizeof(a)));
	close(fd2);
	/* The first file still works after the second one is closed. */
	EXPECT_EQ(0, kt_info(self->fd, &a));
}

TEST_F(device, info_abi_version)
{
	struct karena_info info;

	ASSERT_EQ(0, kt_info(self->fd, &info));
	EXPECT_EQ(KARENA_ABI_VERSION, info.abi_version);
	EXPECT_EQ(sizeof(info), info.size);
}

TEST_F(device, info_page_size)
{
	struct karena_info info;

	ASSERT_EQ(0, kt_info(self->fd, &info));
	EXPECT_EQ((unsigned long)getpagesize(), info.page_size);
}

TEST_F(device, info_vec_max)
{
	struct karena_info info;

	ASSERT_EQ(0, kt_info(self->fd, &info));
	EXPECT_EQ(KARENA_VEC_MAX, info.vec_max);
}

TEST_F(device, info_features)
{
	struct karena_info info;

	ASSERT_EQ(0, kt_info(self->fd, &info));
	/* The ioctls of this ABI that the module must offer. */
	EXPECT_TRUE(info.features & KARENA_FEAT_VEC);
	EXPECT_TRUE(info.features & KARENA_FEAT_QUERY);
	EXPECT_TRUE(info.features & KARENA_FEAT_STATS);
	EXPECT_TRUE(info.features & KARENA_FEAT_LIMITS);
	EXPECT_TRUE(info.features & KARENA_FEAT_LENIENT);
	/* No bit outside the ABI. */
	EXPECT_EQ(0, info.features & ~(__u64)KT_FEAT_KNOWN)
		TH_LOG("features %#llx", (unsigned long long)info.features);
}

TEST_F(device, info_limits_match_limits_ioctl)
{
	struct karena_info info;
	struct karena_limits l;

	ASSERT_EQ(0, kt_info(self->fd, &info));
	EXPECT_LT(0, info.max_reserved);
	EXPECT_LT(0, info.max_ready);
	EXPECT_EQ(0, info.max_reserved % self->ps);
	EXPECT_EQ(0, info.max_ready % self->ps);
	ASSERT_EQ(0, kt_limits(self->fd, 0, 0, 0, &l));
	EXPECT_EQ(info.max_reserved, l.max_reserved);
	EXPECT_EQ(info.max_ready, l.max_ready);
}

TEST_F(device, info_limits_match_module_parameters)
{
	const char *dir = "/sys/module/karena/parameters/";
	struct karena_info info;
	long long res, rdy, high;
	char path[128];

	snprintf(path, sizeof(path), "%smax_reserved", dir);
	res = kt_read_num(path);
	snprintf(path, sizeof(path), "%smax_ready", dir);
	rdy = kt_read_num(path);
	snprintf(path, sizeof(path), "%scache_high", dir);
	high = kt_read_num(path);
	ASSERT_LT(0, res) TH_LOG("%smax_reserved", dir);
	ASSERT_LT(0, rdy) TH_LOG("%smax_ready", dir);
	ASSERT_LE(0, high) TH_LOG("%scache_high", dir);
	ASSERT_EQ(0, kt_info(self->fd, &info));
	EXPECT_EQ((unsigned long long)res & ~(unsigned long long)(self->ps - 1),
		  info.max_reserved);
	EXPECT_EQ((unsigned long long)rdy & ~(unsigned long long)(self->ps - 1),
		  info.max_ready);
	EXPECT_EQ(high, info.cache_pages);
}

TEST_F(device, info_cache_fields)
{
	struct karena_info info;
	long possible = sysconf(_SC_NPROCESSORS_CONF);

	ASSERT_EQ(0, kt_info(self->fd, &info));
	EXPECT_LT(0, info.cache_pages);
	EXPECT_LE(1, info.nr_cpus);
	EXPECT_LE(info.nr_cpus, possible > 0 ? possible : 4096);
}

TEST_F(device, info_reserved_out_zero)
{
	struct karena_info info;
	int i;

	ASSERT_EQ(0, kt_info(self->fd, &info));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, info.reserved[i]);
}

TEST_F(device, fresh_file_stats_are_zero)
{
	struct karena_stats st, zero;

	ASSERT_EQ(0, kt_stats(self->fd, &st));
	memset(&zero, 0, sizeof(zero));
	zero.size = sizeof(zero);
	EXPECT_EQ(0, memcmp(&st, &zero, sizeof(st)));
}

TEST_F(device, fresh_file_is_strict)
{
	unsigned int prev = ~0U;

	ASSERT_EQ(0, kt_config(self->fd, 0, &prev));
	EXPECT_EQ(0, prev & KARENA_CFG_LENIENT);
}

/* ------------------------------------------------------------------ */
/* Command encoding: unknown numbers and wrong encoded sizes -> ENOTTY. */

TEST_F(device, unknown_ioctl_numbers_enotty)
{
	char buf[512] = { 0 };

	EXPECT_EQ(ENOTTY, kt_ioctl(self->fd, _IO(KARENA_IOC_MAGIC, 0x7f), buf));
	EXPECT_EQ(ENOTTY, kt_ioctl(self->fd, _IOWR(KARENA_IOC_MAGIC, 0x07,
						struct karena_config), buf));
	EXPECT_EQ(ENOTTY, kt_ioctl(self->fd, _IOWR(KARENA_IOC_MAGIC, 0xff,
						struct karena_info), buf));
	/* Another driver's magic with karena's numbers. */
	EXPECT_EQ(ENOTTY, kt_ioctl(self->fd, _IOWR('T', 0x00,
						struct karena_info), buf));
	/* A tty ioctl. */
	EXPECT_EQ(ENOTTY, kt_ioctl(self->fd, TCGETS, buf));
}

static const struct {
	const char *name;
	unsigned long cmd;
} kt_cmds[] = {
	{ "INFO", KARENA_IOC_INFO },
	{ "TRANSITION", KARENA_IOC_TRANSITION },
	{ "VEC", KARENA_IOC_VEC },
	{ "QUERY", KARENA_IOC_QUERY },
	{ "STATS", KARENA_IOC_STATS },
	{ "LIMITS", KARENA_IOC_LIMITS },
	{ "CONFIG", KARENA_IOC_CONFIG },
};

TEST_F(device, wrong_encoded_size_enotty)
{
	char buf[1024] = { 0 };
	size_t i;

	for (i = 0; i < sizeof(kt_cmds) / sizeof(kt_cmds[0]); i++) {
		unsigned long cmd = kt_cmds[i].cmd;
		unsigned int sz = _IOC_SIZE(cmd);
		unsigned long bigger = _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd),
					    _IOC_NR(cmd), sz + 8);
		unsigned long smaller = _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd),
					     _IOC_NR(cmd), sz - 8);

		/* A struct whose size field agrees with the encoded one. */
		*(__u32 *)buf = sz + 8;
		EXPECT_EQ(ENOTTY, kt_ioctl(self->fd, bigger, buf))
			TH_LOG("%s encoded with size %u", kt_cmds[i].name, sz + 8);
		*(__u32 *)buf = sz - 8;
		EXPECT_EQ(ENOTTY, kt_ioctl(self->fd, smaller, buf))
			TH_LOG("%s encoded with size %u", kt_cmds[i].name, sz - 8);
	}
}

TEST_F(device, wrong_encoded_direction_enotty)
{
	char buf[1024] = { 0 };
	size_t i;

	for (i = 0; i < sizeof(kt_cmds) / sizeof(kt_cmds[0]); i++) {
		unsigned long cmd = kt_cmds[i].cmd;
		unsigned long other = _IOC(_IOC_DIR(cmd) == _IOC_WRITE ?
					   _IOC_READ | _IOC_WRITE : _IOC_NONE,
					   _IOC_TYPE(cmd), _IOC_NR(cmd),
					   _IOC_SIZE(cmd));

		*(__u32 *)buf = _IOC_SIZE(cmd);
		EXPECT_EQ(ENOTTY, kt_ioctl(self->fd, other, buf))
			TH_LOG("%s with direction %u", kt_cmds[i].name,
			       _IOC_DIR(other));
	}
}

/* ------------------------------------------------------------------ */
/* The size field. */

static int kt_size_field(int fd, unsigned long cmd, __u32 size)
{
	/* Room for the largest struct, zeroed, with a valid layout otherwise. */
	unsigned char buf[1024] __attribute__((aligned(8)));

	memset(buf, 0, sizeof(buf));
	*(__u32 *)buf = size;
	return kt_ioctl(fd, cmd, buf);
}

TEST_F(device, info_wrong_size_einval)
{
	__u32 s = sizeof(struct karena_info);

	EXPECT_EQ(EINVAL, kt_size_field(self->fd, KARENA_IOC_INFO, 0));
	EXPECT_EQ(EINVAL, kt_size_field(self->fd, KARENA_IOC_INFO, s - 8));
	EXPECT_EQ(EINVAL, kt_size_field(self->fd, KARENA_IOC_INFO, s + 8));
	EXPECT_EQ(EINVAL, kt_size_field(self->fd, KARENA_IOC_INFO, ~0U));
}

TEST_F(device, every_command_wrong_size_einval)
{
	size_t i;

	for (i = 0; i < sizeof(kt_cmds) / sizeof(kt_cmds[0]); i++) {
		__u32 s = _IOC_SIZE(kt_cmds[i].cmd);

		EXPECT_EQ(EINVAL, kt_size_field(self->fd, kt_cmds[i].cmd, 0))
			TH_LOG("%s size 0", kt_cmds[i].name);
		EXPECT_EQ(EINVAL, kt_size_field(self->fd, kt_cmds[i].cmd, s - 4))
			TH_LOG("%s size %u", kt_cmds[i].name, s - 4);
		EXPECT_EQ(EINVAL, kt_size_field(self->fd, kt_cmds[i].cmd, s + 4))
			TH_LOG("%s size %u", kt_cmds[i].name, s + 4);
	}
}

TEST_F(device, vec_wrong_range_size_einval)
{
	void *p = kt_mmap(self->fd, self->ps);
	struct karena_range r;
	struct karena_vec v;

	ASSERT_NE(MAP_FAILED, p);
	kt_range(&r, p, self->ps, KARENA_OP_MAP, 0);
	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);
	v.ranges = (uintptr_t)&r;
	v.count = 1;
	v.range_size = sizeof(r) - 8;
	EXPECT_EQ(EINVAL, kt_ioctl(self->fd, KARENA_IOC_VEC, &v));
	v.range_size = sizeof(r) + 8;
	EXPECT_EQ(EINVAL, kt_ioctl(self->fd, KARENA_IOC_VEC, &v));
	v.range_size = 0;
	EXPECT_EQ(EINVAL, kt_ioctl(self->fd, KARENA_IOC_VEC, &v));
	/* Nothing was applied. */
	EXPECT_EQ(KARENA_STATE_RESERVED, kt_state_of(self->fd, p));
	munmap(p, self->ps);
}

/* ------------------------------------------------------------------ */
/* Reserved fields must be zero. */

TEST_F(device, info_reserved_nonzero_einval)
{
	struct karena_info info;
	int i;

	for (i = 0; i < 4; i++) {
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		info.reserved[i] = 1ULL << (i * 16);
		EXPECT_EQ(EINVAL, kt_ioctl(self->fd, KARENA_IOC_INFO, &info))
			TH_LOG("reserved[%d]", i);
	}
}

TEST_F(device, transition_reserved_nonzero_einval)
{
	void *p = kt_mmap(self->fd, self->ps);
	struct karena_transition t;
	int i;

	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < 4; i++) {
		memset(&t, 0, sizeof(t));
		t.size = sizeof(t);
		kt_range(&t.range, p, self->ps, KARENA_OP_MAP, 0);
		if (i == 0)
			t.reserved0 = 1;
		else if (i == 1)
			t.range.reserved = 1;
		else
			t.reserved[i - 2] = 1;
		EXPECT_EQ(EINVAL, kt_ioctl(self->fd, KARENA_IOC_TRANSITION, &t))
			TH_LOG("reserved field #%d", i);
	}
	EXPECT_EQ(KARENA_STATE_RESERVED, kt_state_of(self->fd, p));
	munmap(p, self->ps);
}

TEST_F(device, vec_reserved_nonzero_einval)
{
	void *p = kt_mmap(self->fd, self->ps);
	struct karena_range r;
	struct karena_vec v;
	int i;

	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < 4; i++) {
		kt_range(&r, p, self->ps, KARENA_OP_MAP, 0);
		memset(&v, 0, sizeof(v));
		v.size = sizeof(v);
		v.range_size = sizeof(r);
		v.ranges = (uintptr_t)&r;
		v.count = 1;
		if (i == 0)
			v.reserved0 = 1;
		else if (i == 3)
			r.reserved = 1;
		else
			v.reserved[i - 1] = 1;
		EXPECT_EQ(EINVAL, kt_ioctl(self->fd, KARENA_IOC_VEC, &v))
			TH_LOG("reserved field #%d", i);
	}
	EXPECT_EQ(KARENA_STATE_RESERVED, kt_state_of(self->fd, p));
	munmap(p, self->ps);
}

TEST_F(device, query_reserved_nonzero_einval)
{
	void *p = kt_mmap(self->fd, self->ps);
	unsigned char vec[1];
	struct karena_query q;
	int i;

	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < 3; i++) {
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.start = (uintptr_t)p;
		q.len = self->ps;
		q.vec = (uintptr_t)vec;
		if (i == 0)
			q.reserved0 = 1;
		else
			q.reserved[i - 1] = 1;
		EXPECT_EQ(EINVAL, kt_ioctl(self->fd, KARENA_IOC_QUERY, &q))
			TH_LOG("reserved field #%d", i);
	}
	munmap(p, self->ps);
}

TEST_F(device, stats_limits_config_reserved_nonzero_einval)
{
	struct karena_stats st;
	struct karena_limits l;
	struct karena_config c;
	int i;

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.reserved0 = 1;
	EXPECT_EQ(EINVAL, kt_ioctl(self->fd, KARENA_IOC_STATS, &st));
	for (i = 0; i < 2; i++) {
		memset(&l, 0, sizeof(l));
		l.size = sizeof(l);
		l.reserved[i] = 1;
		EXPECT_EQ(EINVAL, kt_ioctl(self->fd, KARENA_IOC_LIMITS, &l))
			TH_LOG("limits reserved[%d]", i);
		memset(&c, 0, sizeof(c));
		c.size = sizeof(c);
		c.reserved[i] = 1;
		EXPECT_EQ(EINVAL, kt_ioctl(self->fd, KARENA_IOC_CONFIG, &c))
			TH_LOG("config reserved[%d]", i);
	}
	/* Nothing changed: still strict. */
	EXPECT_EQ(0, kt_config(self->fd, 0, (unsigned int *)&i));
	EXPECT_EQ(0, i & KARENA_CFG_LENIENT);
}

/* ------------------------------------------------------------------ */
/* Bad user pointers -> EFAULT. */

TEST_F(device, null_struct_pointer_efault)
{
	size_t i;

	for (i = 0; i < sizeof(kt_cmds) / sizeof(kt_cmds[0]); i++) {
		void *null = NULL;

		EXPECT_EQ(EFAULT, kt_ioctl(self->fd, kt_cmds[i].cmd, null))
			TH_LOG("%s with a NULL struct", kt_cmds[i].name);
	}
}

TEST_F(device, struct_straddling_unmapped_page_efault)
{
	char *two = mmap(NULL, 2 * self->ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t i;

	ASSERT_NE(MAP_FAILED, two);
	ASSERT_EQ(0, munmap(two + self->ps, self->ps));
	for (i = 0; i < sizeof(kt_cmds) / sizeof(kt_cmds[0]); i++) {
		unsigned int sz = _IOC_SIZE(kt_cmds[i].cmd);
		/* The size field is readable; the struct's tail is not. */
		char *s = two + self->ps - sz / 2;

		memset(two, 0, self->ps);
		*(__u32 *)s = sz;
		EXPECT_EQ(EFAULT, kt_ioctl(self->fd, kt_cmds[i].cmd, s))
			TH_LOG("%s straddling", kt_cmds[i].name);
	}
	munmap(two, self->ps);
}

TEST_F(device, info_readonly_struct_efault)
{
	struct karena_info *info = mmap(NULL, self->ps, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, info);
	info->size = sizeof(*info);
	ASSERT_EQ(0, mprotect(info, self->ps, PROT_READ));
	/* The module reads it fine but cannot write the answer back. */
	EXPECT_EQ(EFAULT, kt_ioctl(self->fd, KARENA_IOC_INFO, info));
	munmap(info, self->ps);
}

TEST_F(device, stats_kernel_address_efault)
{
	/* A kernel address is never a valid user pointer. */
	void *kaddr = (void *)0xffffffff81000000UL;

	EXPECT_EQ(EFAULT, kt_ioctl(self->fd, KARENA_IOC_STATS, kaddr));
	EXPECT_EQ(EFAULT, kt_ioctl(self->fd, KARENA_IOC_INFO, kaddr));
}

TEST_F(device, read_write_not_supported)
{
	char buf[8] = { 0 };

	/* Not part of the ABI: a clean error, never data. */
	EXPECT_GT(0, read(self->fd, buf, sizeof(buf)));
	EXPECT_GT(0, write(self->fd, buf, sizeof(buf)));
}

TEST_HARNESS_MAIN
