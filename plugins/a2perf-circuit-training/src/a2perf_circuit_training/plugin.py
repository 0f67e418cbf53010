"""Entry point of the circuit-training domain: tasks, public data files and the ``circuit`` command.

Imports only the standard library and the core's plugin API; the environment, the cost and the
parser are imported when a task is made or a command runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from a2perf_core.api import DataAsset, Task, hookimpl

if TYPE_CHECKING:
    import click

DOMAIN = "circuit_training"
ENTRY_POINT = "a2perf_circuit_training.env:make_circuit_env"
GIN_FILES = {phase: f"a2perf_circuit_training:gin/{phase}.gin" for phase in ("train", "inference", "generalization")}

_GOOGLE = (
    "https://raw.githubusercontent.com/google-research/circuit_training/"
    "e7b2fcfc54c5173e2114ffb8b472293e47565b16/circuit_training/environment/test_data/"
)
_TILOS = (
    "https://raw.githubusercontent.com/TILOS-AI-Institute/MacroPlacement/"
    "20eddb6b35232e86e6008b9deec8da77633a2f07/Flows/NanGate45/ariane133/netlist/output_CT_Grouping/"
)
#: MacroPlacement's Ariane133-NG45-68% design (23 x 28 grid, 810 soft macros), the design of the
#: published CT / SA / RePlAce proxy costs, and those placements; one commit for all files
_TILOS_68 = (
    "https://raw.githubusercontent.com/TILOS-AI-Institute/MacroPlacement/32faaf996f9f13dd9cfa5fcbf708c668d56be984/"
)
_GOOGLE_LICENSE = "Apache-2.0 (google-research/circuit_training)"
_TILOS_LICENSE = "BSD-3-Clause, (c) The Regents of the University of California (TILOS MacroPlacement)"

#: design folder -> short name used in asset names
DESIGNS = {
    "ariane": "ariane",
    "ariane133_ng45": "ariane133",
    "ariane133_ng45_68": "ariane133-68",
    "macro_tiles_10x10": "macro-tiles-10x10",
    "sample_clustered": "sample-clustered",
    "simple_grouped_with_coords": "simple-grouped-with-coords",
    "simple_grouped_with_coords_with_blockage": "simple-grouped-with-coords-with-blockage",
    "simple_with_coords": "simple-with-coords",
    "toy_macro_stdcell": "toy-macro-stdcell",
}

#: (path under circuit_training/, bytes, sha256, git blob id), from the data's SOURCE.md
# fmt: off
FILES = (
    (
        "ariane/initial.plc",
        51886,
        "c4154c4c19da24cd792933f63497bfb91d9dffb6519ef3748d3912fba18dadae",
        "5f9902cc105a49dc5aa1fb5be69c158b595dcf64",
    ),
    ("ariane/netlist.pb.txt", None,
     "",
     "4b17fcf88e9bb48b28618b1e349aa81506d69b82"),
    (
        "macro_tiles_10x10/initial.plc",
        2458,
        "209ba30f9a775de4a16ed8614fef6f66de2a162d232b073145f33afb2b93a790",
        "4fff5fe25b9ce704c7dac2adc7d26c0e3deb07ac",
    ),
    (
        "macro_tiles_10x10/netlist.pb.txt",
        446769,
        "660dc14d9d8bf44b1d1e4bf1dc387d14b0433331e62b964d2dd883e52ec47617",
        "5f602c8304be6e83fedb187632d075be72566480",
    ),
    (
        "sample_clustered/initial.plc",
        1000,
        "7ec8ae9a87559dfa4102adfb64f862ade4addf92bf1bbb2531466ce949298f31",
        "b886e5587deb2ccfd706a3999adb6d6eb379f473",
    ),
    (
        "sample_clustered/netlist.pb.txt",
        3771,
        "a6b0e12e0a3ae6f25ea30dbafe3c1a467ecdf1e5dd3fd7cef319890a66acf7e8",
        "2c6dcfd835a1d1a0c6870ffaa17009bbdc773812",
    ),
    (
        "simple_grouped_with_coords/initial.plc",
        429,
        "b47445654643cd8b3ac8c69a636e05eb3080f77791786248c26a5a4fd4b6f352",
        "5d080f2fcd9f3d2dff6659e18ed6a865208f7a0e",
    ),
    (
        "simple_grouped_with_coords/netlist.pb.txt",
        4023,
        "3f69ef1fd90625e8651e46f1bc0a258b6cfa62b79df9f22ec45a61b26a23cfc2",
        "0df6808d4c0c2436bae878cce5895d72cdaa3413",
    ),
    (
        "simple_grouped_with_coords_with_blockage/initial.plc",
        521,
        "fd047eb890bedc492d0e25b5eb576f00fc5431f2396c3b49a3db20d8a3e5c3fa",
        "6cba3b6902399d5e6d7d5c5fbb356b0a50b530d1",
    ),
    (
        "simple_grouped_with_coords_with_blockage/netlist.pb.txt",
        4081,
        "63e8ca02bc61c439ad3eb15eaca66d51d9877201f4e8ec9b9df53975e01e830d",
        "65e9ea541bd33ede0a06f7c268a416868dabdacf",
    ),
    (
        "simple_with_coords/initial.plc",
        335,
        "a68d65bcef69a9ec9a4c74353feea5a1833eb279836cd3e07795b07d559c804b",
        "de9c37326867b7dd6694d133a9460c894f0bef36",
    ),
    (
        "simple_with_coords/netlist.pb.txt",
        3534,
        "be2853a4b0f3e931e715ae3cd5783dfd9e8153b6f2c3b7fc8021e9e6518e5f4a",
        "1bef4ae63f512d4382fd2abc5572feaf4896c4d3",
    ),
    (
        "toy_macro_stdcell/initial.plc",
        480,
        "416caed1c041d85c111be14eb6f9110a7134bc6a72bc33f6f56cb889286c2615",
        "9d2c68387deb862742bfc1fc2c770e1963e2d954",
    ),
    (
        "toy_macro_stdcell/netlist.pb.txt",
        8949,
        "d4cc847fc96b22ae64eaee8dd5d37b1e15172fd72aa3941c3f77482fbcfb156d",
        "904be415f0472a74258c2ca48ea4fa321a8e9565",
    ),
    (
        "ariane133_ng45/initial.plc",
        41356,
        "6d85f1cce904ceb19ad9726b8d3eee3d17387c2552d74e67e5f9350a5e269bbe",
        "72d3cbf16a648026b1b3f2e8d6d2bf4fc063bfa7",
    ),
    (
        "ariane133_ng45/legalized.plc",
        41218,
        "bce97dc18c7a28ea151f4444d7d9a40b7ae9f2001ea7ea72e6a5ee925ec52a9d",
        "75bc079fc230fa21f7ce826ef0fd3d607bb59472",
    ),
    (
        "ariane133_ng45/netlist.pb.txt",
        11093217,
        "a54bc9ef70a32e2e0b19c312427a46622f5d40bf294a4b7d0594af7e4440efd3",
        "ab262186d1ad727d2042a25e1a76a4b246beaa75",
    ),
)


#: (local path under circuit_training/, upstream path, bytes, sha256, git blob id); the netlist is
#: larger than the public data folder holds: verified by its git blob id once fetched
FILES_68 = (
    ("ariane133_ng45_68/netlist.pb.txt", "CodeElements/SimulatedAnnealingGWTW/test/ariane133_ng45/netlist.pb.txt",
     None, "", "5be809251845c59f941b8f19fe8bc5254f565b01"),
    ("ariane133_ng45_68/initial.plc", "CodeElements/SimulatedAnnealingGWTW/test/ariane133_ng45/initial.plc",
     35637, "8835c0249ee6112174f3456823701da818dc3f862fea61e2a7f242972b6bcdd9",
     "bdf92b143c4d458ca5a6764831ac39071c1b2ecc"),
    ("ariane133_ng45_68/ct.plc", "Flows/NanGate45/ariane133/def/refs/CT_Scratch/ariane_0.102_0.518_0.973_0.848.plc",
     35253, "c4dff1791c39ef86bee149b8e76874186225951598285224302fe5af7b10db8d",
     "9049ea599aaae629b919c709f12d4442a7da594c"),
    ("ariane133_ng45_68/sa.plc", "Flows/NanGate45/ariane133/def/refs/SA/ariane_0.09_0.515_0.907_0.8.plc",
     35327, "34141f2f905c7e9b5b07f765d4fff3c509f78137f01cd27d9c8a775e22a10039",
     "641081cfb25c2058fdab60fb738e372a438776af"),
    ("ariane133_ng45_68/replace.plc", "Flows/NanGate45/ariane133/def/refs/RePlAce/ariane_0.092_0.998_1.748_1.465.plc",
     35308, "eaff92d8a1be03d0495b22a8594d24afce06c8ffbf74118cbb2a76733eaed729",
     "b3bd56f284b581549a3eded80a94c422b9843d83"),
)
# fmt: on


def asset_name(path: str) -> str:
    """``'ariane133_ng45/netlist.pb.txt'`` -> ``'circuit-training/ariane133/netlist'``."""
    design, _, filename = path.partition("/")
    return f"circuit-training/{DESIGNS[design]}/{filename.split('.')[0]}"


def data_assets() -> list[DataAsset]:
    assets = []
    for path, size, sha256, blob in FILES:
        design = path.partition("/")[0]
        tilos = design == "ariane133_ng45"
        assets.append(
            DataAsset(
                name=asset_name(path),
                path=f"{DOMAIN}/{path}",
                url=(_TILOS if tilos else _GOOGLE + design + "/") + path.partition("/")[2],
                sha256=sha256,
                git_blob=blob,
                size=size,
                license=_TILOS_LICENSE if tilos else _GOOGLE_LICENSE,
                description=f"{design} {'netlist' if path.endswith('.pb.txt') else 'placement'}",
            )
        )
    for path, upstream, size, sha256, blob in FILES_68:
        kind = "netlist" if path.endswith(".pb.txt") else "placement"
        assets.append(
            DataAsset(
                name=asset_name(path),
                path=f"{DOMAIN}/{path}",
                url=_TILOS_68 + upstream,
                sha256=sha256,
                git_blob=blob,
                size=size,
                license=_TILOS_LICENSE,
                description=f"ariane133 NG45 68% {kind} ({upstream.rsplit('/', 1)[-1]})",
            )
        )
    return assets


def tasks() -> list[Task]:
    def design_task(task_id: str, design: str, description: str, plc: str, generalization: bool) -> Task:
        netlist, placement = f"{design}/netlist.pb.txt", f"{design}/{plc}"
        return Task(
            id=task_id,
            entry_point=ENTRY_POINT,
            domain=DOMAIN,
            description=description,
            kwargs={"netlist_asset": asset_name(netlist), "plc_asset": asset_name(placement)},
            gin_files=GIN_FILES,
            data=(asset_name(netlist), asset_name(placement)),
            generalization=generalization,
        )

    return [
        Task(
            id="CircuitTraining-Synthetic-v0",
            entry_point=ENTRY_POINT,
            domain=DOMAIN,
            description="macro placement on a generated netlist (12 hard macros; no download)",
            kwargs={"synthetic": {"num_macros": 12, "num_stdcells": 48, "num_ports": 16, "seed": 0}},
            gin_files=GIN_FILES,
            generalization=True,
            default=True,  # the README's main job: a task that needs no download
        ),
        design_task(
            "CircuitTraining-ToyMacro-v0",
            "toy_macro_stdcell",
            "Google's toy test design: 2 hard macros, 12 standard cells, 12 ports",
            "initial.plc",
            True,
        ),
        design_task(
            "CircuitTraining-Ariane-v0",
            "ariane",
            "Google's Ariane RISC-V test design: 133 hard macros, 799 soft macros (netlist is a download)",
            "initial.plc",
            False,
        ),
        design_task(
            "CircuitTraining-Ariane133-v0",
            "ariane133_ng45",
            "TILOS ariane133 on NanGate45: 133 hard macros, 782 soft macros, Google-computed reference costs",
            "initial.plc",
            True,
        ),
        design_task(
            "CircuitTraining-Ariane133-68-v0",
            "ariane133_ng45_68",
            "MacroPlacement's Ariane133-NG45-68%: 133 hard macros, 810 soft macros, the design of the published "
            "CT / SA / RePlAce proxy costs (netlist is a download)",
            "initial.plc",
            False,
        ),
    ]


@hookimpl
def a2perf_register_tasks(register: Callable[[Task], None]) -> None:
    for task in tasks():
        register(task)


@hookimpl
def a2perf_register_data_assets(register: Callable[[DataAsset], None]) -> None:
    for asset in data_assets():
        register(asset)


@hookimpl
def a2perf_register_commands(cli: click.Group) -> None:
    from a2perf_circuit_training.cli import circuit_group

    cli.add_command(circuit_group)
