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


def test_spaces_cross_as_json_and_come_back_exactly():
    import json

    from a2perf_core.runner.wire import space_from_json, space_to_json

    box = gym.spaces.Box(np.array([-1.5, 0.0], dtype=np.float32), np.array([np.inf, 0.1], dtype=np.float32))
    spaces = [
        box,
        gym.spaces.Discrete(7, start=-2),
        gym.spaces.MultiBinary(5),
        gym.spaces.MultiDiscrete([3, 4]),
        gym.spaces.Dict({"mask": gym.spaces.MultiBinary(4), "x": gym.spaces.Box(0, 9, (2, 3), np.int32)}),
        gym.spaces.Tuple((gym.spaces.Discrete(2), box)),
    ]
    for space in spaces:
        rebuilt = space_from_json(json.loads(json.dumps(space_to_json(space))))
        assert rebuilt == space, space
    rebuilt_box = space_from_json(json.loads(json.dumps(space_to_json(box))))
    assert rebuilt_box.dtype == np.float32 and rebuilt_box.high[0] == np.inf


def test_a_space_untrusted_mode_cannot_describe_is_a_one_line_error():
    from a2perf_core.errors import A2PerfError
    from a2perf_core.runner.wire import space_to_json

    with pytest.raises(A2PerfError, match="cannot pass a Text space"):
        space_to_json(gym.spaces.Text(5))


def test_a_dict_observation_crosses_without_pickle_as_writable_arrays():
    from a2perf_core.runner.wire import decode_tree, encode_tree

    observation = {"grid": np.arange(6, dtype=np.int32).reshape(2, 3), "pos": np.float32(1.5), "mask": np.ones(0)}
    encoded = encode_tree((observation, np.array([1, 0], dtype=np.int8)))
    decoded, mask = decode_tree(encoded)
    assert set(decoded) == {"grid", "pos", "mask"}
    np.testing.assert_array_equal(decoded["grid"], observation["grid"])
    assert decoded["grid"].dtype == np.int32 and decoded["pos"].shape == () and decoded["pos"] == np.float32(1.5)
    assert decoded["mask"].shape == (0,)
    np.testing.assert_array_equal(mask, [1, 0])
    decoded["grid"][0, 0] = 99  # a policy may change its input in place


def test_an_object_observation_is_refused():
    from a2perf_core.runner.wire import encode_tree

    with pytest.raises(PolicyProtocolError, match="without pickle"):
        encode_tree({"x": np.array([object()], dtype=object)})
