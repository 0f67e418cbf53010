"""Entry point of the example domain: registers one task, lazily."""

from __future__ import annotations

from collections.abc import Callable

from a2perf_core.api import Task, hookimpl


@hookimpl
def a2perf_register_tasks(register: Callable[[Task], None]) -> None:
    register(
        Task(
            id="ExampleCorridor-v0",
            entry_point="a2perf_example_domain.corridor:CorridorEnv",
            domain="example",
            description="walk right to the end of a short corridor",
            kwargs={"length": 5},
            max_episode_steps=20,
            gin_files={"inference": "a2perf_example_domain:inference.gin"},
            generalization=True,
        )
    )
