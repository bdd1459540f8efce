#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by run_native.sh: the module as users install it.
#   - make module picks the running kernel's headers when they exist,
#     else Debian 12's (scripts/kver.sh);
#   - make modules_install INSTALL_MOD_PATH= puts karena.ko in updates/;
#   - the top-level Kbuild builds kmod/karena.ko with M=<repo root>;
#   - make dkms-install / dkms-uninstall, in private DKMS trees
#     (DKMS_ROOT) for the 6.1 headers: sources from a clean file list,
#     module built, signed with DKMS's MOK key and installed, udev rule and
#     modules-load.d entry, then nothing left;
#   - dkms.conf: no deprecated key, none that repeats a DKMS default,
#     BUILD_EXCLUSIVE_KERNEL refuses kernels outside 6.1..6.12 (exit 77)
#     and builds for bookworm-backports' 6.12 when make check unpacked it.
abi=$("$TOP/scripts/kver.sh")
hdr61=/usr/src/linux-headers-$abi
mt=$(mktemp -d /tmp/karena-module.XXXXXX)

# make module's default KDIR: simulate both cases through RUNNING_KDIR.
kdir_of() { env -u KDIR -u KVER make -s -n -C "$TOP" module "$@" 2>/dev/null |
	sed -n 's|.*make -C \([^ ]*\) M=.*/kmod modules$|\1|p'; }
running=/lib/modules/$(uname -r)/build
want=$hdr61
[ -f "$running/Makefile" ] && want=$running
got=$(kdir_of)
[ "$got" = "$want" ]
ok $? "module: make module builds against the running kernel's headers when present, else $hdr61" "KDIR '$got', expected '$want'"
mkdir -p "$mt/running" && touch "$mt/running/Makefile"
got=$(kdir_of RUNNING_KDIR="$mt/running")
[ "$got" = "$mt/running" ]
ok $? "module: make module takes the running kernel's headers when they exist (RUNNING_KDIR=DIR)" "KDIR '$got'"

make -C "$TOP" modules_install KDIR="$hdr61" INSTALL_MOD_PATH="$mt/mi" >"$mt/mi.log" 2>&1
rc=$?
ko=$mt/mi/lib/modules/$abi/updates/karena.ko
[ $rc = 0 ] && [ "$(/sbin/modinfo -F version "$ko" 2>/dev/null)" = "$v" ] && ! grep -qi 'error' "$mt/mi.log"
ok $? "module: make modules_install INSTALL_MOD_PATH= installs updates/karena.ko for $abi" \
	"exit $rc: $(grep -i error "$mt/mi.log" | head -n 2)"

# The repository root as an external module tree (top-level Kbuild), built
# from a copy of its sources so the checkout's own objects stay as they are.
kb=$mt/kbuild-root
mkdir -p "$kb" && cp "$TOP/Kbuild" "$TOP/VERSION" "$kb/" &&
	(cd "$TOP" && find kmod -name "*.[ch]" -o -name Kbuild | xargs cp --parents -t "$kb")
make -C "$hdr61" M="$kb" modules >"$mt/kb.log" 2>&1
rc=$?
[ $rc = 0 ] && [ "$(/sbin/modinfo -F version "$kb/kmod/karena.ko" 2>/dev/null)" = "$v" ]
ok $? "module: make -C <headers> M=<repo root> builds kmod/karena.ko through the top-level Kbuild" \
	"exit $rc: $(grep -i error "$mt/kb.log" | head -n 2)"

# ---- DKMS, private trees ----
if ! command -v dkms >/dev/null; then
	ok 1 "dkms: installed (scripts/deps.sh)" "no dkms command"
else
	root=$mt/dkms
	make -C "$TOP" dkms-install DKMS_ROOT="$root" KVER="$abi" >"$mt/dkms.log" 2>&1
	rc=$?
	ko=$root/lib/modules/$abi/updates/dkms/karena.ko
	[ $rc = 0 ] && [ -f "$ko" ] && [ "$(/sbin/modinfo -F version "$ko")" = "$v" ] &&
		/sbin/modinfo -F vermagic "$ko" | grep -q "^$abi "
	ok $? "dkms: make dkms-install builds and installs karena.ko $v for $abi (running kernel $(uname -r))" \
		"exit $rc: $(grep -i 'error' "$mt/dkms.log" | head -n 3)"
	signer=$(/sbin/modinfo -F signer "$ko" 2>/dev/null)
	[ -n "$signer" ] && [ -f "$root/var/lib/dkms/mok.pub" ]
	ok $? "dkms: the module is signed with DKMS's MOK key (the key mokutil --import enrolls)" "signer '$signer'"
	[ "$(cat "$root/etc/modules-load.d/karena.conf" 2>/dev/null)" = karena ] &&
		cmp -s "$root/etc/udev/rules.d/60-karena.rules" "$TOP/kmod/60-karena.rules"
	ok $? "dkms: the udev rule and /etc/modules-load.d/karena.conf are installed with it"
	srcd=$root/usr/src/karena-$v
	extra=$(cd "$srcd" 2>/dev/null && find . -type f \( -name '*.o' -o -name '*.ko' -o -name '*.mod*' \
		-o -name '*.cmd' -o -name 'modules.order' -o -name 'Module.symvers' \) | head -n 3)
	[ -f "$srcd/dkms.conf" ] && [ -f "$srcd/Kbuild" ] && [ -z "$extra" ]
	ok $? "dkms: /usr/src/karena-$v holds sources only (a clean file list, not a built tree)" "found '$extra'"
	keys=$(grep -E '^[A-Z_]+(\[[0-9]+\])?=' "$srcd/dkms.conf" | sed -E 's/(\[|=).*//' | sort | tr '\n' ' ')
	[ -f "$srcd/dkms.conf" ] && ! grep -qi deprecat "$mt/dkms.log" && ! grep -qE '^(MAKE|CLEAN|BUILT_MODULE_NAME|REMAKE_INITRD|MODULES_CONF)' "$srcd/dkms.conf"
	ok $? "dkms: dkms.conf has no deprecated key and none that repeats a DKMS default (keys: $keys)"
	D=(--sourcetree "$root/usr/src" --dkmstree "$root/var/lib/dkms" --installtree "$root/lib/modules")
	for k in 5.10.0-30-amd64 6.13.0-1-amd64; do
		mok_signing_key=$root/var/lib/dkms/mok.key mok_certificate=$root/var/lib/dkms/mok.pub \
			dkms build karena/"$v" -k "$k" --kernelsourcedir "$hdr61" "${D[@]}" >"$mt/excl.log" 2>&1
		rc=$?
		[ $rc = 77 ] && grep -q BUILD_EXCLUSIVE "$mt/excl.log"
		ok $? "dkms: BUILD_EXCLUSIVE_KERNEL refuses $k (exit 77)" "exit $rc"
	done
	kabi=$(cat "$TOP/build/kcompat/abi" 2>/dev/null)
	khdr=$TOP/build/kcompat/root/usr/src/linux-headers-$kabi
	if [ -n "$kabi" ] && [ -d "$khdr" ]; then
		mok_signing_key=$root/var/lib/dkms/mok.key mok_certificate=$root/var/lib/dkms/mok.pub \
			dkms build karena/"$v" -k "$kabi" --kernelsourcedir "$khdr" "${D[@]}" >"$mt/k12.log" 2>&1
		rc=$?
		[ $rc = 0 ] && [ -f "$root/var/lib/dkms/karena/$v/$kabi/x86_64/module/karena.ko" ]
		ok $? "dkms: dkms build for bookworm-backports' $kabi" "exit $rc: $(tail -n 3 "$mt/k12.log")"
	fi
	make -C "$TOP" dkms-uninstall DKMS_ROOT="$root" >"$mt/un.log" 2>&1
	rc=$?
	left=$(cd "$root" && find . -path ./var/lib/dkms/mok.key -prune -o -path ./var/lib/dkms/mok.pub -prune \
		-o -type f -print | head -n 3)
	[ $rc = 0 ] && [ -z "$left" ] && [ -z "$(dkms status "${D[@]}" karena 2>/dev/null)" ]
	ok $? "dkms: make dkms-uninstall leaves no karena in DKMS, no module, sources, udev rule or modules-load.d entry" \
		"exit $rc, left: $left"
fi
rm -rf "$mt"
