"""Web navigation: the dom backend against the browser backend, same run, one core.

Steps per second (resets at episode ends included, random allowed actions drawn beforehand from
``action_masks()``) of one browser env, one dom env and :class:`WebNavigationVectorEnv` at 64
websites (``copy=False`` and ``copy=True``), each the best of :data:`REPEATS` timed passes (as
``timeit`` advises: on a shared machine other processes only ever slow a pass down, so the
fastest pass is the closest to what the code costs; every backend gets the same treatment).
Memory per env: the proportional set size of a browser env's process tree (chromedriver and
Chromium) against the memory a dom env allocates (traced Python and NumPy allocations: its
websites, pages, layouts and observations).
Targets: dom >= 50x and vectorised >= 500x the browser's steps/s; memory per dom env <= 1/50.

    python benchmarks/web_navigation_dom.py [--quick] [--core N]
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

ENV_KWARGS = {"difficulty": 1, "num_websites": 10, "seed": 0}
VECTOR_ENVS = 64
REPEATS = 3


def pin_to_core(core: int, pids: list[int] | None = None) -> None:
    """Run this process (and ``pids``) on CPU ``core`` only."""
    import psutil

    for pid in [os.getpid(), *(pids or [])]:
        try:
            psutil.Process(pid).cpu_affinity([core])
        except psutil.Error:
            pass


def tree_pss_bytes(pids: list[int]) -> int:
    """Summed proportional set size of ``pids`` (shared pages divided among their users)."""
    import psutil

    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_full_info().pss
        except psutil.Error:
            pass
    return total


def steps_per_second(step: Callable[[int], bool], reset: Callable[[], None], actions: list[int]) -> float:
    """Rate of ``step(action)`` over ``actions``; ``step`` returns True at an episode end, which
    ``reset()`` follows inside the timed loop."""
    start = time.perf_counter()
    for action in actions:
        if step(action):
            reset()
    return len(actions) / (time.perf_counter() - start)


def draw_actions(env, count: int, seed: int = 0) -> list[int]:
    """``count`` allowed actions of a replayed episode sequence: the same list drives each backend."""
    rng = np.random.default_rng(seed)
    actions = []
    env.reset(seed=seed)
    while len(actions) < count:
        action = int(rng.choice(np.flatnonzero(env.action_masks())))
        actions.append(action)
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return actions


def single_env_rate(env, actions: list[int], seed: int = 0, repeats: int = 1) -> float:
    """The best of ``repeats`` passes over ``actions``, each from ``reset(seed=seed)``."""

    def step(action: int) -> bool:
        _, _, terminated, truncated, _ = env.step(action)
        return terminated or truncated

    rates = []
    for _ in range(repeats):
        env.reset(seed=seed)
        rates.append(steps_per_second(step, env.reset, actions))
    return max(rates)


def vector_rate(copy: bool, batches: int, repeats: int = 1) -> float:
    """Env-steps per second of the vectorised dom env (random element indices on visible elements),
    the best of ``repeats`` passes of ``batches`` steps, each from ``reset(seed=0)``."""
    from a2perf_web_navigation.vector import WebNavigationVectorEnv

    envs = WebNavigationVectorEnv(VECTOR_ENVS, copy=copy, **ENV_KWARGS)
    fields = 2 * envs.F
    rates = []
    for _ in range(repeats):
        obs, _ = envs.reset(seed=0)
        rng = np.random.default_rng(0)
        start = time.perf_counter()
        for _ in range(batches):
            visible = obs["dom_elements_mask"].sum(axis=1)
            actions = rng.integers(fields, size=VECTOR_ENVS) * envs.E + (rng.random(VECTOR_ENVS) * visible).astype(int)
            obs = envs.step(actions)[0]
        rates.append(batches * VECTOR_ENVS / (time.perf_counter() - start))
    envs.close()
    return max(rates)


def dom_env_bytes(steps: int) -> tuple[int, int]:
    """Traced bytes held by one dom env after ``steps`` steps, and per env of the vectorised env."""
    from a2perf_web_navigation.dom import dom_site
    from a2perf_web_navigation.env import WebNavigationEnv
    from a2perf_web_navigation.vector import WebNavigationVectorEnv

    def held(build: Callable[[], object]) -> int:
        dom_site.cache_clear()
        tracemalloc.start()
        thing = build()
        current, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del thing
        return current

    def one_env() -> object:
        env = WebNavigationEnv(**ENV_KWARGS, backend="dom")
        draw_actions(env, steps)
        return env

    def vector() -> object:
        envs = WebNavigationVectorEnv(VECTOR_ENVS, copy=False, **ENV_KWARGS)
        envs.reset(seed=0)
        for _ in range(max(steps // VECTOR_ENVS, 5)):
            envs.step(np.zeros(VECTOR_ENVS, np.int64))
        return envs

    return held(one_env), held(vector) // VECTOR_ENVS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer steps")
    parser.add_argument("--core", type=int, default=0, help="the CPU to pin everything to")
    args = parser.parse_args()
    from a2perf_web_navigation.env import WebNavigationEnv

    browser_steps, dom_steps, batches = (50, 1000, 20) if args.quick else (200, 7000, 100)
    pin_to_core(args.core)
    browser = WebNavigationEnv(**ENV_KWARGS)
    browser.reset()
    pin_to_core(args.core, browser.browser.pids)
    dom = WebNavigationEnv(**ENV_KWARGS, backend="dom")
    actions = draw_actions(dom, dom_steps)
    single_env_rate(browser, actions[:20])  # warm-up
    browser_rate = single_env_rate(browser, actions[:browser_steps], repeats=REPEATS)
    browser_bytes = tree_pss_bytes(browser.browser.pids)
    browser.close()
    dom_rate = single_env_rate(dom, actions, repeats=REPEATS)
    vector_shared = vector_rate(copy=False, batches=batches, repeats=REPEATS)
    vector_copied = vector_rate(copy=True, batches=batches, repeats=REPEATS)
    dom_bytes, vector_bytes = dom_env_bytes(1000)

    print(f"## Steps per second on core {args.core} (difficulty 1, 10 websites, same run, best of {REPEATS})")
    print(f"{'backend':>30} {'steps/s':>10} {'x browser':>10} {'target':>7}")
    print(f"{'browser, 1 env':>30} {browser_rate:>10.1f} {1.0:>10.1f} {'':>7}")
    print(f"{'dom, 1 env':>30} {dom_rate:>10.1f} {dom_rate / browser_rate:>10.1f} {'>= 50':>7}")
    for label, rate in ((f"dom vector {VECTOR_ENVS}, copy=False", vector_shared), ("copy=True", vector_copied)):
        print(f"{label:>30} {rate:>10.1f} {rate / browser_rate:>10.1f} {'>= 500':>7}")
    print("\n## Memory per env")
    mib = 1 << 20
    print(f"{'env':>30} {'MiB':>10} {'browser / env':>14} {'target':>7}")
    print(f"{'browser (PSS of its tree)':>30} {browser_bytes / mib:>10.1f} {1.0:>14.1f}")
    for label, size in (("dom, 1 env (traced)", dom_bytes), (f"dom vector {VECTOR_ENVS}, per env", vector_bytes)):
        print(f"{label:>30} {size / mib:>10.2f} {browser_bytes / size:>14.1f} {'>= 50':>7}")


if __name__ == "__main__":
    main()
