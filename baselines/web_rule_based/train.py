"""Training: none. The agent's rules are written, not learned."""

from __future__ import annotations


def train() -> None:
    """Uses no env steps: the run's budget (``participant.num_train_steps()``) is left unspent."""
