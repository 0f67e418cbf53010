"""The sandbox an untrusted policy process runs in: bubblewrap, no network, read-only except one directory.

Untrusted mode must never fall back to running the policy unsandboxed, so a missing or broken bubblewrap is a
one-line error rather than a silent downgrade.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from a2perf_core.errors import A2PerfError

SANDBOX_NAME = "bubblewrap"


class SandboxUnavailableError(A2PerfError):
    """Untrusted mode was asked for on a machine where the policy process cannot be sandboxed."""


def bubblewrap_path() -> str:
    """Where bwrap is; an error naming the Debian package when it is not installed."""
    found = shutil.which("bwrap")
    if found is None:
        raise SandboxUnavailableError(
            "--untrusted needs bubblewrap to sandbox the policy: install the Debian package 'bubblewrap'"
        )
    return found


def _code_under_tmp() -> list[str]:
    """The interpreter, import path and this package where they live under ``/tmp`` (a checkout or
    venv there): the private ``/tmp`` would hide them, so they are bound back, read-only."""
    import sys

    import a2perf_core

    candidates = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        *sys.path,
        str(Path(a2perf_core.__file__).parent.parent),
    }
    found = {str(Path(c).resolve()) for c in candidates if c and Path(c).exists()}
    under_tmp = sorted(c for c in found if c == "/tmp" or c.startswith("/tmp/"))
    return [c for c in under_tmp if c != "/tmp"]


def sandboxed_command(command: Sequence[str], writable_dir: Path, readable: Sequence[Path] = ()) -> list[str]:
    """`command` wrapped so it runs with its own (empty) network namespace and only `writable_dir` writable.

    Its own PID and IPC namespaces hide the harness's processes (no signals, no ``/proc/<pid>/mem``) and System V
    shared memory; a new session keeps it off the terminal. `readable` are folders under ``/tmp`` it must still
    see (read-only), e.g. a submission there.
    """
    writable = str(Path(writable_dir).resolve())
    under_tmp = {str(Path(p).resolve()) for p in readable} | set(_code_under_tmp())
    bound_back = sorted(p for p in under_tmp if p.startswith("/tmp/"))
    return [
        bubblewrap_path(),
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--new-session",
        "--die-with-parent",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
        *(arg for path in bound_back for arg in ("--ro-bind", path, path)),
        "--bind",
        writable,
        writable,
        "--chdir",
        writable,
        *command,
    ]


def check_sandbox(writable_dir: Path) -> str:
    """Run `true` in the sandbox once; return the sandbox's name, or an error saying why it does not work.

    bwrap can be installed yet unusable (user namespaces disabled, seccomp in a container), so its presence alone
    proves nothing.
    """
    try:
        finished = subprocess.run(
            sandboxed_command(["true"], writable_dir), capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SandboxUnavailableError(f"--untrusted: bubblewrap could not start: {error}") from None
    if finished.returncode != 0:
        reason = (finished.stderr.strip().splitlines() or [f"exit status {finished.returncode}"])[-1]
        raise SandboxUnavailableError(f"--untrusted: bubblewrap does not work on this machine: {reason}")
    return SANDBOX_NAME
