"""A headless system Chromium driven by Selenium, whose processes never outlive their owner.

Chromium and chromedriver are found through ``A2PERF_CHROME`` / ``A2PERF_CHROMEDRIVER`` or on
``PATH``; Selenium Manager is never used (no downloads). Cleanup is layered:

- :meth:`Chromium.close` quits the driver and removes the profile directory;
- a ``weakref.finalize`` does the same when the owner is garbage-collected or Python exits
  (also after Ctrl-C, since chromedriver runs in its own session and does not get the SIGINT);
- a small watchdog process (:mod:`a2perf_core.watchdog`) holds a pipe from this process; when the
  pipe closes for any reason, including a SIGKILL of Python, it kills whatever is left of the
  browser tree (chromedriver's tree and every process using the profile) and removes the profile.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import weakref
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from a2perf_core.watchdog import start_watchdog
from a2perf_web_navigation.errors import BrowserError, BrowserMissingError

CHROME_ENV, CHROMEDRIVER_ENV = "A2PERF_CHROME", "A2PERF_CHROMEDRIVER"
CHROME_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--disable-breakpad",
    "--disable-crash-reporter",
)


def find_browser() -> tuple[str, str]:
    """Paths of Chromium and chromedriver, or one error saying what to install."""
    chrome = os.environ.get(CHROME_ENV) or next((p for n in CHROME_NAMES if (p := shutil.which(n))), None)
    driver = os.environ.get(CHROMEDRIVER_ENV) or shutil.which("chromedriver")
    missing = [
        f"{what} (looked at ${env} and PATH)"
        for what, env, path in (("Chromium", CHROME_ENV, chrome), ("chromedriver", CHROMEDRIVER_ENV, driver))
        if not path or not os.path.exists(path)
    ]
    if missing:
        raise BrowserMissingError(
            "the web navigation domain needs a local Chromium and a matching chromedriver; not found: "
            + "; ".join(missing)
            + ". Install them (Debian/Ubuntu: `apt-get install chromium chromium-driver`) or set "
            f"{CHROME_ENV} and {CHROMEDRIVER_ENV} to the two executables."
        )
    return str(chrome), str(driver)


def site_shell() -> str:
    """The single page every env loads once: stylesheet, page script and an empty site root."""
    files = resources.files("a2perf_web_navigation").joinpath("site")
    css = files.joinpath("site.css").read_text(encoding="utf-8")
    js = files.joinpath("site.js").read_text(encoding="utf-8")
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>a2perf web navigation</title>'
        f"<style>{css}</style><script>{js}</script></head>"
        '<body><div id="site" class="wn-site"></div></body></html>'
    )


def _shutdown(driver: Any, watchdog: subprocess.Popen, profile: str) -> None:
    try:
        driver.quit()
    except Exception:  # the browser may be gone already; the watchdog cleans up what is left
        pass
    try:
        if watchdog.stdin is not None:
            watchdog.stdin.close()
        watchdog.wait(timeout=10)
    except Exception:
        watchdog.kill()
    shutil.rmtree(profile, ignore_errors=True)


class Chromium:
    """One headless Chromium showing the site shell."""

    def __init__(self, window_size: tuple[int, int] = (600, 800), extra_flags: Sequence[str] = ()) -> None:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service

        chrome, chromedriver = find_browser()
        self.profile_dir = tempfile.mkdtemp(prefix="a2perf-webnav-chrome-")
        options = webdriver.ChromeOptions()
        options.binary_location = chrome
        for flag in (*CHROME_FLAGS, *extra_flags):
            options.add_argument(flag)
        options.add_argument(f"--window-size={window_size[0]},{window_size[1]}")
        options.add_argument(f"--user-data-dir={self.profile_dir}")
        service = Service(executable_path=chromedriver, popen_kw={"start_new_session": True})
        self.watchdog = start_watchdog(match=self.profile_dir, remove=Path(self.profile_dir))
        try:
            self.driver = webdriver.Chrome(service=service, options=options)
        except WebDriverException as exc:
            self.watchdog.stdin.close()  # type: ignore[union-attr]
            self.watchdog.wait(timeout=10)
            raise BrowserError(
                f"Chromium {chrome} did not start under {chromedriver} (are their versions the same?): {exc.msg}"
            ) from None
        self.watchdog.stdin.write(b"%d\n" % service.process.pid)  # type: ignore[union-attr]
        self.watchdog.stdin.flush()  # type: ignore[union-attr]
        self._finalizer = weakref.finalize(self, _shutdown, self.driver, self.watchdog, self.profile_dir)
        shell = base64.b64encode(site_shell().encode()).decode()
        self.driver.get(f"data:text/html;charset=utf-8;base64,{shell}")

    @property
    def pids(self) -> list[int]:
        """Process ids of chromedriver and every browser process under it."""
        import psutil

        try:
            root = psutil.Process(self.driver.service.process.pid)
            return [root.pid, *(c.pid for c in root.children(recursive=True))]
        except psutil.Error:
            return []

    def run(self, script: str, *args: Any) -> Any:
        """One round trip: run ``script`` in the page and return its value."""
        from selenium.common.exceptions import WebDriverException

        try:
            return self.driver.execute_script(script, *args)
        except WebDriverException as exc:
            raise BrowserError(f"the browser failed: {exc.msg}") from None

    def screenshot_png(self) -> bytes:
        return self.driver.get_screenshot_as_png()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        self._finalizer()
