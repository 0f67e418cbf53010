"""load_policy tries to connect to ``port`` on the loopback and to write ``outside`` (a path outside the
participant's directory), then records the outcome in ``probe.json`` in ``participant.run_dir()``."""

import errno
import json
import socket

from a2perf_core import participant


def _connect(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return "open"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


def _write(path):
    try:
        with open(path, "w") as target:
            target.write("forged")
        return "written"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))


def load_policy(env, port=0, outside=""):
    own = participant.run_dir() / "x"
    probe = {"network": _connect(port), "outside": _write(outside), "own_directory": _write(own)}
    (participant.run_dir() / "probe.json").write_text(json.dumps(probe))
    return 1


def preprocess_observation(observation):
    return observation


def infer_once(policy, observation):
    return policy
