"""The results database: every run folder indexed into ``<results root>/results.sqlite``.

The run folders stay the source of truth; the database is an index that can always be rebuilt from
them (``a2perf results index ROOT``). It is an embedded SQLite file (standard library ``sqlite3``)
in WAL mode, so several runs ending at once can each index themselves: every writer waits for the
others (``busy_timeout``, plus retries) and indexing one run is one transaction that replaces that
run's rows, so indexing twice gives the same rows. The schema version is SQLite's ``user_version``;
:data:`MIGRATIONS` brings an older file up to date when it is opened.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from a2perf_core.errors import A2PerfError

#: the database's file name inside the results root
DATABASE_NAME = "results.sqlite"
#: where ``a2perf run`` indexes its runs and ``a2perf results`` looks, unless told otherwise
DEFAULT_RESULTS_ROOT = Path("a2perf-runs")
#: milliseconds a connection waits for another writer before SQLite reports "locked"
BUSY_TIMEOUT_MS = 30_000
#: further attempts after a "locked" or "busy" error
LOCK_RETRIES = 5


class ResultsError(A2PerfError):
    """The results database or a run folder cannot be used; the message says what to do."""


class RunFolderError(ResultsError):
    """A folder that is not a readable run: no ``run.json``, or one that does not parse."""


_V1 = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    submission TEXT NOT NULL,
    submission_reference TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    task TEXT NOT NULL,
    task_version INTEGER,
    domain TEXT,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    started TEXT,
    ended TEXT,
    format TEXT NOT NULL,
    gin_config_hash TEXT NOT NULL,
    settings_hash TEXT NOT NULL,
    settings TEXT NOT NULL,
    versions TEXT NOT NULL,
    submission_packages TEXT NOT NULL,
    machine TEXT NOT NULL,
    metric_errors TEXT NOT NULL,
    indexed TEXT NOT NULL
);
CREATE INDEX runs_by_task ON runs (task, submission);
CREATE TABLE phases (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    phase TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    started TEXT,
    ended TEXT,
    wall_time_s REAL,
    PRIMARY KEY (run_id, phase)
);
CREATE TABLE metric_values (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    phase TEXT,
    metric_group TEXT NOT NULL,
    value,
    value_json TEXT NOT NULL,
    unit TEXT NOT NULL,
    direction TEXT NOT NULL,
    description TEXT NOT NULL,
    details TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
);
CREATE INDEX metric_values_by_name ON metric_values (name);
"""

_V2 = """
CREATE TABLE package_versions (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    package TEXT NOT NULL,
    version TEXT,
    PRIMARY KEY (run_id, scope, package)
);
"""


def _migrate_to_v2(db: sqlite3.Connection) -> None:
    """One row per package version, so that runs can be matched on versions in SQL."""
    for statement in _statements(_V2):
        db.execute(statement)
    for run_id, versions, packages in db.execute("SELECT run_id, versions, submission_packages FROM runs").fetchall():
        _insert_package_versions(db, run_id, json.loads(versions), json.loads(packages))


_V3 = """
ALTER TABLE runs ADD COLUMN environment TEXT
"""


_V4 = """
ALTER TABLE runs ADD COLUMN datasets TEXT NOT NULL DEFAULT '[]'
"""


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _apply_script(script: str) -> Callable[[sqlite3.Connection], None]:
    def apply(db: sqlite3.Connection) -> None:
        for statement in _statements(script):
            db.execute(statement)

    return apply


#: the schema's migrations, in order: entry k brings a database from version k to k + 1
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _apply_script(_V1),
    _migrate_to_v2,
    _apply_script(_V3),  # the isolated environment of ``--isolate`` runs (JSON; NULL for the others)
    _apply_script(_V4),  # the offline datasets a run declared, with their data cost (run.json ``datasets``)
)
SCHEMA_VERSION = len(MIGRATIONS)


def database_path(root: Path) -> Path:
    return Path(root) / DATABASE_NAME


def _retrying(action: Callable[[], Any]) -> Any:
    """``action()``, again after a short pause while another process holds the database."""
    for attempt in range(LOCK_RETRIES + 1):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            message = str(exc).lower()
            if attempt == LOCK_RETRIES or not ("locked" in message or "busy" in message):
                raise
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


def _connect(
    path: Path | str, migrate: Sequence[Callable[[sqlite3.Connection], None]] = MIGRATIONS
) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _retrying(lambda: db.execute("PRAGMA journal_mode = WAL").fetchone())
        db.execute("PRAGMA foreign_keys = ON")
        _retrying(lambda: _upgrade(db, migrate))
    except BaseException:
        db.close()
        raise
    return db


def _upgrade(db: sqlite3.Connection, migrations: Sequence[Callable[[sqlite3.Connection], None]]) -> None:
    """Apply the migrations this file lacks, in one transaction (a second process opening the same
    new file waits, then finds it up to date)."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise ResultsError(
            f"the results database has schema version {version}, newer than this a2perf's {SCHEMA_VERSION}; "
            "upgrade a2perf-core"
        )
    if version >= len(migrations):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        for migration in migrations[version:]:
            migration(db)
        db.execute(f"PRAGMA user_version = {len(migrations)}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


@contextmanager
def open_database(root: Path, *, create: bool = False) -> Iterator[sqlite3.Connection]:
    """The database of the results ``root``, migrated to the current schema.

    Without ``create`` a missing database is a :class:`ResultsError` that says how to make one; a
    file that is not a database is one too, whatever ``create`` says.
    """
    root = Path(root)
    path = database_path(root)
    if root.exists() and not root.is_dir():
        raise ResultsError(f"results root {root} is a file, not a directory")
    if not path.exists():
        if not create:
            raise ResultsError(
                f"no results database at {path}; build it from the run folders: a2perf results index {root}"
            )
        root.mkdir(parents=True, exist_ok=True)
    try:
        db = _connect(path)
    except sqlite3.DatabaseError as exc:
        raise ResultsError(
            f"{path} is not a usable results database ({exc}); move it away and rebuild it: a2perf results index {root}"
        ) from None
    try:
        yield db
    finally:
        db.close()


# --- reading a run folder ----------------------------------------------------------------------


def sha256_text(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def settings_hash(settings: dict[str, Any]) -> str:
    """sha256 over the settings that change results (``RESULT_SETTINGS`` less the task and the seed,
    which differ between runs that are meant to be compared)."""
    return sha256_text(json.dumps(result_settings(settings), sort_keys=True))


def result_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings of ``run.json`` that change results, less the task and the seed."""
    from a2perf_core.runner.run import RESULT_SETTINGS, recorded_setting

    return {key: recorded_setting(settings, key) for key in RESULT_SETTINGS if key not in ("task_id", "seed")}


_TASK_VERSION = re.compile(r"-v(\d+)$")


def task_version(task: str) -> int | None:
    """The ``N`` of a task id ending in ``-vN``."""
    match = _TASK_VERSION.search(task)
    return int(match.group(1)) if match else None


def _domain_of(task: str) -> str | None:
    try:
        from a2perf_core.envs import tasks

        known = tasks()
    except Exception:  # the index must not depend on which plugins load
        return None
    return known[task].domain if task in known else None


def run_id_of(info: dict[str, Any]) -> str:
    """A run's id: the same for the same run wherever its folder is (moved or re-indexed)."""
    facts = [info["task"], info["seed"], info.get("started"), info["submission"]["content_hash"], info.get("machine")]
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:12]


def stored_path(run_dir: Path, root: Path) -> str:
    """A run folder as the database stores it: relative to the root when inside it, else absolute."""
    resolved = Path(run_dir).resolve()
    try:
        return resolved.relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def _read_run(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from a2perf_core.metrics import METRICS_JSON, RUN_JSON
    from a2perf_core.runner.records import RUN_FORMAT

    run_json = run_dir / RUN_JSON
    if not run_json.is_file():
        raise RunFolderError(f"{run_dir}: no {RUN_JSON}, not a run folder")
    try:
        info = json.loads(run_json.read_text())
        if not isinstance(info, dict) or info.get("format") != RUN_FORMAT:
            raise ValueError(f"format {info.get('format') if isinstance(info, dict) else None!r}, not {RUN_FORMAT}")
        for key in ("task", "seed", "submission", "phases", "settings", "gin_config"):
            if key not in info:
                raise ValueError(f"no {key!r}")
        submission = info["submission"]
        if not isinstance(submission, dict) or not all(
            isinstance(submission.get(key), str) for key in ("reference", "content_hash")
        ):
            raise ValueError("no submission reference or content hash")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{run_json}: does not parse as a run record ({exc})") from None
    metrics_json = run_dir / METRICS_JSON
    try:
        values = json.loads(metrics_json.read_text()) if metrics_json.is_file() else []
        if not isinstance(values, list) or not all(isinstance(v, dict) and "name" in v for v in values):
            raise ValueError("not a list of metric values")
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{metrics_json}: does not parse ({exc})") from None
    return info, values


def _status_of(run_dir: Path, info: dict[str, Any]) -> tuple[str, str | None]:
    """``ok`` or ``failed`` by the rule of ``summary.json`` (every requested phase ok or skipped)."""
    from a2perf_core.runner.summary import run_status

    status = run_status(run_dir)
    reasons = [f"{phase} {why}" for phase, why in status["failed_phases"].items()]
    if status["status"] == "ok" and not info.get("ended"):
        return "failed", "the run has no end time (it was killed, or is still running)"
    return status["status"], "; ".join(reasons) or None


def _value_columns(value: Any) -> tuple[Any, str]:
    """The value as SQLite stores it (a number, text or NULL) and its exact JSON spelling."""
    if isinstance(value, bool):
        return int(value), json.dumps(value)
    if value is None or isinstance(value, (int, float, str)):
        return value, json.dumps(value)
    return None, json.dumps(value, sort_keys=True)


def _insert_package_versions(
    db: sqlite3.Connection, run_id: str, versions: dict, packages: dict, environment: dict | None = None
) -> None:
    rows = [(run_id, "platform", k, v) for k, v in versions.items()]
    rows += [(run_id, "submission", k, v) for k, v in packages.items()]
    rows += [(run_id, "environment", k, v) for k, v in ((environment or {}).get("packages") or {}).items()]
    db.executemany("INSERT INTO package_versions VALUES (?, ?, ?, ?)", rows)


def _write_run(db: sqlite3.Connection, run_dir: Path, root: Path) -> str:
    from a2perf_core.results.groups import metric_group
    from a2perf_core.runner.results import submission_label

    info, values = _read_run(run_dir)
    submission = info["submission"]
    run_id = run_id_of(info)
    path = stored_path(run_dir, root)
    status, reason = _status_of(run_dir, info)
    environment = info.get("environment")
    db.execute("DELETE FROM runs WHERE run_id = ? OR path = ?", (run_id, path))
    db.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run_id,
            path,
            submission_label(submission["reference"], submission["content_hash"]),
            submission["reference"],
            submission["content_hash"],
            info["task"],
            task_version(info["task"]),
            _domain_of(info["task"]),
            info["seed"],
            status,
            reason,
            info.get("started"),
            info.get("ended"),
            info["format"],
            sha256_text(info["gin_config"]),
            settings_hash(info["settings"]),
            json.dumps(info["settings"], sort_keys=True),
            json.dumps(info.get("versions", {}), sort_keys=True),
            json.dumps(submission.get("package_versions", {}), sort_keys=True),
            json.dumps(info.get("machine", {}), sort_keys=True),
            json.dumps(info.get("metric_errors", []), sort_keys=True),
            datetime.now(timezone.utc).isoformat(timespec="seconds"),
            None if environment is None else json.dumps(environment, sort_keys=True),
            json.dumps(info.get("datasets") or [], sort_keys=True),
        ),
    )
    requested = info.get("phases_requested") or list(info["phases"])
    phases = list(dict.fromkeys([*requested, *info["phases"]]))
    db.executemany(
        "INSERT INTO phases VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                run_id,
                position,
                phase,
                record.get("status", "unknown") if record else "no record",
                record.get("reason") if record else "the run stopped before this phase",
                record.get("started") if record else None,
                record.get("ended") if record else None,
                record.get("wall_time_s") if record else None,
            )
            for position, phase in enumerate(phases)
            for record in [info["phases"].get(phase)]
        ],
    )
    db.executemany(
        "INSERT INTO metric_values VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                run_id,
                position,
                value["name"],
                value.get("phase"),
                metric_group(value["name"]),
                *_value_columns(value.get("value")),
                value.get("unit", ""),
                value.get("direction", "none"),
                value.get("description", ""),
                json.dumps(value.get("details", {}), sort_keys=True),
            )
            for position, value in enumerate(values)
        ],
    )
    _insert_package_versions(db, run_id, info.get("versions", {}), submission.get("package_versions", {}), environment)
    return run_id


def _in_transaction(db: sqlite3.Connection, action: Callable[[], Any]) -> Any:
    def attempt() -> Any:
        db.execute("BEGIN IMMEDIATE")
        try:
            result = action()
            db.execute("COMMIT")
            return result
        except BaseException:
            db.execute("ROLLBACK")
            raise

    return _retrying(attempt)


def index_run(run_dir: Path, root: Path = DEFAULT_RESULTS_ROOT) -> str:
    """Index one run folder into ``root``'s database (made if missing); returns the run id.

    One transaction replaces every row of the run, so indexing again gives the same rows. A folder
    that is not a readable run is a :class:`RunFolderError` and changes nothing.
    """
    run_dir = Path(run_dir)
    _read_run(run_dir)  # fail before the database is touched
    with open_database(root, create=True) as db:
        return _in_transaction(db, lambda: _write_run(db, run_dir, root))


@attrs.frozen
class IndexReport:
    """What ``index_tree`` did: runs indexed, folders skipped (and why), rows of vanished folders removed."""

    indexed: tuple[str, ...]
    skipped: tuple[str, ...]
    removed: tuple[str, ...]


def find_run_dirs(folder: Path) -> list[Path]:
    """Every folder at or below ``folder`` holding a ``run.json``, sorted."""
    from a2perf_core.metrics import RUN_JSON

    folder = Path(folder)
    return sorted(p.parent for p in folder.rglob(RUN_JSON) if not any(part.startswith(".") for part in p.parts[-2:-1]))


def index_tree(folder: Path, root: Path | None = None) -> IndexReport:
    """(Re)build the index of every run folder below ``folder`` into ``root`` (default: ``folder``).

    Rows of runs whose folder below ``folder`` no longer holds a ``run.json`` are removed: the folders
    are the source of truth. Unreadable run folders are skipped and reported.
    """
    from a2perf_core.metrics import RUN_JSON

    folder = Path(folder)
    root = folder if root is None else Path(root)
    if not folder.is_dir():
        raise ResultsError(f"{folder} is not a directory of run folders")
    indexed, skipped = [], []
    with open_database(root, create=True) as db:
        for run_dir in find_run_dirs(folder):
            try:
                indexed.append(_in_transaction(db, lambda run_dir=run_dir: _write_run(db, run_dir, root)))
            except RunFolderError as exc:
                skipped.append(str(exc))
        removed = []
        for run_id, path in db.execute("SELECT run_id, path FROM runs").fetchall():
            run_dir = resolve_stored_path(path, root)
            if _is_below(run_dir, folder) and not (run_dir / RUN_JSON).is_file():
                _in_transaction(db, lambda run_id=run_id: db.execute("DELETE FROM runs WHERE run_id = ?", (run_id,)))
                removed.append(path)
    return IndexReport(tuple(indexed), tuple(skipped), tuple(removed))


def _is_below(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def resolve_stored_path(path: str, root: Path) -> Path:
    """The run folder of a stored path (relative ones are relative to the root)."""
    stored = Path(path)
    return stored if stored.is_absolute() else Path(root) / stored


# --- selecting and loading runs ----------------------------------------------------------------


def parse_since(text: str | None) -> str | None:
    """An ISO date or time (UTC unless it says otherwise) as the ``started`` strings compare."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ResultsError(f"--since {text!r}: give a date or time such as 2026-12-01 or 2026-12-01T14:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def run_filter_sql(
    task: str | Sequence[str] | None,
    submission: str | Sequence[str] | None,
    status: str | None,
    since: str | None,
    metric: str | None = None,
) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for column, wanted in (("task", task), ("submission", submission)):
        if wanted is None:
            continue
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        options = []
        for name in names:
            if column == "submission" and "@" not in name:
                options.append("(submission = ? OR submission LIKE ? ESCAPE '\\')")
                params += [name, name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "@%"]
            else:
                options.append(f"{column} = ?")
                params.append(name)
        clauses.append("(" + " OR ".join(options or ["0"]) + ")")
    if status is not None:
        clauses.append("status = ?")
        params.append(status)
    if since is not None:
        clauses.append("started >= ?")
        params.append(parse_since(since))
    if metric is not None:
        clauses.append("run_id IN (SELECT run_id FROM metric_values WHERE name GLOB ?)")
        params.append(metric)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def select_run_dirs(
    root: Path,
    *,
    task: str | Sequence[str] | None = None,
    submission: str | Sequence[str] | None = None,
    status: str | None = None,
    since: str | None = None,
) -> list[Path]:
    """The run folders indexed in ``root`` that match every filter given, by task, submission, seed.

    ``submission`` is a label as ``a2perf results list`` shows it (``ppo@1a2b3c4d``: that version)
    or a bare name (``ppo``: every version); ``status`` is ``ok`` or ``failed``; ``since`` an ISO
    date or time the run started at or after.
    """
    where, params = run_filter_sql(task, submission, status, since)
    with open_database(root) as db:
        rows = db.execute(f"SELECT path FROM runs{where} ORDER BY task, submission, seed, started", params).fetchall()
    return [resolve_stored_path(path, root) for (path,) in rows]


@attrs.frozen
class IndexedRun:
    """One run as the database holds it: who ran what, how it ended, and its metric values."""

    run_id: str
    run_dir: Path
    submission: str
    task: str
    domain: str | None
    seed: int
    #: ``ok`` or ``failed`` (the rule of ``summary.json``)
    status: str
    reason: str | None
    started: str | None
    ended: str | None
    gin_config_hash: str
    settings_hash: str
    #: the settings that change results (``RESULT_SETTINGS`` less task and seed), as hashed
    result_settings: dict[str, Any]
    machine: dict[str, Any]
    versions: dict[str, Any]
    #: phase -> (status, reason), in the order they were requested
    phases: dict[str, tuple[str, str | None]]
    #: the values of ``metrics.json``, in its order
    metrics: tuple[Any, ...]
    #: run.json ``datasets``: the offline datasets the run declared (``id``, ``data_cost``)
    datasets: tuple[dict[str, Any], ...] = ()

    def value(self, name: str, phase: str | None = None) -> Any:
        """The value of metric ``name`` (of ``phase``, when the name occurs in several); None if absent."""
        for metric in self.metrics:
            if metric.name == name and (phase is None or metric.phase == phase):
                return metric.value
        return None


def load_runs(
    root: Path,
    *,
    task: str | Sequence[str] | None = None,
    submission: str | Sequence[str] | None = None,
    status: str | None = None,
    since: str | None = None,
    db: sqlite3.Connection | None = None,
) -> list[IndexedRun]:
    """The indexed runs matching the filters of :func:`select_run_dirs`, each with its metric values."""
    if db is None:
        with open_database(root) as opened:
            return load_runs(root, task=task, submission=submission, status=status, since=since, db=opened)
    from a2perf_core.metrics import MetricValue

    where, params = run_filter_sql(task, submission, status, since)
    runs = db.execute(
        "SELECT run_id, path, submission, task, domain, seed, status, reason, started, ended, gin_config_hash, "
        "settings_hash, settings, machine, versions, datasets "
        f"FROM runs{where} ORDER BY task, submission, seed, started",
        params,
    ).fetchall()
    loaded = []
    for row in runs:
        run_id = row[0]
        phases = {
            phase: (status_, reason)
            for phase, status_, reason in db.execute(
                "SELECT phase, status, reason FROM phases WHERE run_id = ? ORDER BY position", (run_id,)
            )
        }
        metrics = tuple(
            MetricValue(
                name=name,
                value=json.loads(value_json),
                unit=unit,
                direction=direction,
                phase=phase,
                description=description,
                details=json.loads(details),
            )
            for name, phase, value_json, unit, direction, description, details in db.execute(
                "SELECT name, phase, value_json, unit, direction, description, details FROM metric_values "
                "WHERE run_id = ? ORDER BY position",
                (run_id,),
            )
        )
        loaded.append(
            IndexedRun(
                run_id=run_id,
                run_dir=resolve_stored_path(row[1], root),
                submission=row[2],
                task=row[3],
                domain=row[4],
                seed=row[5],
                status=row[6],
                reason=row[7],
                started=row[8],
                ended=row[9],
                gin_config_hash=row[10],
                settings_hash=row[11],
                result_settings=result_settings(json.loads(row[12])),
                machine=json.loads(row[13]),
                versions=json.loads(row[14]),
                phases=phases,
                metrics=metrics,
                datasets=tuple(json.loads(row[15])),
            )
        )
    return loaded


def runs_of_folder(folder: Path) -> list[IndexedRun]:
    """The runs of a folder that is not indexed, read through a private in-memory database (the same
    code path as the real index, so the numbers are the same)."""
    db = _connect(":memory:")
    try:
        for run_dir in find_run_dirs(folder):
            _in_transaction(db, lambda run_dir=run_dir: _write_run(db, run_dir, Path("/")))
        return load_runs(Path("/"), db=db)
    finally:
        db.close()
