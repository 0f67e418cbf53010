"""The results database: exact values, statuses, idempotent and concurrent indexing, migrations, filters."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from a2perf_core.cli import main
from a2perf_core.metrics import MetricValue
from a2perf_core.results import store
from a2perf_core.results.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    ResultsError,
    index_run,
    index_tree,
    load_runs,
    open_database,
    select_run_dirs,
)
from a2perf_core.results.testing import metric, write_run_folder

#: values of every JSON kind a metric may have, including floats that do not print short
VALUES = [
    metric("latency.mean", 0.1 + 0.2, "ms", "lower"),
    metric("latency.count", 19, "calls"),
    metric("memory.spike_missed", False),
    metric("energy.region", "USA"),
    metric("reliability.dispersion_across_time", None, direction="lower", phase="train"),
    metric("reliability.returns.mean", -1.2859949870768344, "return", "higher", samples=3),
]


def results(*args: str) -> object:
    return CliRunner().invoke(main, ["results", *args])


def two_runs(root: Path) -> list[Path]:
    ok = write_run_folder(root / "ok" / "seed_0", metrics=VALUES)
    failed = write_run_folder(
        root / "ok" / "seed_1",
        seed=1,
        phases={"train": ("ok", None), "inference": ("failed", "exit code -11 (SIGSEGV)")},
        metrics=[metric("latency.mean", 2.5, "ms", "lower")],
        started="2026-12-02T09:00:00+00:00",
    )
    return [ok, failed]


def file_values(run_dir: Path) -> list[dict]:
    return json.loads((run_dir / "metrics.json").read_text())


def test_every_value_in_the_database_and_the_exports_equals_metrics_json(tmp_path):
    runs = two_runs(tmp_path)
    index_tree(tmp_path)
    by_dir = {r.run_dir.resolve(): r for r in load_runs(tmp_path)}
    for run_dir in runs:
        loaded = by_dir[run_dir.resolve()].metrics
        assert [m.to_json() for m in loaded] == [MetricValue.from_json(v).to_json() for v in file_values(run_dir)]

    exported = json.loads(results("export", "--results-root", str(tmp_path), "--format", "json").output)
    expected = [(str(d.resolve()), v["name"], v["phase"], v["value"], v["unit"]) for d in runs for v in file_values(d)]
    assert [(str(Path(r["path"]).resolve()), r["metric"], r["phase"], r["value"], r["unit"]) for r in exported] == (
        expected
    )
    assert all(type(r["value"]) is type(e[3]) for r, e in zip(exported, expected, strict=True))

    text = results("export", "--results-root", str(tmp_path), "--format", "csv").output
    rows = list(csv.DictReader(io.StringIO(text)))
    assert float(rows[0]["value"]) == 0.1 + 0.2 and rows[0]["unit"] == "ms" and rows[0]["group"] == "system"
    assert [r["value"] for r in rows[1:5]] == ["19", "false", "USA", ""]
    assert rows[5]["group"] == "application" and float(rows[5]["value"]) == -1.2859949870768344


def test_a_failed_run_is_listed_as_failed_with_its_reason(tmp_path):
    two_runs(tmp_path)
    write_run_folder(tmp_path / "killed", seed=2, ended=None)
    index_tree(tmp_path)
    listed = {r["seed"]: r for r in json.loads(results("list", "--results-root", str(tmp_path), "--json").output)}
    assert listed[0]["status"] == "ok" and listed[0]["reason"] is None
    assert listed[1]["status"] == "failed" and listed[1]["reason"] == "inference failed: exit code -11 (SIGSEGV)"
    assert listed[2]["status"] == "failed" and "no end time" in listed[2]["reason"]
    table = results("list", "--results-root", str(tmp_path)).output
    status_column = " ".join(line.split("│")[5].strip() for line in table.splitlines() if line.startswith("│"))
    assert "failed: inference failed: exit code -11 (SIGSEGV)" in status_column  # folded over two lines
    shown = results("show", listed[1]["run_id"][:6], "--results-root", str(tmp_path))
    assert shown.exit_code == 0 and "status: failed: inference failed" in shown.output and "SIGSEGV" in shown.output


def table_rows(db_file: Path) -> dict[str, list[tuple]]:
    db = sqlite3.connect(db_file)
    try:
        return {
            table: sorted(db.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in ("phases", "metric_values", "package_versions")
        } | {"runs": sorted(row[:-1] for row in db.execute("SELECT * FROM runs"))}  # the last column: when indexed
    finally:
        db.close()


def test_indexing_twice_gives_the_same_rows_and_paths_are_relative_inside_the_root(tmp_path):
    runs = two_runs(tmp_path)
    index_tree(tmp_path)
    first = table_rows(tmp_path / "results.sqlite")
    index_run(runs[0], tmp_path)
    index_tree(tmp_path)
    assert table_rows(tmp_path / "results.sqlite") == first
    assert sorted(r[1] for r in first["runs"]) == ["ok/seed_0", "ok/seed_1"]
    outside = write_run_folder(tmp_path.parent / f"{tmp_path.name}-elsewhere" / "run", seed=5)
    index_run(outside, tmp_path)
    assert outside.resolve().as_posix() in {str(p) for p in select_run_dirs(tmp_path)}


def test_rebuilding_drops_runs_whose_folder_is_gone_and_skips_unreadable_ones(tmp_path):
    runs = two_runs(tmp_path)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{not json")
    result = results("index", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output and "broken/run.json: does not parse" in result.output
    assert "indexed 2 runs" in result.output and "Traceback" not in result.output
    (runs[1] / "run.json").unlink()
    assert index_tree(tmp_path).removed == ("ok/seed_1",)
    assert [p.resolve() for p in select_run_dirs(tmp_path)] == [runs[0].resolve()]
    with pytest.raises(store.RunFolderError, match="no run.json"):
        index_run(runs[1], tmp_path)


def test_a_version_1_database_is_migrated(tmp_path):
    db = sqlite3.connect(tmp_path / "results.sqlite", isolation_level=None)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
    row = dict.fromkeys(columns, "x") | {
        "run_id": "r1",
        "seed": 0,
        "versions": json.dumps({"a2perf-core": "0.1.0"}),
        "submission_packages": json.dumps({"numpy": "2.0.0"}),
    }
    db.execute(f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    db.close()
    with open_database(tmp_path) as migrated:
        assert migrated.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        assert migrated.execute("SELECT datasets FROM runs WHERE run_id = 'r1'").fetchone()[0] == "[]"
        assert sorted(migrated.execute("SELECT * FROM package_versions")) == [
            ("r1", "platform", "a2perf-core", "0.1.0"),
            ("r1", "submission", "numpy", "2.0.0"),
        ]
        assert migrated.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_database_newer_than_this_a2perf_is_refused_not_used(tmp_path):
    write_run_folder(tmp_path / "r")
    index_tree(tmp_path)
    db = sqlite3.connect(tmp_path / "results.sqlite")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    result = results("list", "--results-root", str(tmp_path))
    assert (
        result.exit_code == 2 and "newer than this a2perf's" in result.output and "upgrade a2perf-core" in result.output
    )


def _index_many(args: tuple[str, list[str]]) -> int:
    root, run_dirs = args
    for run_dir in run_dirs:
        index_run(Path(run_dir), Path(root))
    return len(run_dirs)


def test_concurrent_writers_leave_every_run_there_once_and_the_database_intact(tmp_path):
    shared = write_run_folder(tmp_path / "shared", seed=99, metrics=VALUES)
    jobs = []
    for worker in range(4):
        dirs = [
            write_run_folder(tmp_path / f"w{worker}" / f"seed_{s}", seed=100 * worker + s, metrics=VALUES)
            for s in range(5)
        ]
        jobs.append((str(tmp_path), [str(d) for d in dirs] + [str(shared)]))
    pool = multiprocessing.get_context("fork").Pool(4)
    try:
        assert sum(pool.map(_index_many, jobs)) == 24
    finally:  # not terminate(): its SIGTERM can meet a handler an earlier test's in-process `a2perf run` installed
        pool.close()
        pool.join()
    with open_database(tmp_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        paths = [p for (p,) in db.execute("SELECT path FROM runs")]
        assert len(paths) == len(set(paths)) == 21
        assert db.execute("SELECT COUNT(*) FROM metric_values").fetchone()[0] == 21 * len(VALUES)


def test_filters_by_task_submission_status_date_and_metric(tmp_path):
    write_run_folder(tmp_path / "a0", submission="ppo", metrics=VALUES)
    write_run_folder(tmp_path / "a1", submission="ppo", content_hash="sha256:" + "b" * 64, task="Other-v1")
    write_run_folder(
        tmp_path / "b0", submission="sac", phases={"inference": ("failed", "boom")}, started="2026-12-03T00:00:00Z"
    )
    index_tree(tmp_path)

    def names(**filters: object) -> list[str]:
        return [p.name for p in select_run_dirs(tmp_path, **filters)]

    assert names(submission="ppo") == ["a0", "a1"]
    assert names(submission="ppo@bbbbbbbb") == ["a1"]
    assert names(task="Other-v1") == ["a1"] and names(status="failed") == ["b0"]
    assert names(since="2026-12-02") == ["b0"] and names(submission=["sac", "ppo@aaaaaaaa"]) == ["a0", "b0"]
    listed = json.loads(results("list", "--results-root", str(tmp_path), "--metric", "latency.*", "--json").output)
    assert [r["path"] for r in listed] == ["a0"]
    exported = json.loads(
        results("export", "--results-root", str(tmp_path), "--format", "json", "--metric", "memory.*").output
    )
    assert [(r["metric"], r["value"]) for r in exported] == [("memory.spike_missed", False)]


@pytest.mark.parametrize(
    "args, message",
    [
        (["list"], "no results database at"),
        (["list", "--since", "yesterday"], "--since 'yesterday'"),
        (["show", "nope"], "no run 'nope'"),
        (["index", "missing-dir"], "is not a directory of run folders"),
    ],
)
def test_user_mistakes_are_one_line_errors(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("A2PERF_RESULTS_ROOT")  # the default root, ./a2perf-runs
    if args[0] != "list" or len(args) > 1:
        write_run_folder(tmp_path / "a2perf-runs" / "r")
        index_tree(tmp_path / "a2perf-runs")
    result = results(*args)
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_a_root_that_is_a_file_or_a_corrupt_database_is_a_one_line_error(tmp_path):
    (tmp_path / "file").write_text("")
    result = results("list", "--results-root", str(tmp_path / "file"))
    assert result.exit_code == 2 and "is a file, not a directory" in result.output
    (tmp_path / "results.sqlite").write_bytes(b"this is not sqlite" * 100)
    result = results("list", "--results-root", str(tmp_path))
    assert result.exit_code == 2 and "not a usable results database" in result.output
    assert len(result.output.strip().splitlines()) == 1
    with pytest.raises(ResultsError):
        select_run_dirs(tmp_path)


def test_a_broken_database_does_not_lose_the_run(tmp_path):
    from rich.console import Console

    from a2perf_core.runner.cli import index_finished_run

    run_dir = write_run_folder(tmp_path / "run", metrics=VALUES)
    before = (run_dir / "metrics.json").read_bytes()
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "results.sqlite").write_bytes(b"garbage" * 200)
    console = Console(file=io.StringIO(), width=400)
    index_finished_run(console, run_dir, tmp_path / "root")
    warning = console.file.getvalue()
    assert "warning: not indexed into" in warning and "the run folder is intact" in warning
    assert (run_dir / "metrics.json").read_bytes() == before and (run_dir / "run.json").is_file()


@pytest.mark.slow
def test_a_real_multi_seed_run_is_indexed_as_each_seed_ends(tmp_path, monkeypatch, with_example_domain):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("A2PERF_RESULTS_ROOT")  # the default root
    args = ["run", "--task", "ExampleCorridor-v0", "--seeds", "0,1", "--phase", "inference", "--out", "a2perf-runs/x"]
    args += ["--gin-param", "RunSettings.num_inference_episodes = 2", "--gin-param", "RunSettings.num_warmup_calls = 1"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    runs = load_runs(Path("a2perf-runs"))
    assert [(r.seed, r.status, r.run_dir.as_posix()) for r in runs] == [
        (0, "ok", "a2perf-runs/x/seed_0"),
        (1, "ok", "a2perf-runs/x/seed_1"),
    ]
    for run in runs:
        assert [m.to_json() for m in run.metrics] == file_values(run.run_dir)
        assert run.submission.startswith("random_submission@") and run.domain is not None


def test_a_run_record_with_a_null_content_hash_is_skipped_not_a_traceback(tmp_path):
    import json as json_module

    run_dir = write_run_folder(tmp_path / "root" / "r")
    info = json_module.loads((run_dir / "run.json").read_text())
    info["submission"]["content_hash"] = None
    (run_dir / "run.json").write_text(json_module.dumps(info))
    report = index_tree(tmp_path / "root")
    assert report.indexed == () and len(report.skipped) == 1
    assert "no submission reference or content hash" in report.skipped[0]
