"""`a2perf sweep`: the spec's one-line errors, the grid as run folders, resume after a kill, retries of a
crashing cell, and the local pool's contention mark (docs/scaling.md)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from a2perf_core.cli import main
from a2perf_core.runner.cli import example_submission
from a2perf_core.sweep.progress import SweepStatus, format_duration

TASK = "ExampleCorridor-v0"


@pytest.fixture
def example(with_example_domain):
    return with_example_domain


def submission_copy(tmp_path: Path, name: str, train_body: str | None = None) -> Path:
    """The bundled example under another name; ``train_body`` replaces its train()."""
    target = tmp_path / name
    shutil.copytree(example_submission(), target, ignore=shutil.ignore_patterns("__pycache__"))
    if train_body is not None:
        (target / "train.py").write_text(f"def train():\n    {train_body}\n")
    return target


def sweep(*args: str):
    return CliRunner().invoke(main, ["sweep", *args])


def manifest(folder: Path) -> dict:
    return json.loads((folder / "sweep.json").read_text())


def run_json(folder: Path) -> dict:
    return json.loads((folder / "run.json").read_text())


@pytest.mark.parametrize(
    ("spec", "flags", "message"),
    [
        ("tasks = ['NoSuchTask-v0']\nseeds = [0]\n", [], "sweep spec {spec}: tasks: "),
        (
            "submissions = ['missing']\ntasks = ['ExampleCorridor-v0']\nseeds = [0]\n",
            [],
            "submission 'missing' is not valid: no",
        ),
        ("tasks = ['ExampleCorridor-v0']\nseeds = [0, 0]\n", [], "seeds [0, 0] lists a seed twice"),
        ("tasks = ['ExampleCorridor-v0']\nseeds = ['a']\n", [], "seeds ['a'] must be a non-empty list of integers"),
        ("tasks = ['ExampleCorridor-v0']\n", [], "seeds is missing"),
        ("tasks = ['ExampleCorridor-v0']\nseeds = [0]\nseed = 1\n", [], "unknown key 'seed'"),
        ("tasks = ['ExampleCorridor-v0']\nseeds = [0]\ntimeout = -1\n", [], "timeout -1 must be a positive number"),
        ("tasks = [", [], "not TOML"),
        ("tasks = ['ExampleCorridor-v0']\nseeds = [0]\n", ["--seeds", "x"], "--seeds 'x': give integers"),
        ("tasks = ['ExampleCorridor-v0']\nseeds = [0]\n", ["--address", "h:1"], "executor 'local' does not take"),
        ("tasks = ['ExampleCorridor-v0']\nseeds = [0]\n", ["--jobs", "0"], "--jobs 0: give 1 or more"),
    ],
)
def test_a_bad_spec_is_one_line_before_anything_runs(example, tmp_path, spec, flags, message):
    path = tmp_path / "grid.toml"
    path.write_text(spec)
    result = sweep(str(path), "--out", str(tmp_path / "out"), *flags)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1
    assert message.format(spec=path) in result.output
    assert not (tmp_path / "out" / "sweep.json").exists()


def test_status_line_counts_and_eta():
    status = SweepStatus(total=5, done=1, failed=0)
    status.queue([Path("a"), Path("b"), Path("c"), Path("d")])
    assert status.eta_s() is None
    status.started -= 30  # one cell finished after 30 s: three to go at that pace
    status.finished(Path("a"), ok=True)
    status.finished(Path("b"), ok=False)
    assert (status.done, status.failed) == (2, 1)
    assert status.eta_s() == pytest.approx(2 * 30 / 2, rel=0.05)
    assert status.line().startswith("sweep: 2/5 done, 0 running, 1 failed, 2 to go, ETA ")
    assert [format_duration(s) for s in (5, 65, 3725)] == ["5s", "1m05s", "1h02m"]


def cells_done(folder: Path) -> int:
    try:
        return sum(c["status"] == "done" for c in manifest(folder)["cells"].values())
    except (FileNotFoundError, ValueError):
        return 0


@pytest.mark.slow
def test_a_killed_sweep_completes_only_its_missing_cells(example, tmp_path):
    a, b = submission_copy(tmp_path, "alpha"), submission_copy(tmp_path, "beta")
    out = tmp_path / "out"
    args = ["--submission", str(a), "--submission", str(b), "--task", TASK, "--seeds", "0-1", "--phase", "train"]
    command = [sys.executable, "-m", "a2perf_core", "sweep", *args, "--out", str(out), "--jobs", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while cells_done(out) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    first = manifest(out)["cells"]
    finished = {path for path, cell in first.items() if cell["status"] == "done"}
    assert 2 <= len(finished) < 4, first
    before = {path: (out / path / "run.json").stat().st_mtime_ns for path in finished}

    result = sweep(*args, "--out", str(out))
    assert result.exit_code == 0, result.output
    cells = manifest(out)["cells"]
    assert len(cells) == 4 and all(c["status"] == "done" for c in cells.values())
    assert {path for path, c in cells.items() if c["tries"] == 1} == set(cells)  # a kill is not a failed try
    assert {path: (out / path / "run.json").stat().st_mtime_ns for path in finished} == before
    ran = {line.split()[1] for line in result.output.splitlines() if line.strip().startswith("done ")}
    assert ran == set(cells) - finished
    for path in cells:
        record = run_json(out / path)
        assert record["ended"] and record["phases"]["train"]["status"] == "ok"
        assert record["contention"] == {"executor": "local", "jobs": 1, "shared_machine": False}
    assert sorted(p.name for p in (out / next(iter(cells))).parent.parent.iterdir()) == [TASK]

    again = sweep(*args, "--out", str(out))
    assert again.exit_code == 0 and "done alpha" not in again.output and "4/4 done" in again.output

    other = sweep(*args, "--out", str(out), "--participant-arg", "num_episodes=1")
    assert other.exit_code == 2 and "holds runs of other settings (participant_args [] -> ['num_episodes=1'])" in (
        other.output
    )

    (b / "train.py").write_text((b / "train.py").read_text() + "\n# changed\n")
    changed = sweep(*args, "--out", str(out))
    assert changed.exit_code == 0, changed.output
    labels = sorted(p.name for p in out.iterdir() if p.is_dir() and "@" in p.name)
    assert len(labels) == 3 and sum(name.startswith("beta@") for name in labels) == 2
    new_beta = {path for path, c in manifest(out)["cells"].items() if c["tries"] == 1 and path not in cells}
    assert len(new_beta) == 2 and all(path.startswith("beta@") for path in new_beta)


@pytest.mark.slow
def test_a_crashing_cell_is_failed_with_its_reason_and_the_pool_finishes_the_others(example, tmp_path):
    good = submission_copy(tmp_path, "good")
    bad = submission_copy(tmp_path, "crashing", "raise RuntimeError('the learner diverged')")
    out, root = tmp_path / "out", tmp_path / "results"
    args = ["--submission", str(good), "--submission", str(bad), "--task", TASK, "--seeds", "7", "--phase", "train"]
    result = sweep(*args, "--out", str(out), "--jobs", "2", "--retries", "1", "--results-root", str(root))
    assert result.exit_code == 1, result.output
    cells = manifest(out)["cells"]
    crashed = {p: c for p, c in cells.items() if p.startswith("crashing@")}
    assert len(crashed) == 1 and len(cells) == 2
    for cell in crashed.values():
        assert (cell["status"], cell["tries"], cell["failures"]) == ("failed", 2, 2)
        assert "RuntimeError: the learner diverged" in cell["reason"]
    [(good_path, good_cell)] = [(p, c) for p, c in cells.items() if p.startswith("good@")]
    assert (good_cell["status"], good_cell["tries"]) == ("done", 1)
    assert run_json(out / good_path)["contention"] == {"executor": "local", "jobs": 2, "shared_machine": True}
    [crashed_path] = crashed  # its retry ran alone, and its run.json says so
    assert run_json(out / crashed_path)["contention"] == {"executor": "local", "jobs": 1, "shared_machine": False}

    import sqlite3

    with sqlite3.connect(root / "results.sqlite") as db:
        rows = db.execute("SELECT submission, seed, status FROM runs ORDER BY submission, seed").fetchall()
    assert [(s.split("@")[0], seed, status) for s, seed, status in rows] == [
        ("crashing", 7, "failed"),
        ("good", 7, "ok"),
    ]

    given_up = sweep(*args, "--out", str(out), "--jobs", "2", "--retries", "1", "--results-root", str(root))
    assert given_up.exit_code == 1 and "failed crashing" not in given_up.output  # not tried again
    retried = sweep(*args, "--out", str(out), "--retries", "2", "--results-root", str(root))
    assert retried.exit_code == 1
    assert {c["tries"] for p, c in manifest(out)["cells"].items() if p.startswith("crashing@")} == {3}
    assert os.path.isfile(out / next(iter(crashed)) / "train_error.txt")


def test_seed_lists_take_ranges():
    from a2perf_core.sweep.cli import parse_seed_list

    assert parse_seed_list("0-2,5") == [0, 1, 2, 5]
    assert parse_seed_list("3") == [3]


def test_the_grid_is_submissions_by_tasks_by_seeds_in_folders_named_by_content(example, tmp_path):
    from a2perf_core.runner.results import submission_content_hash
    from a2perf_core.sweep.grid import build_grid
    from a2perf_core.sweep.spec import make_spec

    a, b = submission_copy(tmp_path, "alpha"), submission_copy(tmp_path, "beta", "pass")
    spec = make_spec({"submissions": [str(a), str(b)], "tasks": [TASK], "seeds": [4, 2], "phase": "train"})
    grid = build_grid(spec)
    hashes = {name: submission_content_hash(p).removeprefix("sha256:")[:8] for name, p in (("alpha", a), ("beta", b))}
    assert [g.cell.path for g in grid] == [
        f"alpha@{hashes['alpha']}/{TASK}/seed_4",
        f"alpha@{hashes['alpha']}/{TASK}/seed_2",
        f"beta@{hashes['beta']}/{TASK}/seed_4",
        f"beta@{hashes['beta']}/{TASK}/seed_2",
    ]
    assert hashes["alpha"] != hashes["beta"]
    assert [(g.settings.seed, g.settings.phases, g.settings.task_id) for g in grid[:2]] == [
        (4, ("train",), TASK),
        (2, ("train",), TASK),
    ]
    twin = submission_copy(tmp_path / "elsewhere", "alpha")
    with pytest.raises(Exception, match="are the same files under the same name"):
        build_grid(make_spec({"submissions": [str(a), str(twin)], "tasks": [TASK], "seeds": [0]}))


def test_a_cells_state_comes_from_its_run_json_and_its_failures(tmp_path):
    from a2perf_core.sweep.manifest import cell_state
    from a2perf_core.sweep.spec import SweepSpecError

    entry = {"content_hash": "sha256:aa", "failures": 0}
    run_dir = tmp_path / "seed_0"
    assert cell_state(run_dir, entry, retries=1) == ("pending", False)
    run_dir.mkdir()

    def write(ended: str | None, status: str, content_hash: str = "sha256:aa") -> None:
        record = {
            "submission": {"content_hash": content_hash},
            "ended": ended,
            "phases_requested": ["train"],
            "phases": {"train": {"status": status, "reason": None if status == "ok" else "boom"}},
        }
        (run_dir / "run.json").write_text(json.dumps(record))

    write("2026-01-01T00:00:00+00:00", "ok")
    assert cell_state(run_dir, entry, retries=0) == ("done", False)
    write(None, "ok")  # killed before its end was written
    assert cell_state(run_dir, entry, retries=0) == ("pending", True)
    write("2026-01-01T00:00:00+00:00", "failed")
    assert cell_state(run_dir, {**entry, "failures": 1}, retries=1) == ("pending", True)
    assert cell_state(run_dir, {**entry, "failures": 2}, retries=1) == ("failed", False)
    write("2026-01-01T00:00:00+00:00", "ok", content_hash="sha256:bb")
    with pytest.raises(SweepSpecError, match="holds a run of other submission files"):
        cell_state(run_dir, entry, retries=1)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_pooled_sweep_starts_no_further_cell(example, tmp_path, stop, signal_and_wait):
    """SIGTERM (CI cancelling, `timeout`, a scheduler) or Ctrl-C of `a2perf sweep --jobs 2` ends the runs in
    flight and the sweep: the pool's workers, each ended with its run, must not be replaced by fresh ones
    that take the cells already queued."""
    sleeper = submission_copy(tmp_path, "sleeper", "import time; time.sleep(120)")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "a2perf_core", "sweep", "--submission", str(sleeper), "--task", TASK]
    command += ["--seeds", "0-5", "--phase", "train", "--out", str(out), "--jobs", "2"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = lambda: sorted(p.parent.name for p in out.glob("sleeper@*/*/seed_*/run.json"))  # noqa: E731
    deadline = time.monotonic() + 120
    while len(started()) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert len(started()) == 2, started()
    time.sleep(3)  # both runs are in their train phase
    signal_and_wait(process, stop, 60, f"the sweep (cells started: {started()})")
    assert process.returncode != 0
    assert len(started()) == 2, started()
    assert not any(cell["status"] == "done" for cell in manifest(out)["cells"].values())
