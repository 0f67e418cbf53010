"""Reliability metrics of reinforcement-learning training and rollouts, and statistics to compare submissions.

Import the working modules directly (``a2perf_reliability.curves``, ``.measures``, ``.compare``);
this package module stays empty so that loading the plugin is cheap.
"""
