#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Attach BPF programs that plain bpftool has pinned, and pin their links.

bpftool v7.1 (Debian 12) can load and pin tracing programs
(`bpftool prog loadall OBJ DIR`) but cannot attach them: `autoattach`
arrived in bpftool 7.2 and `bpftool prog attach` only knows socket and
flow-dissector attach types.  This helper does the missing step with the
raw bpf(2) and perf_event_open(2) syscalls and pins each link, so the
programs stay attached after it exits, exactly like autoattach:

  raw_tp/NAME            BPF_RAW_TRACEPOINT_OPEN            (raw tracepoint link)
  tp/CAT/NAME            perf tracepoint event + BPF_LINK_CREATE(BPF_PERF_EVENT)
  kprobe/FN, kretprobe/FN  perf kprobe PMU event + BPF_LINK_CREATE(BPF_PERF_EVENT)

Usage: karena-bpf-attach.py OBJ PROGDIR LINKDIR
  OBJ      the .bpf.o the programs were loaded from (for their section names)
  PROGDIR  directory of pinned programs (bpftool prog loadall ... PROGDIR)
  LINKDIR  bpffs directory to pin the links in (created)
Removing the link pins (and program pins) detaches and frees everything.
"""
import ctypes
import os
import struct
import sys

NR_BPF = 321            # x86_64
NR_PERF_EVENT_OPEN = 298
BPF_OBJ_PIN, BPF_OBJ_GET, BPF_RAW_TRACEPOINT_OPEN, BPF_LINK_CREATE = 6, 7, 17, 28
BPF_PERF_EVENT = 41
PERF_TYPE_TRACEPOINT = 2
PERF_FLAG_FD_CLOEXEC = 8
PERF_ATTR_SIZE = 112

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def die(msg):
    sys.stderr.write("karena-bpf-attach: %s\n" % msg)
    sys.exit(1)


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    r = libc.syscall(NR_BPF, cmd, buf, 128)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def cstr(s):
    b = ctypes.create_string_buffer(s.encode())
    return b, ctypes.addressof(b)


def obj_get(path):
    keep, p = cstr(path)
    return bpf(BPF_OBJ_GET, struct.pack("QII", p, 0, 0))


def obj_pin(fd, path):
    keep, p = cstr(path)
    bpf(BPF_OBJ_PIN, struct.pack("QII", p, fd, 0))


def perf_open(ptype, config, config1=0, config2=0):
    attr = bytearray(PERF_ATTR_SIZE)
    struct.pack_into("IIQ", attr, 0, ptype, PERF_ATTR_SIZE, config)
    struct.pack_into("QQ", attr, 56, config1, config2)   # config1/2 after bp_type
    buf = ctypes.create_string_buffer(bytes(attr), PERF_ATTR_SIZE)
    fd = libc.syscall(NR_PERF_EVENT_OPEN, buf, -1, 0, -1, PERF_FLAG_FD_CLOEXEC)
    if fd < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return fd


def link_perf(prog_fd, perf_fd):
    return bpf(BPF_LINK_CREATE, struct.pack("IIII", prog_fd, perf_fd, BPF_PERF_EVENT, 0))


def tracefs():
    for d in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        if os.path.isdir(os.path.join(d, "events")):
            return d
    die("tracefs is not mounted (mount -t tracefs tracefs /sys/kernel/tracing)")


def read_int(path):
    with open(path) as f:
        return int(f.read().strip())


def kprobe_pmu(retprobe):
    base = "/sys/bus/event_source/devices/kprobe"
    ptype = read_int(base + "/type")
    config = 0
    if retprobe:
        with open(base + "/format/retprobe") as f:
            bit = int(f.read().strip().split(":")[1])
        config = 1 << bit
    return ptype, config


def elf_prog_sections(path):
    """{function symbol name: section name} for an ELF64 LE BPF object."""
    data = open(path, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        die("%s: not an ELF64 object" % path)
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    secs = []
    for i in range(shnum):
        name, stype, flags, addr, off, size, link, info, align, entsize = \
            struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
        secs.append((name, stype, off, size, link, entsize))
    shstr_off = secs[shstrndx][2]

    def sname(off, base):
        end = data.index(b"\0", base + off)
        return data[base + off:end].decode()
    names = [sname(s[0], shstr_off) for s in secs]
    out = {}
    for i, s in enumerate(secs):
        if s[1] != 2:       # SHT_SYMTAB
            continue
        strtab_off = secs[s[4]][2]
        for j in range(s[3] // s[5]):
            st_name, st_info, st_other, st_shndx, st_value, st_size = \
                struct.unpack_from("<IBBHQQ", data, s[2] + j * s[5])
            if st_info & 0xf != 2 or st_shndx == 0 or st_shndx >= len(names):   # STT_FUNC
                continue
            out[sname(st_name, strtab_off)] = names[st_shndx]
    return out


def attach(prog_fd, sec):
    kind, _, target = sec.partition("/")
    if kind in ("raw_tp", "raw_tracepoint"):
        # the module's TRACE_EVENT()s may be named karena_X or plain X
        names = [target]
        if target.startswith("karena_"):
            names.append(target[len("karena_"):])
        for i, name in enumerate(names):
            keep, p = cstr(name)
            try:
                return bpf(BPF_RAW_TRACEPOINT_OPEN, struct.pack("QI", p, prog_fd))
            except OSError as e:
                if e.errno != 2 or i == len(names) - 1:
                    raise
    if kind in ("tp", "tracepoint"):
        tid = read_int(os.path.join(tracefs(), "events", target, "id"))
        pfd = perf_open(PERF_TYPE_TRACEPOINT, tid)
        try:
            return link_perf(prog_fd, pfd)
        finally:
            os.close(pfd)
    if kind in ("kprobe", "kretprobe"):
        ptype, config = kprobe_pmu(kind == "kretprobe")
        keep, p = cstr(target)
        pfd = perf_open(ptype, config, p, 0)
        try:
            return link_perf(prog_fd, pfd)
        finally:
            os.close(pfd)
    raise OSError(95, "section %s: attach type not supported by this helper" % sec)


def main():
    if len(sys.argv) != 4 or sys.argv[1] in ("-h", "--help"):
        sys.stdout.write(__doc__)
        sys.exit(0 if len(sys.argv) == 2 else 2)
    obj, progdir, linkdir = sys.argv[1:]
    secs = elf_prog_sections(obj)
    os.makedirs(linkdir, exist_ok=True)
    n = 0
    for name in sorted(os.listdir(progdir)):
        sec = secs.get(name)
        if sec is None:
            die("pinned program %s is not in %s" % (name, obj))
        if sec in ("uprobe", "uretprobe") or sec.startswith(("uprobe/", "uretprobe/")):
            print("skip %-24s %s (uprobes need a target binary)" % (name, sec))
            continue
        pfd = obj_get(os.path.join(progdir, name))
        try:
            lfd = attach(pfd, sec)
        except OSError as e:
            die("attach %s (%s): %s" % (name, sec, e.strerror or e))
        finally:
            os.close(pfd)
        obj_pin(lfd, os.path.join(linkdir, name))
        os.close(lfd)
        print("attached %-24s %s" % (name, sec))
        n += 1
    if n == 0:
        die("no programs attached")


if __name__ == "__main__":
    main()
