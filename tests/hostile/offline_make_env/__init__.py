"""On the offline track, train() asks the harness for an env."""
