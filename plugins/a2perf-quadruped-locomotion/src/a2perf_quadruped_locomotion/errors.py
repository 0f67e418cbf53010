"""Errors a user of the quadruped domain can fix."""

from __future__ import annotations

from a2perf_core.errors import A2PerfError


class MotionClipError(A2PerfError):
    """A motion clip file is missing, is not JSON, or has frames of the wrong shape."""


class QuadrupedConfigError(A2PerfError):
    """An environment argument is out of range (unknown mode, bad render mode, ...)."""
