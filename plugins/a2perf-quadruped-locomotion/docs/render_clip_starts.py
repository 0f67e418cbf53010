"""Render the robot at the start of each dog clip (the README's pictures).

python plugins/a2perf-quadruped-locomotion/docs/render_clip_starts.py [OUTPUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

from a2perf_quadruped_locomotion.env import make_env
from PIL import Image

CLIPS = ("pace", "trot", "spin")


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    for name in CLIPS:
        env = make_env(motion_asset=f"quadruped-dog-{name}", render_mode="rgb_array", render_size=(320, 240))
        env.reset(seed=0, options={"motion_time": 0.0})
        Image.fromarray(env.render()).save(output / f"dog_{name}_start.png", optimize=True)
        env.close()


if __name__ == "__main__":
    main()
