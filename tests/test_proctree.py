"""The core's process-tree functions and the watchdog built on them, on real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from a2perf_core.proctree import (
    PhaseCgroup,
    PhaseCpuClock,
    ProcessTreeReader,
    cgroup_v2_mount,
    processes_with_argument,
)
from a2perf_core.watchdog import start_watchdog

#: double-forks a daemon that prints its pid, then (the parent) sleeps
DOUBLE_FORK = textwrap.dedent("""
    import os, sys, time
    from a2perf_core.proctree import become_child_subreaper
    if sys.argv[1] == "subreaper":
        become_child_subreaper()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            end = time.process_time() + float(sys.argv[2])
            while time.process_time() < end:
                pass
            print(os.getpid(), flush=True)
            time.sleep(60)
        os._exit(0)
    os.wait()
    time.sleep(60)
""")


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def start_double_fork(mode: str, cpu_s: float = 0.0) -> tuple[subprocess.Popen[str], int]:
    root = subprocess.Popen([sys.executable, "-c", DOUBLE_FORK, mode, str(cpu_s)], stdout=subprocess.PIPE, text=True)
    assert root.stdout is not None
    return root, int(root.stdout.readline())


def end(*processes: int) -> None:
    for pid in processes:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass


def test_a_detached_daemon_stays_in_the_tree_of_a_subreaper_only() -> None:
    reader = ProcessTreeReader()
    for mode, expected in (("subreaper", True), ("plain", False)):
        root, daemon = start_double_fork(mode)
        try:
            assert (daemon in reader.descendants(root.pid)) is expected
            assert (daemon in reader.tree_pids(root.pid)) is expected
        finally:
            end(daemon, root.pid)
            root.wait()


def test_subreaper_clock_counts_a_daemon_the_root_ended() -> None:
    code = DOUBLE_FORK.replace(
        "os.wait()\ntime.sleep(60)", "os.wait()\nsys.stdin.readline()\nend_descendants(os.getpid())"
    )
    code = code.replace("import become_child_subreaper", "import become_child_subreaper, end_descendants")
    root = subprocess.Popen(
        [sys.executable, "-c", code, "subreaper", "0.5"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert root.stdin is not None and root.stdout is not None
    clock = PhaseCpuClock(root.pid)
    daemon = int(root.stdout.readline())
    root.stdin.write("\n")
    root.stdin.close()
    assert root.wait(timeout=20) == 0
    assert not alive(daemon)
    # the root killed and reaped the daemon, so its 0.5 s reached us with the root
    assert clock.seconds() >= 0.5


def test_processes_with_argument_finds_only_the_marked_process() -> None:
    marker = f"a2perf-test-{uuid.uuid4().hex}"
    marked = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", marker])
    try:
        assert wait_for(lambda: processes_with_argument(marker) == [marked.pid])
    finally:
        marked.kill()
        marked.wait()
    assert processes_with_argument(marker) == []


def test_watchdog_ends_its_roots_and_marked_processes_when_the_pipe_closes(tmp_path: Path) -> None:
    marker = str(tmp_path / "profile")
    os.mkdir(marker)
    tree = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; "
            "time.sleep(60)']); time.sleep(60)",
        ],
        start_new_session=True,
    )
    marked = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", marker], start_new_session=True)
    reader = ProcessTreeReader()
    assert wait_for(lambda: len(reader.tree_pids(tree.pid)) == 2)
    pids = [*reader.tree_pids(tree.pid), marked.pid]
    watchdog = start_watchdog(match=marker, remove=Path(marker))
    try:
        assert watchdog.stdin is not None
        watchdog.stdin.write(b"%d\n" % tree.pid)
        watchdog.stdin.flush()
        time.sleep(0.2)
        assert all(alive(pid) for pid in pids)  # nothing happens while the pipe is open
        watchdog.stdin.close()
        assert watchdog.wait(timeout=20) == 0
        tree.wait(timeout=5)
        marked.wait(timeout=5)
        assert wait_for(lambda: not any(alive(pid) for pid in pids))
        assert not os.path.exists(marker)
    finally:
        end(*pids)


def can_make_cgroup() -> bool:
    group = PhaseCgroup.create("probe") if cgroup_v2_mount() is not None else None
    if group is None:
        return False
    group.remove()
    return True


needs_cgroup = pytest.mark.skipif(not can_make_cgroup(), reason="no cgroup v2 group can be made here")


@needs_cgroup
def test_phase_cgroup_keeps_a_detached_daemon_and_its_cpu_time() -> None:
    group = PhaseCgroup.create("test")
    assert group is not None
    watchdog = start_watchdog(cgroup=group.path)
    root = subprocess.Popen(
        [sys.executable, "-c", f"import sys\nsys.stdin.readline()\n{DOUBLE_FORK}", "plain", "0.5"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert group.add(root.pid)
        assert root.stdin is not None and root.stdout is not None
        root.stdin.write("\n")
        root.stdin.flush()
        daemon = int(root.stdout.readline())
        assert sorted(group.pids()) == sorted([root.pid, daemon])
        assert ProcessTreeReader().tree_pids(root.pid)[0] == root.pid
        assert daemon in ProcessTreeReader().tree_pids(root.pid)  # a member, though not under the root
        assert PhaseCpuClock(root.pid).seconds() >= 0.5
        assert watchdog.stdin is not None
        watchdog.stdin.close()  # the harness going away: the watchdog kills and removes the group
        assert watchdog.wait(timeout=20) == 0
        assert wait_for(lambda: not alive(daemon))
        root.wait(timeout=5)
        assert not group.path.exists()
    finally:
        group.remove()
        end(root.pid)
