"""Start-up cost of ``a2perf run --isolate``: a cold environment (made with uv) against a warm one (reused
from the cache), and both against the same run without ``--isolate``, each as a whole process.

Measured, in a fresh environment cache of its own (uv's own download cache is the user's, as in use):

1. preparing the environment alone (``python -c`` calling the same function ``a2perf run`` calls): cold, then warm;
2. ``a2perf run --isolate --phase train`` on the example domain's cheap task: cold, then warm, against
   ``a2perf run --phase train`` without ``--isolate`` (the baseline).

    python benchmarks/isolate.py [--repeats N]

Needs the example domain (``pip install docs/examples/a2perf-example-domain``) and the package index.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TASK = "ExampleCorridor-v0"
DOMAIN = "a2perf-example-domain"
REQUIREMENTS = "tomli-w<1\n"
PREPARE = (
    "import sys; from a2perf_core.runner.isolate import prepare_environment; "
    "print(prepare_environment(sys.argv[1:], ['a2perf-core', '" + DOMAIN + "']).reused)"
)
TRAIN = (
    "from a2perf_core import participant\n\ndef train():\n    participant.make_env().reset(seed=participant.seed())\n"
)


def timed(command: list[str], environ: dict[str, str], reused: bool | None = None) -> float:
    """Seconds of one whole process; a failure, or an environment (not) reused against ``reused``, stops
    the benchmark (a warm number that was a rebuild would be meaningless)."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=environ, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    if reused is not None:
        if "--out" in command:
            record = json.loads((Path(command[command.index("--out") + 1]) / "run.json").read_text())
            found = record["environment"]["reused"]
        else:
            found = done.stdout.strip() == "True"
        if found != reused:
            sys.exit(f"{' '.join(command)}: the environment was {'' if found else 'not '}reused")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="warm and baseline runs (median); cold ones too")
    args = parser.parse_args()
    a2perf = str(Path(sys.executable).with_name("a2perf"))
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        submission = work / "submission"
        shutil.copytree(REPO / "a2perf_core" / "examples" / "random_submission", submission)
        (submission / "requirements.txt").write_text(REQUIREMENTS)
        (submission / "train.py").write_text(TRAIN)
        plain = work / "plain"  # the baseline's submission: the same, needing only what the harness has
        shutil.copytree(submission, plain)
        (plain / "requirements.txt").write_text("numpy>=1.24\n")
        environ = {**os.environ, "A2PERF_LOAD_PLUGINS": DOMAIN, "A2PERF_RESULTS_ROOT": str(work / "results")}
        runs = iter(range(10**6))

        def run(sub: Path, *extra: str) -> list[str]:
            out = work / f"run-{next(runs)}"
            return [a2perf, "run", str(sub), "--task", TASK, "--phase", "train", "--out", str(out), *extra]

        prepare = [sys.executable, "-c", PREPARE, *REQUIREMENTS.split()]
        cold_prepare, warm_prepare, cold_run, warm_run, baseline = [], [], [], [], []
        for repeat in range(args.repeats):
            environ["A2PERF_ENV_CACHE"] = str(work / f"envs-prepare-{repeat}")
            cold_prepare.append(timed(prepare, environ, reused=False))
            warm_prepare.append(timed(prepare, environ, reused=True))
            environ["A2PERF_ENV_CACHE"] = str(work / f"envs-run-{repeat}")
            cold_run.append(timed(run(submission, "--isolate"), environ, reused=False))
            warm_run.append(timed(run(submission, "--isolate"), environ, reused=True))
            baseline.append(timed(run(plain), environ))

    def line(name: str, values: list[float]) -> str:
        return f"  {name:<34} {statistics.median(values):7.2f} s  (median of {len(values)})"

    print(f"--isolate start-up ({REQUIREMENTS.strip()}, task {TASK}, {args.repeats} repeats)")
    print(line("prepare environment, cold", cold_prepare))
    print(line("prepare environment, warm", warm_prepare))
    print(f"  cold / warm: {statistics.median(cold_prepare) / statistics.median(warm_prepare):.1f}x")
    print(line("a2perf run --isolate, cold", cold_run))
    print(line("a2perf run --isolate, warm", warm_run))
    print(line("a2perf run (baseline, no --isolate)", baseline))
    print(f"  cold / warm: {statistics.median(cold_run) / statistics.median(warm_run):.1f}x")
    print(f"  warm / baseline: {statistics.median(warm_run) / statistics.median(baseline):.2f}x")


if __name__ == "__main__":
    main()
