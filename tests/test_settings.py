"""A run's settings: one precedence, applied once; typos and bad values are one-line errors up front."""

from __future__ import annotations

import types
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

from a2perf_core.cli import main
from a2perf_core.errors import A2PerfError
from a2perf_core.hookspecs import hookimpl
from a2perf_core.plugins import PluginInfo
from a2perf_core.specs import Task

LAYERS = ("defaults", "task gin", "--gin-file", "--gin-param", "plugin", "command line")


def domain_with_gin(tmp_path: Path, text: str) -> types.ModuleType:
    """A domain whose one task ships ``text`` as its inference gin file."""
    gin_file = tmp_path / "task_inference.gin"
    gin_file.write_text(text)
    module = types.ModuleType("gin_domain")

    @hookimpl
    def a2perf_register_domains(register):
        register(
            Task(
                id="GinDomain-v0",
                domain="gin_domain",
                entry_point="gymnasium.envs.classic_control:CartPoleEnv",
                gin_files={"inference": str(gin_file)},
            )
        )

    module.a2perf_register_domains = a2perf_register_domains
    return module


def configuring_plugin(name: str, configure) -> tuple[types.ModuleType, PluginInfo]:
    module = types.ModuleType(name)

    @hookimpl
    def a2perf_configure_run(settings):
        configure(settings)

    module.a2perf_configure_run = a2perf_configure_run
    return module, PluginInfo(name, f"dist-{name}", "0")


def resolve(**kw):
    from a2perf_core.settings import resolve_run_settings

    return resolve_run_settings("submission", **kw)


@pytest.mark.parametrize("top", range(len(LAYERS)), ids=LAYERS)
def test_each_layer_wins_over_the_ones_before(a2perf_plugins, tmp_path, top):
    """``timeout_s`` can be set by every layer; layer i sets it to 100 * i, the highest layer given wins."""
    user_file = tmp_path / "user.gin"
    user_file.write_text("RunSettings.timeout_s = 200\n")

    def plugin_sets(settings):
        settings.timeout_s = 400.0

    chosen = [domain_with_gin(tmp_path, "RunSettings.timeout_s = 100\n" if top >= 1 else "")]
    if top >= 4:
        chosen.append(configuring_plugin("sets_timeout", plugin_sets))
    a2perf_plugins(*chosen)
    settings = resolve(
        task="GinDomain-v0",
        phase="inference",
        gin_files=[str(user_file)] if top >= 2 else [],
        gin_params=["RunSettings.timeout_s = 300"] if top >= 3 else [],
        timeout_s=500.0 if top >= 5 else None,
    )
    expected = settings.phase_timeouts_s["inference"] if top == 0 else 100.0 * top
    assert settings.timeout_for("inference") == expected


def test_a_plugin_setting_the_default_value_still_wins_over_the_task_gin(a2perf_plugins, tmp_path):
    def plugin_sets(settings):
        settings.num_inference_episodes = 10  # the default: still the plugin's choice

    a2perf_plugins(
        domain_with_gin(tmp_path, "RunSettings.num_inference_episodes = 3\n"), configuring_plugin("p", plugin_sets)
    )
    assert resolve(task="GinDomain-v0").num_inference_episodes == 10


def test_a_plugins_keys_are_merged_over_the_task_gins_dict(a2perf_plugins, tmp_path):
    def plugin_adds(settings):
        settings.participant_args.update(lr=0.5)

    a2perf_plugins(
        domain_with_gin(tmp_path, "RunSettings.participant_args = {'lr': 0.1, 'layers': 2}\n"),
        configuring_plugin("p", plugin_adds),
    )
    settings = resolve(task="GinDomain-v0", participant_args=["layers=3"])
    assert settings.participant_args == {"lr": 0.5, "layers": 3}


def test_without_task_the_chosen_tasks_gin_applies_and_plugins_run_once(a2perf_plugins, tmp_path):
    from a2perf_core.runner.cli import build_settings

    calls = []
    a2perf_plugins(
        domain_with_gin(tmp_path, "RunSettings.num_inference_episodes = 3\nRunSettings.num_train_steps = 70\n"),
        configuring_plugin("counter", calls.append),
    )
    settings = build_settings("submission", None, None, 0, (), ("RunSettings.num_train_steps = 80",), (), None, None)
    assert settings.task_id == "GinDomain-v0"
    assert (settings.num_inference_episodes, settings.num_train_steps) == (3, 80)
    assert len(calls) == 1


A2PERF_QUADRUPED_TRAIN_GIN = """
import a2perf
import a2perf.submission.submission_util
Submission.mode = %a2perf.constants.BenchmarkMode.TRAIN
Submission.domain = %a2perf.constants.BenchmarkDomain.QUADRUPED_LOCOMOTION
"""


def test_a2perf_domain_without_task_gets_the_domains_gin_defaults(a2perf_plugins, tmp_path):
    """The domain picked by ``Submission.domain`` trains with its randomisation and step budget."""
    pytest.importorskip("a2perf_quadruped_locomotion", reason="needs the quadruped plugin installed")
    from a2perf import compat_plugin
    from a2perf_quadruped_locomotion import plugin as quadruped

    from a2perf_core.runner.cli import build_settings

    a2perf_plugins(compat_plugin, quadruped)
    gin_file = tmp_path / "train.gin"
    gin_file.write_text(A2PERF_QUADRUPED_TRAIN_GIN)
    settings = build_settings("submission", None, None, 0, (str(gin_file),), (), (), None, None)
    assert settings.task_id == "QuadrupedLocomotion-DogPace-v0"
    assert settings.phases == ("train",)
    assert settings.train_env_kwargs == {"mode": "train"}
    assert settings.num_train_steps == 10000


def test_configure_run_is_called_once_in_registration_order(a2perf_plugins):
    calls = []
    plugins = a2perf_plugins(
        configuring_plugin("first", lambda s: calls.append("first")),
        configuring_plugin("second", lambda s: calls.append("second")),
    )
    plugins.configure_run(object())
    assert calls == ["first", "second"]


def test_a_failing_plugin_is_one_error_naming_it(a2perf_plugins, with_example_domain):
    from a2perf_example_domain import plugin as example

    def broken(settings):
        raise RuntimeError("bad mapping")

    a2perf_plugins(example, configuring_plugin("broken_mapper", broken))
    with pytest.raises(A2PerfError, match=r"plugin 'broken_mapper' \(dist-broken_mapper\).*RuntimeError: bad mapping"):
        resolve(task="ExampleCorridor-v0")


def test_gin_defaults_are_the_fields_defaults():
    from a2perf_core.settings import GIN_DEFAULTS, RunSettings

    settings = RunSettings(task_id="t", submission="s")
    bindable = {f.name for f in attrs.fields(RunSettings) if f.metadata.get("gin")}
    assert set(GIN_DEFAULTS) == bindable
    assert {"num_inference_episodes", "timeout_s", "phase_timeouts_s", "generalization_tasks"} <= bindable
    assert GIN_DEFAULTS == {name: getattr(settings, name) for name in bindable}


@pytest.mark.parametrize(
    ("phase", "params", "expected"),
    [
        ("inference", [], 3600.0),
        ("train", [], 86400.0),
        ("generalization", [], 3600.0),
        ("inference", ["RunSettings.phase_timeouts_s = {'inference': 7}"], 7.0),
        ("train", ["RunSettings.phase_timeouts_s = {'inference': 7}"], 86400.0),
        ("train", ["RunSettings.timeout_s = 9"], 9.0),
        ("inference", ["RunSettings.timeout_s = 9"], 9.0),
    ],
)
def test_every_phase_has_a_default_timeout(with_example_domain, phase, params, expected):
    settings = resolve(task="ExampleCorridor-v0", phase="all", gin_params=params)
    assert settings.timeout_for(phase) == expected


def test_an_include_resolves_relative_to_the_folders_above_the_file(with_example_domain, tmp_path, monkeypatch):
    """A2Perf's per-clip files include ``configs/...`` relative to A2Perf's submission folder."""
    shared = tmp_path / "submission" / "configs" / "domain" / "inference.gin"
    clip = tmp_path / "submission" / "configs" / "domain" / "clip" / "inference.gin"
    clip.parent.mkdir(parents=True)
    shared.write_text("RunSettings.num_inference_episodes = 4\n")
    clip.write_text('include "configs/domain/inference.gin"\nRunSettings.num_warmup_calls = 2\n')
    monkeypatch.chdir(tmp_path)  # not the submission folder: the include is found from the file
    settings = resolve(task="ExampleCorridor-v0", gin_files=[str(clip)])
    assert (settings.num_inference_episodes, settings.num_warmup_calls) == (4, 2)


def test_an_import_of_a_missing_module_is_a_warning(with_example_domain, tmp_path):
    gin_file = tmp_path / "a.gin"
    gin_file.write_text("import a2perf_no_such_module\nRunSettings.num_warmup_calls = 1\n")
    settings = resolve(task="ExampleCorridor-v0", gin_files=[str(gin_file)])
    assert settings.num_warmup_calls == 1
    assert settings.warnings == ["gin: `import a2perf_no_such_module` skipped: the module is not installed"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("num_inference_episodes", "three"),
        ("num_inference_episodes", 0),
        ("num_inference_episodes", True),
        ("num_warmup_calls", -1),
        ("num_train_steps", 2.5),
        ("timeout_s", -5),
        ("max_memory_mib", 0),
        ("phase_timeouts_s", {"trian": 5}),
        ("generalization_tasks", [1, 2]),
        ("env_kwargs", [1]),
    ],
)
def test_every_field_is_checked_when_set(field, value):
    from a2perf_core.settings import RunSettings

    settings = RunSettings(task_id="t", submission="s")
    with pytest.raises(A2PerfError, match=f"RunSettings.{field} must be"):
        setattr(settings, field, value)


def cli(*args: str):
    return CliRunner().invoke(main, ["run", *args], catch_exceptions=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gin-param", "RunSetings.num_inference_episodes = 3"], "No configurable matching 'RunSetings'"),
        (["--gin-param", "RunSettings.num_inference_episods = 3"], "doesn't have a parameter named"),
        (["--gin-param", 'RunSettings.num_inference_episodes = "three"'], "RunSettings.num_inference_episodes must"),
        (["--timeout", "-5"], "--timeout -5: give a positive number"),
        (["--max-memory", "-1G"], "--max-memory '-1G': give a positive size"),
    ],
    ids=["configurable", "parameter", "type", "timeout", "max-memory"],
)
def test_typos_and_bad_values_stop_the_run_before_it_starts(with_example_domain, tmp_path, args, message):
    out = tmp_path / "run"
    result = cli("--task", "ExampleCorridor-v0", "--out", str(out), *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert result.output.strip().count("\n") == 0, result.output
    assert not out.exists()


@pytest.mark.parametrize(
    "binding",
    ["a2perf_latency.LatencyMetirc.plot = False", "a2perf_latency.LatencyMetric.plott = False"],
    ids=["configurable", "parameter"],
)
def test_a_misspelled_metric_binding_is_an_error(with_example_domain, monkeypatch, tmp_path, binding):
    pytest.importorskip("a2perf_latency", reason="needs the latency plugin installed")
    from a2perf_core.plugins import set_plugins

    monkeypatch.setenv("A2PERF_LOAD_PLUGINS", "a2perf-example-domain,a2perf-latency")
    set_plugins(None)
    assert resolve(task="ExampleCorridor-v0", gin_params=["a2perf_latency.LatencyMetric.plot = False"])
    result = cli("--task", "ExampleCorridor-v0", "--out", str(tmp_path / "run"), "--gin-param", binding)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: gin configuration:") and result.output.strip().count("\n") == 0


def test_out_that_is_a_file_is_one_line(with_example_domain, tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("")
    for out, message in ((taken, "it is a file"), (taken / "run", "is a file, so no directory can be made")):
        result = cli("--task", "ExampleCorridor-v0", "--out", str(out))
        assert result.exit_code == 2, result.output
        assert message in result.output and result.output.strip().count("\n") == 0, result.output


def test_out_that_cannot_be_written_is_one_line(with_example_domain, tmp_path, monkeypatch):
    """Root ignores permission bits, so the folder's refusal is simulated where the probe write happens."""
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    result = cli("--task", "ExampleCorridor-v0", "--out", str(tmp_path / "run"))
    assert result.exit_code == 2, result.output
    assert "is not writable" in result.output and result.output.strip().count("\n") == 0
