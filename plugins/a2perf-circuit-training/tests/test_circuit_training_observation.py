"""A2Perf's observation: one padded space for every design, values as its extractor computes them.

Expected numbers are worked out by hand from the netlists (toy_macro_stdcell and a small one
written here), following A2Perf's ``observation_extractor.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from a2perf_circuit_training.env import CircuitPlacementEnv
from a2perf_circuit_training.errors import CircuitTrainingError
from a2perf_circuit_training.netlist import parse_netlist
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env

from .test_circuit_training_env import SYNTHETIC
from .test_circuit_training_parsing import node

NODES, EDGES, CELLS = 3500, 42000, 128 * 128


@pytest.fixture
def toy_env(circuit_data):
    design = circuit_data / "toy_macro_stdcell"
    return CircuitPlacementEnv(netlist_file=design / "netlist.pb.txt", plc_file=design / "initial.plc")


def small_netlist_text() -> str:
    """Hard A (node 0), soft Grp_S (3), hard B (5); ports P1, P2 in one grid cell, P3 in another; a cell C."""
    text = "# FP bbox: {0.0 0.0} {100.0 100.0}\n# Columns : 5  Rows : 5\n"
    text += node("A", "MACRO", width=10, height=10, x=20, y=20)
    text += node("A/in", "MACRO_PIN", macro_name="A", x_offset=0, y_offset=0)
    text += node("A/out", "MACRO_PIN", ("B/in", "Grp_S/in"), macro_name="A", x_offset=1, y_offset=0)
    text += node("Grp_S", "MACRO", width=8, height=8, x=50, y=50)
    text += node("Grp_S/in", "MACRO_PIN", macro_name="Grp_S", x_offset=0, y_offset=0)
    text += node("B", "MACRO", width=10, height=20, x=80, y=70)
    text += node("B/in", "MACRO_PIN", macro_name="B", x_offset=0, y_offset=0)
    text += node("P1", "PORT", ("A/in", "P3"), x=0.5, y=35, side="LEFT")
    text += node("P2", "PORT", ("A/in",), x=1.0, y=38, side="LEFT")
    text += node("P3", "PORT", ("C",), x=99.5, y=5, side="RIGHT")
    text += node("C", "STDCELL", ("B/in",), width=1, height=1, x=50, y=10)
    return text


def test_one_space_for_synthetic_and_toy_and_it_is_a2perfs_dynamic_space(toy_env):
    synthetic = CircuitPlacementEnv(synthetic=SYNTHETIC)
    assert synthetic.observation_space == toy_env.observation_space
    space = toy_env.observation_space
    assert set(space.spaces) == {
        "is_node_placed", "locations_x", "locations_y", "current_node", "fake_net_heatmap", "mask", "netlist_index",
    }  # fmt: skip
    expected = {
        "is_node_placed": ((NODES,), np.int32, 0, 1),
        "locations_x": ((NODES,), np.float32, 0, 1),
        "locations_y": ((NODES,), np.float32, 0, 1),
        "current_node": ((1,), np.int32, 0, NODES - 1),
        "fake_net_heatmap": ((CELLS,), np.float32, 0, 1),
        "mask": ((CELLS,), np.int32, 0, 1),
        "netlist_index": ((1,), np.int32, 0, 0),
    }
    for key, (shape, dtype, low, high) in expected.items():
        box = space[key]
        assert isinstance(box, spaces.Box), key
        assert (box.shape, box.dtype, box.low.min(), box.high.max()) == (shape, dtype, low, high), key
    check_env(synthetic, skip_render_check=True)
    check_env(toy_env, skip_render_check=True)


def test_toy_dynamic_features_by_hand(toy_env):
    obs, _ = toy_env.reset(seed=0)
    # macros ML (node 0), MR (node 1), then 12 port clusters (cells 10 x 10 um on the 20 x 10 grid),
    # by ascending cell index: the bottom ports PB0-2 (cells 5, 10, 15), PL0 (40), PR0 (59), PL1 (100),
    # PR1 (119), PL2 (140), PR2 (159), the top ports PT0-2 (185, 190, 195); boundary clusters sit on the edge.
    cluster_x = [55, 105, 155, 0, 200, 0, 200, 0, 200, 55, 105, 155]
    cluster_y = [0, 0, 0, 25, 25, 55, 55, 75, 75, 100, 100, 100]
    half_perimeter = 300.0
    np.testing.assert_allclose(obs["locations_x"][2:14], np.array(cluster_x) / half_perimeter, rtol=1e-6)
    np.testing.assert_allclose(obs["locations_y"][2:14], np.array(cluster_y) / half_perimeter, rtol=1e-6)
    assert not obs["locations_x"][14:].any() and not obs["locations_y"][14:].any()
    assert obs["is_node_placed"][:14].tolist() == [0, 0] + [1] * 12 and not obs["is_node_placed"][14:].any()
    assert obs["current_node"].tolist() == [1]  # MR goes first (equal areas, descending index)
    assert obs["netlist_index"].tolist() == [0] and not obs["fake_net_heatmap"].any()
    assert obs["mask"].dtype == np.int32 and np.array_equal(obs["mask"], toy_env.action_masks())

    obs, *_ = toy_env.step(toy_env.cell_to_action(4, 4))  # MR's centre to (45, 45)
    assert (obs["locations_x"][1], obs["locations_y"][1]) == (np.float32(45 / 300), np.float32(45 / 300))
    assert obs["is_node_placed"][:2].tolist() == [0, 1] and obs["current_node"].tolist() == [0]
    before_ml = obs["locations_x"][0]
    obs, _, terminated, _, _ = toy_env.step(toy_env.cell_to_action(4, 12))  # ML to (125, 45)
    assert terminated and obs["current_node"].tolist() == [0] and not obs["mask"].any()
    assert obs["locations_x"][0] == np.float32(125 / 300) != before_ml
    assert obs["is_node_placed"][:2].tolist() == [1, 1]
    # the next episode starts from the same features
    again, _ = toy_env.reset(seed=1)
    assert again["locations_x"][0] == before_ml and again["is_node_placed"][:2].tolist() == [0, 0]


def test_toy_static_features_by_hand(circuit_data):
    design = circuit_data / "toy_macro_stdcell"
    env = CircuitPlacementEnv(
        netlist_file=design / "netlist.pb.txt", plc_file=design / "initial.plc", output_all_features=True
    )
    obs, _ = env.reset(seed=0)
    assert set(obs) == set(env.observation_space.spaces) and len(obs) == 26
    assert env.observation_space.contains(obs)
    assert obs["node_types"][:14].tolist() == [1, 1] + [3] * 12 and not obs["node_types"][14:].any()
    assert obs["macros_w"][:3].tolist() == pytest.approx([30 / 300, 30 / 300, 0])
    assert obs["macros_h"][:3].tolist() == pytest.approx([40 / 300, 40 / 300, 0])
    assert obs["normalized_num_hard_macros"] == pytest.approx(2 / NODES)
    assert obs["normalized_num_port_clusters"] == pytest.approx(12 / NODES)
    assert obs["normalized_num_soft_macros"] == 0
    # the macros connect only to standard cells and the ports only to standard cells: no edges
    assert obs["normalized_num_edges"] == 0 and not obs["sparse_adj_weight"].any() and not obs["edge_counts"].any()
    assert (obs["grid_cols"], obs["grid_rows"]) == pytest.approx((20 / 128, 10 / 128))
    assert (obs["canvas_width"], obs["canvas_height"]) == pytest.approx((200 / 300, 100 / 300))
    # the env's routing defaults: 70.33 / 74.51 routes per um, 51.79 for macros (A2Perf's quirk: the
    # vertical macro routes use the horizontal allocation)
    assert obs["total_horizontal_routes_k"] == pytest.approx(70.33 * 100 / 1000)
    assert obs["total_vertical_routes_k"] == pytest.approx(74.51 * 200 / 1000)
    assert obs["total_macro_horizontal_routes_k"] == pytest.approx(51.79 * 100 / 1000)
    assert obs["total_macro_vertical_routes_k"] == pytest.approx(51.79 * 200 / 1000)


def test_adjacency_node_order_and_port_clusters_by_hand():
    env = CircuitPlacementEnv(netlist=parse_netlist(small_netlist_text()), output_all_features=True)
    obs, _ = env.reset(seed=0)
    # graph: A (0), Grp_S (1), B (2) in node-index order; on the 5 x 5 grid of 20 um cells, the
    # clusters of cell 4 (P3, bottom-right corner) then cell 5 (P1 and P2, left edge, row 1)
    assert obs["node_types"][:6].tolist() == [1, 2, 1, 3, 3, 0]
    assert obs["locations_x"][3:5].tolist() == pytest.approx([100 / 200, 0])
    assert obs["locations_y"][3:5].tolist() == pytest.approx([0, 30 / 200])
    # A-Grp_S 1, A-B 1, A-{P1, P2} 2; P1-P3 joins two clusters and C is a standard cell: no edges
    assert obs["sparse_adj_i"][:4].tolist() == [0, 0, 0, 0]
    assert obs["sparse_adj_j"][:4].tolist() == [1, 2, 4, 0]
    mean = 4 / 3
    assert obs["sparse_adj_weight"][:4].tolist() == pytest.approx([1 / mean, 1 / mean, 2 / mean, 0], rel=1e-5)
    assert obs["edge_counts"][:6].tolist() == [3, 1, 1, 0, 1, 0]
    assert obs["normalized_num_edges"] == pytest.approx(4 / EDGES)
    assert obs["macros_w"][:3].tolist() == pytest.approx([10 / 200, 0, 10 / 200])
    assert obs["macros_h"][:3].tolist() == pytest.approx([10 / 200, 0, 20 / 200])
    assert obs["current_node"].tolist() == [2]  # B (10 x 20) is larger than A
    check_env(env, skip_render_check=True)


def test_maxima_are_env_keywords_and_a_design_above_them_is_an_error(toy_env, circuit_data):
    design = circuit_data / "toy_macro_stdcell"
    files = {"netlist_file": design / "netlist.pb.txt", "plc_file": design / "initial.plc"}
    small = CircuitPlacementEnv(**files, max_num_nodes=14, max_num_edges=5, max_grid_size=20)
    assert small.observation_space["locations_x"].shape == (14,)
    assert small.observation_space["mask"].shape == (400,) and small.action_space.n == 400
    obs, _ = small.reset(seed=0)
    assert small.observation_space.contains(obs)
    # the 20 x 10 grid is centred in 20 x 20: rows padded by 5
    assert small.action_to_cell(small.cell_to_action(4, 4)) == (4, 4) and small.cell_to_action(0, 0) == 100
    too_many = r"14 graph nodes \(2 macros \+ 12 port clusters\) > max_num_nodes=13"
    with pytest.raises(CircuitTrainingError, match=too_many):
        CircuitPlacementEnv(**files, max_num_nodes=13)
    with pytest.raises(CircuitTrainingError, match=r"a 20 x 10 grid > max_grid_size=16"):
        CircuitPlacementEnv(**files, max_grid_size=16)
    with pytest.raises(CircuitTrainingError, match=r"3 edges > max_num_edges=2"):
        CircuitPlacementEnv(netlist=parse_netlist(small_netlist_text()), max_num_edges=2)
    with pytest.raises(CircuitTrainingError, match="max_grid_size must be at most 128"):
        CircuitPlacementEnv(**files, max_grid_size=256)


def test_action_masks_drive_a_masked_random_agent():
    env = CircuitPlacementEnv(synthetic=SYNTHETIC)
    obs, info = env.reset(seed=0)
    rng = np.random.default_rng(0)
    terminated = False
    while not terminated:
        legal = env.action_masks()
        assert legal.dtype == bool and np.array_equal(legal, obs["mask"] == 1)
        assert np.array_equal(info["action_mask"], legal)
        obs, _, terminated, _, info = env.step(int(rng.choice(np.flatnonzero(legal))))
    assert not env.action_masks().any()


@pytest.mark.slow
def test_ariane133_shares_the_space_and_passes_check_env(circuit_data, toy_env):
    design = circuit_data / "ariane133_ng45"
    env = CircuitPlacementEnv(netlist_file=design / "netlist.pb.txt", plc_file=design / "initial.plc")
    assert env.observation_space == toy_env.observation_space
    assert env.observation_space == CircuitPlacementEnv(synthetic=SYNTHETIC).observation_space
    assert (env.graph.num_nodes, len(env.graph.macros), len(env.graph.adj_weight)) == (929, 915, 9576)
    check_env(env, skip_render_check=True)


def test_unplaced_macros_are_observed_where_the_mixed_size_pass_put_them():
    from a2perf_circuit_training.env import INITIAL_LOCATION_SCHEDULE, initial_locations
    from a2perf_circuit_training.placer import connection_edges, force_directed_place

    netlist = parse_netlist(small_netlist_text())
    env = CircuitPlacementEnv(netlist=netlist)
    obs, _ = env.reset(seed=0)
    movable = np.array([0, 3, 5, 10])  # A, Grp_S, B and the cell C: everything but pins and ports
    edges = connection_edges(netlist)
    x, y = force_directed_place(
        netlist, netlist.x, netlist.y, movable, (100.0, 100.0), INITIAL_LOCATION_SCHEDULE, edges
    )
    assert obs["locations_x"][:3].tolist() == pytest.approx((x[[0, 3, 5]] / 200).tolist(), rel=1e-6)
    assert obs["locations_y"][:3].tolist() == pytest.approx((y[[0, 3, 5]] / 200).tolist(), rel=1e-6)
    assert (x[0], y[0]) != (netlist.x[0], netlist.y[0])  # the hard macros moved in that pass too
    # computed once per netlist and starting state, then shared by later envs
    first = initial_locations(netlist, netlist.x, netlist.y, movable, (100.0, 100.0), edges)
    assert initial_locations(netlist, netlist.x, netlist.y, movable, (100.0, 100.0), edges) is first
    again, _ = CircuitPlacementEnv(netlist=netlist).reset(seed=0)
    assert np.array_equal(again["locations_x"], obs["locations_x"])
