"""Registered specs are values: frozen all the way down, hashable, and round-tripping through JSON."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from a2perf_core.specs import FrozenMapping, Task


def nested_task() -> Task:
    return Task(
        id="Nested-v0",
        entry_point="pkg.mod:Env",
        domain="d",
        kwargs={"synthetic": {"num_macros": 12, "sizes": [1, 2]}, "seed": 0},
        max_episode_steps=7,
        gin_files={"train": "pkg:train.gin"},
        data=["a", "b"],
    )


def test_tasks_are_hashable_and_equal_tasks_hash_equal():
    assert hash(nested_task()) == hash(nested_task())
    assert len({nested_task(), nested_task()}) == 1


def test_kwargs_and_gin_files_cannot_be_mutated():
    task = nested_task()
    with pytest.raises(TypeError):
        task.kwargs["seed"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        task.kwargs["synthetic"]["num_macros"] = 1
    with pytest.raises(TypeError):
        task.gin_files["inference"] = "x.gin"  # type: ignore[index]
    with pytest.raises(AttributeError):
        task.kwargs._items = {}  # type: ignore[misc]
    assert task.kwargs["synthetic"]["sizes"] == (1, 2)


def test_a_callers_dict_does_not_change_the_task():
    kwargs = {"synthetic": {"num_macros": 12}}
    task = Task(id="Copy-v0", entry_point="pkg.mod:Env", domain="d", kwargs=kwargs)
    kwargs["synthetic"]["num_macros"] = 99
    assert task.kwargs["synthetic"]["num_macros"] == 12


def test_thaw_gives_plain_mutable_json_values():
    thawed = nested_task().kwargs.thaw()
    assert thawed == {"synthetic": {"num_macros": 12, "sizes": [1, 2]}, "seed": 0}
    assert type(thawed["synthetic"]) is dict and type(thawed["synthetic"]["sizes"]) is list
    thawed["seed"] = 5  # a copy
    assert nested_task().kwargs["seed"] == 0


def test_json_round_trip():
    task = nested_task()
    assert Task.from_json(json.loads(json.dumps(task.to_json()))) == task


def test_copy_and_pickle_keep_the_value():
    task = nested_task()
    assert pickle.loads(pickle.dumps(task)) == task
    assert copy.deepcopy(task.kwargs) == task.kwargs and isinstance(copy.deepcopy(task.kwargs), FrozenMapping)


def test_frozen_mapping_equals_the_mapping_it_was_made_from():
    assert FrozenMapping({"a": 1}) == {"a": 1}
    assert FrozenMapping({"a": 1}) != {"a": 2}
    assert hash(FrozenMapping({"a": 1, "b": 2})) == hash(FrozenMapping({"b": 2, "a": 1}))
