"""Web navigation ids, including A2Perf's ``WebNavigation-DifficultyLevel-0N-v0`` spelling."""

from a2perf.domains.aliases import register_domain

TASK_IDS = register_domain(
    "WebNavigation",
    {f"WebNavigation-DifficultyLevel-0{level}-v0": f"WebNavigation-Difficulty-0{level}-v0" for level in (1, 2, 3)},
)
