"""Quadruped baseline: open-loop replay of the clip through the PD controller."""
