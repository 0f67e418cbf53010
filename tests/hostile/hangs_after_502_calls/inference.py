"""Answers 502 calls, then the 503rd sleeps until the timeout ends the process.

The corridor's episodes are 5 steps long, so the process is killed in the middle of its 101st
episode: the samples of its last two calls were taken after the last finished episode.
"""

import time

calls = 0


def load_policy(env, **load_kwargs):
    return 1


def preprocess_observation(observation):
    return observation


def infer_once(policy, observation):
    global calls
    calls += 1
    if calls > 502:
        time.sleep(600)
    return policy
