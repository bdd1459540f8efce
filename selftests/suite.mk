# SPDX-License-Identifier: GPL-2.0
# selftests/suite.mk: the build every suite's Makefile shares (as the
# kernel's selftests share lib.mk).  A suite sets, then includes this:
#   PROGS      programs, each built from PROG.c by the rule below
#   EXTRA_<P>  more files program P is built from (its .c files are
#              compiled with P.c; headers are only prerequisites)
#   PROG_DEPS  what every program depends on besides PROG.c (headers)
#   LDLIBS     libraries to link
#   CFLAGS     extra flags (between SUITE_CFLAGS and SUITE_INCLUDES below)
#   CLEAN      further files `make clean` removes
# and may give a program a rule of its own after the include (several
# sources, another library).  $(LIBKARENA_SO) and $(LIBKARENA_A) as a
# prerequisite build the library first.
#
# Headers: kmod/uapi (karena.h), selftests/common ($(COMMON_HDRS): the
# ioctl and io_uring command wrappers the suites and bench/kbench.c share)
# and the kselftest harness from the kernel source (scripts/ksrc.sh
# unpacks it), included with -isystem: the 6.1 harness is not -Wextra
# clean.
SUITE_DIR	:= $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
TOP		?= $(abspath $(SUITE_DIR)/..)
KSFT_INCLUDE	?= $(TOP)/build/ksrc/include
LIBDIR		:= $(abspath $(TOP)/lib)
LIBKARENA_SO	:= $(LIBDIR)/libkarena.so
LIBKARENA_A	:= $(LIBDIR)/libkarena.a
HARNESS		:= $(KSFT_INCLUDE)/kselftest_harness.h
UAPI		:= $(TOP)/kmod/uapi/karena.h
COMMON_HDRS	:= $(SUITE_DIR)/common/karena_ioctl.h $(SUITE_DIR)/common/karena_uring.h
SUITE_CFLAGS	:= -std=gnu11 -O2 -g -Wall -Wextra -Werror
# after the suite's CFLAGS: a suite's own -I (lib/include's karena.h) wins
SUITE_INCLUDES	:= -isystem $(KSFT_INCLUDE) -I$(TOP)/kmod/uapi -I$(SUITE_DIR)/common

all: $(PROGS)

.SECONDEXPANSION:
$(PROGS): %: %.c $$(EXTRA_$$@) $(PROG_DEPS)
	$(CC) $(SUITE_CFLAGS) $(CFLAGS) $(SUITE_INCLUDES) -o $@ $< $(filter %.c,$(EXTRA_$@)) $(LDLIBS)

$(HARNESS):
	$(TOP)/scripts/ksrc.sh

$(LIBKARENA_SO): FORCE
	$(MAKE) -C $(LIBDIR) libkarena.so

$(LIBKARENA_A): FORCE
	$(MAKE) -C $(LIBDIR) libkarena.a

clean:
	rm -f $(PROGS) $(CLEAN)

FORCE:
.PHONY: all clean FORCE
