"""Errors a user can fix: bad netlist or placement files, illegal actions, bad parameters."""

from __future__ import annotations

from a2perf_core.errors import A2PerfError


class CircuitTrainingError(A2PerfError):
    """Base of the circuit-training domain's user-facing errors."""


class NetlistFormatError(CircuitTrainingError):
    """A netlist or placement file that cannot be read; the message names the file and line."""

    def __init__(self, message: str, *, source: str = "<netlist>", line: int | None = None) -> None:
        self.source = source
        self.line = line
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")


class InfeasibleActionError(CircuitTrainingError):
    """An action that places a macro on a cell its legality mask forbids."""
