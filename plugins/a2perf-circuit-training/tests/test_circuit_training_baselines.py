"""Greedy placement, simulated annealing, the evaluation flow and replaying a placement."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest
from a2perf_circuit_training.annealing import AnnealingSchedule, MacroLegality, anneal, anneal_env
from a2perf_circuit_training.cli import circuit_group
from a2perf_circuit_training.cost import CostParameters, PlacementCost, ProxyWeights
from a2perf_circuit_training.env import CircuitPlacementEnv
from a2perf_circuit_training.errors import CircuitTrainingError
from a2perf_circuit_training.evaluate import WEIGHT_PRESETS, evaluate_placement
from a2perf_circuit_training.greedy import greedy_place
from a2perf_circuit_training.netlist import parse_netlist, read_netlist
from a2perf_circuit_training.place import place_macros, placed_plc_text
from a2perf_circuit_training.plc import parse_plc, read_plc
from a2perf_circuit_training.replay import PlacementPolicy, load_placement, placement_record, replay, save_placement
from click.testing import CliRunner

from .test_circuit_training_parsing import node

SYNTHETIC = {"num_macros": 12, "num_stdcells": 48, "num_ports": 16, "seed": 0}


def two_macro_design() -> str:
    """100 x 100 um, 10 x 10 grid (cell centres 5, 15, ..., 95). A (10 x 10) drives port P at
    (72, 33) from its centre pin; B (8 x 8, placed second) drives ports Q at (12, 88) and R at (80, 40)."""
    text = "# FP bbox: {0.0 0.0} {100.0 100.0}\n# Columns : 10  Rows : 10\n"
    text += node("A", "MACRO", width=10, height=10, x=50, y=50)
    text += node("A/p", "MACRO_PIN", ("P",), macro_name="A", x_offset=0, y_offset=0)
    text += node("B", "MACRO", width=8, height=8, x=50, y=50)
    text += node("B/p", "MACRO_PIN", ("Q", "R"), macro_name="B", x_offset=0, y_offset=0)
    text += node("P", "PORT", x=72, y=33, side="BOTTOM")
    text += node("Q", "PORT", x=12, y=88, side="TOP")
    text += node("R", "PORT", x=80, y=40, side="RIGHT")
    return text


def test_greedy_on_a_hand_checked_design():
    env = CircuitPlacementEnv(netlist=parse_netlist(two_macro_design()))
    placement = greedy_place(env)
    # A: |cx - 72| + |cy - 33| is least at the cell centred (75, 35): row 3, column 7
    # B: its net spans x 12..80 and y 40..88 whatever cell inside that box B takes, so every such
    # cell ties and the lowest action wins: row 4 (centre 45), column 1 (centre 15)
    assert placement.actions == (env.cell_to_action(3, 7), env.cell_to_action(4, 1))
    assert placement.centres == {"A": (75.0, 35.0), "B": (15.0, 45.0)}
    assert placement.reward == pytest.approx(-placement.info["proxy"])


def test_greedy_beats_most_random_episodes_on_wirelength():
    env = CircuitPlacementEnv(synthetic=SYNTHETIC)
    greedy = greedy_place(copy.deepcopy(env))
    random_wirelength = []
    for seed in range(5):
        env.reset(seed=seed)
        env.action_space.seed(seed)
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            done = terminated or truncated
        random_wirelength.append(info["wirelength"])
    assert greedy.info["wirelength"] < min(random_wirelength)


def synthetic_cost(weights: ProxyWeights | None = None) -> tuple[CircuitPlacementEnv, PlacementCost]:
    env = CircuitPlacementEnv(synthetic=SYNTHETIC)
    greedy_place(env)
    return env, PlacementCost(
        env.netlist, env.parameters, x=env.x, y=env.y, orientation=env.orientation, weights=weights
    )


def test_annealing_is_deterministic_never_worse_and_keeps_macros_legal():
    env, cost = synthetic_cost()
    start = cost.proxy_cost()
    first = anneal(copy.deepcopy(cost), moves=600, seed=3)
    second = anneal(copy.deepcopy(cost), moves=600, seed=3)
    assert np.array_equal(first.x, second.x) and first.best_cost == second.best_cost
    assert first.start_cost == pytest.approx(start) and first.best_cost <= start
    assert first.best_cost < start  # 600 moves find something better than greedy on this design
    # the returned best state has the returned cost, from scratch
    check = PlacementCost(env.netlist, env.parameters, x=first.x, y=first.y, orientation=first.orientation)
    assert check.proxy_cost() == pytest.approx(first.best_cost, rel=1e-9)
    legality = MacroLegality(check)
    assert all(legality.fits(k, check.x[m], check.y[m]) for k, m in enumerate(legality.hard))
    # soft macros and cells did not move
    others = np.setdiff1d(np.arange(env.netlist.num_nodes), env.netlist.hard_macros)
    assert np.array_equal(first.x[others], env.x[others])


def test_incremental_cost_equals_full_cost_along_an_annealing_run():
    env, cost = synthetic_cost(ProxyWeights(1.0, 0.5, 0.5))
    schedule = AnnealingSchedule(start_temperature=1.0, end_temperature=0.5)  # hot: most moves accepted
    for seed in range(4):
        result = anneal(cost, moves=150, seed=seed, schedule=schedule)
        assert result.accepted > 20
        full = PlacementCost(env.netlist, env.parameters, x=cost.x, y=cost.y, orientation=cost.orientation,
                             weights=cost.weights)  # fmt: skip
        assert cost.report().as_dict() == pytest.approx(full.report().as_dict(), rel=1e-9, abs=1e-12)


def test_flip_moves_mirror_pins():
    env, cost = synthetic_cost()
    schedule = AnnealingSchedule(swap=0, shift=0, move=0, flip=1, start_temperature=10, end_temperature=10)
    hard = env.netlist.hard_macros
    before = cost.orientation[hard].copy()
    anneal(cost, moves=1, seed=0, schedule=schedule)  # so hot that the one flip is accepted
    changed = np.flatnonzero(cost.orientation[hard] != before)
    assert len(changed) == 1 and np.array_equal(cost.x[hard], env.x[hard])
    # mirrored about x (N <-> FN, ...: code ^ 1) or about y (N <-> FS, ...: code ^ 3)
    assert cost.orientation[hard][changed[0]] in (before[changed[0]] ^ 1, before[changed[0]] ^ 3)
    with pytest.raises(CircuitTrainingError, match="probabilities"):
        anneal(cost, moves=1, schedule=AnnealingSchedule(swap=0, shift=0, move=0, flip=0))


def test_annealed_placement_replays_through_the_env():
    env = CircuitPlacementEnv(synthetic=SYNTHETIC)
    greedy, result = anneal_env(copy.deepcopy(env), moves=300, seed=1)
    assert result.best_cost <= -greedy.reward
    centres = {env.netlist.names[m]: (result.x[m], result.y[m]) for m in env.macro_order}
    reward, info = replay(env, PlacementPolicy(placement_record(env, centres)))
    assert not info["infeasible"] and reward == pytest.approx(-info["proxy"])
    # macros that sit on a cell centre after annealing are replayed onto that very cell
    p = env.parameters
    column, row = result.x / p.cell_width - 0.5, result.y / p.cell_height - 0.5
    on_grid = [m for m in env.macro_order if column[m] % 1 == 0 and row[m] % 1 == 0]
    assert on_grid and all((env.x[m], env.y[m]) == (result.x[m], result.y[m]) for m in on_grid)


def test_off_grid_centres_snap_to_the_nearest_legal_cell():
    env = CircuitPlacementEnv(netlist=parse_netlist(two_macro_design()))
    # A wants (71, 36): nearest centre (75, 35); B wants A's cell too: the nearest legal one is taken
    policy = PlacementPolicy(placement_record(env, {"A": (71.0, 36.0), "B": (76.0, 34.0)}))
    replay(env, policy)
    a, b = (env.netlist.names.index(name) for name in ("A", "B"))
    assert (env.x[a], env.y[a]) == (75.0, 35.0)
    assert (env.x[b], env.y[b]) in {(75.0, 25.0), (85.0, 35.0), (75.0, 45.0), (65.0, 35.0)}


def test_saved_placement_is_used_on_its_design_only(tmp_path):
    env = CircuitPlacementEnv(netlist=parse_netlist(two_macro_design()))
    path = tmp_path / "placement.json"
    save_placement(path, placement_record(env, {"A": (5.0, 5.0), "B": (95.0, 95.0)}, "Task-v0"))
    record = load_placement(path)
    a = int(env.graph.position[env.netlist.names.index("A")])
    assert PlacementPolicy.for_env(env, record).targets[a] == (5.0, 5.0)
    # a stand-in env (untrusted mode) of the same task replays it from the saved geometry alone
    stand_in = type("StandIn", (), {"observation_space": env.observation_space})()
    assert PlacementPolicy.for_env(stand_in, record, "Task-v0").targets[a] == (5.0, 5.0)
    # another design: its greedy placement instead
    other = CircuitPlacementEnv(synthetic=SYNTHETIC)
    greedy = greedy_place(copy.deepcopy(other))
    policy = PlacementPolicy.for_env(other, record)
    first = other.macro_order[0]
    assert policy.targets[int(other.graph.position[first])] == greedy.centres[other.netlist.names[first]]
    path.write_text("{}")
    with pytest.raises(CircuitTrainingError, match="not a saved placement"):
        load_placement(path)


@pytest.fixture(scope="module")
def ariane133(circuit_file):
    return read_netlist(circuit_file("ariane133_ng45/netlist.pb.txt"))


def test_evaluate_legalized_plc_reproduces_the_reference_values(ariane133, circuit_file):
    plc = read_plc(circuit_file("ariane133_ng45/legalized.plc"))
    # reference_values.json, ariane133_ng45/legalized.plc: MacroPlacement's exact values of
    # Google's placement (Google's header: 0.0736 / 0.4988 / 0.7259), both weightings
    _, ct = evaluate_placement(ariane133, plc, weights="ct", soft_macros="keep")
    _, mp = evaluate_placement(ariane133, plc, weights="macroplacement", soft_macros="keep")
    assert ct.wirelength_cost == pytest.approx(0.073568224, rel=1e-6)
    assert ct.density_cost == pytest.approx(0.498817906, rel=1e-6)
    assert ct.congestion_cost == pytest.approx(0.725914890, rel=1e-6)
    assert ct.proxy_cost == pytest.approx(0.935343575, rel=1e-6)
    assert mp.proxy_cost == pytest.approx(0.685934622, rel=1e-6)
    # with the force-directed stage: hard macros stay, soft macros move, presets differ by 0.5 density
    cost, flow = evaluate_placement(ariane133, plc, weights="macroplacement")
    hard = ariane133.hard_macros
    assert np.array_equal(cost.x[hard], np.array([plc.locations[m][0] for m in hard]))
    assert flow.wirelength_cost != ct.wirelength_cost
    assert flow.proxy_cost == pytest.approx(flow.wirelength_cost + 0.5 * flow.density_cost + 0.5 * flow.congestion_cost)


def test_evaluate_accepts_off_grid_macros_and_rejects_bad_presets():
    netlist = parse_netlist(two_macro_design())
    text = "# Columns : 10  Rows : 10\n# Width : 100  Height : 100\n0 71.3 36.7 N 0\n2 12.25 80.5 FN 0\n"
    cost, report = evaluate_placement(netlist, parse_plc(text), weights="ct")
    assert (cost.x[0], cost.y[0], cost.x[2]) == (71.3, 36.7, 12.25)
    # A's net to P (72, 33): 0.7 + 3.7; B's net spans its pin (12.25, 80.5), Q (12, 88) and R (80, 40)
    expected = (0.7 + 3.7) + (80 - 12) + (88 - 40)
    assert report.wirelength == pytest.approx(expected)
    assert WEIGHT_PRESETS["ct"] == ProxyWeights(1.0, 1.0, 0.5)
    with pytest.raises(CircuitTrainingError, match="unknown weight preset"):
        evaluate_placement(netlist, parse_plc(text), weights="google")


def test_place_and_evaluate_commands(tmp_path):
    netlist_text = two_macro_design()
    (tmp_path / "n.pb.txt").write_text(netlist_text)
    runner = CliRunner()
    out = tmp_path / "sa.plc"
    result = runner.invoke(
        circuit_group,
        ["place", str(tmp_path / "n.pb.txt"), "--method", "annealing", "--budget", "50", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "50 moves" in result.output
    result = runner.invoke(circuit_group, ["evaluate", str(tmp_path / "n.pb.txt"), str(out), "--json"])
    assert result.exit_code == 0, result.output
    values = json.loads(result.output)
    netlist = parse_netlist(netlist_text)
    placed = place_macros(netlist, None, "annealing", moves=50)
    assert parse_plc(placed_plc_text(netlist, placed)).locations == read_plc(out).locations
    _, report = evaluate_placement(netlist, read_plc(out))
    assert values["proxy_cost"] == pytest.approx(report.proxy_cost) and values["weights_preset"] == "macroplacement"


def test_bad_inputs_to_place_and_evaluate_are_one_line_errors(tmp_path):
    from .test_circuit_training_bad_inputs import assert_one_line_error

    netlist = tmp_path / "n.pb.txt"
    netlist.write_text(two_macro_design())

    def cli(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-c", "from a2perf_core.cli import main; main()", "circuit", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    assert_one_line_error(cli("evaluate", str(netlist), str(tmp_path / "missing.plc")), "no such file")
    other = tmp_path / "other.plc"
    other.write_text("# HARD_MACROs : 133\n# Columns : 10  Rows : 10\n# Width : 100  Height : 100\n")
    assert_one_line_error(cli("evaluate", str(netlist), str(other)), "another design")
    out = str(tmp_path / "x.plc")
    assert_one_line_error(cli("place", str(netlist), "--method", "annealing", "--budget", "-3", "--out", out), ">= 0")


def test_place_writes_the_routing_it_placed_under():
    netlist = parse_netlist(two_macro_design())
    header = "# Columns : 10  Rows : 10\n# Width : 100  Height : 100\n"
    header += "# Routes per micron, hor : 11.5  ver : 12.25\n# Smoothing factor : 1\n"
    placed = place_macros(netlist, parse_plc(header), "greedy")
    again = CostParameters.resolve(netlist, parse_plc(placed_plc_text(netlist, placed)), use_plc_routing=True)
    assert again == placed.parameters
    assert (again.h_routes_per_micron, again.v_routes_per_micron, again.smoothing) == (11.5, 12.25, 1)
