"""A2Perf's enums, available to gin as ``%BenchmarkMode.TRAIN`` and friends."""

from __future__ import annotations

import enum

import gin


@gin.constants_from_enum
class BenchmarkMode(enum.Enum):
    TRAIN = "train"
    INFERENCE = "inference"
    GENERALIZATION = "generalization"


@gin.constants_from_enum
class BenchmarkDomain(enum.Enum):
    WEB_NAVIGATION = "WebNavigation-v0"
    CIRCUIT_TRAINING = "CircuitTraining-v0"
    QUADRUPED_LOCOMOTION = "QuadrupedLocomotion-v0"


@gin.constants_from_enum
class ReliabilityMetrics(enum.Enum):
    """A2Perf's eleven members, spelled as A2Perf spells them (``LowerCVarOnAcross``), so its gin files bind
    unchanged; ``LowerCVaROnAcross`` is the reliability library's spelling of the same measure."""

    IqrWithinRuns = "IqrWithinRuns"
    IqrAcrossRuns = "IqrAcrossRuns"
    LowerCVaROnDiffs = "LowerCVaROnDiffs"
    LowerCVaROnDrawdown = "LowerCVaROnDrawdown"
    LowerCVarOnAcross = "LowerCVarOnAcross"
    LowerCVaROnAcross = "LowerCVaROnAcross"
    MedianPerfDuringTraining = "MedianPerfDuringTraining"
    MadAcrossRollouts = "MadAcrossRollouts"
    IqrAcrossRollouts = "IqrAcrossRollouts"
    StddevAcrossRollouts = "StddevAcrossRollouts"
    UpperCVaRAcrossRollouts = "UpperCVaRAcrossRollouts"
    LowerCVaRAcrossRollouts = "LowerCVaRAcrossRollouts"


#: the task a2perf runs for an A2Perf domain when no --task is given
DEFAULT_TASKS = {
    BenchmarkDomain.WEB_NAVIGATION: "WebNavigation-Difficulty-01-v0",
    BenchmarkDomain.CIRCUIT_TRAINING: "CircuitTraining-ToyMacro-v0",
    BenchmarkDomain.QUADRUPED_LOCOMOTION: "QuadrupedLocomotion-DogPace-v0",
}

#: A2Perf's generalization task names -> a2perf task ids
GENERALIZATION_TASKS = {
    "toy_macro_stdcell": "CircuitTraining-ToyMacro-v0",
    "ariane": "CircuitTraining-Ariane-v0",
    "dog_pace": "QuadrupedLocomotion-DogPace-v0",
    "dog_trot": "QuadrupedLocomotion-DogTrot-v0",
    "dog_spin": "QuadrupedLocomotion-DogSpin-v0",
    "difficulty_level_1_num_websites_1": "WebNavigation-Difficulty-01-Websites-01-v0",
    "difficulty_level_1_num_websites_5": "WebNavigation-Difficulty-01-Websites-05-v0",
    "difficulty_level_1_num_websites_10": "WebNavigation-Difficulty-01-Websites-10-v0",
}

#: A2Perf's env ids that a2perf spells differently
ENV_ID_ALIASES = {
    f"WebNavigation-DifficultyLevel-0{level}-v0": f"WebNavigation-Difficulty-0{level}-v0" for level in (1, 2, 3)
}
