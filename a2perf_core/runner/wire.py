"""Length-prefixed frames for actions coming back from an untrusted policy process.

The harness must never unpickle what the policy sends (that would run the participant's code in the harness), so
an action crosses as `np.save` bytes and is read with `allow_pickle=False`, then checked against the action space.
"""

from __future__ import annotations

import io
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
