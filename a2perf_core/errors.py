"""Errors meant for a person: the CLI prints their message (no traceback) and exits non-zero."""

from __future__ import annotations


class A2PerfError(Exception):
    """A mistake in the input or the environment that the user can fix; the message says how."""

    exit_code = 2


class PluginError(A2PerfError):
    """A plugin is broken: bad registration, duplicate id, misspelled hook, failed import."""


class UnknownTaskError(A2PerfError, KeyError):
    """A task id that no installed plugin registers."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DataMissingError(A2PerfError, FileNotFoundError):
    """A data asset is neither on the search path nor in the cache."""


class ChecksumError(A2PerfError):
    """A downloaded or found file does not match its declared checksum."""
