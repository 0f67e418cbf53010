"""A2Perf's own 18 gin files, from its 0.1.0 distribution on the package index, parse and run unchanged.

The files are data assets fetched from A2Perf's source distribution (cached, checksum-verified),
kept in A2Perf's ``configs/`` layout so their ``include`` lines resolve. Without the index the
tests skip, except in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

A2PERF_RELEASE = "a2perf==0.1.0"
MEMBER_PREFIX = "a2perf-0.1.0/a2perf/submission/configs/"

#: file under A2Perf's ``submission/configs`` -> sha256
A2PERF_GIN_FILES = {
    "circuit_training/ariane/inference.gin": "b9ac95aeb5536eae79d26f71fbd678511725c84d59dbf335266113aba1e9c2cc",
    "circuit_training/generalization.gin": "a00f5b3077aaa81b3c703053e19aa506d621cc69ba7f6d2814ddf752a377d12f",
    "circuit_training/toy_macro_stdcell/inference.gin": (
        "fe71607d01d05cb13be5a1486d61d466d075aa645b62e4b2a7662d9fb66ec21e"
    ),
    "circuit_training/train.gin": "fd3e06ee6fc87dc52d9e746850b6466ac4ecb7898fb6352ebd3df09f593b3e53",
    "quadruped_locomotion/dog_pace/domain.gin": "8d80961034e70998f981e6322224f1ac133b9cc375139b7dfa0bb2f59a5f66ff",
    "quadruped_locomotion/dog_pace/inference.gin": "98ad173530219469f619c23983ccbeb38f5ae2afaca32bce07f5b0f7a49701ad",
    "quadruped_locomotion/dog_spin/domain.gin": "a879249b2aa5bf1aaec5757fc580622dc4bccbab2aefb53de2f9791b15c8f41e",
    "quadruped_locomotion/dog_spin/inference.gin": "f485b692adc8fd7127b256e0271b467a3293d803e0adb3e752791ba3ccebfaed",
    "quadruped_locomotion/dog_trot/domain.gin": "418f17ba35d0ce591cda4b30a6dbffdce65c33b511210667dd7fb3d3c2e2412b",
    "quadruped_locomotion/dog_trot/inference.gin": "a574366e07014b4eb02e639d0694da7a8b8ed3b3c60ec57aa2567d7a3f0f2bb2",
    "quadruped_locomotion/generalization.gin": "d86ba00654d16b667ad42f8e53023191dbf19ea5a8c7e5ecf19660c955294b92",
    "quadruped_locomotion/inference.gin": "52df7003cd95cb2eb6a25ff505a23b1d5870b40e59fb5a62675d1a881bca6931",
    "quadruped_locomotion/train.gin": "15456c45469e92caff93cfeee456b0057eb7f156b07162680ab7be2998025453",
    "web_navigation/difficulty_level_1_num_websites_1/inference.gin": (
        "38028657c95184c4a23cd8be3184f31790c9328fb1deb919fa6de547168fa339"
    ),
    "web_navigation/difficulty_level_1_num_websites_10/inference.gin": (
        "38028657c95184c4a23cd8be3184f31790c9328fb1deb919fa6de547168fa339"
    ),
    "web_navigation/difficulty_level_1_num_websites_5/inference.gin": (
        "38028657c95184c4a23cd8be3184f31790c9328fb1deb919fa6de547168fa339"
    ),
    "web_navigation/generalization.gin": "79a8d6603109119d66c79f5d7f8446b6d7f550ce031104df5908be4bbad6cd35",
    "web_navigation/train.gin": "69b8c619b420ff80bdaa8282ea87e36efc715abd283d8ae343f023a6c602237b",
}

#: file -> (task id, phases) it runs without --task or --phase
EXPECTED = {
    "circuit_training/ariane/inference.gin": ("CircuitTraining-ToyMacro-v0", ("inference",)),
    "circuit_training/generalization.gin": ("CircuitTraining-ToyMacro-v0", ("generalization",)),
    "circuit_training/toy_macro_stdcell/inference.gin": ("CircuitTraining-ToyMacro-v0", ("inference",)),
    "circuit_training/train.gin": ("CircuitTraining-ToyMacro-v0", ("train",)),
    "quadruped_locomotion/dog_pace/domain.gin": (
        "QuadrupedLocomotion-DogPace-v0",
        ("train", "inference", "generalization"),
    ),
    "quadruped_locomotion/dog_pace/inference.gin": ("QuadrupedLocomotion-DogPace-v0", ("inference",)),
    "quadruped_locomotion/dog_spin/domain.gin": (
        "QuadrupedLocomotion-DogSpin-v0",
        ("train", "inference", "generalization"),
    ),
    "quadruped_locomotion/dog_spin/inference.gin": ("QuadrupedLocomotion-DogSpin-v0", ("inference",)),
    "quadruped_locomotion/dog_trot/domain.gin": (
        "QuadrupedLocomotion-DogTrot-v0",
        ("train", "inference", "generalization"),
    ),
    "quadruped_locomotion/dog_trot/inference.gin": ("QuadrupedLocomotion-DogTrot-v0", ("inference",)),
    "quadruped_locomotion/generalization.gin": ("QuadrupedLocomotion-DogPace-v0", ("generalization",)),
    "quadruped_locomotion/inference.gin": ("QuadrupedLocomotion-DogPace-v0", ("inference",)),
    "quadruped_locomotion/train.gin": ("QuadrupedLocomotion-DogPace-v0", ("train",)),
    "web_navigation/difficulty_level_1_num_websites_1/inference.gin": (
        "WebNavigation-Difficulty-01-v0",
        ("inference",),
    ),
    "web_navigation/difficulty_level_1_num_websites_10/inference.gin": (
        "WebNavigation-Difficulty-01-v0",
        ("inference",),
    ),
    "web_navigation/difficulty_level_1_num_websites_5/inference.gin": (
        "WebNavigation-Difficulty-01-v0",
        ("inference",),
    ),
    "web_navigation/generalization.gin": ("WebNavigation-Difficulty-01-v0", ("generalization",)),
    "web_navigation/train.gin": ("WebNavigation-Difficulty-01-v0", ("train",)),
}
DOMAIN_PLUGINS = ("a2perf_circuit_training", "a2perf_quadruped_locomotion", "a2perf_web_navigation")
DOMAIN_DISTRIBUTIONS = "a2perf-compat,a2perf-circuit-training,a2perf-quadruped-locomotion,a2perf-web-navigation"
#: a run shrunk with A2Perf's own names (they bind after the file's own) and the example's one episode
TINY_RUN = (
    "--gin-param",
    "Submission.num_inference_episodes = 1",
    "--gin-param",
    "Submission.num_generalization_episodes = 1",
    "--gin-param",
    "RunSettings.num_warmup_calls = 1",
    "--participant-arg",
    "num_episodes=1",
)
#: A2Perf's ``<clip>/domain.gin`` files do not import ``Submission``: shrunk with a2perf's names
TINY_RUN_WITHOUT_SUBMISSION = tuple(arg.replace("Submission.", "RunSettings.") for arg in TINY_RUN)


def asset(relative: str):
    from a2perf_core.specs import DataAsset

    return DataAsset(
        name=f"a2perf-config-{relative}",
        path=f"a2perf/submission/configs/{relative}",
        package=A2PERF_RELEASE,
        member=MEMBER_PREFIX + relative,
        sha256=A2PERF_GIN_FILES[relative],
        license="Apache-2.0",
    )


@pytest.fixture(scope="session")
def a2perf_configs() -> Path:
    """A2Perf's ``submission/configs`` folder: found on the data path or in the cache, else fetched.

    One pip download of A2Perf's source distribution serves all 18 files (``data.fetch`` would
    download it once per file); each file is checksum-verified and cached where ``fetch`` keeps it.
    """
    import tarfile
    import tempfile

    from a2perf_core.data import cache_dir, locate, verify

    found = {relative: locate(asset(relative)) for relative in A2PERF_GIN_FILES}
    if all(found.values()):
        return next(iter(found.values())).parents[len(Path(next(iter(found))).parts) - 1]
    with tempfile.TemporaryDirectory(prefix="a2perf-sdist-") as folder:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
        result = subprocess.run([*command, "-d", folder, A2PERF_RELEASE], capture_output=True, text=True)
        if result.returncode != 0:
            if os.environ.get("CI"):
                pytest.fail(f"could not download {A2PERF_RELEASE}: {result.stderr.strip()[-500:]}")
            pytest.skip(f"{A2PERF_RELEASE} is not reachable on the package index (pip download failed)")
        with tarfile.open(next(Path(folder).glob("*.tar.gz"))) as archive:
            for relative in A2PERF_GIN_FILES:
                target = cache_dir() / asset(relative).path
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(MEMBER_PREFIX + relative)
                assert source is not None, relative
                target.write_bytes(source.read())
                verify(asset(relative), target)
    return cache_dir() / "a2perf" / "submission" / "configs"


@pytest.fixture
def a2perf_domains(a2perf_plugins):
    import importlib

    from a2perf import compat_plugin

    modules = [importlib.import_module(f"{name}.plugin") for name in DOMAIN_PLUGINS if _installed(name)]
    if len(modules) < len(DOMAIN_PLUGINS):
        pytest.skip("needs the three domain plugins installed")
    return a2perf_plugins(compat_plugin, *modules)


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_every_a2perf_file_is_listed():
    assert len(A2PERF_GIN_FILES) == 18 and set(EXPECTED) == set(A2PERF_GIN_FILES)


@pytest.mark.parametrize("relative", sorted(A2PERF_GIN_FILES))
def test_every_a2perf_file_parses(a2perf_domains, a2perf_configs, relative):
    from a2perf_core.settings import resolve_run_settings

    settings = resolve_run_settings("submission", gin_files=[str(a2perf_configs / relative)])
    assert (settings.task_id, settings.phases) == EXPECTED[relative]
    assert all("\n" not in w for w in settings.warnings)
    if relative.startswith("quadruped_locomotion/") and "train" in settings.phases:
        assert settings.train_env_kwargs == {"mode": "train"} and settings.num_train_steps == 10000
    if "/dog_" in relative:
        assert settings.env_kwargs == {"mode": "test"}


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("relative", sorted(A2PERF_GIN_FILES))
def test_every_a2perf_file_runs(a2perf_configs, relative, tmp_path):
    """``a2perf run --gin-file FILE`` with the example submission, shrunk to an episode per phase."""
    from a2perf_core.runner.cli import example_submission

    path = a2perf_configs / relative
    for name in DOMAIN_PLUGINS:
        if not _installed(name):
            pytest.skip(f"needs {name} installed")
    task, phases = EXPECTED[relative]
    options = ["--phase", "inference"] if len(phases) > 1 else []  # A2Perf's domain.gin files set no mode
    tiny = TINY_RUN_WITHOUT_SUBMISSION if relative.endswith("/domain.gin") else TINY_RUN
    out = tmp_path / "run"
    env = {**os.environ, "A2PERF_LOAD_PLUGINS": DOMAIN_DISTRIBUTIONS}
    command = [sys.executable, "-m", "a2perf_core", "run", str(example_submission()), "--gin-file", str(path)]
    result = subprocess.run(
        [*command, *tiny, *options, "--out", str(out)], capture_output=True, text=True, env=env, timeout=600
    )
    if result.returncode == 2 and "data missing" in result.stderr:
        pytest.skip(f"{task}'s data is not on A2PERF_DATA_PATH")
    assert result.returncode == 0, result.stderr[-3000:]
    info = json.loads((out / "run.json").read_text())
    assert info["task"] == task
    ran = {p: r["status"] for p, r in info["phases"].items()}
    assert set(ran) == set(options[1:] or phases)
    assert set(ran.values()) <= {"ok", "skipped"} and "ok" in ran.values(), ran
