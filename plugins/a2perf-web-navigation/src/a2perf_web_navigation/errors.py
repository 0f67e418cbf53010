"""Mistakes a user of the web navigation domain can fix; the CLI prints the message only."""

from __future__ import annotations

from a2perf_core.errors import A2PerfError


class DesignError(A2PerfError, ValueError):
    """A website design or a design option is malformed (unknown primitive, bad level, ...)."""


class BrowserMissingError(A2PerfError):
    """No Chromium or no chromedriver was found."""


class BrowserError(A2PerfError):
    """The browser failed or went away during an episode."""


class ActionError(A2PerfError, ValueError):
    """An action that is not an integer of the action space."""


class EpisodeError(A2PerfError, RuntimeError):
    """``step()`` on a finished episode or a closed env."""
