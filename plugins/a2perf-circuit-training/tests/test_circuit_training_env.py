"""The placement environment: order, action grid, legality mask, rewards, infeasible end, check_env."""

from __future__ import annotations

import numpy as np
import pytest
from a2perf_circuit_training.cost import MAX_GRID_SIZE
from a2perf_circuit_training.env import CircuitPlacementEnv
from a2perf_circuit_training.errors import InfeasibleActionError
from a2perf_circuit_training.netlist import parse_netlist
from a2perf_circuit_training.plc import read_plc
from a2perf_circuit_training.synthetic import synthetic_netlist
from gymnasium.utils.env_checker import check_env

from .test_circuit_training_parsing import node

SYNTHETIC = {"num_macros": 12, "num_stdcells": 48, "num_ports": 16, "seed": 0}


@pytest.fixture
def toy_env(circuit_file):
    return CircuitPlacementEnv(
        netlist_file=circuit_file("toy_macro_stdcell/netlist.pb.txt"),
        plc_file=circuit_file("toy_macro_stdcell/initial.plc"),
    )


def run_random_episode(env: CircuitPlacementEnv, seed: int = 0) -> tuple[float, dict, int]:
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    steps = 0
    while True:
        assert np.array_equal(obs["mask"], info["action_mask"])
        obs, reward, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(obs["mask"]))))
        steps += 1
        if terminated or truncated:
            return reward, info, steps
        assert reward == 0.0


def test_synthetic_netlist_is_reproducible_and_sized_as_asked():
    a, b = synthetic_netlist(**SYNTHETIC), synthetic_netlist(**SYNTHETIC)
    assert np.array_equal(a.net_pins, b.net_pins) and np.array_equal(a.x, b.x)
    assert not np.array_equal(a.x, synthetic_netlist(**{**SYNTHETIC, "seed": 1}).x)
    summary = a.summary()
    assert (summary["hard_macros"], summary["stdcells"], summary["ports"]) == (12, 48, 16)
    drivers = a.net_pins[a.net_ptr[:-1]]
    sizes = np.diff(a.net_ptr)
    assert all(d not in a.net_pins[s + 1 : s + n] for d, s, n in zip(drivers, a.net_ptr[:-1], sizes, strict=True))


def test_toy_order_grid_embedding_and_placement_at_cell_centre(toy_env):
    # equal areas: descending index, as A2Perf's sorted(..., key=area)[::-1] gives
    assert [toy_env.netlist.names[i] for i in toy_env.macro_order] == ["MR", "ML"]
    assert (toy_env._row_pad, toy_env._col_pad) == (59, 54)
    action = toy_env.cell_to_action(4, 4)
    assert action == (59 + 4) * MAX_GRID_SIZE + 54 + 4
    obs, _ = toy_env.reset(seed=0)
    obs, reward, terminated, _, info = toy_env.step(action)
    mr = toy_env.netlist.names.index("MR")
    assert (toy_env.x[mr], toy_env.y[mr]) == (45.0, 45.0)
    assert reward == 0.0 and not terminated and info["proxy"] == -1.0
    # ML (30 x 40, the same size) must stay inside the 200 x 100 canvas and 0.1 um away from MR's [30,60] x [25,65]
    legal = obs["mask"].reshape(MAX_GRID_SIZE, MAX_GRID_SIZE)[59 : 59 + 10, 54 : 54 + 20]
    expected = np.zeros((10, 20), dtype=np.int8)
    expected[2:8, 8:19] = 1
    assert np.array_equal(legal, expected)
    assert obs["mask"].sum() == 66
    assert obs["is_node_placed"][obs["current_node"][0]] == 0


def test_illegal_and_malformed_actions_raise_clear_errors(toy_env):
    toy_env.reset(seed=0)
    with pytest.raises(InfeasibleActionError, match="outside the grid"):
        toy_env.step(0)
    toy_env.step(toy_env.cell_to_action(4, 4))
    with pytest.raises(InfeasibleActionError, match="overlap, spacing"):
        toy_env.step(toy_env.cell_to_action(4, 5))
    with pytest.raises(InfeasibleActionError, match="outside Discrete"):
        toy_env.step(MAX_GRID_SIZE * MAX_GRID_SIZE)


def test_final_reward_is_minus_proxy_and_plc_is_written(toy_env, tmp_path):
    toy_env.output_plc = tmp_path / "final.plc"
    reward, info, steps = run_random_episode(toy_env)
    assert steps == 2
    assert reward == pytest.approx(-info["proxy"])
    assert info["proxy"] == pytest.approx(info["wirelength"] + info["density"] + 0.5 * info["congestion"])
    written = read_plc(tmp_path / "final.plc")
    for macro in toy_env.macro_order:
        assert written.locations[int(macro)][:2] == (toy_env.x[macro], toy_env.y[macro])
        assert written.locations[int(macro)][3] is True
    # standard cells were spread by the force-directed placer inside the canvas
    cells = toy_env.netlist.stdcells
    assert np.all((toy_env.x[cells] >= 0) & (toy_env.x[cells] <= 200))


def test_no_legal_cell_ends_the_episode_with_the_configured_reward():
    text = "# FP bbox: {0.0 0.0} {100.0 100.0}\n# Columns : 10  Rows : 10\n"
    text += node("A", "MACRO", width=60, height=60, x=50, y=50) + node("B", "MACRO", width=60, height=60, x=50, y=50)
    env = CircuitPlacementEnv(netlist=parse_netlist(text), infeasible_reward=-4.0, reset_on_infeasible=False)
    first, _ = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(env.cell_to_action(5, 5))
    assert (reward, terminated, truncated, info["infeasible"]) == (-4.0, True, False, True)
    assert obs["mask"].sum() == 0 and obs["is_node_placed"][:2].tolist() == [0, 1]
    # A2Perf's default: the env resets itself and returns the fresh observation, terminated and truncated
    env = CircuitPlacementEnv(netlist=parse_netlist(text), infeasible_reward=-4.0)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(env.cell_to_action(5, 5))
    assert (reward, terminated, truncated, info["infeasible"], info["macros_placed"]) == (-4.0, True, True, True, 1)
    assert all(np.array_equal(obs[key], first[key]) for key in first)
    assert np.array_equal(info["action_mask"], env.action_masks()) and env.action_masks().any()
    env.step(env.cell_to_action(5, 5))  # the next episode has begun


def test_synthetic_episode_and_render():
    env = CircuitPlacementEnv(synthetic=SYNTHETIC, render_mode="rgb_array")
    reward, info, steps = run_random_episode(env, seed=3)
    assert steps == 12 and reward == pytest.approx(-info["proxy"]) and 0 < info["proxy"] < 10
    image = env.render()
    assert image.dtype == np.uint8 and image.shape == (512, 512, 3)
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 3


def test_same_actions_give_the_same_reward():
    env = CircuitPlacementEnv(synthetic=SYNTHETIC)
    first = run_random_episode(env, seed=5)[0]
    assert run_random_episode(env, seed=5)[0] == first


def test_check_env_on_synthetic_and_toy(toy_env):
    check_env(CircuitPlacementEnv(synthetic=SYNTHETIC), skip_render_check=True)
    check_env(toy_env, skip_render_check=True)


def test_ariane133_macro_order_is_a2perfs(circuit_data):
    """133 identical SRAMs: A2Perf's stable ascending sort reversed places them in descending index."""
    design = circuit_data / "ariane133_ng45"
    env = CircuitPlacementEnv(netlist_file=design / "netlist.pb.txt", plc_file=design / "initial.plc")
    n = env.netlist
    hard = [int(i) for i in n.hard_macros]
    a2perf_order = sorted(hard, key=lambda i: n.width[i] * n.height[i])[::-1]
    assert [int(i) for i in env.macro_order] == a2perf_order
    assert env.macro_order[0] > env.macro_order[-1]


@pytest.mark.slow
def test_ariane133_random_episode(circuit_file):
    env = CircuitPlacementEnv(
        netlist_file=circuit_file("ariane133_ng45/netlist.pb.txt"), plc_file=circuit_file("ariane133_ng45/initial.plc")
    )
    assert len(env.macro_order) == 133
    areas = env.netlist.width[env.macro_order] * env.netlist.height[env.macro_order]
    assert np.all(np.diff(areas) <= 0)
    reward, info, steps = run_random_episode(env)
    assert steps == 133 or info["infeasible"]
    check_env(env, skip_render_check=True)


def test_gin_binds_weights_and_infeasible_reward():
    import gin

    try:
        gin.parse_config(["ProxyWeights.congestion = 0.0", "CircuitPlacementEnv.infeasible_reward = -4.0"])
        env = CircuitPlacementEnv(synthetic=SYNTHETIC)
        assert env.infeasible_reward == -4.0
        reward, info, _ = run_random_episode(env)
        assert reward == pytest.approx(-(info["wirelength"] + info["density"]))
    finally:
        gin.clear_config()


def test_unknown_keyword_is_a_clear_error():
    from a2perf_circuit_training.errors import CircuitTrainingError

    with pytest.raises(CircuitTrainingError, match=r"unknown cost parameter\(s\) \['smoothng'\]"):
        CircuitPlacementEnv(synthetic=SYNTHETIC, smoothng=3)
    assert CircuitPlacementEnv(synthetic=SYNTHETIC, smoothing=2, columns=8, rows=6).parameters.rows == 6
