"""A train() that moves its work into a double-forked daemon (fork, setsid, parent exits).

The daemon touches ``A2PERF_HOSTILE_MIB`` MiB (default 300), burns ``A2PERF_HOSTILE_CPU_S`` CPU
seconds (default 1), writes its pid to
``daemon.pid`` in the run directory and then sleeps. train() writes its own pid to ``train.pid``
and, at the end, the CPU seconds train() used itself to ``train_cpu_s``; the daemon writes its CPU
seconds to ``daemon_cpu_s`` before it sleeps, appending a row to the training log every 0.05 s
if ``A2PERF_HOSTILE_WRITE_LOG`` is set. train() waits for the daemon's ``daemon.done``
file, then for ``A2PERF_HOSTILE_LINGER_S`` seconds (default 1.5: a poll of the harness sees the
daemon's memory), and returns; with ``A2PERF_HOSTILE_HANG=1`` it never returns.
"""

import os
import time
from pathlib import Path

from a2perf_core import participant


def _daemon(run_dir: Path, log_path: str | None) -> None:
    size = int(os.environ.get("A2PERF_HOSTILE_MIB", "300")) * 2**20
    block = bytearray(size)
    for offset in range(0, size, 4096):  # touch every page: resident, not just reserved
        block[offset] = 1
    burn_until = time.process_time() + float(os.environ.get("A2PERF_HOSTILE_CPU_S", "1"))
    while time.process_time() < burn_until:
        pass
    (run_dir / "daemon_cpu_s").write_text(repr(time.process_time()))
    (run_dir / "daemon.pid").write_text(str(os.getpid()))
    (run_dir / "daemon.done").write_text("")
    row = 0
    while True:
        if log_path:
            with open(log_path, "a") as log:
                log.write(f"daemon-{os.getpid()},{row}\n")
        row += 1
        time.sleep(0.05)


def train() -> None:
    cpu_at_start = time.process_time()
    run_dir = Path(participant.run_dir())
    log_path = os.environ.get("A2PERF_TRAIN_LOG") if os.environ.get("A2PERF_HOSTILE_WRITE_LOG") else None
    for name in ("daemon.done", "daemon.pid", "daemon_cpu_s", "train_cpu_s"):
        (run_dir / name).unlink(missing_ok=True)
    (run_dir / "train.pid").write_text(str(os.getpid()))
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            try:
                _daemon(run_dir, log_path)
            finally:
                os._exit(0)
        os._exit(0)
    os.wait()
    env = participant.make_env()
    env.reset(seed=participant.seed())
    env.step(1)
    env.close()
    while not (run_dir / "daemon.done").exists():
        time.sleep(0.02)
    if os.environ.get("A2PERF_HOSTILE_HANG"):
        while True:
            time.sleep(1)
    time.sleep(float(os.environ.get("A2PERF_HOSTILE_LINGER_S", "1.5")))
    (run_dir / "train_cpu_s").write_text(repr(time.process_time() - cpu_at_start))
