"""Registration: tasks, data assets with their licence, gin defaults, and a cheap entry point."""

from __future__ import annotations

import subprocess
import sys

from a2perf_quadruped_locomotion import plugin

TASK_IDS = ("QuadrupedLocomotion-DogPace-v0", "QuadrupedLocomotion-DogTrot-v0", "QuadrupedLocomotion-DogSpin-v0")
V1_TASK_IDS = tuple(task_id.replace("-v0", "-v1") for task_id in TASK_IDS)


def test_three_tasks_per_version_each_needing_its_clip(a2perf_plugins):
    plugins = a2perf_plugins(plugin)
    tasks = {k: r.spec for k, r in plugins.registry.tasks.items() if k.startswith("QuadrupedLocomotion")}
    assert sorted(tasks) == sorted(TASK_IDS + V1_TASK_IDS)
    for task in tasks.values():
        assert task.max_episode_steps == 600
        assert task.generalization
        assert task.kwargs["mode"] == "test"
        assert len(task.data) == 1 and task.data[0] in plugins.registry.data_assets
        assert task.entry_point == "a2perf_quadruped_locomotion.env:make_env"
    assert tasks["QuadrupedLocomotion-DogSpin-v0"].data == ("quadruped-dog-spin",)
    assert tasks["QuadrupedLocomotion-DogSpin-v1"].data == ("quadruped-dog-spin",)


def test_v0_keeps_a2perfs_behaviour_and_v1_corrects_it(a2perf_plugins):
    """The env's defaults are A2Perf's; ``-v0`` says so explicitly and ``-v1`` turns both off."""
    import inspect

    from a2perf_quadruped_locomotion.env import QuadrupedLocomotionEnv

    corrected = ("stale_reset_history", "long_way_angular_velocity")
    defaults = inspect.signature(QuadrupedLocomotionEnv).parameters
    tasks = a2perf_plugins(plugin).registry.tasks
    for v0, v1 in zip(TASK_IDS, V1_TASK_IDS, strict=True):
        for name in corrected:
            assert tasks[v0].spec.kwargs[name] is defaults[name].default is True
            assert tasks[v1].spec.kwargs[name] is False


def test_assets_match_the_shared_files_and_carry_the_licence_notice(a2perf_plugins):
    from a2perf_core.data import verify
    from a2perf_core.testing_data import data_file

    plugins = a2perf_plugins(plugin)
    assets = {k: r.spec for k, r in plugins.registry.data_assets.items() if k.startswith("quadruped-dog-")}
    assert len(assets) == 3
    for asset in assets.values():
        assert asset.path.startswith("quadruped/motions/dog_")
        assert asset.url.endswith(asset.path.split("/")[-1])
        # the same bytes are in the sdist the trained policies come from (checked when fetched)
        assert asset.package == "motion_imitation==0.0.6"
        assert asset.member == f"motion_imitation-0.0.6/motion_imitation/data/motions/{asset.path.split('/')[-1]}"
        assert "Apache-2.0" in asset.license and "CC BY-NC 4.0" in asset.license
        found = data_file(asset)
        verify(asset, found)  # raises on a sha256 or git blob mismatch
        assert found.stat().st_size == asset.size


def test_gin_files_set_small_run_defaults(a2perf_plugins):
    from a2perf_core.settings import RunSettings, apply_gin

    plugins = a2perf_plugins(plugin)
    task = plugins.registry.tasks["QuadrupedLocomotion-DogPace-v0"].spec
    import gin

    gin.clear_config()
    settings = RunSettings(task_id=task.id, submission="x")
    # the runner parses the gin files of every phase together: only training turns randomisation on
    apply_gin(settings, [task.gin_files[p] for p in ("train", "inference", "generalization")], [])
    assert settings.num_inference_episodes == 2
    assert settings.generalization_tasks == TASK_IDS
    assert settings.env_kwargs == {}
    assert settings.train_env_kwargs == {"mode": "train"}
    assert task.kwargs.get("mode", "test") == "test"
    gin.clear_config()


def test_each_version_generalizes_over_its_own_tasks(a2perf_plugins):
    import gin

    from a2perf_core.settings import RunSettings, apply_gin

    tasks = a2perf_plugins(plugin).registry.tasks
    for task_id, expected in (
        ("QuadrupedLocomotion-DogTrot-v0", TASK_IDS),
        ("QuadrupedLocomotion-DogTrot-v1", V1_TASK_IDS),
    ):
        gin.clear_config()
        settings = RunSettings(task_id=task_id, submission="x")
        apply_gin(settings, [tasks[task_id].spec.gin_files["generalization"]], [])
        assert settings.generalization_tasks == expected
    gin.clear_config()


def test_entry_point_module_imports_no_heavy_dependency():
    code = (
        "import sys, a2perf_quadruped_locomotion.plugin\n"
        "heavy = [m for m in ('numpy', 'pybullet', 'gymnasium', 'scipy') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_each_task_names_the_policy_trained_on_its_clip(a2perf_plugins):
    import pytest
    from a2perf_quadruped_locomotion.errors import QuadrupedConfigError
    from a2perf_quadruped_locomotion.policies import pretrained_policy_asset

    plugins = a2perf_plugins(plugin)
    expected = {"DogPace": "quadruped-policy-dog-pace", "DogTrot": "quadruped-policy-dog-trot"}
    expected["DogSpin"] = "quadruped-policy-dog-spin"
    for task_id in TASK_IDS + V1_TASK_IDS:
        asset = pretrained_policy_asset(task_id)
        assert asset == expected[task_id.split("-")[1]]
        assert asset in plugins.registry.data_assets
    for wrong in ("QuadrupedLocomotion-DogWalk-v0", "WebNavigation-v0", "DogPace"):
        with pytest.raises(QuadrupedConfigError, match="not a quadruped locomotion task"):
            pretrained_policy_asset(wrong)
