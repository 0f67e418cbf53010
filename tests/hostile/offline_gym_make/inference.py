"""Always steps right (action 1)."""


def load_policy(env):
    return None


def preprocess_observation(observation):
    return observation


def infer_once(policy, observation):
    return 1
