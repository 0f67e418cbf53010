"""The core's process-tree reader, under the names this plugin has always used.

Which processes belong to a phase (its cgroup's members, or the tree under a subreaper root) is
decided in one place, :mod:`a2perf_core.proctree`, so memory, CPU time and the runner's limit
count the same processes.
"""

from __future__ import annotations

from a2perf_core.proctree import (
    MIB,
    ProcessMemory,
    ProcessTreeReader,
    cgroup_v2_mount,
    cgroup_v2_path,
    own_cgroup_peak_file,
    parse_status,
    read_cgroup_peak,
    unique_set_sizes,
)

__all__ = [
    "MIB",
    "ProcessMemory",
    "ProcessTreeReader",
    "cgroup_v2_mount",
    "cgroup_v2_path",
    "own_cgroup_peak_file",
    "parse_status",
    "read_cgroup_peak",
    "unique_set_sizes",
]
