"""Fails when the marker file is absent, creating it: the first attempt fails, a resumed one succeeds."""

from a2perf_core import participant


def train():
    marker = participant.run_dir() / "fails_until_marker.flag"
    if not marker.exists():
        marker.write_text("failed once\n")
        raise RuntimeError("first attempt fails on purpose")
    env = participant.make_env()
    env.reset(seed=participant.seed())
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(1)
        done = terminated or truncated
    env.close()
