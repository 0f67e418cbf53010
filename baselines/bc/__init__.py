"""Behaviour cloning: a small MLP fitted to the actions of the run's offline datasets."""
