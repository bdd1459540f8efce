# karena top-level build. Each directory owns its own Makefile; this one
# only wires them together. See README.md for the user-facing targets.

TOP	:= $(CURDIR)
KVER	?= $(shell $(TOP)/scripts/kver.sh 2>/dev/null)
KDIR	?= /usr/src/linux-headers-$(KVER)
PREFIX	?= /usr/local
DESTDIR	?=
KSFT_INCLUDE := $(TOP)/build/ksrc/include
SUITES	:= $(patsubst %/Makefile,%,$(wildcard selftests/*/Makefile))

export TOP KVER KDIR PREFIX DESTDIR KSFT_INCLUDE

.PHONY: all lib tools module module-compat selftests ksrc check check-native check-guest \
	fuzz checkpatch demo bench bench-vm install install-man uninstall clean

all: lib tools

lib:
	$(MAKE) -C lib

tools: lib
	$(MAKE) -C tools

module:
	@test -d "$(KDIR)" || { echo "make module: no kernel headers at KDIR=$(KDIR)" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(TOP) modules

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
	-@test -d "$(KDIR)" && $(MAKE) -C $(KDIR) M=$(TOP) clean
	rm -rf build/guest build/check
