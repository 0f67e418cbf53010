"""Entry point of the web navigation domain: registers its tasks and data (no heavy imports)."""

from __future__ import annotations

from collections.abc import Callable

from a2perf_core.api import DataAsset, Task, hookimpl

ENTRY_POINT = "a2perf_web_navigation.env:WebNavigationEnv"
GIN_FILES = {
    "train": "a2perf_web_navigation:gin/train.gin",
    "inference": "a2perf_web_navigation:gin/inference.gin",
    "generalization": "a2perf_web_navigation:gin/generalization.gin",
}
#: the -v1 tasks generalize over the -v1 levels (the -v0 set is the tasks marked ``generalization``)
GIN_FILES_V1 = {**GIN_FILES, "generalization": "a2perf_web_navigation:gin/generalization_v1.gin"}
_COMMIT = "9451529bbc457fa51892ad760fdf8f987b688cfa"
_URL = "https://raw.githubusercontent.com/Farama-Foundation/a2perf-web-nav/{commit}/environment_generation/data/{n:02d}.json"
_LICENSE = "Apache-2.0 (file headers of google-research compositional_rl/gwob; the repository has no LICENSE file)"
#: (sha256, git blob, bytes) of A2Perf's design files 01..03
_DESIGN_FILES = {
    1: (
        "d6fe46aecba52d6bd17bdaf115ee1c81fa4b8b39b7b2d11168a7c370621a942f",
        "a91ba1967cca256b7b0cd73dad92153eb9a20836",
        736789,
    ),
    2: (
        "c109d4289a6eb031fe3dcc314f93e24d7acd930535b0cbbb2158483f08d739de",
        "79e2b118ef6e23bf576200249e1a58a59a833b8c",
        772826,
    ),
    3: (
        "f5cc232be4ca63f6ea70d1a57c8c72591af1b0a371e47503d43f3ba343029ff8",
        "8e3a1a10f5af23bb031891d2207a46c119880d42",
        737623,
    ),
}


#: -v0: A2Perf's task (its action space and semantics); -v1: our corrections (see the README's differences table)
VERSION_KWARGS = {
    0: {"action_layout": "a2perf", "terminate_on_truncation": True},
    1: {"action_layout": "masked", "terminate_on_truncation": False},
}
#: A2Perf's generalization tasks ``difficulty_level_1_num_websites_{1,5,10}``
GENERALIZATION_WEBSITES = (1, 5, 10)


def _task(task_id: str, description: str, kwargs: dict, version: int, generalization: bool = False) -> Task:
    return Task(
        id=task_id,
        entry_point=ENTRY_POINT,
        domain="web_navigation",
        description=description,
        kwargs=kwargs,
        gin_files=GIN_FILES_V1 if version == 1 else GIN_FILES,
        generalization=generalization,
    )


@hookimpl
def a2perf_register_tasks(register: Callable[[Task], None]) -> None:
    for version, layout in VERSION_KWARGS.items():
        what = "A2Perf's task" if version == 0 else "corrected: masked actions, truncation is not termination"
        for level in (1, 2, 3):
            register(
                _task(
                    f"WebNavigation-Difficulty-{level:02d}-v{version}",
                    f"fill and submit generated websites of difficulty level {level} in headless Chromium ({what})",
                    {"difficulty": level, "num_websites": 10, "seed": 0, **layout},
                    version,
                    generalization=version == 0,
                )
            )
        register(
            _task(
                f"WebNavigation-v{version}",
                f"web navigation with a chosen difficulty=1..3 or designs (list, or 'a2perf-original') ({what})",
                {"num_websites": 10, "seed": 0, **layout},
                version,
            )
        )
    for websites in GENERALIZATION_WEBSITES:
        register(
            _task(
                f"WebNavigation-Difficulty-01-Websites-{websites:02d}-v0",
                f"A2Perf's generalization task difficulty_level_1_num_websites_{websites}",
                {"difficulty": 1, "num_websites": websites, "seed": 0, **VERSION_KWARGS[0]},
                0,
            )
        )


@hookimpl
def a2perf_register_data_assets(register: Callable[[DataAsset], None]) -> None:
    for n, (sha256, blob, size) in _DESIGN_FILES.items():
        register(
            DataAsset(
                name=f"web-navigation-designs-{n:02d}",
                path=f"web_navigation/designs/{n:02d}.json",
                url=_URL.format(commit=_COMMIT, n=n),
                sha256=sha256,
                git_blob=blob,
                size=size,
                license=_LICENSE,
                description=f"A2Perf's 1000 designs labelled difficulty {n} (labels on the wrong designs upstream)",
            )
        )
