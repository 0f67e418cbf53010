"""Writing a run directory: atomic JSON files and the facts that make a run self-describing."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any


def write_json(path: Path, data: Any) -> None:
    """Write JSON so that a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True, default=str)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def machine_facts() -> dict[str, Any]:
    import psutil

    cpu_model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "host_id": hashlib.sha256(platform.node().encode()).hexdigest()[:12],
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu_model": cpu_model,
        "logical_cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 2),
    }


def package_versions() -> dict[str, str]:
    """Versions of the core, every loaded plugin distribution and the main libraries."""
    from importlib.metadata import PackageNotFoundError, version

    from a2perf_core.plugins import get_plugins

    versions = {row["distribution"]: row["version"] for row in get_plugins().plugin_table()}
    for name in ("gymnasium", "numpy", "gin-config", "pluggy"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            pass
    return versions
