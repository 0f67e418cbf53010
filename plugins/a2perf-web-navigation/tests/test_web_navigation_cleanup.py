"""Browser processes never outlive their env: close, garbage collection, SIGKILL and Ctrl-C."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest
from a2perf_web_navigation.designs import WebsiteDesign
from a2perf_web_navigation.env import WebNavigationEnv

pytestmark = pytest.mark.browser

DESIGN = {"action": ["city"], "action_page": [0]}


def alive(pids: list[int]) -> list[int]:
    living = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                living.append(pid)
        except psutil.NoSuchProcess:
            pass
    return living


def wait_gone(pids: list[int], directory: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while (alive(pids) or os.path.exists(directory)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alive(pids) == [], [psutil.Process(p).cmdline()[:2] for p in alive(pids)]
    assert not os.path.exists(directory)


def started_env() -> tuple[WebNavigationEnv, list[int], str]:
    env = WebNavigationEnv(designs=[WebsiteDesign.from_dict(DESIGN)])
    env.reset()
    pids = env.browser.pids + [env.browser.watchdog.pid]
    assert len(alive(pids)) >= 3  # chromedriver, chromium and its helpers, the watchdog
    return env, pids, env.browser.profile_dir


def test_close_ends_every_browser_process():
    env, pids, directory = started_env()
    env.close()
    wait_gone(pids, directory)
    env.close()  # idempotent


def test_garbage_collection_ends_every_browser_process():
    env, pids, directory = started_env()
    del env
    gc.collect()
    wait_gone(pids, directory)


CHILD = textwrap.dedent(
    """
    import json, sys, time
    from a2perf_web_navigation.env import WebNavigationEnv
    env = WebNavigationEnv(designs=[{"action": ["city"], "action_page": [0]}])
    env.reset()
    b = env.browser
    print(json.dumps({"pids": b.pids + [b.watchdog.pid], "dir": b.profile_dir}), flush=True)
    while True:
        env.step(0)
        env.reset()
        time.sleep(0.01)
    """
)


def _as_from_a_terminal() -> None:
    """The child starts as a shell would start it: Ctrl-C neither ignored nor blocked, whatever an
    earlier test of this process left in the disposition and mask that a child inherits."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_browser_dies_with_its_python_process(sig):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=_as_from_a_terminal,
    )
    try:
        started = json.loads(child.stdout.readline())
        assert len(alive(started["pids"])) >= 3
        child.send_signal(sig)
        child.wait(timeout=30)
        wait_gone(started["pids"], started["dir"])
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
