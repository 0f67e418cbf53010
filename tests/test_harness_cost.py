"""``wall_clock`` and the energy window are the participant's span, not the harness's set-up (issue #13).

The end-to-end test delays the harness's own env creation by 1.5 s (through a ``sitecustomize``
that wraps the phase process's ``_make_env``) and makes the submission's ``inference.py`` sleep
1.5 s at import: the first delay is before the participant's first line and must be outside,
the second is the participant's and must be inside. Durations are compared only against sleeps
(a sleep of 1.5 s lasts at least 1.5 s); everything else compares recorded timestamps.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from a2perf_core.runner.wallclock import ParticipantSpan, SpanMarks, span_path

DELAY_S = 1.5

SLOW_ENV_CREATION = textwrap.dedent(
    """
    import json, os, time
    from pathlib import Path

    from a2perf_core.runner import child

    _make_env = child._make_env


    def slow_make_env(job, task_id):
        env = _make_env(job, task_id)
        time.sleep({delay})
        Path(os.environ["A2PERF_TEST_MARKS"], "env_made.json").write_text(json.dumps(time.monotonic()))
        return env


    child._make_env = slow_make_env
    """
)

SLOW_IMPORT = textwrap.dedent(
    """
    import json as _json, os as _os, time as _time
    from pathlib import Path as _Path

    _Path(_os.environ["A2PERF_TEST_MARKS"], "imported.json").write_text(_json.dumps(_time.monotonic()))
    _time.sleep({delay})
    """
)


def test_the_window_is_the_span_clamped_to_the_process() -> None:
    assert ParticipantSpan(ready=1.0).window(2.0, 9.0) is None  # never called: no span
    assert ParticipantSpan(started=3.0, ended=5.0).window(2.0, 9.0) == (3.0, 5.0)
    assert ParticipantSpan(started=3.0).window(2.0, 9.0) == (3.0, 9.0)  # killed: ends when the harness saw it end
    assert ParticipantSpan(started=0.5, ended=20.0).window(2.0, 9.0) == (2.0, 9.0)  # marks outside the process


def test_marks_are_kept_across_writers_and_noted_once(tmp_path: Path) -> None:
    path = span_path(tmp_path, "inference")
    SpanMarks(path).mark("ready")
    later = SpanMarks(path)
    later.mark("started")
    first = ParticipantSpan.read(path)
    later.mark("started")
    span = ParticipantSpan.read(path)
    assert span.ready is not None and span.started is not None
    assert span.ready <= span.started == first.started
    assert ParticipantSpan.read(tmp_path / "missing.json") == ParticipantSpan()


@pytest.mark.slow
def test_harness_set_up_is_outside_wall_clock_and_energy_and_the_participants_import_inside(tmp_path: Path) -> None:
    from a2perf_core.runner.cli import example_submission

    submission = tmp_path / "submission"
    shutil.copytree(example_submission(), submission, ignore=shutil.ignore_patterns("__pycache__"))
    inference = submission / "inference.py"
    inference.write_text(SLOW_IMPORT.format(delay=DELAY_S) + inference.read_text())
    customize = tmp_path / "customize"
    customize.mkdir()
    (customize / "sitecustomize.py").write_text(SLOW_ENV_CREATION.format(delay=DELAY_S))
    marks = tmp_path / "marks"
    marks.mkdir()
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(customize), os.environ.get("PYTHONPATH", "")]),
        "A2PERF_TEST_MARKS": str(marks),
        "A2PERF_LOAD_PLUGINS": "a2perf-circuit-training,a2perf-energy",
    }
    out = tmp_path / "run"
    command = [sys.executable, "-m", "a2perf_core", "run", str(submission), "--phase", "inference", "--out", str(out)]
    done = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr

    env_made = json.loads((marks / "env_made.json").read_text())
    imported = json.loads((marks / "imported.json").read_text())
    span = ParticipantSpan.read(span_path(out, "inference"))
    assert span.ready is not None and span.started is not None and span.ended is not None
    # the harness's slow env creation ended before the span began; the participant's import is inside it
    assert span.ready < env_made <= span.started <= imported < span.ended
    values = {(v["name"], v["phase"]): v for v in json.loads((out / "metrics.json").read_text())}
    wall = values["wall_clock.inference", "inference"]["value"]
    assert wall == pytest.approx(span.ended - span.started, abs=1e-6)
    assert wall >= DELAY_S  # the participant's own sleep counts
    energy = values["energy.total", "inference"]["details"]
    assert energy["window"] == "participant span (wall_clock)"
    assert env_made <= span.started <= energy["window_started_monotonic_s"]
    assert span.ended <= energy["window_stopped_monotonic_s"]
    assert energy["window_end"] == "participant's last call"


WARM_UP_METRICS = '''
import threading

from a2perf_core.metrics import Metric, MetricValue


class WarmingMetric(Metric):
    """Notes where and with what its warm-up ran, and whether it had returned when a phase started."""

    warmed = None

    def warm_up(self, options):
        self.warmed = {"background": threading.current_thread() is not threading.main_thread(), **options}

    def stop(self, phase):
        return [MetricValue("warming.seen_at_stop", repr(self.warmed), phase=phase.phase)]

    def start(self, phase):
        self.seen_at_start = self.warmed


class BrokenWarmUp(Metric):
    def warm_up(self, options):
        raise RuntimeError("warm-up fails on purpose")

    def stop(self, phase):
        return [MetricValue("broken_warm_up.stopped", 1, phase=phase.phase)]
'''


def test_metrics_warm_up_once_in_the_background_before_the_first_start(
    with_example_domain: Path, a2perf_plugins, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import attrs
    from a2perf_example_domain import plugin as example_domain

    from a2perf_core.hookspecs import hookimpl
    from a2perf_core.runner.run import Run
    from a2perf_core.settings import resolve_run_settings
    from a2perf_core.specs import MetricSpec

    (tmp_path / "warm_up_probe_metrics.py").write_text(WARM_UP_METRICS)
    monkeypatch.syspath_prepend(str(tmp_path))

    class ProbeMetrics:
        @hookimpl
        def a2perf_register_metrics(self, register):
            register(MetricSpec(name="warming", factory="warm_up_probe_metrics:WarmingMetric"))
            register(MetricSpec(name="broken_warm_up", factory="warm_up_probe_metrics:BrokenWarmUp"))

    a2perf_plugins(example_domain, ProbeMetrics())
    from a2perf_core.runner.cli import example_submission

    settings = resolve_run_settings(str(example_submission()), task="ExampleCorridor-v0", phase="inference")
    settings = attrs.evolve(settings, metric_options={"warming": {"option": 7}})
    run = Run(settings, tmp_path / "run")
    outcome = run.execute()
    assert outcome.ok, outcome.phases
    warming = run.metrics["warming"]
    assert warming.seen_at_start == {"background": True, "option": 7}  # warmed up, and before the start
    errors = outcome.record.metric_errors
    assert len(errors) == 1 and "broken_warm_up.warm_up" in errors[0] and "fails on purpose" in errors[0]
    names = {v.name for v in outcome.metrics}
    assert {"broken_warm_up.stopped", "warming.seen_at_stop", "wall_clock.inference"} <= names


LEAVES_WORK_FOR_THE_EXIT = '''
import atexit, os, threading, time
from pathlib import Path

OPEN_FILE = None


def _late_write(folder):
    time.sleep(0.3)
    (folder / "thread.txt").write_text("thread done")


def train():
    """Leaves a buffered file open, a non-daemon thread running and an atexit handler: a normal exit
    completes all three, and so must the phase process's fast one."""
    global OPEN_FILE
    folder = Path(os.environ["A2PERF_RUN_DIR"])
    OPEN_FILE = open(folder / "left_open.txt", "w")
    OPEN_FILE.write("x" * 100)
    threading.Thread(target=_late_write, args=(folder,)).start()
    atexit.register(lambda: (folder / "atexit.txt").write_text("atexit ran"))
'''


def test_the_fast_exit_finishes_what_the_participant_left(with_example_domain: Path, tmp_path: Path) -> None:
    from a2perf_core.runner.cli import example_submission
    from a2perf_core.runner.run import Run
    from a2perf_core.settings import resolve_run_settings

    submission = tmp_path / "submission"
    shutil.copytree(example_submission(), submission, ignore=shutil.ignore_patterns("__pycache__"))
    (submission / "train.py").write_text(LEAVES_WORK_FOR_THE_EXIT)
    out = tmp_path / "run"
    settings = resolve_run_settings(str(submission), task="ExampleCorridor-v0", phase="train")
    outcome = Run(settings, out).execute()
    assert outcome.phases["train"]["status"] == "ok", outcome.phases
    assert outcome.phases["train"]["exitcodes"] == {"train": 0}
    assert (out / "left_open.txt").read_text() == "x" * 100
    assert (out / "thread.txt").read_text() == "thread done"
    assert (out / "atexit.txt").read_text() == "atexit ran"


#: a whole ``a2perf run`` in this interpreter, then which heavy modules the harness process imported
HARNESS_IMPORTS = """
import json, sys
import a2perf_core.cli
a2perf_core.cli.main(sys.argv[1:], standalone_mode=False)
print(json.dumps(sorted({"gymnasium", "matplotlib", "scipy", "torch"} & set(sys.modules))))
"""


def test_the_harness_process_imports_no_gymnasium(with_example_domain: Path, tmp_path: Path) -> None:
    """The envs live in the phase processes: the harness needs neither Gymnasium nor a plotting library."""
    from a2perf_core.runner.cli import example_submission

    out = tmp_path / "run"
    command = [sys.executable, "-c", HARNESS_IMPORTS, "run", str(example_submission()), "--out", str(out)]
    command += ["--task", "ExampleCorridor-v0", "--gin-param", "RunSettings.num_inference_episodes=1"]
    environ = {**os.environ, "A2PERF_LOAD_PLUGINS": "a2perf-example-domain,a2perf-latency"}
    done = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    assert (out / "latency_inference.svg").exists()
