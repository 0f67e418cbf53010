"""Quadruped locomotion ids."""

from a2perf.domains.aliases import register_domain

TASK_IDS = register_domain("QuadrupedLocomotion")
