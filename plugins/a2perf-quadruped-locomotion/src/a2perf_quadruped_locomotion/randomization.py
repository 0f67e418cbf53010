"""Domain randomisation of ``mode="train"``: robot dynamics resampled at every reset."""

from __future__ import annotations

import attrs
import numpy as np

from a2perf_quadruped_locomotion import laikago

MASS_RANGE = (0.8, 1.2)
INERTIA_RANGE = (0.5, 1.5)
MOTOR_STRENGTH_RANGE = (0.8, 1.2)
LATENCY_RANGE_S = (0.0, 0.04)
FOOT_FRICTION_RANGE = (0.5, 1.25)
KNEE_FRICTION_RANGE = (0.0, 0.05)


@attrs.frozen
class RobotDynamics:
    """The parameters that differ between episodes in training; ``nominal()`` is the test robot."""

    #: mass ratios of (base + hip motors, legs + toes)
    mass_ratios: tuple[float, float] = (1.0, 1.0)
    #: inertia ratios of the same two groups
    inertia_ratios: tuple[float, float] = (1.0, 1.0)
    motor_strength: tuple[float, ...] = (1.0,) * laikago.NUM_MOTORS
    latency_s: float = laikago.DEFAULT_LATENCY_S
    foot_friction: float = 1.0
    knee_friction: float = 0.0

    @classmethod
    def nominal(cls) -> RobotDynamics:
        return cls()

    @classmethod
    def sample(cls, rng: np.random.Generator) -> RobotDynamics:
        """Draw every parameter uniformly from its range."""

        def uniform(bounds: tuple[float, float], size: int | None = None) -> np.ndarray | float:
            return rng.uniform(bounds[0], bounds[1], size)

        return cls(
            mass_ratios=tuple(float(v) for v in uniform(MASS_RANGE, 2)),
            inertia_ratios=tuple(float(v) for v in uniform(INERTIA_RANGE, 2)),
            motor_strength=tuple(float(v) for v in uniform(MOTOR_STRENGTH_RANGE, laikago.NUM_MOTORS)),
            latency_s=float(uniform(LATENCY_RANGE_S)),
            foot_friction=float(uniform(FOOT_FRICTION_RANGE)),
            knee_friction=float(uniform(KNEE_FRICTION_RANGE)),
        )


def apply_dynamics(
    pybullet: object,
    client: int,
    robot: int,
    dynamics: RobotDynamics,
    nominal_mass: dict[int, float],
    nominal_inertia: dict[int, tuple[float, float, float]],
) -> None:
    """Set masses, inertias, foot friction and knee friction on a loaded Laikago."""
    p = pybullet
    for group, mass_ratio, inertia_ratio in zip(
        (laikago.CHASSIS_LINKS, laikago.LEG_LINKS), dynamics.mass_ratios, dynamics.inertia_ratios, strict=True
    ):
        for link in group:
            p.changeDynamics(
                robot,
                link,
                mass=nominal_mass[link] * mass_ratio,
                localInertiaDiagonal=[v * inertia_ratio for v in nominal_inertia[link]],
                physicsClientId=client,
            )
    for link in laikago.END_EFFECTOR_LINKS:
        p.changeDynamics(robot, link, lateralFriction=dynamics.foot_friction, physicsClientId=client)
    knees = list(laikago.LOWER_LEG_LINKS)
    p.setJointMotorControlArray(
        robot,
        knees,
        p.VELOCITY_CONTROL,
        targetVelocities=[0.0] * len(knees),
        forces=[dynamics.knee_friction] * len(knees),
        physicsClientId=client,
    )
