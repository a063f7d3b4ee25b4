"""Which protections a run of student code really has, and why each missing one is missing.

`check` runs a student's own code as the student: time limits, rlimits, process cleanup and a
scratch copy, but none of what only grade's sandbox adds (namespaces, a separate user, a root
of its own, the system call filter). Everything here is read from the Limits a run is given, from how the step's checks
start the app, and from this machine.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grader.course import Step
from grader.engine import syscalls
from grader.engine.jail import PRIVATE
from grader.engine.limits import Limits
from grader.engine.process import CAN_FORK, STARTUP_FLOOR
from grader.engine.sandbox import namespaces_reason, tmp_can_be_private

LINUX = sys.platform.startswith("linux")
SYSCALLS = "system call filtering"
SANDBOX_ONLY = ("network isolation", "process isolation", "user isolation", "filesystem isolation",
                SYSCALLS)


@dataclass(frozen=True)
class Protection:
    name: str
    on: bool
    detail: str  # on: what is applied, with its values; off: why it is not
    brief: str = ""  # on: the values worth a student's glance, for the one-line summary
    headline: bool = True  # named in that summary (the full list is in to_json)


@dataclass(frozen=True)
class Protections:
    items: tuple[Protection, ...]

    @property
    def off(self) -> list[Protection]:
        return [p for p in self.items if not p.on]

    def to_json(self) -> dict[str, Any]:
        return {
            "on": [{"name": p.name, "detail": p.detail} for p in self.items if p.on],
            "off": [{"name": p.name, "reason": p.detail} for p in self.off],
        }

    def off_text(self) -> str:
        """'network and user isolation, because ...; ...', grouped by reason ('' when none is off)."""
        reasons: dict[str, list[str]] = {}
        for item in self.off:
            reasons.setdefault(item.detail, []).append(item.name)
        return "; ".join(f"{_names(names)}, because {why}" for why, names in reasons.items())

    def lines(self) -> list[str]:
        """The short summary a student reads after a check."""
        on = [f"{p.name} ({p.brief})" if p.brief else p.name for p in self.items if p.on and p.headline]
        out = [f"Protections on: {_and(on)}."]
        if self.off:
            out.append(f"Off: {self.off_text()}.")
        return out


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _names(names: list[str]) -> str:
    """['network isolation', 'user isolation', 'system call filtering'] -> 'network and user
    isolation and system call filtering'."""
    kinds = [n.removesuffix(" isolation") for n in names if n.endswith(" isolation")]
    rest = [n for n in names if not n.endswith(" isolation")]
    return _and(([f"{_and(kinds)} isolation"] if kinds else []) + rest)


def _size(count: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count >= 1 << shift and count % (1 << shift) == 0:
            return f"{count >> shift} {unit}"
    return f"{count} bytes"


def _cleanup() -> str:
    parts = ["its own process group, killed when a check ends"]
    if LINUX:
        parts.append("it dies if the grader dies (PR_SET_PDEATHSIG)")
    if CAN_FORK and LINUX:
        parts.append("a process it detaches (setsid, double fork) is caught by the zygote, "
                     "a child subreaper, and killed")
    elif not CAN_FORK:
        parts.append(f"without fork on {sys.platform} there is no zygote, so a process it "
                     "detaches (setsid, double fork) is not caught")
    return "; ".join(parts)


def _rlimits(limits: Limits) -> Protection:
    values = [f"CPU {limits.cpu_seconds} s", f"address space {_size(limits.memory_bytes)}",
              f"file size {_size(limits.file_bytes)}", "no core dumps"]
    if limits.sandbox is not None:
        values += [f"{limits.sandbox.processes} processes", f"{limits.sandbox.open_files} open files"]
        counts = ""
    else:  # RLIMIT_NPROC counts every process of the user: set only for the sandbox's own uid
        counts = "; processes and open files are limited only for the grade sandbox's separate user"
    where = "" if LINUX else f" (as far as {sys.platform} enforces them)"
    brief = f"CPU {limits.cpu_seconds} s, memory {_size(limits.memory_bytes)}, files {_size(limits.file_bytes)}"
    return Protection("resource limits", True, ", ".join(values) + where + counts, brief)


def _syscalls() -> Protection:
    reason = syscalls.unavailable_reason()
    if reason:
        return Protection(SYSCALLS, False, f"{reason} (it still has no capabilities and no_new_privs)")
    return Protection(SYSCALLS, True, "no capabilities (an empty bounding set), no_new_privs, and a "
                      "seccomp filter that refuses the kernel keyring, ptrace and other processes' "
                      "memory, mounts, pivot_root and chroot, new namespaces, BPF, perf events, "
                      "userfaultfd, kernel modules, kexec, swap, reboot and acct")


def _own_tmp() -> Protection:
    if tmp_can_be_private():
        return Protection("a /tmp of its own", True, "a folder beside its scratch copies is its /tmp: "
                          "what it keeps there lasts across a restart, not to the next run, as in "
                          "grade", headline=False)
    return Protection("a /tmp of its own", False, "this machine gives an unprivileged process no "
                      "mount namespace: /tmp is the machine's own, and what an app keeps there is "
                      "still there at the next run (grade gives it a fresh one)", headline=False)


def _sandbox_items(limits: Limits, why: str) -> list[Protection]:
    sandbox = limits.sandbox
    if sandbox is None:
        return [Protection(name, False, why) for name in SANDBOX_ONLY] + [_own_tmp()]
    if not sandbox.namespaces:
        user = Protection("user isolation", True, "an unprivileged user of its own; without "
                          "namespaces, only file modes keep it out of the grader's folders")
        return [Protection("network isolation", False, why), Protection("process isolation", False, why),
                user, Protection("filesystem isolation", False, why), _syscalls()]
    user = Protection("user isolation", True, "an unprivileged user of its own")
    return [
        Protection("network isolation", True, "its own network namespace: no network at all"),
        Protection("process isolation", True, "its own pid namespace, under an init of its own: "
                   "everything it starts dies with it"),
        user,
        Protection("filesystem isolation", True, "a root of its own (pivot_root) holding only the "
                   "system's /usr, /bin, /sbin, /lib* and /etc and Python with its packages, read-only; "
                   f"its scratch copy; empty {', '.join(PRIVATE)}; null, zero, full, random and urandom "
                   "in /dev; a /proc of its own processes; and nothing else: "
                   f"{len(sandbox.hide)} folders it must not read (solutions, output, submissions) "
                   "are empty even where they lie inside those"),
        _syscalls(),
    ]


def protections(limits: Limits, *, own_command: bool = False, why: str) -> Protections:
    """What a student process run under `limits` has; `own_command`: the app is started with its
    own command (steps 10-11), which has longer to start; `why`: why the sandbox's parts are off."""
    startup = max(limits.startup, STARTUP_FLOOR) if own_command else limits.startup
    return Protections((
        Protection("time limits", True, f"{startup:g} s to start, {limits.request:g} s for each whole "
                   f"answer, {limits.stop:g} s to stop before SIGKILL",
                   f"start {startup:g} s, answer {limits.request:g} s"),
        _rlimits(limits),
        Protection("process cleanup", True, _cleanup()),
        Protection("scratch copy", True, "it runs in a temporary copy of the step folder", headline=False),
        Protection("output cap", True, f"the first and last {_size(limits.output // 2)} of its output are kept",
                   headline=False),
        *_sandbox_items(limits, why),
    ))


def for_check(
    step: Step, limits: Limits, machine: Callable[[], str | None] = namespaces_reason
) -> Protections:
    """What `persistlab check` gives a student's own code on this machine."""
    from grader.check import starts_own_command

    reason = machine()
    where = "`persistlab grade` sandboxes it" if reason is None else f"this machine has no sandbox: {reason}"
    return protections(limits, own_command=starts_own_command(step),
                       why=f"check runs your own code as you ({where})")


__all__ = ["Protection", "Protections", "for_check", "protections"]
