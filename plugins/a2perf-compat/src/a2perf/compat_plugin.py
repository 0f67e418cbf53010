"""Entry point of the compatibility package: maps A2Perf's gin bindings onto a2perf's run settings.

Only A2Perf gin files import :mod:`a2perf.submission.submission_util` or
:mod:`a2perf.domains.tfa.suite_gym`; when nothing imported either, this hook does nothing.
Every A2Perf option either maps onto a setting or is accepted with a one-line warning saying why
it no longer means anything.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from a2perf_core.api import hookimpl

if TYPE_CHECKING:
    from a2perf_core.api import RunSettings

SUBMISSION_MODULE = "a2perf.submission.submission_util"
#: A2Perf's per-clip ``domain.gin`` files import only this one
DOMAIN_MODULE = "a2perf.domains.tfa.suite_gym"

#: A2Perf options accepted but without effect here, and why
OBSOLETE = {
    "Submission.root_dir": "use `a2perf run --out DIR`",
    "Submission.metric_values_dir": "metrics are written to the run directory (--out)",
    "Submission.participant_module_path": "pass the submission folder to `a2perf run`",
    "Submission.time_participant_code": "every infer_once call is always timed",
    "Submission.run_offline_metrics_only": "metrics are computed after every run",
    "Submission.plot_metrics": "plots are written by the metric plugins that make them",
    "Submission.reliability_metrics": "every reliability metric is computed when a2perf-reliability is installed",
    "Submission.measure_emissions": "energy is measured whenever a2perf-energy is installed "
    "(skip it with A2PERF_DISABLE_PLUGINS=a2perf-energy)",
    "track_emissions_decorator.offline": "a2perf's energy tracking is always offline",
    "track_emissions_decorator.save_to_file": "codecarbon's CSV is always kept in the run directory",
    "track_emissions_decorator.save_to_logger": "not used",
    "suite_gym.create_domain.root_dir": "use `a2perf run --out DIR`",
    "suite_gym.create_domain.num_parallel_envs": "the harness runs one env per phase process",
    "suite_gym.create_domain.is_eval": "a2perf's circuit training env never writes the netlist",
}
#: ``suite_gym.create_domain`` parameters passed on to the env as keyword arguments
ENV_OPTIONS = ("mode",)
ENERGY_OPTIONS = {
    "measure_power_secs": "measure_power_secs",
    "country_iso_code": "country_iso_code",
    "region": "region",
    "project_name": "project_name",
    "default_cpu_power": "force_cpu_power",
    "pue": "pue",
    "gpu_ids": "gpu_ids",
    "log_level": "log_level",
}


def _bindings(name: str) -> dict[str, Any]:
    import gin

    try:
        return dict(gin.get_bindings(name))
    except (ValueError, KeyError):
        return {}


def parse_participant_args(text: str | None) -> dict[str, Any]:
    """A2Perf's ``"k1=v1,k2=v2"`` participant arguments, values parsed as Python literals if possible."""
    from a2perf_core.settings import parse_participant_arg

    return dict(parse_participant_arg(item) for item in (text or "").split(",") if item.strip())


def _task_id(env_name: str) -> str:
    """A2Perf's env id as a registered task id (A2Perf's ``WebNavigation-DifficultyLevel-0N`` spelling too)."""
    from a2perf.constants import ENV_ID_ALIASES
    from a2perf_core.envs import tasks
    from a2perf_core.errors import A2PerfError

    task_id = ENV_ID_ALIASES.get(env_name, env_name)
    if task_id not in tasks():
        raise A2PerfError(f"suite_gym.create_domain.env_name = {env_name!r}: no installed task has that id")
    return task_id


@hookimpl
def a2perf_configure_run(settings: RunSettings) -> None:
    if SUBMISSION_MODULE not in sys.modules and DOMAIN_MODULE not in sys.modules:
        return
    from a2perf.constants import DEFAULT_TASKS, GENERALIZATION_TASKS, BenchmarkDomain, BenchmarkMode

    submission = _bindings("Submission")
    emissions = _bindings("track_emissions_decorator")
    domain_options = _bindings("suite_gym.create_domain")
    mode = submission.get("mode")
    if isinstance(mode, BenchmarkMode) and "phases" not in settings.explicit:
        settings.phases = (mode.value,)
    domain = submission.get("domain")
    if isinstance(domain, BenchmarkDomain) and "task_id" not in settings.explicit and not settings.task_id:
        settings.task_id = DEFAULT_TASKS[domain]
    if domain_options.get("env_name") and "task_id" not in settings.explicit:
        settings.task_id = _task_id(domain_options["env_name"])
    env_kwargs = {k: domain_options[k] for k in ENV_OPTIONS if k in domain_options}
    if env_kwargs:
        settings.env_kwargs = {**settings.env_kwargs, **env_kwargs}
    for key in ("num_inference_steps", "num_inference_episodes", "num_generalization_episodes"):
        if submission.get(key) is not None:
            setattr(settings, key, submission[key])
    if submission.get("participant_args"):
        settings.participant_args.update(parse_participant_args(submission["participant_args"]))
    if submission.get("generalization_tasks"):
        unknown = [t for t in submission["generalization_tasks"] if t not in GENERALIZATION_TASKS]
        if unknown:
            settings.warnings.append(f"Submission.generalization_tasks: unknown A2Perf task names {unknown} ignored")
        settings.generalization_tasks = tuple(
            dict.fromkeys(GENERALIZATION_TASKS[t] for t in submission["generalization_tasks"] if t not in unknown)
        )
    energy = {target: emissions[key] for key, target in ENERGY_OPTIONS.items() if emissions.get(key) is not None}
    if energy:
        settings.metric_options = {
            **settings.metric_options,
            "energy": {**settings.metric_options.get("energy", {}), **energy},
        }
    scopes = (
        ("Submission", submission),
        ("track_emissions_decorator", emissions),
        ("suite_gym.create_domain", domain_options),
    )
    for scope, bound in scopes:
        for key in bound:
            name = f"{scope}.{key}"
            if name in OBSOLETE:
                settings.warnings.append(f"{name} is accepted but has no effect: {OBSOLETE[name]}")
