"""Writing a run directory: atomic JSON files and the facts that make a run self-describing."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def write_json(path: Path, data: Any) -> None:
    """Write JSON so that a reader never sees a half-written file; a value that is not JSON raises."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def submission_label(reference: str, content_hash: str | None = None) -> str:
    """The name a submission goes by in tables: its folder's name, or its dotted module name.

    With ``content_hash`` the first eight hex digits follow (``ppo@1a2b3c4d``), which tells apart two
    versions of one folder.
    """
    name = Path(reference.rstrip("/")).name
    if name in ("", ".", ".."):
        name = Path(reference).resolve().name or reference
    if content_hash:
        name = f"{name}@{content_hash.removeprefix('sha256:')[:8]}"
    return name


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


def submission_content_hash(root: Path) -> str:
    """sha256 over the submission's files: each relative path (sorted, ``/``-separated), a NUL, its
    size and its bytes; ``__pycache__`` folders are left out. Two submissions with the same files
    have the same hash wherever they live."""
    digest = hashlib.sha256()
    files = sorted(
        (p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.relative_to(root).parts),
        key=lambda p: p.relative_to(root).as_posix(),
    )
    for path in files:
        data = path.read_bytes()
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + str(len(data)).encode() + b"\0")
        digest.update(data)
    return "sha256:" + digest.hexdigest()


def imported_top_level_names(root: Path) -> set[str]:
    """Top-level modules the submission's Python files import (absolute imports only)."""
    import ast

    names: set[str] = set()
    for path in root.rglob("*.py"):
        if "__pycache__" in path.relative_to(root).parts:
            continue
        try:
            tree = ast.parse(path.read_text(), filename=str(path))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def submission_package_versions(root: Path, requirements: Sequence[str]) -> dict[str, str | None]:
    """Installed version of each distribution the submission names in ``requirements.txt`` or whose
    modules it imports (standard library and its own modules left out); ``None``: not installed."""
    from importlib.metadata import PackageNotFoundError, packages_distributions, version

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    own = {p.stem for p in root.glob("*.py")} | {p.name for p in root.iterdir() if p.is_dir()} | {root.name}
    modules = imported_top_level_names(root) - set(sys.stdlib_module_names) - own
    by_module = packages_distributions() if modules else {}  # it reads every installed distribution's files
    distributions = {canonicalize_name(Requirement(r).name) for r in requirements}
    unmapped: set[str] = set()
    for module in modules:
        found = by_module.get(module)
        if found:
            distributions.update(canonicalize_name(d) for d in found)
        else:
            unmapped.add(module)
    versions: dict[str, str | None] = {}
    for name in sorted(distributions | unmapped):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions
