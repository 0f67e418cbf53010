"""Web navigation ids, including A2Perf's ``WebNavigation-DifficultyLevel-0N-v0`` spelling."""

from a2perf.constants import ENV_ID_ALIASES
from a2perf.domains.aliases import register_domain

TASK_IDS = register_domain("WebNavigation", ENV_ID_ALIASES)
