"""Many dom-backend websites stepped in one process as one ``gymnasium.vector.VectorEnv``.

The sub-envs are :class:`~a2perf_web_navigation.env.WebNavigationEnv` with ``backend="dom"``
(sub-env ``i`` built with ``seed + i``), used for their websites and random generators only: the
episode state of all of them lives in tables here (per env and element: value, checked, tampered,
seen; per env: site, page, open menus, focus, steps, potential), so that a step of every env is a
few array operations (action decoding, value and check updates, marks, potential, rewards,
termination, resets, the observation's changed rows). What stays per env in Python is what is rare
or needs the env's own generator: radio groups, pressing next or a navbar toggle (the change
signature of the new layout), drawing a new episode and copying a new layout's rows. The semantics are those of
:class:`~a2perf_web_navigation.dom.DomPage`; tests check that the result equals a
``SyncVectorEnv`` of the same sub-envs and, on any action, single dom envs, step by step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from a2perf_web_navigation.designs import WebsiteDesign
from a2perf_web_navigation.dom import DomSite, PageLayout, dom_site, js_string, loosely_equal, loosely_true
from a2perf_web_navigation.env import WebNavigationEnv
from a2perf_web_navigation.errors import ActionError, DesignError, EpisodeError
from a2perf_web_navigation.primitives import CHECK, DUMMY_FIELD, EXIT, NEXT, RADIO, SELECT, SUBMIT, TOGGLE, TYPE
from a2perf_web_navigation.vocabulary import TokenTable

#: element kinds (``data-a``) as codes; anything else is a plain click
_OTHER, _TYPE, _SELECT, _CHECK, _RADIO, _NEXT, _SUBMIT, _EXIT, _TOGGLE = range(9)
_KIND_CODE = {TYPE: _TYPE, SELECT: _SELECT, CHECK: _CHECK, RADIO: _RADIO, NEXT: _NEXT, SUBMIT: _SUBMIT}
_KIND_CODE.update({EXIT: _EXIT, TOGGLE: _TOGGLE})
#: controls (what holds an element's value) as codes; a value slot shows ``checked`` for _CHECKED
_NONE, _CHECKED, _TEXT, _NUMBER, _CHOICE = range(5)
_CONTROL_CODE = {"": _NONE, "check": _CHECKED, "text": _TEXT, "number": _NUMBER, "select": _CHOICE}
#: how a profile field is judged: by its first element's value, its checkbox, or its radio group
_UNJUDGED, _BY_VALUE, _BY_CHECKBOX, _BY_RADIO = range(4)
_FOCUSING = np.zeros(9, bool)
_FOCUSING[[_TYPE, _SELECT, _CHECK, _RADIO]] = True  # also the kinds that mark tampered and touched


class _Strings:
    """Every value string seen, interned: id -> text, and per id its token-table row."""

    def __init__(self, tokens: TokenTable) -> None:
        self.tokens = tokens
        self.text: list[str] = []
        self.ids: dict[str, int] = {}
        self.row = np.zeros(64, np.int64)

    def id(self, text: str) -> int:
        found = self.ids.get(text)
        if found is None:
            found = self.ids[text] = len(self.text)
            self.text.append(text)
            if found == len(self.row):
                self.row = np.concatenate([self.row, np.zeros_like(self.row)])
            self.row[found] = self.tokens.row(text)
        return found


class _SiteTables:
    """The static per-element and per-field facts of every site the sub-envs use, one row per site."""

    def __init__(self, sites: list[DomSite], designs: list[WebsiteDesign], fields: int, strings: _Strings) -> None:
        width = max(len(site.elements) for site in sites)
        self.groups = max([len(site.groups) for site in sites] + [1])
        shape = (len(sites), width)
        self.kind = np.zeros(shape, np.int8)
        self.control = np.zeros(shape, np.int8)
        self.slot = np.full(shape, -1, np.int64)  #: the profile slot of the element's field, or -1
        self.initial = np.zeros(shape, np.int64)  #: string id of the value an element starts with
        self.group = np.full(shape, -1, np.int64)  #: radio group index within the site
        self.radio_value = np.zeros(shape, np.int64)  #: string id of a radio's ``value``
        self.judged = np.zeros((len(sites), fields), np.int8)
        self.judged_element = np.zeros((len(sites), fields), np.int64)
        self.judged_group = np.zeros((len(sites), fields), np.int64)
        self.fields = np.zeros(len(sites), np.int64)  #: profile fields without ``_dummy``
        for s, (site, design) in enumerate(zip(sites, designs, strict=True)):
            group_of = {name: k for k, name in enumerate(site.groups)}
            keys = sorted(design.fields)
            slots = {key: k + 1 for k, key in enumerate(keys)}
            for g, el in enumerate(site.elements):
                self.kind[s, g] = _KIND_CODE.get(el.kind, _OTHER)
                self.control[s, g] = _CONTROL_CODE[el.control]
                self.slot[s, g] = slots.get(el.field, -1)
                self.initial[s, g] = strings.id(el.options[0] if el.options else "")
                if el.tag == "input_radio":
                    self.group[s, g] = group_of[el.name]
                    self.radio_value[s, g] = strings.id(el.value)
            for key, g in site.field_element.items():
                k = slots.get(key, fields)
                if k >= fields:
                    continue
                tag = site.elements[g].tag
                self.judged_element[s, k] = g
                if tag == "input_checkbox":
                    self.judged[s, k] = _BY_CHECKBOX
                elif tag == "input_radio":
                    self.judged[s, k] = _BY_RADIO
                    self.judged_group[s, k] = group_of[site.elements[g].name]
                else:
                    self.judged[s, k] = _BY_VALUE
            self.fields[s] = len(keys)


class _Layout:
    """A page layout's rows as the observation shows them (cut at ``E`` rows): tokens and features
    with the value slots, tampered, new and focus empty, and the tokens as an episode starts."""

    def __init__(
        self, layout: PageLayout, strings: _Strings, initial: np.ndarray, rows: int, signature: int, false: int
    ) -> None:
        self.layout = layout
        self.signature = signature  #: equal for layouts with equal ``PageLayout.signature``
        self.visible = len(layout.elements)
        self.elements = layout.elements  #: every visible element (the page script's ``seen``)
        n = self.n = min(self.visible, rows)
        self.rows = np.arange(n)
        self.shown = layout.elements[:n]
        self.features = layout.features[:n]
        self.typeable = layout.typeable[:n]
        self.tokens = strings.tokens.encode_many(layout.text[: 5 * n]).reshape(n, 5, strings.tokens.length)
        slots = [(i, g, c == "check") for i, g, c in layout.value_slots]
        self.slot_rows_all = np.array([i for i, _, _ in slots], np.int64)
        self.slot_elements_all = np.array([g for _, g, _ in slots], np.int64)
        self.slot_checked_all = np.array([c for _, _, c in slots], bool)
        kept = self.slot_rows_all < n
        self.slot_rows = self.slot_rows_all[kept]
        self.slot_elements = self.slot_elements_all[kept]
        self.slot_checked = self.slot_checked_all[kept]
        fresh = np.where(self.slot_checked, false, initial[self.slot_elements])
        self.fresh_tokens = self.tokens.copy()
        self.fresh_tokens[self.slot_rows, 1] = strings.tokens.table[strings.row[fresh]]
        self.fresh_mask = (self.fresh_tokens != 0).astype(np.float32)


class WebNavigationVectorEnv(VectorEnv):
    """``num_envs`` dom-backend web navigation envs; every other keyword goes to each sub-env.

    ``copy=False`` returns the internal observation buffers themselves (valid until the next
    ``step``), as Gymnasium's ``SyncVectorEnv(copy=False)`` does. ``envs`` are the sub-envs, kept
    for their websites and random generators: their own episode state is not advanced."""

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
        self.E, self.F, self.L, self.P = first.E, first.F, first.L, first.P
        self._masked = first.action_layout == "masked"
        self._actions = int(first.action_space.n)
        self._limit = first.step_limit
        self._penalty = first.timestep_penalty
        self._cyclic = first.cyclic_action_penalty
        self._terminate_on_truncation = first.terminate_on_truncation
        self._obs = {k: np.zeros((num_envs, *s.shape), s.dtype) for k, s in first.observation_space.spaces.items()}
        self._tokens = TokenTable(self.L)
        self._profile_tokens = TokenTable(self.P)
        self._strings = _Strings(self._tokens)
        self._true, self._false = self._strings.id("True"), self._strings.id("False")

        sites: list[DomSite] = []
        designs: list[WebsiteDesign] = []
        site_ids: dict[int, int] = {}
        self._env_sites = []  #: per sub-env its websites' rows in the site tables
        for env in self.envs:
            rows = []
            for design in env.websites:
                site = dom_site(design)
                if id(site) not in site_ids:
                    site_ids[id(site)] = len(sites)
                    sites.append(site)
                    designs.append(design)
                rows.append(site_ids[id(site)])
            self._env_sites.append(rows)
        self._sites = sites
        self._table = _SiteTables(sites, designs, self.F, self._strings)
        self._layouts: dict[PageLayout, _Layout] = {}
        self._signatures: dict[Any, int] = {}
        self._sanitized: dict[tuple[int, int, int], int] = {}
        #: per profile value (keyed by type and value): its profile-token row and its per-slot facts
        self._value_ids: dict[tuple[type, Any], int] = {}
        self._value_table = np.zeros((16, 6), np.int64)
        self._none = self._value_id(None)
        keys = [[DUMMY_FIELD, *sorted(d.fields)][: self.F] for d in designs]
        self._site_keys = np.zeros((len(sites), self.F), np.int64)  #: profile-token rows of the keys
        for s, site_keys in enumerate(keys):
            self._site_keys[s, : len(site_keys)] = [self._profile_tokens.row(k) for k in site_keys]

        N, E, F = num_envs, self.E, self.F
        width = self._table.kind.shape[1]
        groups = self._table.groups
        self._site = np.zeros(N, np.int64)
        self._website = np.full(N, -1, np.int64)
        self._values = np.zeros((N, width), np.int64)
        self._checked = np.zeros((N, width), bool)
        self._tampered = np.zeros((N, width), bool)
        self._seen = np.zeros((N, width), bool)
        self._touched = np.zeros((N, F), bool)
        self._radio = np.full((N, groups), -1, np.int64)  #: the checked radio of each group, -1 for none
        #: per env and profile slot (past the profile: None): the facts of :meth:`_value_id`
        self._slot_tables = np.zeros((N, 5, F if self._masked else 2 * F), np.int64)
        self._want = self._slot_tables[:, 0, :F]  #: string id of a str profile value, else -1
        self._want_bool = self._slot_tables[:, 1, :F]  #: 1 / 0 for a True / False value, else -1
        self._typed = self._slot_tables[:, 2]  #: string id of what visiting or typing slot k types
        self._loosely_true = self._slot_tables[:, 3]  #: 1 where JavaScript's ``value == true``
        self._is_true = self._slot_tables[:, 4]  #: 1 where the value is True
        self._profile_values: list[list[Any]] = [[] for _ in range(N)]
        self._n_profile = np.zeros(N, np.int64)
        self._page = np.zeros(N, np.int64)
        self._menus: list[tuple[int, ...]] = [()] * N
        self._layout: list[_Layout | None] = [None] * N
        self._visible = np.zeros(N, np.int64)  #: elements of the page, unclipped
        self._written = np.zeros(N, np.int64)  #: rows of the observation in use, min(visible, E)
        self._elements = np.zeros((N, E), np.int64)  #: element id per observed row
        self._focus = np.full(N, -1, np.int64)  #: the focused element's row, -1 for none
        self._new_shown = np.zeros(N, bool)
        self._steps = np.zeros(N, np.int64)
        self._phi = np.zeros(N, np.float64)
        self._last_reward = np.zeros(N, np.float64)
        self._autoreset = np.zeros(N, bool)
        self._started = False

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """As ``SyncVectorEnv.reset``: an int ``seed`` gives sub-env ``i`` the seed ``seed + i``."""
        seeds = (
            [None if seed is None else seed + i for i in range(self.num_envs)] if not isinstance(seed, list) else seed
        )
        if len(seeds) != self.num_envs:
            raise DesignError(f"reset() got {len(seeds)} seeds for {self.num_envs} envs")
        self._start(list(range(self.num_envs)), seeds, options)
        self._autoreset[:] = False
        self._started = True
        return self._observation(), self._infos(np.zeros(self.num_envs))

    def step(
        self, actions: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started or self.closed:
            raise EpisodeError("step() before reset() or after close()")
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,):
            raise DesignError(f"step() needs {self.num_envs} actions, got shape {actions.shape}")
        if actions.dtype.kind not in "iu":
            raise ActionError(f"actions must be integers, got dtype {actions.dtype}")
        actions = actions.astype(np.int64)
        restart = self._autoreset
        live = ~restart
        outside = live & ((actions < 0) | (actions >= self._actions))
        if outside.any():
            bad = int(actions[np.flatnonzero(outside)[0]])
            raise ActionError(f"action {bad} is outside Discrete({self._actions})")
        E, obs = self.E, self._obs
        field, element = np.divmod(actions, E)
        self._steps[live] += 1
        valid = live & (element < self._visible)
        if self._masked:
            valid &= field < self._n_profile
        rows = np.flatnonzero(valid)
        at, slot = element[rows], field[rows]
        site = self._site[rows]
        g = self._elements[rows, at]
        kind = self._table.kind[site, g]
        control = self._table.control[site, g]
        focusing = _FOCUSING[kind]
        changed = np.zeros(len(rows), bool)

        # values typed or chosen: sanitised per element (a dictionary lookup per env that types)
        setting = (kind == _TYPE) | (kind == _SELECT)
        if self._masked:
            setting &= slot > 0
        if setting.any():
            k = np.flatnonzero(setting)
            r, gk = rows[k], g[k]
            typed = self._typed[r, slot[k]]
            new = np.array(
                [self._sanitize(*key) for key in zip(site[k].tolist(), gk.tolist(), typed.tolist(), strict=True)]
            )
            shows = (new != self._values[r, gk]) & (control[k] >= _TEXT)
            self._values[r, gk] = new
            changed[k] = shows
            w = np.flatnonzero(shows)
            if len(w):
                ids = self._tokens.table[self._strings.row[new[w]]]
                obs["dom_elements"][r[w], at[k][w], 1] = ids
                obs["dom_attribute_mask"][r[w], at[k][w], 1] = ids != 0

        # checkboxes: a visit toggles when the value is loosely true, an act sets (typing) or toggles
        checking = kind == _CHECK
        if checking.any():
            k = np.flatnonzero(checking)
            r, gk = rows[k], g[k]
            before = self._checked[r, gk]
            if self._masked:
                after = np.where(slot[k] > 0, self._is_true[r, slot[k]] != 0, ~before)
            else:
                after = before ^ (self._loosely_true[r, slot[k]] != 0)
            self._checked[r, gk] = after
            shows = (after != before) & (control[k] == _CHECKED)
            changed[k] |= shows
            w = np.flatnonzero(shows)
            if len(w):
                ids = self._tokens.table[self._strings.row[np.where(after[w], self._true, self._false)]]
                obs["dom_elements"][r[w], at[k][w], 1] = ids
                obs["dom_attribute_mask"][r[w], at[k][w], 1] = ids != 0

        for k in np.flatnonzero(kind == _RADIO).tolist():
            changed[k] |= self._radio_action(int(rows[k]), int(g[k]), int(slot[k]))

        # tampered and touched marks, then the focus
        k = np.flatnonzero(focusing)
        if len(k):
            r, gk = rows[k], g[k]
            changed[k] |= ~self._tampered[r, gk]
            self._tampered[r, gk] = True
            obs["dom_features"][r, at[k], 1] = 1
            field_slot = self._table.slot[site[k], gk]
            m = (field_slot >= 0) & (field_slot < self.F)
            self._touched[r[m], field_slot[m]] = True
        old_focus = self._focus[rows]
        new_focus = np.where(focusing, at, -1)
        m = old_focus >= 0
        obs["dom_features"][rows[m], old_focus[m], 0] = 0
        m = new_focus >= 0
        obs["dom_features"][rows[m], new_focus[m], 0] = 1
        self._focus[rows] = new_focus

        # potential and the submit's verdict from the fields' state, where a control was used or submitted
        submit, leave = kind == _SUBMIT, kind == _EXIT
        judged = np.flatnonzero(focusing | submit)
        phi = self._phi[rows]
        raw_rows = np.zeros(len(rows))
        if len(judged):
            r = rows[judged]
            correct = self._correct(r, site[judged])
            n_fields = self._table.fields[site[judged]]
            touched_right = np.count_nonzero(correct & self._touched[r], axis=1)
            phi[judged] = np.divide(touched_right, n_fields, out=np.zeros(len(r)), where=n_fields > 0)
            verdict = np.where(np.count_nonzero(correct, axis=1) == n_fields, 1.0, -1.0)
            raw_rows[judged] = np.where(submit[judged], verdict, 0.0)
        raw_rows[leave] = -1.0
        done_rows = submit | leave
        changed |= done_rows

        # new layouts (next page, navbar toggled): per env, with their change signature
        pressed = np.flatnonzero((kind == _NEXT) | (kind == _TOGGLE))
        if len(pressed):
            layouts = []
            for k in pressed.tolist():
                relaid, layout = self._press(int(rows[k]), int(kind[k]), int(g[k]))
                changed[k] |= relaid
                layouts.append(layout)
            self._write_pages(rows[pressed], layouts, fresh=False)

        N = self.num_envs
        raw = np.zeros(N)
        raw[rows] = raw_rows
        done = np.zeros(N, bool)
        done[rows] = done_rows
        changed_all = np.zeros(N, bool)
        changed_all[rows] = changed
        reward = np.zeros(N)
        reward[rows] = raw_rows + phi - self._phi[rows]
        if not self._masked:
            invalid = live & ~valid
            reward[invalid] = self._last_reward[invalid]
        going = live & ~done
        reward[going] -= self._penalty + np.where(changed_all[going], 0.0, self._cyclic)
        self._phi[rows] = phi
        self._last_reward[live] = reward[live]
        truncated = going & (self._steps >= self._limit)
        terminated = done | (truncated & self._terminate_on_truncation)

        # the "new" column lasts one observation
        stale = live & self._new_shown
        stale[rows[(kind == _NEXT) | (kind == _TOGGLE)]] = False
        if stale.any():
            obs["dom_features"][stale, :, 2] = 0
            self._new_shown[stale] = False
        if restart.any():
            restarting = np.flatnonzero(restart).tolist()
            self._start(restarting, [None] * self.num_envs, None)
        obs["time_step"][:, 0] = np.minimum(self._steps / self._limit, 1.0)
        self._autoreset = terminated | truncated
        return self._observation(), reward, terminated, truncated, self._infos(raw)

    def action_masks(self) -> np.ndarray:
        """``(num_envs, n)`` bools: each sub-env's :meth:`~WebNavigationEnv.action_masks`."""
        if self._masked:
            return self._obs["mask"].astype(bool)
        shown = np.arange(self.E) < self._written[:, None]
        return np.repeat(shown[:, None, :], 2 * self.F, axis=1).reshape(self.num_envs, -1)

    def close_extras(self, **kwargs: Any) -> None:
        for env in self.envs:
            env.close()

    # --- internals -----------------------------------------------------------------------------

    def _observation(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self._obs.items()} if self.copy else self._obs

    def _infos(self, raw: np.ndarray) -> dict[str, Any]:
        """The sub-envs' infos in Gymnasium's vector form (each key with its ``_key`` mask)."""
        infos: dict[str, Any] = {
            "website": self._website.copy(),
            "potential": self._phi.copy(),
            "raw_reward": raw,
            "success": raw > 0,
            "steps": self._steps.copy(),
        }
        for key in list(infos):
            infos[f"_{key}"] = np.ones(self.num_envs, bool)
        return infos

    def _sanitize(self, site: int, g: int, typed: int) -> int:
        key = (site, g, typed)
        found = self._sanitized.get(key)
        if found is None:
            text = self._sites[site].elements[g].sanitize(self._strings.text[typed])
            found = self._sanitized[key] = self._strings.id(text)
        return found

    def _correct(self, rows: np.ndarray, site: np.ndarray) -> np.ndarray:
        """``(len(rows), F)``: whether each profile field holds its value (``DomPage._field_correct``)."""
        t = self._table
        judged, element = t.judged[site], t.judged_element[site]
        r = rows[:, None]
        by_value = (judged == _BY_VALUE) & (self._values[r, element] == self._want[rows])
        want_bool = self._want_bool[rows]
        by_checkbox = (judged == _BY_CHECKBOX) & (want_bool >= 0) & (self._checked[r, element] == (want_bool == 1))
        radio = self._radio[r, t.judged_group[site]]
        chosen = t.radio_value[site[:, None], np.maximum(radio, 0)]
        by_radio = (judged == _BY_RADIO) & (radio >= 0) & (chosen == self._want[rows])
        return by_value | by_checkbox | by_radio

    def _radio_action(self, i: int, g: int, slot: int) -> bool:
        """A radio clicked, visited or typed into; whether a shown radio changed."""
        site = self._sites[self._site[i]]
        el = site.elements[g]
        group = site.groups[el.name]
        target = g
        if not self._masked:
            value = self._profile_values[i][slot] if slot < len(self._profile_values[i]) else None
            target = -1
            for r in group:
                if loosely_equal(site.elements[r].value, value):
                    target = r
        elif slot > 0:
            value = self._profile_values[i][slot]
            target = -1
            for r in group:
                if isinstance(value, str) and site.elements[r].value == value:
                    target = r
        if target < 0:
            return False
        before = self._checked[i, group].copy()
        self._checked[i, group] = False
        self._checked[i, target] = True
        self._radio[i, self._table.group[self._site[i], target]] = target
        position = self._layout[i].layout.position  # type: ignore[union-attr]
        shown = False
        for r, was in zip(group, before.tolist(), strict=True):
            row = position.get(r, -1)
            if (r == target) != was and row >= 0:
                shown = True  # the change signature covers every visible element, past E too
            if (r == target) != was and 0 <= row < self.E:
                ids = self._tokens.table[self._strings.row[self._true if r == target else self._false]]
                self._obs["dom_elements"][i, row, 1] = ids
                self._obs["dom_attribute_mask"][i, row, 1] = ids != 0
        return shown

    def _press(self, i: int, kind: int, g: int) -> tuple[bool, _Layout]:
        """Next or a navbar toggle: whether the page's change signature changed, and the new layout."""
        if kind == _NEXT:
            self._page[i] += 1
            self._menus[i] = ()
        else:
            box = self._sites[self._site[i]].box_of[g]
            self._menus[i] = tuple(sorted(set(self._menus[i]) ^ {box}))
        old = self._layout[i]
        new = self._page_layout(i)
        assert old is not None
        changed = old.signature != new.signature or not (
            np.array_equal(self._shown_values(i, old), self._shown_values(i, new))
            and np.array_equal(self._tampered[i, old.layout.elements], self._tampered[i, new.layout.elements])
        )
        return changed, new

    def _shown_values(self, i: int, layout: _Layout) -> np.ndarray:
        """String ids of what the layout's value slots show (``checked`` as "True" / "False")."""
        checked = np.where(self._checked[i, layout.slot_elements_all], self._true, self._false)
        return np.where(layout.slot_checked_all, checked, self._values[i, layout.slot_elements_all])

    def _page_layout(self, i: int) -> _Layout:
        layout = self._sites[self._site[i]].layout(int(self._page[i]), self._menus[i])
        found = self._layouts.get(layout)
        if found is None:
            signature = self._signatures.setdefault(layout.signature, len(self._signatures))
            initial = self._table.initial[self._site[i]]
            found = _Layout(layout, self._strings, initial, self.E, signature, self._false)
            self._layouts[layout] = found
        return found

    def _start(self, envs: list[int], seeds: list[int | None], options: dict[str, Any] | None) -> None:
        """The sub-envs' next episodes (``DomPage`` at ``build``), their pages written whole."""
        width = self._slot_tables.shape[2]
        values = np.full((len(envs), width), self._none, np.int64)
        for j, i in enumerate(envs):
            website, profile = self.envs[i].draw_episode(seed=seeds[i], options=options)
            self._website[i], self._site[i] = website, self._env_sites[i][website]
            drawn = self._profile_values[i] = list(profile.values())
            values[j, : len(drawn)] = [self._value_id(v) for v in drawn]
            self._n_profile[i] = len(drawn)
        rows = np.array(envs)
        facts = self._value_table[values]
        tokens = self._profile_tokens.table
        key_ids, value_ids = tokens[self._site_keys[self._site[rows]]], tokens[facts[:, : self.F, 0]]
        self._obs["profile_key"][rows] = key_ids
        self._obs["profile_value"][rows] = value_ids
        self._obs["profile_key_mask"][rows] = key_ids != 0
        self._obs["profile_value_mask"][rows] = value_ids != 0
        self._slot_tables[rows] = facts[:, :, 1:].transpose(0, 2, 1)
        self._values[rows] = self._table.initial[self._site[rows]]
        for state in (self._checked, self._tampered, self._seen, self._touched):
            state[rows] = False
        self._radio[rows] = -1
        self._page[rows] = 0
        self._steps[rows] = 0
        self._phi[rows] = 0.0
        self._last_reward[rows] = 0.0
        self._obs["time_step"][rows] = 0
        for i in envs:
            self._menus[i] = ()
        self._write_pages(rows, [self._page_layout(i) for i in envs], fresh=True)

    def _value_id(self, value: Any) -> int:
        """The row of a profile value in ``_value_table``: the profile-token row of ``str(value)``
        (as ``WebNavigationEnv._encode_profile``), the string id it is judged against (str values,
        else -1), 1 / 0 for True / False (else -1), the string id of what typing it types, whether
        it is loosely true and whether it is True."""
        key = (type(value), value)
        found = self._value_ids.get(key)
        if found is None:
            found = self._value_ids[key] = len(self._value_ids)
            if found == len(self._value_table):
                self._value_table = np.concatenate([self._value_table, np.zeros_like(self._value_table)])
            strings = self._strings
            self._value_table[found] = (
                self._profile_tokens.row(str(value)),
                strings.id(value) if isinstance(value, str) else -1,
                int(value) if isinstance(value, bool) else -1,
                strings.id("" if value is None else js_string(value)),
                loosely_true(value),
                value is True,
            )
        return found

    def _write_pages(self, envs: np.ndarray, layouts: list[_Layout], fresh: bool) -> None:
        """The page rows of the observation of sub-envs ``envs``, whole, for their new layouts:
        tokens with their values, features with tampered and new (after a press; none at ``fresh``,
        an episode's start) and no focus, the element, joint and action masks. The values shown are
        gathered for all envs at once; the rows are copied as slices, one env after the other (a
        few envs per step: cheaper than building ragged indices)."""
        obs, F = self._obs, self.F
        tokens_all, masks_all, features_all = obs["dom_elements"], obs["dom_attribute_mask"], obs["dom_features"]
        elements_mask, joint, seen = obs["dom_elements_mask"], obs["dom_profile_joint_mask"], self._seen
        env_list = envs.tolist()
        if not fresh:
            slots = np.array([len(layout.slot_rows) for layout in layouts], np.int64)
            slot_env = np.repeat(envs, slots)
            elements = np.concatenate([layout.slot_elements for layout in layouts])
            checked = np.where(self._checked[slot_env, elements], self._true, self._false)
            is_check = np.concatenate([layout.slot_checked for layout in layouts])
            values = self._tokens.table[
                self._strings.row[np.where(is_check, checked, self._values[slot_env, elements])]
            ]
            ends = np.cumsum(slots).tolist()
        for j, (i, layout) in enumerate(zip(env_list, layouts, strict=True)):
            n, before = layout.n, int(self._written[i])
            tokens, token_mask, features = tokens_all[i], masks_all[i], features_all[i]
            if fresh:
                tokens[:n] = layout.fresh_tokens
                token_mask[:n] = layout.fresh_mask
                features[:n] = layout.features
            else:
                tokens[:n] = layout.tokens
                tokens[layout.slot_rows, 1] = values[ends[j] - len(layout.slot_rows) : ends[j]]
                np.not_equal(tokens[:n], 0, out=token_mask[:n], casting="unsafe")
                features[:n] = layout.features
                features[:n, 1] = self._tampered[i, layout.shown]
                features[:n, 2] = ~seen[i, layout.shown]
            if before > n:
                tokens[n:before] = 0
                token_mask[n:before] = 0
                features[n:before] = 0
                elements_mask[i, n:before] = 0
            elements_mask[i, :n] = 1
            n_fields = min(int(self._n_profile[i]), F)
            joint[i, :, :before] = 0
            joint[i, :n_fields, :n] = 1
            if self._masked:
                mask = obs["mask"][i].reshape(F, self.E)
                mask[:, :before] = 0
                mask[0, :n] = 1
                mask[1:n_fields, :n] = layout.typeable
            seen[i] = False
            seen[i, layout.elements] = True
            self._elements[i, :n] = layout.shown
            self._layout[i] = layout
            self._visible[i] = layout.visible
            self._written[i] = n
        self._focus[envs] = -1
        self._new_shown[envs] = not fresh
