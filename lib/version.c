// SPDX-License-Identifier: MIT
/*
 * version.c: karena_version(), the library's version at run time, to
 * compare with the KARENA_VERSION_NUMBER a program was compiled against
 * (include/karena_version.h, generated from the top-level VERSION file).
 */
#include "internal.h"

KARENA_EXPORT unsigned int karena_version(void)
{
	return KARENA_VERSION_NUMBER;
}
