# SPDX-License-Identifier: GPL-2.0
# karena top-level build. Each directory owns its own Makefile; this one
# only wires them together. See README.md for the user-facing targets.

TOP	:= $(CURDIR)
# make dkms-install KVER=...: only a kernel the user names (else uname -r)
DKMS_KVER := $(if $(filter command line environment,$(origin KVER)),$(KVER))
# The module builds for the running kernel when its headers are installed,
# else for Debian 12's kernel (scripts/kver.sh: the ABI linux-headers-amd64
# depends on, the one the guest boots).  make check passes KDIR explicitly.
RUNNING_KDIR := /lib/modules/$(shell uname -r)/build
ifeq ($(origin KDIR),undefined)
ifneq ($(wildcard $(RUNNING_KDIR)/Makefile),)
KDIR	:= $(RUNNING_KDIR)
else
KVER	?= $(shell $(TOP)/scripts/kver.sh 2>/dev/null)
KDIR	:= /usr/src/linux-headers-$(KVER)
endif
endif
KVER	?= $(shell $(TOP)/scripts/kver.sh 2>/dev/null)
PREFIX	?= /usr/local
DESTDIR	?=
KSFT_INCLUDE := $(TOP)/build/ksrc/include
SUITES	:= $(patsubst %/Makefile,%,$(wildcard selftests/*/Makefile))

export TOP KVER KDIR PREFIX DESTDIR KSFT_INCLUDE

.PHONY: all lib tools module modules_install module-compat dkms-install dkms-uninstall \
	selftests ksrc check check-native check-guest check-debug fuzz checkpatch demo bench \
	bench-vm install install-man uninstall clean

all: lib tools

lib:
	$(MAKE) -C lib

tools: lib
	$(MAKE) -C tools

module:
	@test -d "$(KDIR)" || { echo "make module: no kernel headers at KDIR=$(KDIR)" >&2; exit 1; }
	@echo "make module: building against KDIR=$(KDIR)"
	$(MAKE) -C $(KDIR) M=$(TOP)/kmod modules

# Kbuild's install: /lib/modules/<kernel>/updates/karena.ko and depmod
# (INSTALL_MOD_PATH=DIR installs under DIR instead); signed only when the
# kernel tree has its signing key (distribution kernels: use dkms-install).
modules_install: module
	$(MAKE) -C $(KDIR) M=$(TOP)/kmod INSTALL_MOD_DIR=updates modules_install \
		$(if $(wildcard $(KDIR)/certs/signing_key.pem),,CONFIG_MODULE_SIG_ALL=)

# The module under DKMS, rebuilt for every new kernel (scripts/dkms.sh;
# KVER=... for another kernel, DKMS_ROOT=DIR for private trees).
dkms-install:
	@KVER="$(DKMS_KVER)" scripts/dkms.sh install

dkms-uninstall:
	@scripts/dkms.sh uninstall

# kmod/ against the newest kernel headers in bookworm-backports (compile
# only; see scripts/kcompat.sh).
module-compat:
	@scripts/kcompat.sh

ksrc:
	@scripts/ksrc.sh

selftests: lib ksrc
	@set -e; for d in $(SUITES); do $(MAKE) -C $$d; done

# The one test command: installs what is missing, builds, runs every suite
# natively and in the guest, ends with "N passed, N failed, N skipped".
check:
	@scripts/check.sh

check-native:
	@scripts/check.sh --native-only

check-guest:
	@scripts/check.sh --guest-only

# Every guest suite but tools and a 1,000,000-operation fuzz run on a
# debug kernel (KASAN, lockdep, DEBUG_VM, kmemleak; scripts/vm/
# debug-kernel.sh builds it once into build/debug-kernel/). Long: not
# part of check.
check-debug:
	@scripts/check.sh --debug

# The fuzzer alone in the guest, KARENA_FUZZ_OPS operations (1,000,000).
fuzz:
	@scripts/fuzz.sh

checkpatch: ksrc
	@scripts/checkpatch.sh

demo:
	@scripts/demo.sh

bench: lib
	$(MAKE) -C bench

# The guest needs the module and the tools (karena-faults, karena-trace).
bench-vm:
	@scripts/deps.sh
	$(MAKE) all module
	$(MAKE) -C bench vm

install: all
	$(MAKE) -C lib install
	$(MAKE) -C tools install
	$(MAKE) install-man

# the device's man page (the library's and the tools' come with theirs)
install-man:
	install -D -m 644 man/karena.4 $(DESTDIR)$(PREFIX)/share/man/man4/karena.4

uninstall:
	$(MAKE) -C lib uninstall
	$(MAKE) -C tools uninstall
	rm -f $(DESTDIR)$(PREFIX)/share/man/man4/karena.4

clean:
	-$(MAKE) -C lib clean
	-$(MAKE) -C tools clean
	-$(MAKE) -C bench clean
	-@for d in $(SUITES); do $(MAKE) -C $$d clean; done
	-@test -d "$(KDIR)" && $(MAKE) -C $(KDIR) M=$(TOP)/kmod clean
	rm -rf build/guest build/check
