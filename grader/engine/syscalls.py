"""What a student process may ask of the kernel: no capabilities, no_new_privs, a seccomp filter.

`drop_capabilities` empties the capability bounding set (while the process is still root, which
that needs); `restrict` then sets no_new_privs and installs a seccomp filter, a classic BPF
program, that refuses with EPERM the calls a web app never needs and a hostile one would use: the
kernel keyring, ptrace and reading other processes' memory, mounts and new namespaces, kernel
modules and the like. Threads and plain fork keep working: clone is refused only with a
CLONE_NEW* flag, and clone3 (whose flags sit in memory a filter cannot read) answers ENOSYS, so
the C library falls back to clone. The filter knows the system call numbers of x86_64 and
aarch64; a process of another architecture, or a 32-bit or x32 call on x86_64, is refused too.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import struct
from dataclasses import dataclass

PR_CAPBSET_DROP, PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS = 24, 22, 38
SECCOMP_MODE_FILTER = 2
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
LD_W_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
NR, ARCH, ARG0 = 0, 4, 16  # offsets in struct seccomp_data (the low half of args[0], little-endian)
X32_BIT = 0x40000000
CLONE_NEW_ANY = 0x7E020000  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
REFUSED = (
    "keyctl", "add_key", "request_key", "ptrace", "process_vm_readv", "process_vm_writev",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "open_tree", "move_mount",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "open_by_handle_at", "bpf",
    "perf_event_open", "userfaultfd", "kexec_load", "kexec_file_load", "init_module",
    "finit_module", "delete_module", "swapon", "swapoff", "reboot", "acct",
)


@dataclass(frozen=True)
class Arch:
    """One architecture's audit value (seccomp_data.arch) and system call numbers."""

    name: str
    audit: int
    numbers: dict[str, int]
    x32: bool = False  # x86_64: calls with the x32 bit set are another ABI, refused

    def refused(self) -> list[int]:
        return [self.numbers[name] for name in REFUSED]


_NEW_MOUNT_API = {"open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
                  "fsmount": 432, "fspick": 433, "mount_setattr": 442, "clone3": 435}
ARCHES = {
    "x86_64": Arch("x86_64", 0xC000003E, x32=True, numbers={
        "keyctl": 250, "add_key": 248, "request_key": 249, "ptrace": 101,
        "process_vm_readv": 310, "process_vm_writev": 311, "mount": 165, "umount2": 166,
        "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308, "open_by_handle_at": 304,
        "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "kexec_load": 246,
        "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176,
        "swapon": 167, "swapoff": 168, "reboot": 169, "acct": 163, "clone": 56, **_NEW_MOUNT_API,
    }),
    "aarch64": Arch("aarch64", 0xC00000B7, numbers={
        "keyctl": 219, "add_key": 217, "request_key": 218, "ptrace": 117,
        "process_vm_readv": 270, "process_vm_writev": 271, "mount": 40, "umount2": 39,
        "pivot_root": 41, "chroot": 51, "unshare": 97, "setns": 268, "open_by_handle_at": 265,
        "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "kexec_load": 104,
        "kexec_file_load": 294, "init_module": 105, "finit_module": 273, "delete_module": 106,
        "swapon": 224, "swapoff": 225, "reboot": 142, "acct": 89, "clone": 220, **_NEW_MOUNT_API,
    }),
}


class _Instruction(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Instruction))]


def this_arch() -> Arch | None:
    """The architecture this interpreter's system calls use, if the filter knows it (a 32-bit
    Python on a 64-bit kernel makes 32-bit calls, and is not known)."""
    machine = os.uname().machine.lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    return ARCHES.get(machine) if struct.calcsize("P") == 8 else None


def unavailable_reason() -> str | None:
    """Why no seccomp filter can be installed here, or None when it can."""
    if this_arch() is None:
        bits = struct.calcsize("P") * 8
        return (f"the seccomp filter knows the system calls of 64-bit x86_64 and aarch64, and "
                f"this is {bits}-bit {os.uname().machine or 'an unknown machine'}")
    return None


def program(arch: Arch) -> list[tuple[int, int, int, int]]:
    """The filter as (code, jt, jf, k) instructions: refused calls answer EPERM, clone3 ENOSYS,
    clone EPERM only with a CLONE_NEW* flag, everything else is allowed."""
    code: list[tuple[int, str | int, str | int, int]] = [
        (LD_W_ABS, 0, 0, ARCH),
        (JEQ, 0, "deny", arch.audit),
        (LD_W_ABS, 0, 0, NR),
    ]
    if arch.x32:
        code.append((JGE, "deny", 0, X32_BIT))
    code += [(JEQ, "deny", 0, number) for number in arch.refused()]
    code += [
        (JEQ, "enosys", 0, arch.numbers["clone3"]),
        (JEQ, 0, "allow", arch.numbers["clone"]),
        (LD_W_ABS, 0, 0, ARG0),
        (JSET, "deny", 0, CLONE_NEW_ANY),
    ]
    labels = {"allow": len(code), "deny": len(code) + 1, "enosys": len(code) + 2}
    code += [(RET, 0, 0, RET_ALLOW), (RET, 0, 0, RET_ERRNO | errno.EPERM),
             (RET, 0, 0, RET_ERRNO | errno.ENOSYS)]

    def offset(at: int, target: str | int) -> int:
        return labels[target] - at - 1 if isinstance(target, str) else target

    return [(op, offset(at, jt), offset(at, jf), k) for at, (op, jt, jf, k) in enumerate(code)]


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, arg2: int = 0, arg3: object = None) -> int:
    third = arg3 if arg3 is not None else ctypes.c_ulong(0)
    zero = ctypes.c_ulong(0)
    return int(_libc().prctl(option, ctypes.c_ulong(arg2), third, zero, zero))


def _fail(what: str) -> OSError:
    code = ctypes.get_errno()
    return OSError(code, f"{what} failed: {os.strerror(code)}")


def drop_capabilities() -> None:
    """Empty the capability bounding set: nothing this process becomes can hold a capability.
    Needs CAP_SETPCAP, so it runs before the uid change."""
    for cap in range(64):
        if _prctl(PR_CAPBSET_DROP, cap) != 0:
            if ctypes.get_errno() == errno.EINVAL:  # past the kernel's last capability
                return
            raise _fail(f"dropping capability {cap}")


def clear_capabilities() -> None:
    """Hold no capability from now on (effective, permitted, inheritable): what a process that
    made a user namespace of its own gained there, it gives back."""
    header = struct.pack("Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    if _libc().capset(header, bytes(24)) != 0:
        raise _fail("clearing capabilities")


def restrict(arch: Arch | None = None) -> bool:
    """no_new_privs and the seccomp filter for this (or `arch`'s) architecture; False where the
    filter does not know the architecture (no_new_privs is set all the same)."""
    if _prctl(PR_SET_NO_NEW_PRIVS, 1) != 0:
        raise _fail("PR_SET_NO_NEW_PRIVS")
    arch = arch or this_arch()
    if arch is None:
        return False
    if _prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(_compiled(arch.name))) != 0:
        raise _fail("installing the seccomp filter")
    return True


@functools.cache
def _compiled(name: str) -> _Program:
    instructions = program(ARCHES[name])
    table = (_Instruction * len(instructions))(*(_Instruction(*i) for i in instructions))
    fprog = _Program(len(instructions), table)
    fprog._table = table  # kept alive with the program that points at it
    return fprog


def prepare() -> None:
    """Compile this machine's filter now, in a process that forks students (saves each a little)."""
    if (arch := this_arch()) is not None:
        _compiled(arch.name)


__all__ = ["ARCHES", "REFUSED", "Arch", "drop_capabilities", "prepare", "program",
           "restrict", "this_arch", "unavailable_reason"]
