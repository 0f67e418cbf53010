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
        self._views = [{k: v[i] for k, v in self._obs.items()} for i in range(num_envs)]
        self._n = [0] * num_envs
        self._focus = [-1] * num_envs  #: the focused element's row in each slot, -1 for none
        self._new_shown = [False] * num_envs  #: whether a slot's "new" column holds ones
        self._values: list[list[str] | None] = [None] * num_envs  #: the values last written per slot
        self._autoreset = np.zeros(num_envs, bool)

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """As ``SyncVectorEnv.reset``: an int ``seed`` gives sub-env ``i`` the seed ``seed + i``."""
        seeds = (
            [None if seed is None else seed + i for i in range(self.num_envs)] if not isinstance(seed, list) else seed
        )
        if len(seeds) != self.num_envs:
            raise DesignError(f"reset() got {len(seeds)} seeds for {self.num_envs} envs")
        raws = []
        for i, env in enumerate(self.envs):
            env.start_episode(seed=seeds[i], options=options)
            self._write(i, new=False, reset=True)
            raws.append(0.0)
        self._autoreset[:] = False
        return self._observation(), self._infos(raws)

    def step(
        self, actions: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,):
            raise DesignError(f"step() needs {self.num_envs} actions, got shape {actions.shape}")
        rewards, terminations, truncations, raws = [], [], [], []
        for i, (env, action, restart) in enumerate(zip(self.envs, actions.tolist(), self._autoreset, strict=True)):
            if restart:
                env.start_episode()
                self._write(i, new=False, reset=True)
                reward, terminated, truncated, raw = 0.0, False, False, 0.0
            else:
                valid, reward, terminated, truncated, raw = env.transition(action)
                self._write(i, new=valid, reset=False)
            rewards.append(reward)
            terminations.append(terminated)
            truncations.append(truncated)
            raws.append(raw)
        terminated_array, truncated_array = np.array(terminations, bool), np.array(truncations, bool)
        self._autoreset = terminated_array | truncated_array
        return (
            self._observation(),
            np.array(rewards, np.float64),
            terminated_array,
            truncated_array,
            self._infos(raws),
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

    def _infos(self, raws: list[float]) -> dict[str, Any]:
        """The sub-envs' infos in Gymnasium's vector form (each key with its ``_key`` mask)."""
        envs = self.envs
        raw = np.array(raws, np.float64)
        infos: dict[str, Any] = {
            "website": np.array([env.website_index for env in envs], np.int64),
            "potential": np.array([env._phi for env in envs], np.float64),
            "raw_reward": raw,
            "success": raw > 0,
            "steps": np.array([env._steps for env in envs], np.int64),
        }
        for key in list(infos):
            infos[f"_{key}"] = np.ones(self.num_envs, bool)
        return infos

    def _tokens_of(self, layout: PageLayout) -> np.ndarray:
        found = self._layout_tokens.get(layout)
        if found is None:
            n = len(layout.elements)
            found = self._layout_tokens[layout] = self._tokens.encode_many(layout.text).reshape(n, 5, self.L)
        return found

    def _write(self, i: int, new: bool, reset: bool) -> None:
        """Bring sub-env ``i``'s slot of the batch observation up to date: the whole page when its
        layout changed, else the value tokens, the tampered column and the focus."""
        env = self.envs[i]
        layout, values, tampered, new_flags, focus = env._state.observed
        view = self._views[i]
        tokens, attribute_mask, features = view["dom_elements"], view["dom_attribute_mask"], view["dom_features"]
        E, F = self.E, self.F
        n, before = min(len(layout.elements), E), int(self._n[i])
        if reset:
            for key, value in env._profile_arrays.items():
                view[key][...] = value
        relayout = reset or layout is not self._written[i]
        if relayout:
            tokens[:n] = self._tokens_of(layout)[:n]
            tokens[n:before] = 0
            attribute_mask[n:before] = 0
            features[:n] = layout.features[:n]
            features[n:before] = 0
            view["dom_elements_mask"][:n] = 1
            view["dom_elements_mask"][n:before] = 0
            n_fields = min(len(env._profile_values), F)
            joint = view["dom_profile_joint_mask"]
            joint[:] = 0
            joint[:n_fields, :n] = 1
            if self._masked:
                mask = view["mask"].reshape(F, E)
                mask[:] = 0
                mask[0, :n] = 1
                mask[1:n_fields, :n] = layout.typeable[:n]
            self._written[i] = layout
            self._n[i] = n
            self._focus[i] = -1
            self._new_shown[i] = False
        written = None if relayout else self._values[i]
        if values and values != written:
            table = self._tokens
            for k, (pos, _, _) in enumerate(layout.value_slots):
                if pos < n and (written is None or written[k] != values[k]):
                    ids = table.table[table.row(values[k])]
                    tokens[pos, 1] = ids
                    if not relayout:
                        attribute_mask[pos, 1] = ids != 0
        self._values[i] = values
        if relayout:
            np.not_equal(tokens[:n], 0, out=attribute_mask[:n], casting="unsafe")
        features[:n, 1] = tampered[:n]
        if new and new_flags is not None:
            features[:n, 2] = new_flags[:n]
            self._new_shown[i] = True
        elif self._new_shown[i]:
            features[:n, 2] = 0
            self._new_shown[i] = False
        focused = focus if focus < n else -1
        if focused != self._focus[i]:
            if self._focus[i] >= 0:
                features[self._focus[i], 0] = 0
            if focused >= 0:
                features[focused, 0] = 1
            self._focus[i] = focused
        view["time_step"][0] = min(env._steps / env.step_limit, 1.0)
