"""Harness cost: what ``a2perf run`` adds around a submission that does nothing.

A no-op submission (``train()`` returns at once, ``load_policy`` / ``preprocess_observation`` /
``infer_once`` do no work; ``infer_once`` returns a fixed legal action) is written into a temporary
folder and run on ``ExampleCorridor-v0`` of the example domain (``docs/examples/a2perf-example-domain``):
it needs no data and its env costs microseconds, so what is measured is the harness. Both sides are
timed whole-process, so interpreter start and imports count on both:

- baseline: one ``python`` process doing the same three phases as plain function calls (register
  the tasks, make the env, call ``train()``, run the inference episodes, then the generalization
  episodes of each generalization task), with the episode counts ``a2perf run`` resolves for the task;
- measured: ``python -m a2perf_core run`` of the submission, all three phases, every metric installed;
  the report ``a2perf-report`` writes after the run is a product of the run, not harness: it is
  disabled in the measured run and timed in a run of its own, printed beside it.

Both sides run with Python's bytecode cache on and after one warm-up each (a run of
``a2perf run`` with ``PYTHONDONTWRITEBYTECODE`` set would compile every module in every process).
Baseline and run alternate, several times each; min and median are printed, with the CPU seconds
(user + system) of each side's reaped process tree, which vary much less than wall time when other
work shares the machine; then a breakdown of where the harness's time goes (an instrumented
``a2perf run`` in one more process: imports, plugin discovery, settings, run set-up with the phase
processes started ahead, the metrics' warm-up in its background thread, per phase the job handed
over, each metric's start and stop, the wait until every prestarted process blocks, the release,
env creation, the participant's span, teardown, and the analysis), and the harness-cost ratio
``run / (2 x baseline + 1 s)``, PASS when at most 1.

    nox -s bench -- benchmarks/harness.py
    python benchmarks/harness.py [--repeats N] [--task ID]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

TASK = "ExampleCorridor-v0"
ALLOWANCE_S = 1.0
#: CPU seconds (user + system) of each command's reaped process tree, by its script or module: on a
#: loaded machine the wall-clock figures vary with the other load, these much less
CPU_S: dict[str, list[float]] = {}

TRAIN = '''
def train():
    """Returns at once."""
'''

INFERENCE = '''
def load_policy(env):
    return None


def preprocess_observation(observation):
    return observation


def infer_once(policy, observation):
    """The same legal action every time: no work."""
    return 1
'''

#: the three phases as plain calls in one process; argv: submission folder, JSON of the settings
BASELINE = textwrap.dedent(
    """
    import importlib, json, sys

    folder, settings = sys.argv[1], json.loads(sys.argv[2])
    sys.path.insert(0, folder)
    import gymnasium as gym
    import a2perf_core

    a2perf_core.register_envs()
    importlib.import_module("train").train()
    inference = importlib.import_module("inference")

    def episodes(task_id, count, seed):
        env = gym.make(task_id, **settings["env_kwargs"])
        policy = inference.load_policy(env)
        for episode in range(count):
            observation, _ = env.reset(seed=seed if episode == 0 else None)
            done = False
            while not done:
                action = inference.infer_once(policy, inference.preprocess_observation(observation))
                observation, _, terminated, truncated, _ = env.step(action)
                done = terminated or truncated
        env.close()

    episodes(settings["task_id"], settings["num_inference_episodes"], settings["seed"])
    for task_id in settings["generalization_tasks"]:
        episodes(task_id, settings["num_generalization_episodes"], settings["seed"])
    """
)

#: ``a2perf run`` in this process with timers around the harness's steps; prints them as JSON
BREAKDOWN = textwrap.dedent(
    """
    import json, sys, time

    began = time.monotonic()
    events = []

    def note(kind, start, end, **extra):
        events.append({"kind": kind, "start": start - began, "end": end - began, **extra})

    t = time.monotonic()
    import a2perf_core.cli
    import a2perf_core.runner.cli
    import a2perf_core.runner.executor
    import a2perf_core.runner.run as run_module
    from a2perf_core.runner import process
    from a2perf_core.runner.wallclock import ParticipantSpan, span_path
    note("imports (CLI, runner)", t, time.monotonic())

    t = time.monotonic()
    from a2perf_core.plugins import get_plugins

    get_plugins()
    note("plugin discovery", t, time.monotonic())

    def wrap(owner, name, describe):
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.monotonic()
            try:
                return original(*args, **kwargs)
            finally:
                describe(start, time.monotonic(), args, kwargs)

        setattr(owner, name, timed)

    current = {"label": None}

    def on_prestart(start, end, args, kwargs):
        note("prestart", start, end, phase=args[0].label)

    def on_spawn(start, end, args, kwargs):
        job = args[1]
        current["label"] = job["label"]
        current["run_dir"] = job["run_dir"]
        note("spawn", start, end, phase=job["label"])

    def on_hold(start, end, args, kwargs):
        note("hold back", start, end, phase=current["label"])

    def on_release(start, end, args, kwargs):
        span = ParticipantSpan.read(span_path(current["run_dir"], current["label"]))
        marks = {k: getattr(span, k) for k in ("ready", "started", "ended")}
        note("released until ended (tree killed)", start, end, phase=current["label"],
             **{k: None if v is None else v - began for k, v in marks.items()})

    def on_guard(start, end, args, kwargs):
        _, name, step, _ = args
        phase = None if step in ("analyze", "warm_up") else current["label"]
        note(f"metric {step}", start, end, metric=name, phase=phase)

    wrap(process.ChildProcess, "prestart", on_prestart)
    wrap(process.ChildProcess, "start", on_spawn)
    wrap(run_module.Run, "_hold_back_prestarted", on_hold)
    wrap(process.ChildProcess, "release_and_wait", on_release)
    wrap(run_module.Run, "_guard", on_guard)
    wrap(run_module.Run, "_write", lambda s, e, a, k: note("write run.json and metrics.json", s, e))
    wrap(run_module.Run, "__init__", lambda s, e, a, k: note("run set-up (submission, metrics, machine facts)", s, e))
    wrap(run_module, "_save_samples", lambda s, e, a, k: note("latency samples to .npy", s, e))
    wrap(a2perf_core.runner.cli, "build_settings", lambda s, e, a, k: note("settings (gin, plugins)", s, e))
    t = time.monotonic()
    try:
        a2perf_core.cli.main(sys.argv[1:], standalone_mode=False)
    finally:
        note("a2perf run command", t, time.monotonic())
        print(json.dumps(events))
    """
)


def write_noop_submission(folder: Path) -> Path:
    """An A2Perf-layout submission folder whose functions do nothing."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "__init__.py").write_text("")
    (folder / "requirements.txt").write_text("")
    (folder / "train.py").write_text(TRAIN.lstrip())
    (folder / "inference.py").write_text(INFERENCE.lstrip())
    return folder


def resolved_settings(submission: Path, task: str) -> dict:
    """The episode counts, seed, env kwargs and generalization tasks ``a2perf run`` uses for the task."""
    from a2perf_core.runner.run import generalization_set
    from a2perf_core.settings import resolve_run_settings

    settings = resolve_run_settings(str(submission), task=task)
    return {
        "task_id": settings.task_id,
        "seed": settings.seed,
        "env_kwargs": dict(settings.env_kwargs),
        "num_inference_episodes": settings.num_inference_episodes,
        "num_generalization_episodes": settings.num_generalization_episodes,
        "generalization_tasks": list(settings.generalization_tasks or generalization_set(settings.task_id)),
    }


def _installed(distribution: str) -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        version(distribution)
    except PackageNotFoundError:
        return False
    return True


def measured_environ(report: bool = False) -> dict[str, str]:
    """This environment with Python's bytecode cache on, as a default install has it: without it
    every process compiles every module it imports (seconds for pandas and SciPy), on both sides.
    Without ``report`` the report plugin is disabled: the report is a product of the run, timed apart."""
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if not report and _installed("a2perf-report"):
        disabled = [p for p in environ.get("A2PERF_DISABLE_PLUGINS", "").split(",") if p]
        environ["A2PERF_DISABLE_PLUGINS"] = ",".join([*disabled, "a2perf-report"])
    return environ


def whole_process_s(command: list[str], report: bool = False) -> float:
    """Seconds from starting the process until it exited; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=measured_environ(report)
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_S.setdefault(command[2], []).append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def charged_s(run_dir: Path) -> tuple[float, float]:
    """What a run charged to the participant, summed over its phases: ``wall_clock`` and the energy
    tracker's interval (``energy.duration``)."""
    values = json.loads((run_dir / "metrics.json").read_text())
    wall = sum(v["value"] for v in values if v["name"].startswith("wall_clock."))
    energy = sum(v["value"] for v in values if v["name"] == "energy.duration")
    return wall, energy


def harness_cost_ratio(run_s: float, baseline_s: float, allowance_s: float = ALLOWANCE_S) -> float:
    """Issue #13's goal as a number: ``run / (2 x baseline + allowance)``; at most 1 passes."""
    return run_s / (2.0 * baseline_s + allowance_s)


def breakdown(events: list[dict]) -> list[tuple[str, float]]:
    """Rows ``(what, seconds)`` from the instrumented run's events, per phase in order."""
    rows: list[tuple[str, float]] = []
    phases: list[str] = []
    for e in events:
        if e.get("phase") and e["phase"] not in phases:
            phases.append(e["phase"])
    for e in events:
        if e["kind"] in ("imports (CLI, runner)", "plugin discovery", "settings (gin, plugins)"):
            rows.append((e["kind"], e["end"] - e["start"]))
    rows += [(e["kind"], e["end"] - e["start"]) for e in events if e["kind"].startswith("run set-up")]
    for e in events:
        if e["kind"] == "metric warm_up" and e["end"] - e["start"] >= 0.001:
            what = f"  {e['metric']}.warm_up (background thread, from the end of the set-up)"
            rows.append((what, e["end"] - e["start"]))
    for phase in phases:
        mine = [e for e in events if e.get("phase") == phase]
        spawn = next(e for e in mine if e["kind"] == "spawn")
        release = next((e for e in mine if e["kind"].startswith("released")), None)
        prestart = next((e for e in mine if e["kind"] == "prestart"), None)
        if prestart is not None:
            rows.append(
                (f"[{phase}] prestart the phase process (at the run's start)", prestart["end"] - prestart["start"])
            )
        rows.append((f"[{phase}] give the phase process its job (start returned)", spawn["end"] - spawn["start"]))
        for e in mine:
            if e["kind"] == "metric start":
                rows.append((f"[{phase}]   {e['metric']}.start", e["end"] - e["start"]))
        if release is None:
            continue
        for e in mine:
            if e["kind"] == "hold back":
                rows.append((f"[{phase}] wait until every prestarted process blocks", e["end"] - e["start"]))
        waited = release["start"] - spawn["start"]
        rows.append((f"[{phase}] job -> metrics started, release", waited))
        if release["ready"] is not None:
            ready = release["ready"] - spawn["start"]
            rows.append((f"[{phase}] job -> phase process ready (set-up, registration)", ready))
            if release["started"] is not None:
                first_call = release["started"] - max(release["ready"], release["start"])
                rows.append((f"[{phase}] later of ready/release -> participant's first call (env)", first_call))
        if release["started"] is not None and release["ended"] is not None:
            rows.append((f"[{phase}] participant's span (wall_clock)", release["ended"] - release["started"]))
            rows.append((f"[{phase}] last call -> process ended, tree killed", release["end"] - release["ended"]))
        for e in mine:
            if e["kind"] == "metric stop":
                rows.append((f"[{phase}]   {e['metric']}.stop", e["end"] - e["start"]))
    for e in events:
        if e["kind"] == "metric analyze":
            rows.append((f"{e['metric']}.analyze", e["end"] - e["start"]))
    writes = [e["end"] - e["start"] for e in events if e["kind"].startswith("write run.json")]
    rows.append((f"write run.json and metrics.json ({len(writes)} times)", sum(writes)))
    command = next(e for e in events if e["kind"] == "a2perf run command")
    last_write = max(e["end"] for e in events if e["kind"].startswith("write run.json"))
    rows.append(("after the run: summary and metrics table", command["end"] - last_write))
    rows.append(("instrumented process, start of script to exit of the command", command["end"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="repetitions of each side (default 5)")
    parser.add_argument("--task", default=TASK, help=f"task (default {TASK}: no data, a cheap env)")
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="a2perf-harness-bench-") as tmp:
        root = Path(tmp)
        submission = write_noop_submission(root / "noop_submission")
        settings = resolved_settings(submission, args.task)
        baseline_cmd = [python, "-c", BASELINE, str(submission), json.dumps(settings)]
        interpreter_s, baseline_s, run_s, reported_s = [], [], [], []
        run_command = [python, "-m", "a2perf_core", "run", str(submission), "--task", args.task, "--out"]
        whole_process_s(baseline_cmd)  # warm-up: bytecode caches written, files in the page cache
        whole_process_s([*run_command, str(root / "warm-up")])
        for i in range(args.repeats):
            interpreter_s.append(whole_process_s([python, "-c", "pass"]))
            baseline_s.append(whole_process_s(baseline_cmd))
            run_s.append(whole_process_s([*run_command, str(root / f"run-{i}")]))
            reported_s.append(whole_process_s([*run_command, str(root / f"reported-{i}")], report=True))
        charged = [charged_s(root / f"run-{i}") for i in range(args.repeats)]
        out = root / "run-breakdown"
        command = [python, "-c", BREAKDOWN, "run", str(submission), "--task", args.task, "--out", str(out)]
        done = subprocess.run(command, capture_output=True, text=True, check=True, env=measured_environ())
        events = json.loads(done.stdout.strip().splitlines()[-1])

    print(f"harness cost on {args.task} with a no-op submission, {args.repeats} repetitions, whole-process seconds")
    print(
        f"  phases: train, inference ({settings['num_inference_episodes']} episodes), generalization "
        f"({settings['num_generalization_episodes']} episodes on {', '.join(settings['generalization_tasks'])})"
    )
    print(f"{'':44} {'min':>8} {'median':>8}")
    for name, values in (
        ("python -c pass", interpreter_s),
        ("baseline (plain calls, one process)", baseline_s),
        ("a2perf run", run_s),
        ("a2perf run, then its report (a2perf-report)", reported_s),
    ):
        print(f"  {name:42} {min(values):8.2f} {statistics.median(values):8.2f}")
    cpu = {"baseline": CPU_S[BASELINE][1:], "a2perf run": CPU_S["a2perf_core"][1::2]}
    for name, values in cpu.items():
        print(f"  {'CPU s (user + system), ' + name:42} {min(values):8.2f} {statistics.median(values):8.2f}")
    print(
        f"  {'charged to wall_clock (sum over phases)':42} {min(c[0] for c in charged):8.3f} "
        f"{statistics.median(c[0] for c in charged):8.3f}"
    )
    print(
        f"  {'energy tracker interval (sum over phases)':42} {min(c[1] for c in charged):8.3f} "
        f"{statistics.median(c[1] for c in charged):8.3f}"
    )
    print("\nwhere the harness's time goes (one instrumented run, seconds; per-phase steps overlap where noted)")
    for what, seconds in breakdown(events):
        print(f"  {what:80} {seconds:7.3f}")
    ratio = harness_cost_ratio(statistics.median(run_s), statistics.median(baseline_s))
    ratio_min = harness_cost_ratio(min(run_s), min(baseline_s))
    verdict = "PASS" if ratio <= 1.0 else "FAIL"
    print(
        f"\nharness-cost ratio run / (2 x baseline + {ALLOWANCE_S:g} s): {ratio:.2f} on medians "
        f"({ratio_min:.2f} on minima): {verdict}"
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
