"""Actions from an untrusted policy: read without unpickling, checked against the action space."""

from __future__ import annotations

import io
import pickle

import gymnasium as gym
import numpy as np
import pytest

from a2perf_core.runner.wire import (
    HEADER,
    MAX_FRAME_BYTES,
    PolicyProtocolError,
    decode_action,
    encode_action,
    read_frame,
    write_frame,
)


def test_box_and_discrete_actions_round_trip_through_frames():
    box = gym.spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
    stream = io.BytesIO()
    write_frame(stream, encode_action(np.array([0.5, -0.25, 1.0], dtype=np.float32)))
    write_frame(stream, encode_action(2))
    stream.seek(0)
    np.testing.assert_array_equal(decode_action(read_frame(stream), box), [0.5, -0.25, 1.0])
    assert decode_action(read_frame(stream), gym.spaces.Discrete(4)) == 2


def test_a_pickled_object_is_refused_not_unpickled():
    class Exploit:
        def __reduce__(self):
            return (print, ("ran in the harness",))

    buffer = io.BytesIO()
    np.save(buffer, np.array([Exploit()], dtype=object), allow_pickle=True)
    with pytest.raises(PolicyProtocolError, match="malformed action"):
        decode_action(buffer.getvalue(), gym.spaces.Discrete(2))
    with pytest.raises(PolicyProtocolError, match="malformed action"):
        decode_action(pickle.dumps(1), gym.spaces.Discrete(2))


def test_an_action_outside_the_space_fails_with_the_space_named():
    with pytest.raises(PolicyProtocolError, match="outside the env's action space Discrete"):
        decode_action(encode_action(7), gym.spaces.Discrete(4))
    box = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
    with pytest.raises(PolicyProtocolError, match="shape"):
        decode_action(encode_action(np.zeros(5, dtype=np.float32)), box)


def test_a_truncated_or_oversized_frame_is_a_protocol_error():
    stream = io.BytesIO(HEADER.pack(100) + b"short")
    with pytest.raises(PolicyProtocolError, match="closed its pipe"):
        read_frame(stream)
    with pytest.raises(PolicyProtocolError, match="limit"):
        read_frame(io.BytesIO(HEADER.pack(MAX_FRAME_BYTES + 1)))
