"""The participant's policy in untrusted mode: a sandboxed process that only turns observations into actions.

The harness (the inference or generalization phase process) starts it as ``bwrap ... python -m
a2perf_core.runner.policy_process`` and keeps the env, the episode bookkeeping and every record to itself.
Frames (:mod:`a2perf_core.runner.wire`) cross the policy process's stdin and stdout; the participant's own
prints go to the phase log, so they cannot corrupt the stream. The conversation:

1. harness -> policy: a JSON hello (spaces, module, participant arguments); the policy imports the inference
   module, calls ``load_policy`` with a :class:`StandInEnv` and answers ``R`` with its timing overhead, or ``E``;
2. per step, harness -> policy ``I`` + the observation (and the env's action mask, when it has one); the
   policy answers ``A`` + the nanoseconds ``infer_once`` took + the action, or ``E`` + why;
3. ``N`` + bytes of an observation's size is answered ``N`` at once (the harness measures the transport floor);
   ``Q`` ends the process.
"""

from __future__ import annotations

import importlib
import json
import os
import struct
import sys
import traceback
from typing import Any, BinaryIO

import gymnasium as gym

from a2perf_core.runner.wire import (
    PolicyProtocolError,
    decode_tree,
    encode_action,
    read_frame,
    space_from_json,
    write_frame,
)

REQUEST_INFER = b"I"
REQUEST_NOOP = b"N"
REQUEST_QUIT = b"Q"
REPLY_READY = b"R"
REPLY_ACTION = b"A"
REPLY_NOOP = b"N"
REPLY_ERROR = b"E"
#: the nanoseconds of ``infer_once`` that precede the action in an ``A`` reply
NANOSECONDS = struct.Struct("<q")


class StandInEnv(gym.Env):
    """What ``load_policy`` gets in untrusted mode: the task's spaces, while the env itself runs in the harness.

    A policy that reads ``observation_space``/``action_space`` (and seeds or samples them) works unchanged; one
    that steps the env it was given cannot, since that env's rewards are exactly what must stay out of reach.
    """

    def __init__(self, task_id: str, observation_space: gym.Space, action_space: gym.Space) -> None:
        self.task_id = task_id
        self.observation_space = observation_space
        self.action_space = action_space

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        raise RuntimeError(self._refusal("reset"))

    def step(self, action: Any) -> Any:
        raise RuntimeError(self._refusal("step"))

    def _refusal(self, method: str) -> str:
        return (
            f"{method}(): in --untrusted mode the env of {self.task_id} runs in the harness; load_policy gets a "
            "stand-in with its observation_space and action_space only"
        )


class MaskedStandInEnv(StandInEnv):
    """A stand-in for an env with ``action_masks()``: it returns the harness env's mask at the current observation."""

    mask: Any = None

    def action_masks(self) -> Any:
        return self.mask


def stand_in_env(hello: dict[str, Any]) -> StandInEnv:
    """The env ``load_policy`` gets, from the harness's hello."""
    kind = MaskedStandInEnv if hello["has_action_masks"] else StandInEnv
    return kind(hello["task_id"], space_from_json(hello["observation_space"]), space_from_json(hello["action_space"]))


def _error_reply(what: str, error: BaseException) -> bytes:
    traceback.print_exc()
    return REPLY_ERROR + f"{what} raised {type(error).__name__}: {error}".encode(errors="replace")


def serve(hello: dict[str, Any], requests: BinaryIO, replies: BinaryIO) -> int:
    """Load the policy and answer requests until told to quit; the exit status."""
    from a2perf_core.runner.child import ParticipantCalls, harness_overhead_ns, timed_infer

    os.chdir(hello["cwd"])
    sys.path[:0] = hello["sys_path"]
    env = stand_in_env(hello)
    try:
        calls = ParticipantCalls(importlib.import_module(hello["inference_module"]))
        policy = calls.load_policy(env, dict(hello["participant_args"]))
        overhead = harness_overhead_ns(calls)
    except Exception as error:
        write_frame(replies, _error_reply("load_policy", error))
        return 1
    write_frame(replies, REPLY_READY + json.dumps({"harness_overhead_ns_per_call": overhead}).encode())
    while True:
        request = read_frame(requests)
        kind = request[:1]
        if kind == REQUEST_NOOP:
            write_frame(replies, REPLY_NOOP)
            continue
        if kind != REQUEST_INFER:
            return 0
        parts = decode_tree(request[1:])
        if isinstance(env, MaskedStandInEnv):
            env.mask = parts[1]
        try:
            action, elapsed = timed_infer(calls, policy, calls.preprocess(parts[0]))
            encoded = encode_action(action)
        except Exception as error:
            write_frame(replies, _error_reply("infer_once", error))
            return 1
        write_frame(replies, REPLY_ACTION + NANOSECONDS.pack(elapsed) + encoded)


def main() -> None:
    """Take the frame pipes off stdin/stdout, so the participant's prints land in the phase log, then serve."""
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    try:
        hello = json.loads(read_frame(requests))
        status = serve(hello, requests, replies)
    except PolicyProtocolError:  # the harness went away
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
