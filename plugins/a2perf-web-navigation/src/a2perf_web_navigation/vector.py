"""Many dom-backend websites stepped in one process as one ``gymnasium.vector.VectorEnv``.

Each sub-env is a :class:`~a2perf_web_navigation.env.WebNavigationEnv` with ``backend="dom"`` for
the episode logic (sub-env ``i`` built with ``seed + i``); the batch observation is written in place
and only where the page changed: the token rows of a page are written when its layout changes (new
page, menu toggled, reset), otherwise only the rows of the elements that show a value. The result
equals a ``SyncVectorEnv`` of the same sub-envs (next-step autoreset), which a test checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from a2perf_web_navigation.dom import PageLayout
from a2perf_web_navigation.env import WebNavigationEnv
from a2perf_web_navigation.errors import DesignError
from a2perf_web_navigation.vocabulary import TokenTable


class WebNavigationVectorEnv(VectorEnv):
    """``num_envs`` dom-backend web navigation envs; every other keyword goes to each sub-env.

    ``copy=False`` returns the internal observation buffers themselves (valid until the next
    ``step``), as Gymnasium's ``SyncVectorEnv(copy=False)`` does."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int, seed: int = 0, copy: bool = True, **env_kwargs: Any) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise DesignError(f"num_envs must be a positive integer, got {num_envs!r}")
        if env_kwargs.get("backend", "dom") != "dom":
            raise DesignError("the vectorised web navigation env runs the dom backend only")
        env_kwargs["backend"] = "dom"
        self.envs = [WebNavigationEnv(**env_kwargs, seed=seed + i) for i in range(num_envs)]
        first = self.envs[0]
        self.num_envs = num_envs
        self.copy = copy
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        self.observation_space = batch_space(first.observation_space, num_envs)
        self.action_space = batch_space(first.action_space, num_envs)
        self.E, self.F, self.L = first.E, first.F, first.L
        self._masked = first.action_layout == "masked"
        self._obs = {k: np.zeros((num_envs, *s.shape), s.dtype) for k, s in first.observation_space.spaces.items()}
        self._tokens = TokenTable(self.L)
        self._layout_tokens: dict[PageLayout, np.ndarray] = {}
        self._written: list[PageLayout | None] = [None] * num_envs
        self._n = np.zeros(num_envs, np.int64)
        self._autoreset = np.zeros(num_envs, bool)
        self._rewards = np.zeros(num_envs, np.float64)
        self._terminated = np.zeros(num_envs, bool)
        self._truncated = np.zeros(num_envs, bool)
        self._info = {
            "website": np.zeros(num_envs, np.int64),
            "potential": np.zeros(num_envs, np.float64),
            "raw_reward": np.zeros(num_envs, np.float64),
            "success": np.zeros(num_envs, bool),
            "steps": np.zeros(num_envs, np.int64),
        }

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """As ``SyncVectorEnv.reset``: an int ``seed`` gives sub-env ``i`` the seed ``seed + i``."""
        seeds = (
            [None if seed is None else seed + i for i in range(self.num_envs)] if not isinstance(seed, list) else seed
        )
        if len(seeds) != self.num_envs:
            raise DesignError(f"reset() got {len(seeds)} seeds for {self.num_envs} envs")
        for i, env in enumerate(self.envs):
            env.start_episode(seed=seeds[i], options=options)
            self._write(i, new=False, reset=True)
            self._record(i, 0.0)
        self._autoreset[:] = False
        return self._observation(), self._infos()

    def step(
        self, actions: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,):
            raise DesignError(f"step() needs {self.num_envs} actions, got shape {actions.shape}")
        for i, env in enumerate(self.envs):
            if self._autoreset[i]:
                env.start_episode()
                self._write(i, new=False, reset=True)
                self._rewards[i], self._terminated[i], self._truncated[i], raw = 0.0, False, False, 0.0
            else:
                valid, reward, terminated, truncated, raw = env.transition(int(actions[i]))
                self._write(i, new=valid, reset=False)
                self._rewards[i], self._terminated[i], self._truncated[i] = reward, terminated, truncated
            self._record(i, raw)
        np.logical_or(self._terminated, self._truncated, out=self._autoreset)
        return (
            self._observation(),
            self._rewards.copy(),
            self._terminated.copy(),
            self._truncated.copy(),
            self._infos(),
        )

    def action_masks(self) -> np.ndarray:
        """``(num_envs, n)`` bools: each sub-env's :meth:`~WebNavigationEnv.action_masks`."""
        return np.stack([env.action_masks() for env in self.envs])

    def close_extras(self, **kwargs: Any) -> None:
        for env in self.envs:
            env.close()

    # --- internals -----------------------------------------------------------------------------

    def _observation(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self._obs.items()} if self.copy else self._obs

    def _infos(self) -> dict[str, Any]:
        infos: dict[str, Any] = {}
        for key, values in self._info.items():
            infos[key] = values.copy()
            infos[f"_{key}"] = np.ones(self.num_envs, bool)
        return infos

    def _record(self, i: int, raw: float) -> None:
        env = self.envs[i]
        info = self._info
        info["website"][i] = env.website_index
        info["potential"][i] = env._phi
        info["raw_reward"][i] = raw
        info["success"][i] = raw > 0
        info["steps"][i] = env._steps

    def _tokens_of(self, layout: PageLayout) -> np.ndarray:
        found = self._layout_tokens.get(layout)
        if found is None:
            n = len(layout.elements)
            found = self._layout_tokens[layout] = self._tokens.encode_many(layout.text).reshape(n, 5, self.L)
        return found

    def _write(self, i: int, new: bool, reset: bool) -> None:
        """Bring sub-env ``i``'s slot of the batch observation up to date."""
        env = self.envs[i]
        page = env._backend.page  # type: ignore[union-attr]
        layout = page.layout
        obs, E, F = self._obs, self.E, self.F
        n, before = min(len(layout.elements), E), int(self._n[i])
        tokens, attribute_mask = obs["dom_elements"][i], obs["dom_attribute_mask"][i]
        if reset:
            for key, value in env._profile_arrays.items():
                obs[key][i] = value
        relayout = reset or layout is not self._written[i]
        if relayout:
            tokens[:n] = self._tokens_of(layout)[:n]
            tokens[n:before] = 0
            attribute_mask[n:before] = 0
            obs["dom_features"][i, n:before] = 0
            obs["dom_elements_mask"][i, :n] = 1
            obs["dom_elements_mask"][i, n:before] = 0
            n_fields = min(len(env._profile_values), F)
            joint = obs["dom_profile_joint_mask"][i]
            joint[:] = 0
            joint[:n_fields, :n] = 1
            if self._masked:
                mask = obs["mask"][i].reshape(F, E)
                mask[:] = 0
                mask[0, :n] = 1
                mask[1:n_fields, :n] = layout.typeable[:n]
            self._written[i] = layout
            self._n[i] = n
        slots = [(pos, g, control) for pos, g, control in layout.value_slots if pos < n]
        if slots:
            rows = [self._tokens.row(page._value_of(g, control)) for _, g, control in slots]
            positions = [pos for pos, _, _ in slots]
            tokens[positions, 1] = self._tokens.table[rows]
            if not relayout:
                attribute_mask[positions, 1] = tokens[positions, 1] != 0
        if relayout:
            np.not_equal(tokens[:n], 0, out=attribute_mask[:n], casting="unsafe")
        features = obs["dom_features"][i, :n]
        features[:] = env._state["features"][: 8 * n].reshape(n, 8)  # in [0, 1]: the layout's are clipped
        if not new:
            features[:, 2] = 0.0
        obs["time_step"][i, 0] = min(env._steps / env.step_limit, 1.0)
