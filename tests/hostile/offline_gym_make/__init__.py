"""On the offline track, train() makes the task's env with plain ``gymnasium.make``."""
