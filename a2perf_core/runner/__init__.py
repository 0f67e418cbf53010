"""The benchmark harness: submissions, phases in child processes, records and results."""
