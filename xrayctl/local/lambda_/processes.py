"""A sandbox's processes on every platform: started apart from xrayctl, found as a tree, killed as one.

What the function starts must not outlive its sandbox, whatever it does to escape: a new session
(`start_new_session=True` leaves the process group), an empty environment (`env={}` drops the sandbox's mark),
a double fork (the daemon's parent exits, so it is no longer anyone's child but init's). The mechanism that
cannot be shed, where the platform has one:

- Linux: the runtime child makes itself a *child subreaper* (`prctl(PR_SET_CHILD_SUBREAPER)`), so every
  process below it that loses its parent is reparented to it, not to init: while the runtime lives, the tree
  below it holds everything the function started, however it detached. `kill_tree` stops that tree top down
  with SIGSTOP (a stopped process cannot fork), walking it again until no new process appears, then kills
  it all with SIGKILL, then the process group, then the processes bearing the sandbox's mark in their
  environment (`kill_marked`: /proc), which finds what had already left the tree when the runtime itself
  died first (it called os._exit, or the kernel's OOM killer chose it) unless it also cleared its environment.
- macOS and other POSIX systems: the same stop-then-kill tree walk, with the tree read from `ps`, and the
  process group. No subreaper exists there: a process that double-forked (its parent gone) has left the tree.
- Windows: the child is started in a new process group, and `taskkill /F /T` kills the tree by parent id: a
  process whose parent had already exited is not found. (Job objects would hold everything; not used yet.)

Also here: how many bytes wait in a pipe (the sandbox's output drain), and a process's peak memory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

POSIX = os.name == "posix"
_PROC = Path("/proc")
_PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
_MAX_ROUNDS = 50  # walks of a tree that keeps forking while it is being stopped


def popen_options() -> dict[str, Any]:
    """How to start a runtime child apart from xrayctl: Ctrl-C at the terminal reaches only xrayctl (which
    then stops the child), and the child leads a process group of its own."""
    if POSIX:
        return {"start_new_session": True}
    return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}


def become_subreaper() -> bool:
    """Make this process the reaper of every orphan below it (Linux 3.4+); False where that does not exist."""
    if sys.platform != "linux":
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def parent_table(*, source: str | None = None) -> dict[int, int]:
    """pid -> parent pid of every process visible: from /proc on Linux, from `ps` elsewhere on POSIX (or
    when `source` is "ps")."""
    if (source or ("proc" if _PROC.is_dir() else "ps")) == "proc":
        return _parents_from_proc()
    return _parents_from_ps()


def _parents_from_proc() -> dict[int, int]:
    parents = {}
    for entry in _PROC.glob("[0-9]*"):
        try:
            # The command name may hold spaces and parentheses: the fields after its last ")" are fixed.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return parents


def _parents_from_ps() -> dict[int, int]:
    try:
        listing = subprocess.run(
            ["ps", "-A", "-o", "pid=", "-o", "ppid="], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    parents = {}
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
            parents[int(fields[0])] = int(fields[1])
    return parents


def descendants(root: int, parents: dict[int, int]) -> set[int]:
    """Every process below `root` in `parents` (pid -> parent pid)."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    pending = [root]
    while pending:  # iterative: a fork bomb makes deep trees
        for child in children.get(pending.pop(), ()):
            if child not in found and child != root:
                found.add(child)
                pending.append(child)
    return found


def kill_tree(
    root: int, *, include_root: bool = True, mark: str | None = None, source: str | None = None
) -> None:
    """Kill `root` (unless `include_root`: a runtime cleaning up below itself), every process below it and,
    on POSIX, its process group and the processes bearing `mark`. See the module docstring for what each
    platform reaches."""
    if not POSIX:
        if include_root:
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(root)], capture_output=True, check=False)
        return
    stopped: set[int] = set()
    if include_root:
        _signal(root, signal.SIGSTOP)
        stopped.add(root)
    for _ in range(_MAX_ROUNDS):
        new = descendants(root, parent_table(source=source)) - stopped
        if not new:
            break
        for pid in new:
            _signal(pid, signal.SIGSTOP)
        stopped |= new
    for pid in stopped:
        _signal(pid, signal.SIGKILL)
    if include_root:
        # The group id is the root's pid: it leads its own session. An exited group answers ESRCH, or EPERM
        # on macOS while its leader is a zombie.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(root, signal.SIGKILL)
    if mark is not None:
        kill_marked(mark)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def kill_marked(needle: str, *, skip: Iterable[int] = ()) -> None:
    """SIGKILL every process whose environment holds `needle` ("NAME=value"), except `skip`: what left the
    tree with its environment intact. Repeated while some are found, as one may fork while it is being looked
    for. Linux only (/proc)."""
    pattern = f"\0{needle}\0".encode()
    excluded = {os.getpid(), *skip}
    for _ in range(5):
        found = False
        for entry in _PROC.glob("[0-9]*") if _PROC.is_dir() else ():
            try:
                pid = int(entry.name)
                if pid not in excluded and pattern in b"\0" + (entry / "environ").read_bytes() + b"\0":
                    os.kill(pid, signal.SIGKILL)
                    found = True
            except (OSError, ValueError):
                continue  # gone meanwhile, or another user's
        if not found:
            return


def pending_bytes(fd: int) -> int:
    """Bytes waiting to be read in the pipe `fd`: FIONREAD on POSIX, PeekNamedPipe on Windows; 0 when the
    pipe cannot say (closed, or at its end)."""
    if POSIX:
        import array
        import fcntl
        import termios

        buffer = array.array("i", [0])
        try:
            fcntl.ioctl(fd, termios.FIONREAD, buffer, True)
        except OSError:
            return 0
        return buffer[0]
    return _peek_named_pipe(fd)


def _peek_named_pipe(fd: int) -> int:  # pragma: no cover - Windows only
    import ctypes
    import msvcrt
    from ctypes import wintypes

    available = wintypes.DWORD(0)
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
    handle = msvcrt.get_osfhandle(fd)  # type: ignore[attr-defined,unused-ignore]
    ok = kernel32.PeekNamedPipe(handle, None, 0, None, ctypes.byref(available), None)
    return int(available.value) if ok else 0


def max_memory_mb(pid: int) -> int | None:
    """A live process's peak resident memory in MB (Linux VmHWM), which Lambda reports as Max Memory Used;
    None where the platform does not say."""
    try:
        status = (_PROC / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return -(-int(line.split()[1]) // 1024)
    return None
