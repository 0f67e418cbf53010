"""``python -m a2perf_core``: the ``a2perf`` command without its console script."""

from a2perf_core.cli import main

main(prog_name="a2perf")
