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
    """Lists a process and all its descendants and reads their memory."""

    def __init__(self, proc_root: str | os.PathLike[str] = "/proc") -> None:
        self.proc_root = Path(proc_root)
        self.uses_procfs = _has_children_files(self.proc_root)

    @property
    def method(self) -> str:
        if self.uses_procfs:
            return "/proc/<pid>/status VmRSS summed over /proc/<pid>/task/*/children"
        return "psutil memory_info().rss summed over Process.children(recursive=True)"

    def tree_pids(self, root: int) -> list[int]:
        """``root`` and its live descendants (``root`` first); empty once ``root`` is gone."""
        if not self.uses_procfs:
            return _psutil_tree(root)
        found = [root] if (self.proc_root / str(root)).exists() else []
        index = 0
        while index < len(found):
            pid = found[index]
            index += 1
            found.extend(self._children(pid))
        return found

    def _children(self, pid: int) -> list[int]:
        task_dir = self.proc_root / str(pid) / "task"
        children: list[int] = []
        try:
            tids = os.listdir(task_dir)
        except OSError:
            return children
        for tid in tids:
            try:
                with open(task_dir / tid / "children") as f:
                    children.extend(int(c) for c in f.read().split())
            except OSError:
                continue
        return children

    def read(self, pid: int) -> ProcessMemory | None:
        """Memory of one process, or None if it is gone (or a zombie without memory)."""
        if not self.uses_procfs:
            return _psutil_memory(pid)
        try:
            with open(self.proc_root / str(pid) / "status", "rb") as f:
                status = f.read()
        except OSError:
            return None
        return parse_status(pid, status)


def parse_status(pid: int, status: bytes) -> ProcessMemory | None:
    """``VmRSS``/``VmHWM`` from a ``/proc/<pid>/status`` text (values in kB, i.e. KiB)."""
    rss = hwm = None
    for line in status.splitlines():
        if line.startswith(b"VmRSS:"):
            rss = int(line.split()[1]) * 1024
        elif line.startswith(b"VmHWM:"):
            hwm = int(line.split()[1]) * 1024
    if rss is None:
        return None
    return ProcessMemory(pid, rss, hwm)


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


def own_cgroup_peak_file(pid: int, tree: list[int], proc_root: Path = Path("/proc"),
                         mount: Path | None = None) -> Path | None:
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
