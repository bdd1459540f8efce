// SPDX-License-Identifier: MIT
/*
 * os_dev.c - HOOK for the /dev/karena OS backend (implemented by another
 * issue).  Contract for the implementation:
 *
 *   os_dev_probe()  open(KARENA_DEVICE, O_RDWR|O_CLOEXEC), KARENA_IOC_INFO
 *                   (check abi_version and page_size divides 8 KiB), and
 *                   return a static struct os_backend; NULL + errno when
 *                   the device is absent or unusable.  Must not allocate
 *                   (it runs inside malloc's first call).
 *   reserve         mmap(MAP_SHARED) of the device fd: pages start Reserved
 *   alloc           plain anonymous mmap (metadata need not live in the
 *                   device), or mmap + KARENA_OP_ALLOC
 *   map/used/unused/fault/hugepage/nohugepage
 *                   KARENA_IOC_TRANSITION with KARENA_OP_*
 *   free            munmap
 *   batch           one KARENA_IOC_VEC call per KARENA_VEC_MAX ranges
 *                   (or an io_uring submission of uring_cmds)
 *
 * Until then the probe reports ENODEV and os.c falls back to os_mmap.c.
 */
#include <errno.h>
#include <stddef.h>
#include "os.h"

const struct os_backend *os_dev_probe(void)
{
	errno = ENODEV;
	return NULL;
}
