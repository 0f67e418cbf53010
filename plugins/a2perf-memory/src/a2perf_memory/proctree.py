"""Reading the memory of a process tree cheaply.

On Linux the tree is walked through ``/proc/<pid>/task/<tid>/children`` and each process's
``/proc/<pid>/status`` gives its RSS and its kernel high-water mark (``VmHWM``) in one read: about
0.2 ms for a small tree here, against 2.4 ms for ``psutil.Process.children(recursive=True)``, which
scans every process on the machine. Elsewhere psutil is used (no high-water mark).
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

MIB = 1024 * 1024


@attrs.frozen
class ProcessMemory:
    """RSS and, where the kernel keeps it, the peak RSS (``VmHWM``) of one process, in bytes."""

    pid: int
    rss: int
    hwm: int | None = None


class ProcessTreeReader:
    """Lists a process and all its descendants and reads their memory.

    Plain ``os.open``/``os.read`` on string paths: ``open()`` and ``pathlib`` cost several times more
    per file, and a poll reads two or three files per process.
    """

    def __init__(self, proc_root: str | os.PathLike[str] = "/proc") -> None:
        self.proc_root = Path(proc_root)
        self._prefix = os.fspath(proc_root).rstrip("/") + "/"
        self.uses_procfs = _has_children_files(self.proc_root)

    @property
    def method(self) -> str:
        if self.uses_procfs:
            return "/proc/<pid>/status VmRSS summed over /proc/<pid>/task/*/children"
        return "psutil memory_info().rss summed over Process.children(recursive=True)"

    def snapshot(self, root: int) -> list[ProcessMemory]:
        """Memory of ``root`` and its live descendants (``root`` first); empty once ``root`` is gone."""
        if not self.uses_procfs:
            return [m for m in map(_psutil_memory, _psutil_tree(root)) if m is not None]
        found: list[ProcessMemory] = []
        pending = [root]
        while pending:
            pid = pending.pop()
            status = _read(f"{self._prefix}{pid}/status")
            if status is None:
                continue
            memory = parse_status(pid, status)
            if memory is None:
                continue
            found.append(memory)
            pending.extend(self._children(pid, _threads(status)))
        return found

    def tree_pids(self, root: int) -> list[int]:
        """``root`` and its live descendants (``root`` first); empty once ``root`` is gone."""
        return [m.pid for m in self.snapshot(root)]

    def _children(self, pid: int, threads: int) -> list[int]:
        task_dir = f"{self._prefix}{pid}/task/"
        if threads == 1:
            tids = [str(pid)]
        else:
            try:
                tids = os.listdir(task_dir)
            except OSError:
                return []
        children: list[int] = []
        for tid in tids:
            text = _read(f"{task_dir}{tid}/children")
            if text:
                children.extend(int(c) for c in text.split())
        return children

    def read(self, pid: int) -> ProcessMemory | None:
        """Memory of one process, or None if it is gone (or a zombie without memory)."""
        if not self.uses_procfs:
            return _psutil_memory(pid)
        status = _read(f"{self._prefix}{pid}/status")
        return None if status is None else parse_status(pid, status)


def _read(path: str) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, 65536)
    except OSError:
        return None
    finally:
        os.close(fd)


def _field(status: bytes, key: bytes) -> int | None:
    start = status.find(key)
    if start < 0:
        return None
    end = status.find(b"\n", start + 1)
    return int(status[start + len(key) : end if end >= 0 else None].split()[0])


def _threads(status: bytes) -> int:
    return _field(status, b"\nThreads:") or 0


def parse_status(pid: int, status: bytes) -> ProcessMemory | None:
    """``VmRSS``/``VmHWM`` from a ``/proc/<pid>/status`` text (values in kB, i.e. KiB)."""
    rss = _field(status, b"\nVmRSS:")
    if rss is None:
        return None
    hwm = _field(status, b"\nVmHWM:")
    return ProcessMemory(pid, rss * 1024, None if hwm is None else hwm * 1024)


def _has_children_files(proc_root: Path) -> bool:
    task = proc_root / str(os.getpid()) / "task" / str(os.getpid()) / "children"
    return task.exists()


def _psutil_tree(root: int) -> list[int]:
    import psutil

    try:
        process = psutil.Process(root)
        return [root] + [p.pid for p in process.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def _psutil_memory(pid: int) -> ProcessMemory | None:
    import psutil

    try:
        info = psutil.Process(pid).memory_info()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    peak = getattr(info, "peak_wset", None)  # Windows keeps a peak working set
    return ProcessMemory(pid, int(info.rss), None if peak is None else int(peak))


def unique_set_sizes(pid: int) -> tuple[int, int] | None:
    """``(uss, pss)`` in bytes via psutil (reads smaps: ~0.6 ms per process), None if unavailable."""
    import psutil

    try:
        info = psutil.Process(pid).memory_full_info()
    except (psutil.NoSuchProcess, psutil.AccessDenied, OSError):
        return None
    uss = getattr(info, "uss", None)
    pss = getattr(info, "pss", None)
    if uss is None:
        return None
    return int(uss), int(pss if pss is not None else uss)


# --- cgroup v2 ----------------------------------------------------------------------------------


def cgroup_v2_path(pid: int | str, proc_root: Path = Path("/proc")) -> str | None:
    """The unified-hierarchy cgroup of a process (``0::/path`` in ``/proc/<pid>/cgroup``)."""
    try:
        text = (proc_root / str(pid) / "cgroup").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("0::"):
            return line[3:].strip() or "/"
    return None


def cgroup_v2_mount(proc_root: Path = Path("/proc")) -> Path | None:
    """Where the cgroup v2 hierarchy is mounted, from ``/proc/self/mountinfo``."""
    try:
        text = (proc_root / "self" / "mountinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        before, _, after = line.partition(" - ")
        if after.split(" ", 1)[0] == "cgroup2":
            return Path(before.split()[4])
    return None


def own_cgroup_peak_file(
    pid: int, tree: list[int], proc_root: Path = Path("/proc"), mount: Path | None = None
) -> Path | None:
    """The ``memory.peak`` file of ``pid``'s cgroup, if that cgroup holds only the participant's tree.

    A cgroup shared with the harness (or anything else) would count foreign memory, so it is not
    used; the runner has to put the participant in a cgroup of its own for this source to apply.
    """
    child_group = cgroup_v2_path(pid, proc_root)
    if child_group is None or child_group == cgroup_v2_path("self", proc_root):
        return None
    mount = mount or cgroup_v2_mount(proc_root)
    if mount is None:
        return None
    group_dir = mount / child_group.lstrip("/")
    peak = group_dir / "memory.peak"
    try:
        members = {int(p) for p in (group_dir / "cgroup.procs").read_text().split()}
    except (OSError, ValueError):
        return None
    if not peak.exists() or not members <= set(tree):
        return None
    return peak


def read_cgroup_peak(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
