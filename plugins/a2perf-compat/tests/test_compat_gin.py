"""A2Perf gin files map onto a2perf run settings; obsolete options warn instead of vanishing."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from a2perf_core.hookspecs import hookimpl
from a2perf_core.specs import Task

#: the A2Perf gin file quoted in the runner issue, verbatim
A2PERF_TRAIN_GIN = (Path(__file__).parent / "a2perf_web_navigation_train.gin").read_text()


def fake_web_navigation():
    """Stands in for the web navigation plugin: the same ids, a trivial entry point."""
    module = types.ModuleType("fake_webnav")

    @hookimpl
    def a2perf_register_domains(register):
        for level in (1, 2, 3):
            register(
                Task(
                    id=f"WebNavigation-Difficulty-0{level}-v0",
                    domain="web_navigation",
                    entry_point="gymnasium.envs.classic_control:CartPoleEnv",
                    generalization=True,
                )
            )

    module.a2perf_register_domains = a2perf_register_domains
    return module


@pytest.fixture
def plugins(a2perf_plugins):
    from a2perf import compat_plugin

    return a2perf_plugins(compat_plugin, fake_web_navigation())


def settings_from(gin_text: str, tmp_path, **kw):
    from a2perf_core.runner.cli import build_settings

    path = tmp_path / "a2perf.gin"
    path.write_text(gin_text)
    options = dict(
        submission="sub",
        task=None,
        phase=None,
        seed=0,
        gin_files=(str(path),),
        gin_params=(),
        participant_args=(),
        timeout=None,
        max_memory=None,
    )
    options.update(kw)
    return build_settings(**options)


def test_a2perf_train_gin_maps_onto_settings(plugins, tmp_path):
    settings = settings_from(A2PERF_TRAIN_GIN, tmp_path)
    assert settings.phases == ("train",)
    assert settings.task_id == "WebNavigation-Difficulty-01-v0"
    assert settings.metric_options["energy"] == {
        "measure_power_secs": 5,
        "country_iso_code": "USA",
        "region": "Massachusetts",
        "project_name": "a2perf_web_navigation_train",
        "log_level": "info",
    }
    warned = {w.split(" ")[0] for w in settings.warnings}
    assert warned == {
        "Submission.run_offline_metrics_only",
        "Submission.measure_emissions",
        "track_emissions_decorator.save_to_file",
        "track_emissions_decorator.save_to_logger",
        "track_emissions_decorator.offline",
    }
    assert all("\n" not in w for w in settings.warnings)


def test_command_line_wins_over_the_gin_file(plugins, tmp_path):
    settings = settings_from(A2PERF_TRAIN_GIN, tmp_path, phase="inference", task="WebNavigation-Difficulty-02-v0")
    assert settings.phases == ("inference",)
    assert settings.task_id == "WebNavigation-Difficulty-02-v0"


def test_counts_participant_args_and_generalization_tasks(plugins, tmp_path):
    text = A2PERF_TRAIN_GIN + (
        "Submission.num_inference_episodes = 7\n"
        "Submission.num_inference_steps = 50\n"
        "Submission.participant_args = 'lr=0.001,name=ppo'\n"
        "Submission.generalization_tasks = ['difficulty_level_1_num_websites_1', 'nope']\n"
    )
    settings = settings_from(text, tmp_path)
    assert (settings.num_inference_episodes, settings.num_inference_steps) == (7, 50)
    assert settings.participant_args == {"lr": 0.001, "name": "ppo"}
    assert settings.generalization_tasks == ("WebNavigation-Difficulty-01-Websites-01-v0",)
    assert any("unknown A2Perf task names ['nope']" in w for w in settings.warnings)


def test_without_an_a2perf_gin_file_nothing_changes(plugins, tmp_path):
    import sys

    sys.modules.pop("a2perf.submission.submission_util", None)
    plain = "RunSettings.num_inference_episodes = 2\n"
    settings = settings_from(plain, tmp_path, task="WebNavigation-Difficulty-03-v0")
    assert settings.warnings == [] and settings.metric_options == {}


def test_domain_import_registers_a2perf_spellings(plugins):
    import gymnasium
    from a2perf.domains.aliases import register_domain

    installed = register_domain(
        "WebNavigation", {"WebNavigation-DifficultyLevel-01-v0": "WebNavigation-Difficulty-01-v0"}
    )
    assert sorted(installed) == [f"WebNavigation-Difficulty-0{n}-v0" for n in (1, 2, 3)]
    assert gymnasium.registry["WebNavigation-DifficultyLevel-01-v0"].kwargs == {
        "task_id": "WebNavigation-Difficulty-01-v0"
    }
    env = gymnasium.make("WebNavigation-DifficultyLevel-01-v0")
    assert env.unwrapped.__class__.__name__ == "CartPoleEnv"
