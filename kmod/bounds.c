// SPDX-License-Identifier: GPL-2.0
/*
 * karena: bounds on what the device lets its users hold.
 *
 * Device pages are not on the LRU: reclaim and swap never touch them and
 * the OOM killer can only get them back by killing their holder.  Memory
 * cgroups bound them where they are configured (pages are charged like
 * anonymous memory), but not in the root cgroup, in a cgroup without
 * memory.max or with cgroup.memory=nokmem.  So the module bounds them
 * itself:
 *
 *   max_held           pages held by all stores together (default: half
 *                      of RAM, as tmpfs sizes itself)
 *   user_max_held      pages held by the stores of one user's files
 *                      (default: a quarter of RAM)
 *   user_max_reserved  bytes mapped by one user's files, None pages
 *                      included: the per-page bookkeeping (default: 16
 *                      times RAM)
 *
 * A file belongs to the user who opened it (its euid then): a descriptor
 * passed to another process keeps charging its opener.  A page is charged
 * when a store gets it (fault, copy after fork, POPULATE) and uncharged
 * when the last store lets it go.  Over a bound, an ioctl fails with
 * ENOMEM and a fault raises SIGBUS, as a tmpfs mapping does when its
 * filesystem is full: VM_FAULT_OOM outside a memcg would only make the
 * core retry the fault forever.  The counters are percpu_counters: a
 * fault adds to a per-CPU delta and only a charge near a bound sums them
 * (so a bound can be overshot by the charges in flight, a few pages per
 * CPU).
 *
 * The bounds are module parameters, and so are the per-file defaults
 * (max_reserved, max_ready): lowering them is for root, raising them also
 * needs CAP_SYS_RESOURCE.  A value of 0 given at load selects the
 * default.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cpu.h>
#include <linux/hashtable.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu_counter.h>
#include <linux/refcount.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "karena_priv.h"

/* Raising a bound needs CAP_SYS_RESOURCE, on top of write access. */
static int karena_bound_set(const char *val, const struct kernel_param *kp)
{
	unsigned long *bound = kp->arg, v;
	int ret = kstrtoul(val, 0, &v);

	if (ret)
		return ret;
	if (v > READ_ONCE(*bound) && !capable(CAP_SYS_RESOURCE))
		return -EPERM;
	WRITE_ONCE(*bound, v);
	return 0;
}

const struct kernel_param_ops karena_bound_ops = {
	.set = karena_bound_set,
	.get = param_get_ulong,
};

unsigned long karena_param_max_held;
module_param_cb(max_held, &karena_bound_ops, &karena_param_max_held, 0644);
MODULE_PARM_DESC(max_held,
		 "Bytes of pages all stores may hold (0 at load: half of RAM)");

unsigned long karena_param_user_max_held;
module_param_cb(user_max_held, &karena_bound_ops,
		&karena_param_user_max_held, 0644);
MODULE_PARM_DESC(user_max_held,
		 "Bytes of pages the files of one user may hold (0 at load: a quarter of RAM)");

unsigned long karena_param_user_max_reserved;
module_param_cb(user_max_reserved, &karena_bound_ops,
		&karena_param_user_max_reserved, 0644);
MODULE_PARM_DESC(user_max_reserved,
		 "Bytes the files of one user may map (0 at load: 16 times RAM)");

static struct percpu_counter karena_held;

#define KARENA_USER_BITS	6
static DEFINE_HASHTABLE(karena_users, KARENA_USER_BITS);
static DEFINE_MUTEX(karena_users_lock);

/* The user of @uid with a new reference, created if needed; or NULL. */
struct karena_user *karena_user_get(kuid_t uid)
{
	struct karena_user *u;

	mutex_lock(&karena_users_lock);
	hash_for_each_possible(karena_users, u, node, __kuid_val(uid)) {
		if (uid_eq(u->uid, uid)) {
			refcount_inc(&u->ref);
			goto out;
		}
	}
	u = kzalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);
	if (!u)
		goto out;
	if (percpu_counter_init(&u->held, 0, GFP_KERNEL_ACCOUNT)) {
		kfree(u);
		u = NULL;
		goto out;
	}
	u->uid = uid;
	refcount_set(&u->ref, 1);
	hash_add(karena_users, &u->node, __kuid_val(uid));
out:
	mutex_unlock(&karena_users_lock);
	return u;
}

/*
 * The count of @c, not missing a CPU that is going offline.  6.1's
 * percpu_counter_sum() adds the online CPUs' counts only, and a CPU going
 * down leaves cpu_online_mask (take_cpu_down(), CPUHP_TEARDOWN_CPU) well
 * before CPUHP_PERCPU_CNT_DEAD folds its count into the total: a sum in
 * between misses that CPU's count (up to the batch size either way).  CPU
 * hotplug runs all its steps under cpus_write_lock(), so with the read
 * side held every offline CPU's count has been folded in.
 */
static s64 karena_counter_final(struct percpu_counter *c)
{
	s64 sum;

	cpus_read_lock();
	sum = percpu_counter_sum(c);
	cpus_read_unlock();
	return sum;
}

void karena_user_put(struct karena_user *u)
{
	if (!refcount_dec_and_mutex_lock(&u->ref, &karena_users_lock))
		return;
	hash_del(&u->node);
	mutex_unlock(&karena_users_lock);
	/* Every page and mapping of the user's files is gone by now. */
	WARN_ON_ONCE(karena_counter_final(&u->held) ||
		     atomic_long_read(&u->reserved));
	percpu_counter_destroy(&u->held);
	kfree(u);
}

static bool karena_over(struct percpu_counter *c, unsigned long bound,
			unsigned long n)
{
	unsigned long pages = bound >> PAGE_SHIFT;

	return n > pages || percpu_counter_compare(c, pages - n) > 0;
}

/* Charge @n pages that a store of @kf gets: 0, or -ENOMEM over a bound. */
int karena_held_charge(struct karena_file *kf, unsigned long n)
{
	if (karena_over(&karena_held, READ_ONCE(karena_param_max_held), n) ||
	    karena_over(&kf->user->held,
			READ_ONCE(karena_param_user_max_held), n)) {
		karena_count(KAR_C_HELD_REFUSED, 1);
		return -ENOMEM;
	}
	percpu_counter_add(&karena_held, n);
	percpu_counter_add(&kf->user->held, n);
	return 0;
}

void karena_held_uncharge(struct karena_file *kf, unsigned long n)
{
	percpu_counter_sub(&karena_held, n);
	percpu_counter_sub(&kf->user->held, n);
}

/* Pages held by all stores (sysfs pages_allocated, the check at unload). */
long karena_held_pages(void)
{
	return karena_counter_final(&karena_held);
}

/*
 * Account @n more (or, negative, fewer) mapped pages of @kf; kf->lock
 * held.  @check: refuse with -ENOMEM what would pass the file's or the
 * user's bound (mmap); VMA splits and fork cannot fail and do not check.
 */
int karena_reserved_add(struct karena_file *kf, long n, bool check)
{
	struct karena_user *u = kf->user;

	lockdep_assert_held(&kf->lock);
	if (check && n > 0 &&
	    (kf->reserved_pages + n > kf->max_reserved >> PAGE_SHIFT ||
	     atomic_long_read(&u->reserved) + n >
	     READ_ONCE(karena_param_user_max_reserved) >> PAGE_SHIFT))
		return -ENOMEM;
	kf->reserved_pages += n;
	atomic_long_add(n, &u->reserved);
	return 0;
}

/* debugfs users: "uid held_pages reserved_pages", one line per user. */
int karena_debugfs_users_show(struct seq_file *m, void *v)
{
	struct karena_user *u;
	int bkt;

	seq_puts(m, "uid held reserved\n");
	mutex_lock(&karena_users_lock);
	hash_for_each(karena_users, bkt, u, node)
		seq_printf(m, "%u %lld %ld\n",
			   from_kuid(&init_user_ns, u->uid),
			   percpu_counter_sum(&u->held),
			   atomic_long_read(&u->reserved));
	mutex_unlock(&karena_users_lock);
	return 0;
}

static void karena_bound_default(unsigned long *bound, unsigned long v)
{
	if (!*bound)
		*bound = v;
}

int karena_bounds_init(void)
{
	unsigned long ram = totalram_pages() << PAGE_SHIFT;

	karena_bound_default(&karena_param_max_held, ram / 2);
	karena_bound_default(&karena_param_user_max_held, ram / 4);
	karena_bound_default(&karena_param_user_max_reserved, ram * 16);
	return percpu_counter_init(&karena_held, 0, GFP_KERNEL);
}

void karena_bounds_exit(void)
{
	percpu_counter_destroy(&karena_held);
}
