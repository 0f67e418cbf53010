"""Registration: tasks, data assets with their licence, gin defaults, and a cheap entry point."""

from __future__ import annotations

import subprocess
import sys

from a2perf_quadruped_locomotion import plugin

TASK_IDS = ("QuadrupedLocomotion-DogPace-v0", "QuadrupedLocomotion-DogTrot-v0", "QuadrupedLocomotion-DogSpin-v0")


def test_three_tasks_each_needing_its_clip(a2perf_plugins):
    plugins = a2perf_plugins(plugin)
    tasks = {k: r.spec for k, r in plugins.registry.tasks.items() if k.startswith("QuadrupedLocomotion")}
    assert sorted(tasks) == sorted(TASK_IDS)
    for task in tasks.values():
        assert task.max_episode_steps == 600
        assert task.generalization
        assert task.kwargs["mode"] == "test"
        assert len(task.data) == 1 and task.data[0] in plugins.registry.data_assets
        assert task.entry_point == "a2perf_quadruped_locomotion.env:make_env"
    assert tasks["QuadrupedLocomotion-DogSpin-v0"].data == ("quadruped-dog-spin",)


def test_assets_match_the_shared_files_and_carry_the_licence_notice(a2perf_plugins):
    from a2perf_core.data import verify
    from a2perf_core.testing_data import data_file

    plugins = a2perf_plugins(plugin)
    assets = {k: r.spec for k, r in plugins.registry.data_assets.items() if k.startswith("quadruped-dog-")}
    assert len(assets) == 3
    for asset in assets.values():
        assert asset.path.startswith("quadruped/motions/dog_")
        assert asset.url.endswith(asset.path.split("/")[-1])
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


def test_entry_point_module_imports_no_heavy_dependency():
    code = (
        "import sys, a2perf_quadruped_locomotion.plugin\n"
        "heavy = [m for m in ('numpy', 'pybullet', 'gymnasium', 'scipy') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
