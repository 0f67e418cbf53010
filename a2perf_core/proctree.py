"""The processes of a phase: which they are, their memory and CPU time, and how they all end.

One module for the runner, the memory and energy metrics and the browser watchdog, so that every
number about "the participant" is about the same set of processes. That set is the members of the
phase's own cgroup v2 group when the runner could make one (see :class:`PhaseCgroup`; a process
cannot leave it by forking, ``setsid`` or re-parenting), otherwise the tree under the phase's root
process, which is a child subreaper so that detached descendants are re-parented to it and stay in
the tree.

On Linux the tree is walked through ``/proc/<pid>/task/<tid>/children`` and each process's
``/proc/<pid>/status`` gives its RSS and its kernel high-water mark (``VmHWM``) in one read: about
0.2 ms for a small tree, against 2.4 ms for ``psutil.Process.children(recursive=True)``, which scans
every process on the machine. Elsewhere psutil is used (no high-water mark).
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
import uuid
from pathlib import Path

import attrs

MIB = 1024 * 1024

#: name prefix of the cgroups the runner makes, one per phase attempt
PHASE_CGROUP_PREFIX = "a2perf-phase-"

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def become_child_subreaper() -> bool:
    """Orphaned descendants of this process are re-parented to it instead of init (Linux >= 3.4)."""
    return _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def set_parent_death_signal(signum: int) -> bool:
    """The kernel sends ``signum`` to this process when the thread that started it exits."""
    return _prctl(_PR_SET_PDEATHSIG, signum)


@attrs.frozen
class ProcessMemory:
    """RSS and, where the kernel keeps it, the peak RSS (``VmHWM``) of one process, in bytes."""

    pid: int
    rss: int
    hwm: int | None = None


class ProcessTreeReader:
    """Lists the processes of a phase and reads their memory.

    ``root`` is the phase's root process: if it sits in a phase cgroup (looked up the first time a
    root is seen, while it is alive) the members of that cgroup are read, else the tree under it.
    Plain ``os.open``/``os.read`` on string paths: ``open()`` and ``pathlib`` cost several times
    more per file, and a poll reads two or three files per process.
    """

    def __init__(self, proc_root: str | os.PathLike[str] = "/proc") -> None:
        self.proc_root = Path(proc_root)
        self._prefix = os.fspath(proc_root).rstrip("/") + "/"
        self.uses_procfs = _has_children_files(self.proc_root)
        self._groups: dict[int, Path | None] = {}

    @property
    def method(self) -> str:
        if self.uses_procfs:
            return "/proc/<pid>/status VmRSS summed over the phase's cgroup members or /proc/<pid>/task/*/children"
        return "psutil memory_info().rss summed over Process.children(recursive=True)"

    def group_of(self, root: int) -> Path | None:
        """The phase cgroup of ``root`` (resolved once per root), None if it has none."""
        if root not in self._groups:
            self._groups[root] = phase_cgroup_of(root, self.proc_root) if self.uses_procfs else None
        return self._groups[root]

    def snapshot(self, root: int) -> list[ProcessMemory]:
        """Memory of the phase's live processes (``root`` first while it lives)."""
        if not self.uses_procfs:
            return [m for m in map(_psutil_memory, _psutil_tree(root)) if m is not None]
        group = self.group_of(root)
        if group is not None:
            members = cgroup_pids(group)
            members.sort(key=lambda pid: pid != root)
            return [m for m in map(self.read, members) if m is not None]
        return [m for pid, status in self._walk(root) if (m := parse_status(pid, status)) is not None]

    def tree_pids(self, root: int) -> list[int]:
        """The phase's live processes (``root`` first while it lives); empty once they are all gone."""
        return [m.pid for m in self.snapshot(root)]

    def descendants(self, root: int) -> list[int]:
        """Live processes under ``root`` in the process tree: not ``root``, not zombies, exiting ones included."""
        if not self.uses_procfs:
            return _psutil_tree(root)[1:]
        return [pid for pid, status in self._walk(root)[1:] if _is_live(status)]

    def _walk(self, root: int) -> list[tuple[int, bytes]]:
        """``(pid, /proc/<pid>/status)`` of ``root`` and everything under it (``root`` first)."""
        found: list[tuple[int, bytes]] = []
        pending = [root]
        while pending:
            pid = pending.pop()
            status = _read(f"{self._prefix}{pid}/status")
            if status is None:
                continue
            found.append((pid, status))
            pending.extend(self._children(pid, _threads(status)))
        return found

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


def _is_live(status: bytes) -> bool:
    """Not a zombie (``Z``) or dead (``X``): a process that exits after SIGKILL is live until then."""
    start = status.find(b"\nState:")
    return start < 0 or status[start + 7 : start + 16].split()[:1] not in ([b"Z"], [b"X"])


def _threads(status: bytes) -> int:
    return _field(status, b"\nThreads:") or 0


def parse_status(pid: int, status: bytes) -> ProcessMemory | None:
    """``VmRSS``/``VmHWM`` from a ``/proc/<pid>/status`` text (values in kB, i.e. KiB); None for a zombie."""
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


def processes_with_argument(text: str, proc_root: str = "/proc") -> list[int]:
    """Live processes (not this one) with ``text`` in one of their command-line arguments."""
    needle = text.encode()
    found = []
    for name in os.listdir(proc_root):
        if name.isdigit() and int(name) != os.getpid():
            cmdline = _read(f"{proc_root}/{name}/cmdline")
            if cmdline and any(needle in part for part in cmdline.split(b"\0")):
                found.append(int(name))
    return found


def wait_gone(pids: list[int], timeout_s: float = 5.0, reader: ProcessTreeReader | None = None) -> bool:
    """Wait until none of ``pids`` is alive (gone or a zombie); False on timeout."""
    prefix = (reader or ProcessTreeReader())._prefix
    deadline = time.monotonic() + timeout_s
    while any((status := _read(f"{prefix}{pid}/status")) is not None and _is_live(status) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def end_descendants(root: int, timeout_s: float = 5.0, reader: ProcessTreeReader | None = None) -> int:
    """SIGKILL every live process under ``root`` until none is left; how many were killed.

    Meant for a subreaper ``root``: whatever a killed process leaves behind is re-parented to
    ``root``, so the next pass finds it. Zombies (killed, not yet reaped) are not counted as live.
    """
    reader = reader or ProcessTreeReader()
    killed: set[int] = set()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        live = reader.descendants(root)
        if not live:
            break
        kill_all(live)
        killed.update(live)
        if root == os.getpid():
            _reap_children()
        time.sleep(0.01)
    if root == os.getpid():
        _reap_children()
    return len(killed)


def _reap_children() -> None:
    """Reap ended children (re-parented orphans included), so their CPU time is credited to us."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


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


def phase_cgroup_of(pid: int, proc_root: Path = Path("/proc"), mount: Path | None = None) -> Path | None:
    """The directory of ``pid``'s cgroup if it is a phase cgroup made by the runner, else None."""
    group = cgroup_v2_path(pid, proc_root)
    if group is None or not group.rsplit("/", 1)[-1].startswith(PHASE_CGROUP_PREFIX):
        return None
    mount = mount or cgroup_v2_mount(proc_root)
    if mount is None:
        return None
    path = mount / group.lstrip("/")
    return path if path.is_dir() else None


def cgroup_pids(group: Path) -> list[int]:
    """Processes in a cgroup now (empty if it is gone)."""
    text = _read(os.fspath(group / "cgroup.procs"))
    return [int(p) for p in text.split()] if text else []


def cgroup_cpu_seconds(group: Path) -> float | None:
    """User + system CPU seconds of every process that was ever in the cgroup (``cpu.stat``)."""
    text = _read(os.fspath(group / "cpu.stat"))
    if not text:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(b" ")
        if key == b"usage_usec":
            return int(value) / 1e6
    return None


def own_cgroup_peak_file(
    pid: int, tree: list[int], proc_root: Path = Path("/proc"), mount: Path | None = None
) -> Path | None:
    """The ``memory.peak`` file of ``pid``'s cgroup, if that cgroup holds only the participant's processes.

    A cgroup shared with the harness (or anything else) would count foreign memory, so it is not
    used; the runner puts the participant in a phase cgroup of its own for this source to apply
    (it then has a memory controller only where the machine delegates one).
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


@attrs.define
class PhaseCgroup:
    """A cgroup v2 group of its own for one phase attempt: its members, CPU time, and one kill.

    Made next to (below) the harness's own cgroup. Controllers are enabled where the parent offers
    them and allows it (``memory.peak`` then exists); membership, ``cpu.stat`` and ``cgroup.kill``
    need none.
    """

    path: Path

    @classmethod
    def create(cls, label: str, proc_root: Path = Path("/proc")) -> PhaseCgroup | None:
        """A new, empty phase cgroup, or None where the machine does not let this process make one."""
        mount = cgroup_v2_mount(proc_root)
        own = cgroup_v2_path("self", proc_root)
        if mount is None or own is None:
            return None
        parent = mount / own.lstrip("/")
        safe_label = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)[:40]
        path = parent / f"{PHASE_CGROUP_PREFIX}{os.getpid()}-{safe_label}-{uuid.uuid4().hex[:8]}"
        try:
            path.mkdir()
        except OSError:
            return None
        group = cls(path)
        if not (path / "cgroup.procs").exists():
            group.remove()
            return None
        group._enable_controllers(parent)
        return group

    @staticmethod
    def _enable_controllers(parent: Path) -> None:
        try:
            offered = (parent / "cgroup.controllers").read_text().split()
        except OSError:
            return
        for name in ("memory", "cpu"):
            if name in offered:
                try:
                    (parent / "cgroup.subtree_control").write_text(f"+{name}")
                except OSError:  # a parent with processes of its own cannot delegate: fine
                    pass

    def add(self, pid: int) -> bool:
        try:
            (self.path / "cgroup.procs").write_text(str(pid))
        except OSError:
            return False
        return pid in cgroup_pids(self.path)

    def pids(self) -> list[int]:
        return cgroup_pids(self.path)

    def cpu_seconds(self) -> float | None:
        return cgroup_cpu_seconds(self.path)

    def kill(self, timeout_s: float = 5.0) -> bool:
        """SIGKILL every member (``cgroup.kill``, or member by member before Linux 5.14); True once empty."""
        kill_file = self.path / "cgroup.kill"
        deadline = time.monotonic() + timeout_s
        while True:
            members = self.pids()
            if not members:
                return True
            if time.monotonic() > deadline:
                return False
            try:
                kill_file.write_text("1")
            except OSError:
                kill_all(members)
            time.sleep(0.01)

    def remove(self, timeout_s: float = 5.0) -> None:
        """Remove the (emptied) group; a group that still has members is killed first."""
        self.kill(timeout_s)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.02)


def _reaped_children_cpu_s() -> float:
    times = os.times()
    return times.children_user + times.children_system


class PhaseCpuClock:
    """Cumulative CPU seconds (user + system) of a phase's processes, ended ones included.

    In a phase cgroup this is the group's ``cpu.stat`` (every process that was ever in it). Without
    one, live processes of the tree contribute their own time plus what they reaped (the root is a
    subreaper, so that includes detached descendants); once the harness reaps the root, the kernel
    adds the whole tree's time to the harness's ``children`` counters, read as a difference from
    construction. Other children of the harness that end during the phase would be counted too;
    the runner starts none in that mode. The reading is kept monotonic.
    """

    def __init__(self, root_pid: int, reader: ProcessTreeReader | None = None) -> None:
        self.root_pid = root_pid
        self.reader = reader or ProcessTreeReader()
        self.group = self.reader.group_of(root_pid)
        self._reaped_at_start = _reaped_children_cpu_s()
        self._highest = 0.0
        self._created = _create_time(root_pid)

    def seconds(self) -> float:
        if self.group is not None:
            total = cgroup_cpu_seconds(self.group)  # None once the group is removed
            self._highest = max(self._highest, total or 0.0)
            return self._highest
        import psutil

        live = 0.0
        alive = self._created is not None and _create_time(self.root_pid) == self._created  # not a reused pid
        for pid in self.reader.tree_pids(self.root_pid) if alive else []:
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.Error:
                continue
            live += times.user + times.system + times.children_user + times.children_system
        total = live + _reaped_children_cpu_s() - self._reaped_at_start
        self._highest = max(self._highest, total)
        return self._highest


def _create_time(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None
