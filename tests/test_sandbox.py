"""The policy sandbox: no network, read-only outside its directory, and a one-line error when unavailable."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import a2perf_core
from a2perf_core.runner import sandbox

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


def test_without_bubblewrap_untrusted_is_an_error_not_a_downgrade(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(sandbox.SandboxUnavailableError, match="install the Debian package 'bubblewrap'"):
        sandbox.check_sandbox(tmp_path)


@needs_bwrap
def test_sandboxed_code_has_no_network_and_writes_only_its_directory(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    # outside the sandbox's directory, on the real filesystem (not under /tmp, which the sandbox replaces)
    outside = Path(a2perf_core.__file__).parent / f"forged-{os.getpid()}.json"
    inside = tmp_path / "participant"
    inside.mkdir()
    probe = (
        "import errno, socket, sys\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=5); print('net:open')\n"
        "except OSError:\n"
        "    print('net:refused')\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        open(path, 'w').write('x'); print('write:ok')\n"
        "    except OSError as error:\n"
        "        print('write:' + errno.errorcode[error.errno])\n"
    )
    assert sandbox.check_sandbox(inside) == "bubblewrap"
    command = [sys.executable, "-c", probe, str(inside / "ok.txt"), str(outside)]
    finished = subprocess.run(
        sandbox.sandboxed_command(command, inside), capture_output=True, text=True, timeout=60, check=True
    )
    listener.close()
    forged = outside.exists()
    outside.unlink(missing_ok=True)
    assert finished.stdout.split() == ["net:refused", "write:ok", "write:EROFS"]
    assert (inside / "ok.txt").read_text() == "x"
    assert not forged
