"""Typed run records: ``run.json`` has exactly its documented fields, and ``--resume`` checks what it reuses."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from a2perf_core.cli import main
from a2perf_core.metrics import MetricValue
from a2perf_core.runner.records import PHASE_FIELDS, RUN_FIELDS, RUN_FORMAT, PhaseJob, RunRecord
from a2perf_core.runner.results import submission_content_hash, write_json

REPO = Path(__file__).resolve().parent.parent
HOSTILE = Path(__file__).resolve().parent / "hostile"
TASK = "ExampleCorridor-v0"
FEW = ("--gin-param", "RunSettings.num_inference_episodes = 2", "--gin-param", "RunSettings.num_warmup_calls = 1")


def run_cli(*args: str):
    return CliRunner().invoke(main, ["run", *args], catch_exceptions=False)


def example_copy(tmp_path: Path, name: str = "sub") -> Path:
    """The bundled example submission, copied (a run writes ``__pycache__`` next to it)."""
    target = tmp_path / name
    shutil.copytree(REPO / "a2perf_core" / "examples" / "random_submission", target)
    return target


def documented_table(heading: str) -> dict[str, str]:
    """``field -> meaning`` rows of the first table after ``heading`` in docs/running.md."""
    text = (REPO / "docs" / "running.md").read_text()
    after = text[text.index(heading) :]
    rows: dict[str, str] = {}
    for line in after.splitlines()[1:]:
        if rows and not line.startswith("|"):
            break
        match = re.fullmatch(r"\| `([a-z_]+)` \| (.*) \|", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def test_the_documented_tables_are_the_schema_in_code():
    assert documented_table(f"### `run.json`, format `{RUN_FORMAT}`") == RUN_FIELDS
    assert documented_table("Each entry of `phases`:") == PHASE_FIELDS


def test_a_real_run_json_has_exactly_the_documented_fields(with_example_domain, tmp_path):
    out = tmp_path / "run"
    result = run_cli(str(example_copy(tmp_path)), "--task", TASK, "--out", str(out), *FEW)
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert run["format"] == "a2perf-run/2"
    assert set(run) == set(RUN_FIELDS)
    assert set(run["phases"]) == {"train", "inference", "generalization"}
    for record in run["phases"].values():
        assert set(record) == set(PHASE_FIELDS)
    assert run["settings"]["explicit"] == ["task_id"]  # a JSON list, not the repr of a Python set
    assert run["settings"]["phases"] == ["train", "inference", "generalization"]
    assert run["phases"]["inference"]["episodes"] == run["phases"]["inference"]["episodes_requested"] == 2
    assert set(run["phases"]["generalization"]["tasks"]) == {TASK}
    assert RunRecord.from_json(run).to_json() == run


def test_writing_a_value_that_is_not_json_fails_loudly(tmp_path):
    with pytest.raises(TypeError):
        write_json(tmp_path / "x.json", {"explicit": {"task_id"}})
    assert not (tmp_path / "x.json").exists()


def test_the_phase_job_is_typed_and_round_trips():
    job = PhaseJob(
        phase="inference",
        label="inference",
        task_id=TASK,
        generalization_task=TASK,
        seed=3,
        run_dir="run",
        cwd="sub",
        sys_path=("sub",),
        train_module="train",
        inference_module="inference",
        environ={"A2PERF_SEED": "3"},
        participant_args={"lr": 0.1},
        env_kwargs={},
        num_inference_episodes=2,
        num_inference_steps=None,
        num_warmup_calls=1,
        num_generalization_episodes=1,
    )
    assert PhaseJob.from_json(json.loads(json.dumps(job.to_json()))) == job
    with pytest.raises(attrs_frozen_error()):
        job.seed = 4  # type: ignore[misc]


def attrs_frozen_error() -> type[Exception]:
    import attrs

    return attrs.exceptions.FrozenInstanceError


def test_content_hash_depends_on_the_files_only(tmp_path):
    first, second = example_copy(tmp_path, "a"), example_copy(tmp_path, "b")
    (second / "__pycache__").mkdir()
    (second / "__pycache__" / "inference.cpython-311.pyc").write_bytes(b"\0compiled")
    assert submission_content_hash(first) == submission_content_hash(second)
    (second / "inference.py").write_text((second / "inference.py").read_text() + "\n")
    assert submission_content_hash(first) != submission_content_hash(second)
    (first / "notes.txt").write_text("")
    assert submission_content_hash(first) != submission_content_hash(example_copy(tmp_path, "c"))


def test_run_json_records_the_submissions_hash_and_package_versions(with_example_domain, tmp_path):
    from importlib.metadata import version

    submission = example_copy(tmp_path)
    (submission / "train.py").write_text("import gymnasium\n" + (submission / "train.py").read_text())
    out = tmp_path / "run"
    result = run_cli(str(submission), "--task", TASK, "--phase", "inference", "--out", str(out), *FEW)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text())["submission"]
    assert record["content_hash"] == submission_content_hash(submission)
    # numpy from requirements.txt and the imports; gymnasium only from an import; a2perf-core imported
    assert record["package_versions"]["numpy"] == version("numpy")
    assert record["package_versions"]["gymnasium"] == version("gymnasium")
    assert record["package_versions"]["a2perf-core"] == version("a2perf-core")
    assert "json" not in record["package_versions"] and "inference" not in record["package_versions"]


@pytest.mark.parametrize(
    "change, expected",
    [
        ("submission", "the submission's files differ (content hash)"),
        ("seed", "seed 0 -> 1"),
        ("episodes", "num_inference_episodes 2 -> 3"),
    ],
)
def test_resume_refuses_a_run_of_something_else(with_example_domain, tmp_path, change, expected):
    submission = example_copy(tmp_path)
    out = tmp_path / "run"
    first = run_cli(str(submission), "--task", TASK, "--phase", "train", "--out", str(out), *FEW)
    assert first.exit_code == 0, first.output
    before = (out / "run.json").read_text()
    args = [str(submission), "--task", TASK, "--out", str(out), "--resume", *FEW]
    if change == "submission":
        (submission / "train.py").write_text((submission / "train.py").read_text() + "\n# changed\n")
    elif change == "seed":
        args += ["--seed", "1"]
    else:
        args += ["--gin-param", "RunSettings.num_inference_episodes = 3"]
    result = CliRunner().invoke(main, ["run", *args])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith("error: --resume: ")
    assert expected in errors[0] and "Traceback" not in result.output
    assert (out / "run.json").read_text() == before


def test_an_out_that_holds_a_run_is_refused_without_resume(with_example_domain, tmp_path):
    submission = example_copy(tmp_path)
    out = tmp_path / "run"
    first = run_cli(str(submission), "--task", TASK, "--phase", "inference", "--out", str(out), *FEW)
    assert first.exit_code == 0, first.output
    metrics_before = (out / "metrics.json").read_text()
    again = CliRunner().invoke(main, ["run", str(submission), "--task", TASK, "--out", str(out), *FEW])
    assert again.exit_code == 2
    assert "already holds a run; pass --resume" in again.output and "Traceback" not in again.output
    assert (out / "metrics.json").read_text() == metrics_before


def test_untrustworthy_values_are_marked_in_the_metrics_table(capsys):
    from a2perf_core.runner.cli import print_metrics_table

    note = "only 31 samples; at least 662 are needed for a p99 claim"
    values = [
        MetricValue("latency.p50", 0.25, "ms", "lower", "inference", details={"trustworthy": True}),
        MetricValue("latency.p99", 0.75, "ms", "lower", "inference", details={"trustworthy": False, "note": note}),
        MetricValue("wall_clock.inference", 1.5, "s", "lower", "inference"),
    ]
    print_metrics_table(values, "metrics")
    out = capsys.readouterr().out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 2}
    assert "~0.75" in rows["latency.p99"]
    assert "~" not in rows["latency.p50"] and "~" not in rows["wall_clock.inference"]
    assert f"~ latency.p99: not trustworthy: {note}" in out


def test_submission_label_is_the_folder_or_module_name() -> None:
    from a2perf_core.runner.results import submission_label

    assert submission_label("submissions/ppo_agent/") == "ppo_agent"
    assert submission_label("/abs/path/sac") == "sac"
    assert submission_label("my_pkg.agents.dqn") == "my_pkg.agents.dqn"
    assert submission_label("ppo", "sha256:0123456789abcdef") == "ppo@01234567"


def test_package_versions_of_a_submission_without_imports_skip_the_module_scan(tmp_path, monkeypatch):
    """Only stdlib and own imports: the versions come from requirements.txt, and the scan of every
    installed distribution's files (``packages_distributions``, a fifth of a second) is not made."""
    import importlib.metadata

    from a2perf_core.runner.results import submission_package_versions

    def no_scan() -> None:
        raise AssertionError("packages_distributions was called")

    monkeypatch.setattr(importlib.metadata, "packages_distributions", no_scan)
    (tmp_path / "train.py").write_text("import json\nfrom inference import helper\n")
    (tmp_path / "inference.py").write_text("import os.path\n")
    versions = submission_package_versions(tmp_path, ["numpy>=1", "no-such-distribution-a2perf"])
    assert versions == {"numpy": importlib.metadata.version("numpy"), "no-such-distribution-a2perf": None}
