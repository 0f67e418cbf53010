"""Length-prefixed frames between the harness and an untrusted policy process.

The harness must never unpickle what the policy sends (that would run the participant's code in the harness), so
an action crosses as `np.save` bytes and is read with `allow_pickle=False`, then checked against the action space.
Observations and spaces go the other way as JSON layouts and raw array bytes, so neither side needs pickle.
"""

from __future__ import annotations

import io
import json
import struct
from typing import Any, BinaryIO

import numpy as np

from a2perf_core.errors import A2PerfError

HEADER = struct.Struct("<Q")
MAX_FRAME_BYTES = 64 * 1024 * 1024


class PolicyProtocolError(A2PerfError):
    """The policy process sent something that is not a well-formed action, or went away mid-reply."""


def write_frame(stream: BinaryIO, payload: bytes) -> None:
    """One frame: 8-byte little-endian length, then the payload."""
    stream.write(HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise PolicyProtocolError("policy process closed its pipe mid-reply (it exited or crashed)")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: BinaryIO) -> bytes:
    """The next frame's payload; an error if the stream ends early or the declared length is absurd."""
    (size,) = HEADER.unpack(_read_exactly(stream, HEADER.size))
    if size > MAX_FRAME_BYTES:
        raise PolicyProtocolError(f"policy process announced a {size}-byte reply (limit {MAX_FRAME_BYTES})")
    return _read_exactly(stream, size)


def encode_action(action: Any) -> bytes:
    """`action` as `np.save` bytes; object arrays are refused here so the policy side fails first."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(action), allow_pickle=False)
    return buffer.getvalue()


def decode_action(payload: bytes, action_space: Any) -> Any:
    """The action in `payload`, read without unpickling and checked to belong to `action_space`."""
    try:
        array = np.load(io.BytesIO(payload), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise PolicyProtocolError(f"policy process sent a malformed action: {error}") from None
    if not isinstance(array, np.ndarray):
        raise PolicyProtocolError("policy process sent an archive, not one action array")
    action = array.item() if array.ndim == 0 else array
    try:
        belongs = bool(action_space.contains(action))
    except (TypeError, ValueError):
        belongs = False
    if not belongs:
        raise PolicyProtocolError(
            f"policy process sent an action outside the env's action space {action_space}: "
            f"dtype {array.dtype}, shape {array.shape}"
        )
    return action


class SpaceNotDescribableError(A2PerfError):
    """The env's observation or action space has a type untrusted mode cannot describe to the policy process."""


def space_to_json(space: Any) -> dict[str, Any]:
    """`space` as plain JSON (Box, Discrete, MultiBinary, MultiDiscrete, Dict, Tuple), rebuilt exactly by
    :func:`space_from_json`: the policy process gets the spaces without the env and without pickle."""
    from gymnasium import spaces

    if isinstance(space, spaces.Box):
        return {
            "type": "Box",
            "low": space.low.tolist(),
            "high": space.high.tolist(),
            "shape": list(space.shape),
            "dtype": space.dtype.str,
        }
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}
    if isinstance(space, spaces.MultiDiscrete):
        return {
            "type": "MultiDiscrete",
            "nvec": space.nvec.tolist(),
            "start": space.start.tolist(),
            "dtype": space.dtype.str,
        }
    if isinstance(space, spaces.Dict):
        return {"type": "Dict", "spaces": [[key, space_to_json(sub)] for key, sub in space.spaces.items()]}
    if isinstance(space, spaces.Tuple):
        return {"type": "Tuple", "spaces": [space_to_json(sub) for sub in space.spaces]}
    raise SpaceNotDescribableError(
        f"--untrusted cannot pass a {type(space).__name__} space to the policy process "
        "(supported: Box, Discrete, MultiBinary, MultiDiscrete, Dict, Tuple)"
    )


def space_from_json(data: dict[str, Any]) -> Any:
    """The space :func:`space_to_json` described."""
    from gymnasium import spaces

    kind = data["type"]
    if kind == "Box":
        dtype = np.dtype(data["dtype"])
        low = np.asarray(data["low"], dtype=dtype).reshape(data["shape"])
        high = np.asarray(data["high"], dtype=dtype).reshape(data["shape"])
        return spaces.Box(low, high, shape=tuple(data["shape"]), dtype=dtype)
    if kind == "Discrete":
        return spaces.Discrete(data["n"], start=data["start"])
    if kind == "MultiBinary":
        return spaces.MultiBinary(data["n"])
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(data["nvec"], dtype=np.dtype(data["dtype"]), start=data["start"])
    if kind == "Dict":
        return spaces.Dict({key: space_from_json(sub) for key, sub in data["spaces"]})
    if kind == "Tuple":
        return spaces.Tuple([space_from_json(sub) for sub in data["spaces"]])
    raise ValueError(f"unknown space type {kind!r}")


TREE_HEADER = struct.Struct("<I")


def _layout(value: Any, chunks: list[bytes], offset: list[int]) -> Any:
    if isinstance(value, dict):
        return {"dict": [[key, _layout(sub, chunks, offset)] for key, sub in value.items()]}
    if isinstance(value, tuple):
        return {"tuple": [_layout(sub, chunks, offset) for sub in value]}
    array = np.asarray(value)  # tobytes() is C order; ascontiguousarray would make a 0-d array 1-d
    if array.dtype.hasobject:
        raise PolicyProtocolError(f"cannot send an observation of dtype {array.dtype} without pickle")
    data = array.tobytes()
    leaf = {"dtype": array.dtype.str, "shape": list(array.shape), "offset": offset[0], "size": len(data)}
    chunks.append(data)
    offset[0] += len(data)
    return leaf


def encode_tree(value: Any) -> bytes:
    """A (nested) dict/tuple of arrays as a JSON layout plus the raw bytes of each array: no pickle."""
    chunks: list[bytes] = []
    layout = json.dumps(_layout(value, chunks, [0])).encode()
    return TREE_HEADER.pack(len(layout)) + layout + b"".join(chunks)


def _rebuild(layout: dict[str, Any], body: memoryview) -> Any:
    if "dict" in layout:
        return {key: _rebuild(sub, body) for key, sub in layout["dict"]}
    if "tuple" in layout:
        return tuple(_rebuild(sub, body) for sub in layout["tuple"])
    start = layout["offset"]
    flat = np.frombuffer(body[start : start + layout["size"]], dtype=np.dtype(layout["dtype"]))
    return flat.reshape(tuple(layout["shape"]))


def decode_tree(payload: bytes) -> Any:
    """What :func:`encode_tree` encoded; arrays are writable copies (a policy may change its input)."""
    (size,) = TREE_HEADER.unpack_from(payload)
    layout = json.loads(payload[TREE_HEADER.size : TREE_HEADER.size + size])
    body = memoryview(bytearray(payload[TREE_HEADER.size + size :]))
    return _rebuild(layout, body)
