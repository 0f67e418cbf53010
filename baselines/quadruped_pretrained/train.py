"""Training: none. The policies were trained by Peng et al.; this baseline only runs them."""

from __future__ import annotations


def train() -> None:
    """Uses no env steps: the run's budget (``participant.num_train_steps()``) is left unspent."""
