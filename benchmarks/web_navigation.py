"""Web navigation speed and empirical difficulty.

Speed: median env.reset() and env.step() next to a bare ``execute_script`` that reads the whole DOM
(``document.documentElement.outerHTML``), all measured in the same run on the same browser.
Targets: a step within 1.5x and a reset within 3x of the bare round trip.

Difficulty: the success rate of a uniformly random agent over the allowed actions
(``env.action_masks()``) for each level and action layout (``a2perf``: the -v0 tasks, ``masked``: -v1).

    python benchmarks/web_navigation.py [--quick] [--success-episodes 50]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from a2perf_core.errors import A2PerfError


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


def measure_speed(env_kwargs: dict, resets: int, steps: int, seed: int = 0) -> dict[str, float]:
    from a2perf_web_navigation.env import WebNavigationEnv
    from a2perf_web_navigation.policies import random_masked_action

    env = WebNavigationEnv(**env_kwargs, num_websites=10, seed=seed)
    rng = np.random.default_rng(seed)
    try:
        obs, _ = env.reset()
        driver = env.browser.driver
        bare_outer, bare_walk, reset_times, step_times, counts = [], [], [], [], []
        walk = (
            "return Array.from(document.querySelectorAll('*'), e => {"
            "const r = e.getBoundingClientRect(); return [e.tagName, e.className, r.left, r.top, r.width, r.height];});"
        )
        for _ in range(5):  # warm-up
            driver.execute_script("return document.documentElement.outerHTML;")
            env.reset()
        for _ in range(resets):
            t = time.perf_counter()
            driver.execute_script("return document.documentElement.outerHTML;")
            bare_outer.append(time.perf_counter() - t)
            t = time.perf_counter()
            driver.execute_script(walk)
            bare_walk.append(time.perf_counter() - t)
            t = time.perf_counter()
            obs, _ = env.reset()
            reset_times.append(time.perf_counter() - t)
        while len(step_times) < steps:
            action = random_masked_action(env.action_masks(), rng)
            t = time.perf_counter()
            obs, _, terminated, truncated, _ = env.step(action)
            step_times.append(time.perf_counter() - t)
            counts.append(float(obs["dom_elements_mask"].sum()))
            if terminated or truncated:
                obs, _ = env.reset()
        return {
            "elements": statistics.median(counts),
            "bare_outerhtml_ms": median_ms(bare_outer),
            "bare_walk_ms": median_ms(bare_walk),
            "reset_ms": median_ms(reset_times),
            "step_ms": median_ms(step_times),
        }
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer samples, one level, no success rates")
    parser.add_argument("--success-episodes", type=int, default=50, help="episodes per level and seed (0: skip)")
    args = parser.parse_args()
    from a2perf_web_navigation.policies import random_agent_success

    resets, steps = (20, 60) if args.quick else (100, 400)
    levels = (3,) if args.quick else (1, 3)

    print("## Speed (median of each, same browser, same run)")
    print(
        f"{'websites':>18} {'elements':>8} {'bare outerHTML ms':>18} {'bare walk ms':>13} {'reset ms':>9} "
        f"{'step ms':>8} {'step/bare':>10} {'reset/bare':>11}"
    )
    cases = {f"level {level}": {"difficulty": level} for level in levels}
    cases["a2perf-original 1"] = {"difficulty": 1, "designs": "a2perf-original"}
    for label, kwargs in cases.items():
        try:
            m = measure_speed(kwargs, resets, steps)
        except A2PerfError as exc:
            print(f"{label:>18} skipped: {exc}")
            continue
        bare = m["bare_outerhtml_ms"]
        print(
            f"{label:>18} {m['elements']:>8.0f} {bare:>18.2f} {m['bare_walk_ms']:>13.2f} {m['reset_ms']:>9.2f} "
            f"{m['step_ms']:>8.2f} {m['step_ms'] / bare:>10.2f} {m['reset_ms'] / bare:>11.2f}"
        )
    print("targets: step/bare <= 1.5, reset/bare <= 3")

    episodes = 0 if args.quick else args.success_episodes
    if episodes:
        print(f"\n## Random agent over action_masks(), {episodes} episodes per level and seed, seeds 0-3 pooled")
        print(f"{'layout':>7} {'level':>5} {'success rate':>13} {'mean return':>12}")
        for layout in ("a2perf", "masked"):
            for level in (1, 2, 3):
                runs = [random_agent_success(level, episodes, seed=s, action_layout=layout) for s in range(4)]
                rate, mean_return = np.mean([r for r, _ in runs]), np.mean([m for _, m in runs])
                print(f"{layout:>7} {level:>5} {rate:>13.3f} {mean_return:>12.3f}")


if __name__ == "__main__":
    main()
