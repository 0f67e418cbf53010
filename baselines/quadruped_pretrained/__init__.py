"""Quadruped baseline: Peng et al.'s trained imitation policies, as published."""
