// SPDX-License-Identifier: GPL-2.0
/*
 * karena: arena address space in the Go runtime's states, served by the
 * misc device /dev/karena.  The ABI is kmod/uapi/karena.h.
 *
 * This file: module parameters, the misc device and its file operations,
 * the ioctls, /sys/kernel/karena/ (global counters) and
 * /sys/kernel/debug/karena/cpus (per-CPU cache detail).
 *
 * Mapping flavour: MAP_SHARED only (MAP_PRIVATE fails with EINVAL).  The
 * pages are the driver's own, so a Ready fault is served straight from a
 * per-CPU cache of pre-zeroed pages and POPULATE can allocate ahead; a
 * private mapping would make the core copy every page on the first write
 * and defeat the cache.  Anonymous-memory semantics that a shared mapping
 * lacks are rebuilt by the module: fork gives the child a private
 * copy-on-first-touch view (arena.c), the state belongs to the mm and not
 * to the file, munmap/mremap/close/exit free everything in any order.
 *
 * The device node is mode 0660 (miscdevice.mode; 60-karena.rules gives
 * it to the group "karena"): its pages are unswappable memory, so using
 * it is a right an administrator grants, like mlock beyond
 * RLIMIT_MEMLOCK.  What a user holds is bounded by bounds.c and charged
 * to its memcg, and counts for it with the OOM killer.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kobject.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>

#include "karena_priv.h"
#include "uring.h"

/* Raising these defaults needs CAP_SYS_RESOURCE too (bounds.c). */
unsigned long karena_param_max_reserved = 64UL << 30;
module_param_cb(max_reserved, &karena_bound_ops, &karena_param_max_reserved,
		0644);
MODULE_PARM_DESC(max_reserved,
		 "Default per-file limit on mapped bytes, None included (default 64 GiB)");

unsigned long karena_param_max_ready;
module_param_cb(max_ready, &karena_bound_ops, &karena_param_max_ready, 0644);
MODULE_PARM_DESC(max_ready,
		 "Default per-file limit on Ready bytes (0 at load: total RAM)");

unsigned int karena_param_cache_high = 256;
module_param_named(cache_high, karena_param_cache_high, uint, 0644);
MODULE_PARM_DESC(cache_high,
		 "Per-CPU cache high watermark in pages; 0 disables caching (default 256)");

unsigned int karena_param_cache_batch = 32;
module_param_named(cache_batch, karena_param_cache_batch, uint, 0644);
MODULE_PARM_DESC(cache_batch,
		 "Pages per per-CPU cache refill and drain (default 32)");

bool karena_param_strict = true;
module_param_named(strict, karena_param_strict, bool, 0644);
MODULE_PARM_DESC(strict,
		 "New files start strict: access to Prepared raises SIGSEGV (default Y)");

bool karena_param_hugepage = true;
module_param_named(hugepage, karena_param_hugepage, bool, 0644);
MODULE_PARM_DESC(hugepage,
		 "Back 2 MiB-aligned Ready blocks with the HUGEPAGE hint by one huge page mapped by a PMD (6.1; default Y)");

DEFINE_PER_CPU(struct karena_counters, karena_counters);

long karena_counter_read(enum karena_counter c)
{
	long v = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		v += per_cpu(karena_counters.c[c], cpu);
	return v;
}

/* ------------------------------------------------------------------ */
/* File operations */

static int karena_open(struct inode *inode, struct file *file)
{
	struct karena_file *kf = karena_file_alloc();

	if (!kf)
		return -ENOMEM;
	file->private_data = kf;
	karena_count(KAR_C_FILES, 1);
	return 0;
}

static int karena_release(struct inode *inode, struct file *file)
{
	karena_file_free(file->private_data);
	karena_count(KAR_C_FILES, -1);
	return 0;
}

/* Copy in a struct of exactly the size the command encodes; check size. */
static int karena_copy_in(void *k, const void __user *u, size_t size)
{
	if (copy_from_user(k, u, size))
		return -EFAULT;
	if (*(u32 *)k != size)
		return -EINVAL;
	return 0;
}

static bool karena_zero(const u64 *v, size_t n)
{
	while (n--)
		if (v[n])
			return false;
	return true;
}

static long karena_ioc_info(struct file *file, void __user *arg)
{
	struct karena_file *kf = file->private_data;
	struct karena_info info;
	int ret = karena_copy_in(&info, arg, sizeof(info));

	if (ret)
		return ret;
	if (!karena_zero(info.reserved, ARRAY_SIZE(info.reserved)))
		return -EINVAL;
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.abi_version = KARENA_ABI_VERSION;
	info.page_size = PAGE_SIZE;
	info.vec_max = KARENA_VEC_MAX;
	info.features = KARENA_FEAT_VEC | KARENA_FEAT_QUERY |
			KARENA_FEAT_STATS | KARENA_FEAT_LIMITS |
			KARENA_FEAT_URING_CMD | KARENA_FEAT_LENIENT |
			KARENA_FEAT_FORK_COW | KARENA_FEAT_LAZY |
			KARENA_FEAT_HUGE_BACKED;
	mutex_lock(&kf->lock);
	info.max_reserved = kf->max_reserved;
	info.max_ready = kf->max_ready;
	mutex_unlock(&kf->lock);
	info.cache_pages = READ_ONCE(karena_param_cache_high);
	info.nr_cpus = num_possible_cpus();
	return copy_to_user(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long karena_ioc_transition(struct file *file, void __user *arg)
{
	struct karena_transition t;
	struct karena_krange r;
	u64 pages = 0;
	int ret = karena_copy_in(&t, arg, sizeof(t));

	if (ret)
		return ret;
	if (t.reserved0 || !karena_zero(t.reserved, ARRAY_SIZE(t.reserved)))
		return -EINVAL;
	ret = karena_range_from_user(&t.range, &r);
	if (ret)
		return ret;
	ret = karena_apply_range(file, current->mm, &r, &pages);
	if (ret)
		return ret;
	t.pages = pages;
	return put_user(t.pages, (u64 __user *)(arg +
			offsetof(struct karena_transition, pages))) ?
		-EFAULT : 0;
}

static long karena_ioc_vec(struct file *file, void __user *arg)
{
	struct karena_vec v;
	unsigned int done = 0;
	u64 pages = 0;
	int ret = karena_copy_in(&v, arg, sizeof(v));

	if (ret)
		return ret;
	if (v.range_size != sizeof(struct karena_range) || v.reserved0 ||
	    !karena_zero(v.reserved, ARRAY_SIZE(v.reserved)) ||
	    !v.count || v.count > KARENA_VEC_MAX)
		return -EINVAL;
	ret = karena_apply_vec(file, current->mm, v.ranges, v.count, &done,
			       &pages);
	v.done = done;
	v.pages = pages;
	v.error = ret;
	/* Progress is reported even when a range failed. */
	if (copy_to_user(arg, &v, sizeof(v)))
		return -EFAULT;
	return ret;
}

static long karena_ioc_query(struct file *file, void __user *arg)
{
	struct karena_query q;
	u64 end;
	int ret = karena_copy_in(&q, arg, sizeof(q));

	if (ret)
		return ret;
	if (q.reserved0 || !karena_zero(q.reserved, ARRAY_SIZE(q.reserved)))
		return -EINVAL;
	if (!q.len || !PAGE_ALIGNED(q.start) || !PAGE_ALIGNED(q.len) ||
	    check_add_overflow(q.start, q.len, &end) || end > TASK_SIZE)
		return -EINVAL;
	return karena_query(file, current->mm, q.start, q.len >> PAGE_SHIFT,
			    u64_to_user_ptr(q.vec));
}

static long karena_ioc_stats(struct file *file, void __user *arg)
{
	struct karena_stats st;
	int ret = karena_copy_in(&st, arg, sizeof(st));

	if (ret)
		return ret;
	if (st.reserved0)
		return -EINVAL;
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	karena_get_stats(file->private_data, current->mm, &st);
	return copy_to_user(arg, &st, sizeof(st)) ? -EFAULT : 0;
}

/* Does @l set a limit above its module default? */
static bool karena_limits_raise(const struct karena_limits *l, u64 res,
				u64 rdy)
{
	return ((l->flags & KARENA_LIMIT_SET_RESERVED) &&
		res > (READ_ONCE(karena_param_max_reserved) & PAGE_MASK)) ||
	       ((l->flags & KARENA_LIMIT_SET_READY) &&
		rdy > (READ_ONCE(karena_param_max_ready) & PAGE_MASK));
}

/*
 * A descriptor carries its opener's rights, as for any file: whoever
 * holds it may read the limits and set them up to the module defaults;
 * above them, the opener needed CAP_SYS_RESOURCE (checked only then, in
 * the credentials the file was opened with, not the caller's).
 */
static long karena_ioc_limits(struct file *file, void __user *arg)
{
	struct karena_file *kf = file->private_data;
	struct karena_limits l;
	u64 res, rdy;
	int ret = karena_copy_in(&l, arg, sizeof(l));

	if (ret)
		return ret;
	if ((l.flags & ~(KARENA_LIMIT_SET_RESERVED | KARENA_LIMIT_SET_READY)) ||
	    !karena_zero(l.reserved, ARRAY_SIZE(l.reserved)))
		return -EINVAL;
	res = l.max_reserved & PAGE_MASK;
	rdy = l.max_ready & PAGE_MASK;
	if (karena_limits_raise(&l, res, rdy) &&
	    !file_ns_capable(file, &init_user_ns, CAP_SYS_RESOURCE))
		return -EPERM;
	mutex_lock(&kf->lock);
	if (l.flags & KARENA_LIMIT_SET_RESERVED)
		kf->max_reserved = res;
	if (l.flags & KARENA_LIMIT_SET_READY)
		kf->max_ready = rdy;
	l.max_reserved = kf->max_reserved;
	l.max_ready = kf->max_ready;
	mutex_unlock(&kf->lock);
	return copy_to_user(arg, &l, sizeof(l)) ? -EFAULT : 0;
}

static long karena_ioc_config(struct file *file, void __user *arg)
{
	struct karena_file *kf = file->private_data;
	struct karena_config c;
	int ret = karena_copy_in(&c, arg, sizeof(c));

	if (ret)
		return ret;
	if ((c.flags & ~KARENA_CFG_ALL) ||
	    !karena_zero(c.reserved, ARRAY_SIZE(c.reserved)))
		return -EINVAL;
	mutex_lock(&kf->lock);
	swap(kf->cfg, c.flags);
	mutex_unlock(&kf->lock);
	return copy_to_user(arg, &c, sizeof(c)) ? -EFAULT : 0;
}

static long karena_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case KARENA_IOC_INFO:
		return karena_ioc_info(file, uarg);
	case KARENA_IOC_TRANSITION:
		return karena_ioc_transition(file, uarg);
	case KARENA_IOC_VEC:
		return karena_ioc_vec(file, uarg);
	case KARENA_IOC_QUERY:
		return karena_ioc_query(file, uarg);
	case KARENA_IOC_STATS:
		return karena_ioc_stats(file, uarg);
	case KARENA_IOC_LIMITS:
		return karena_ioc_limits(file, uarg);
	case KARENA_IOC_CONFIG:
		return karena_ioc_config(file, uarg);
	default:
		return -ENOTTY;
	}
}

/* .uring_cmd (uring.c) calls karena_apply_range() / karena_apply_vec() too. */
const struct file_operations karena_fops = {
	.owner = THIS_MODULE,
	.open = karena_open,
	.release = karena_release,
	.mmap = karena_mmap,
	/* Mappings of 2 MiB or more start 2 MiB aligned (huge.c). */
	.get_unmapped_area = thp_get_unmapped_area,
	.unlocked_ioctl = karena_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.uring_cmd = karena_uring_cmd,
	.llseek = noop_llseek,
};

static struct miscdevice karena_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "karena",
	.fops = &karena_fops,
	.mode = 0660,
};

/* ------------------------------------------------------------------ */
/* sysfs: /sys/kernel/karena/ */

static struct kobject *karena_kobj;
static struct dentry *karena_debugfs;

#define KAR_ATTR_CACHE	(-1)	/* per-CPU cache pages, clean and dirty */
#define KAR_ATTR_DIRTY	(-2)	/* of which dirty (not zeroed yet) */
#define KAR_ATTR_HELD	(-3)	/* pages held by stores (bounds.c) */

struct karena_attr {
	struct kobj_attribute attr;
	int counter;
};

static ssize_t karena_attr_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	struct karena_attr *ka = container_of(attr, struct karena_attr, attr);
	long v;

	if (ka->counter == KAR_ATTR_HELD)
		v = karena_held_pages();
	else if (ka->counter < 0)
		v = karena_cache_pages(ka->counter == KAR_ATTR_DIRTY);
	else
		v = karena_counter_read(ka->counter);
	return sysfs_emit(buf, "%ld\n", v);
}

#define KAR_ATTR(_name, _counter)					\
	static struct karena_attr karena_attr_##_name = {		\
		.attr = __ATTR(_name, 0444, karena_attr_show, NULL),	\
		.counter = (_counter),					\
	}

KAR_ATTR(files, KAR_C_FILES);
KAR_ATTR(spaces, KAR_C_SPACES);
KAR_ATTR(mappings, KAR_C_MAPPINGS);
KAR_ATTR(pages_allocated, KAR_ATTR_HELD);
KAR_ATTR(cache_pages, KAR_ATTR_CACHE);
KAR_ATTR(cache_dirty, KAR_ATTR_DIRTY);
KAR_ATTR(faults, KAR_C_FAULTS);
KAR_ATTR(faults_cache_hit, KAR_C_FAULTS_HIT);
KAR_ATTR(faults_cache_miss, KAR_C_FAULTS_MISS);
KAR_ATTR(faults_sigsegv, KAR_C_FAULTS_SIGSEGV);
KAR_ATTR(faults_zero, KAR_C_FAULTS_ZERO);
KAR_ATTR(cow_copies, KAR_C_COW_COPIES);
KAR_ATTR(cow_shared, KAR_C_COW_SHARED);
KAR_ATTR(transitions, KAR_C_TRANSITIONS);
KAR_ATTR(transition_errors, KAR_C_TRANSITION_ERRORS);
KAR_ATTR(shrinker_freed, KAR_C_SHRINK_FREED);
KAR_ATTR(held_refused, KAR_C_HELD_REFUSED);
KAR_ATTR(lazy_pages, KAR_C_LAZY);
KAR_ATTR(lazy_reclaimed, KAR_C_LAZY_RECLAIMED);
KAR_ATTR(faults_huge, KAR_C_FAULTS_HUGE);
KAR_ATTR(huge_fallbacks, KAR_C_HUGE_FALLBACKS);
KAR_ATTR(huge_splits, KAR_C_HUGE_SPLITS);
KAR_ATTR(huge_split_fails, KAR_C_HUGE_SPLIT_FAILS);

static struct attribute *karena_attrs[] = {
	&karena_attr_files.attr.attr,
	&karena_attr_spaces.attr.attr,
	&karena_attr_mappings.attr.attr,
	&karena_attr_pages_allocated.attr.attr,
	&karena_attr_cache_pages.attr.attr,
	&karena_attr_cache_dirty.attr.attr,
	&karena_attr_faults.attr.attr,
	&karena_attr_faults_cache_hit.attr.attr,
	&karena_attr_faults_cache_miss.attr.attr,
	&karena_attr_faults_sigsegv.attr.attr,
	&karena_attr_faults_zero.attr.attr,
	&karena_attr_cow_copies.attr.attr,
	&karena_attr_cow_shared.attr.attr,
	&karena_attr_transitions.attr.attr,
	&karena_attr_transition_errors.attr.attr,
	&karena_attr_shrinker_freed.attr.attr,
	&karena_attr_held_refused.attr.attr,
	&karena_attr_lazy_pages.attr.attr,
	&karena_attr_lazy_reclaimed.attr.attr,
	&karena_attr_faults_huge.attr.attr,
	&karena_attr_huge_fallbacks.attr.attr,
	&karena_attr_huge_splits.attr.attr,
	&karena_attr_huge_split_fails.attr.attr,
	NULL,
};

static const struct attribute_group karena_attr_group = {
	.attrs = karena_attrs,
};

DEFINE_SHOW_ATTRIBUTE(karena_debugfs_cpus);
DEFINE_SHOW_ATTRIBUTE(karena_debugfs_users);

/* ------------------------------------------------------------------ */

static int __init karena_init(void)
{
	int ret;

	if (!karena_param_max_ready)
		karena_param_max_ready = totalram_pages() << PAGE_SHIFT;
	ret = karena_bounds_init();
	if (ret)
		return ret;
	ret = karena_cache_init();
	if (ret)
		goto err_bounds;
	karena_kobj = kobject_create_and_add("karena", kernel_kobj);
	if (!karena_kobj) {
		ret = -ENOMEM;
		goto err_cache;
	}
	ret = sysfs_create_group(karena_kobj, &karena_attr_group);
	if (ret)
		goto err_kobj;
	karena_debugfs = debugfs_create_dir("karena", NULL);
	debugfs_create_file("cpus", 0444, karena_debugfs, NULL,
			    &karena_debugfs_cpus_fops);
	debugfs_create_file("users", 0400, karena_debugfs, NULL,
			    &karena_debugfs_users_fops);
	ret = misc_register(&karena_misc);
	if (ret)
		goto err_debugfs;
	pr_info("ready: /dev/karena, abi %d\n", KARENA_ABI_VERSION);
	return 0;

err_debugfs:
	debugfs_remove_recursive(karena_debugfs);
err_kobj:
	kobject_put(karena_kobj);
err_cache:
	karena_cache_exit();
err_bounds:
	karena_bounds_exit();
	return ret;
}

static void __exit karena_exit(void)
{
	long left;

	/* The module reference of open files kept us here until now. */
	misc_deregister(&karena_misc);
	debugfs_remove_recursive(karena_debugfs);
	kobject_put(karena_kobj);
	karena_cache_exit();
	karena_rss_exit();
	left = karena_held_pages();
	if (left)
		pr_err("%ld pages still accounted at unload\n", left);
	karena_bounds_exit();
}

module_init(karena_init);
module_exit(karena_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("karena authors");
MODULE_DESCRIPTION("karena: Go-style arena address space with per-CPU page caches");
MODULE_VERSION(KARENA_VERSION);
