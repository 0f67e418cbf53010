"""The third infer_once call ends the process with exit code 0 before the phase can report."""

import os

calls = 0


def load_policy(env, **load_kwargs):
    return 1


def preprocess_observation(observation):
    return observation


def infer_once(policy, observation):
    global calls
    calls += 1
    if calls == 3:
        os._exit(0)
    return policy
