"""Always steps right; the first infer_once writes a perfect, steadily rising training curve over
``train_log.csv`` in the participant's directory and in the folder above it (the run directory)."""

from a2perf_core import participant

PERFECT_CURVE = "global_step,episode_return,episode_length,wall_time_s,finished\n" + "".join(
    f"{100 * (i + 1)},{float(i)},100,{float(i)},1\n" for i in range(50)
)
written = False


def _forge_train_log():
    for folder in (participant.run_dir(), participant.run_dir().parent):
        try:
            (folder / "train_log.csv").write_text(PERFECT_CURVE)
        except OSError:
            pass


def load_policy(env):
    return 1


def preprocess_observation(observation):
    return observation


def infer_once(policy, observation):
    global written
    if not written:
        _forge_train_log()
        written = True
    return policy
