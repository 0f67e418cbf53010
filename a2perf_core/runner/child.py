"""What runs inside the participant's child process, one phase per process.

The process (started ahead of its phase, in its own session so the harness can end its whole tree,
see :mod:`a2perf_core.runner.process`) gets its job, moves into the submission folder, sends its
output to the phase's log file, registers the tasks, waits for the harness to release it
(metric trackers start meanwhile), then runs the phase and writes its records as it goes, so that
whatever was measured before a crash stays on disk.
"""

from __future__ import annotations

import atexit
import csv
import gc
import importlib
import inspect
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from time import perf_counter_ns
from typing import Any, BinaryIO, NoReturn

from a2perf_core.errors import A2PerfError
from a2perf_core.metrics import (
    GENERALIZATION_EPISODES,
    INFERENCE_EPISODES,
    LATENCIES_RAW,
    LATENCIES_ROUNDTRIP_RAW,
    WARMUP_LATENCIES_RAW,
    phase_error,
    phase_log,
    phase_result,
    phase_rusage,
)
from a2perf_core.participant import PARTICIPANT_DIR, RUN_DIR_ENV, SEED_ENV, TASK_ENV, TRAIN_STEPS_ENV
from a2perf_core.runner.records import RECORDS_DIR_ENV, PhaseJob, PhaseResult
from a2perf_core.runner.wallclock import SpanMarks, span_path


def child_main(job: PhaseJob, go: Any, held_output: BinaryIO | None = None) -> None:
    """The phase process's work once it has its job: set up, wait for the release, run the phase.

    ``held_output`` is what the process printed before it had its job (:func:`hold_output`); it
    goes to the start of the phase's log."""
    run_dir = Path(job.run_dir)
    log = open(run_dir / phase_log(job.label), "ab", buffering=0)  # noqa: SIM115 - lives as long as the process
    if held_output is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        held_output.seek(0)
        shutil.copyfileobj(held_output, log)
        held_output.close()
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    if job.untrusted and job.phase in UNTRUSTED_PHASE_FUNCTIONS:
        _keep_participant_code_out(job)
    else:
        os.chdir(job.cwd)
        sys.path[:0] = job.sys_path
    os.environ.update(job.environ)
    setup_error = _prepare_before_release()
    span_marks(job).mark("ready")
    go.wait()
    try:
        if setup_error is not None:
            raise setup_error
        result = phase_function(job)(job)
    except Exception as exc:
        _write_durably(run_dir / phase_error(job.label), traceback.format_exc())
        error = f"{type(exc).__name__}: {exc}"  # the runner shortens it for run.json and the terminal
        _write_json(run_dir / phase_result(job.label), PhaseResult(error=error).to_json())
        sys.stderr.flush()
        sys.exit(1)
    finally:
        _write_json(run_dir / phase_rusage(job.label), own_rusage())
    _write_json(run_dir / phase_result(job.label), result.to_json())


def _keep_participant_code_out(job: PhaseJob) -> None:
    """Untrusted inference and generalization: the harness works in the run directory and imports nothing from
    the submission (a module there named like one the harness imports later must not run in the harness)."""
    os.chdir(job.run_dir)
    sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != Path(job.cwd).resolve()]


def hold_output() -> BinaryIO:
    """Until the job names the phase's log, the process's output (fds 1 and 2) goes to a temporary file."""
    held = tempfile.TemporaryFile()  # noqa: SIM115 - handed to child_main, which closes it
    os.dup2(held.fileno(), 1)
    os.dup2(held.fileno(), 2)
    return held


def prepare_imports() -> None:
    """Import what every phase needs (Gymnasium, numpy, the installed tasks' plugins) while the
    process waits for its job. Registration itself comes after the job (it reads the run's env
    kwargs from the job's environment) and repeats a failure here, which it reports as the phase's
    error: nothing is lost by ignoring it now."""
    try:
        import gymnasium  # noqa: F401

        import a2perf_core.runner.recording  # noqa: F401
        from a2perf_core.envs import tasks

        tasks()
    except Exception:  # reported by the registration after the job
        return


def _prepare_before_release() -> Exception | None:
    """Register the installed tasks while held back, so their imports are not the participant's wall clock.

    The phase functions register again after release, which then finds everything registered and
    costs nothing. A failure is kept and raised after release, so it is reported as the phase's error.
    """
    try:
        _register_envs()
    except Exception as exc:
        return exc
    return None


def own_rusage() -> dict[str, int]:
    """The kernel's memory high-water marks of this process and its reaped children, in KiB.

    For this process it is ``VmHWM``: ``ru_maxrss`` would be wrong here, because it survives
    ``exec`` and so starts at the harness's size when the spawned process was forked.
    """
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                own = int(line.split()[1])
    except OSError:
        pass
    return {"ru_maxrss_kib": own, "ru_maxrss_children_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}


def _write_json(path: Path, data: Any) -> None:
    """``data`` as JSON in ``path``, whole or not at all (written, fsynced, then renamed)."""
    tmp = path.with_suffix(".tmp")
    _write_durably(tmp, json.dumps(data))
    os.replace(tmp, path)


def _write_durably(path: Path, text: str) -> None:
    with path.open("w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def exit_now(code: int) -> NoReturn:
    """End the phase process at once, without the interpreter's teardown (freeing every module and
    object took a tenth of a second and more per phase, which the run waited for).

    Only what a normal exit would still do for others is kept, in its order: the participant's
    non-daemon threads are joined, the ``atexit`` handlers run (the participant's, and logging's,
    which flushes its handlers), and every file still open for writing is flushed (a model file the
    participant never closed is complete, as after a normal exit), the standard streams last. The
    records are written and fsynced before this is called."""
    try:
        main = threading.main_thread()
        for thread in threading.enumerate():
            if thread is not main and not thread.daemon:
                thread.join()
        atexit._run_exitfuncs()
    finally:
        writers = (io.TextIOWrapper, io.BufferedWriter, io.BufferedRandom)
        for stream in [o for o in gc.get_objects() if type(o) in writers] + [sys.stdout, sys.stderr]:
            try:
                stream.flush()
            except (OSError, ValueError):  # closed, or broken by the participant
                pass
        os._exit(code)


class ParticipantCalls:
    """Calls into a submission's inference module in whichever spelling it uses (checked once)."""

    def __init__(self, module: Any) -> None:
        self.module = module
        infer = inspect.signature(module.infer_once).parameters
        self.infer_keywords = "preprocessed_observation" in infer
        pre = inspect.signature(module.preprocess_observation).parameters
        spec = pre.get("time_step_spec")
        self._pre_needs_spec = spec is not None and spec.default is inspect.Parameter.empty
        load = inspect.signature(module.load_policy).parameters
        self._load_accepts_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in load.values())
        self._load_names = set(load)

    def load_policy(self, env: Any, arguments: dict[str, Any]) -> Any:
        chosen = arguments if self._load_accepts_all else {k: v for k, v in arguments.items() if k in self._load_names}
        return self.module.load_policy(env, **chosen)

    def preprocess(self, observation: Any) -> Any:
        if self._pre_needs_spec:
            return self.module.preprocess_observation(observation, time_step_spec=None)
        return self.module.preprocess_observation(observation)

    def infer(self, policy: Any, observation: Any) -> Any:
        if self.infer_keywords:
            return self.module.infer_once(policy=policy, preprocessed_observation=observation)
        return self.module.infer_once(policy, observation)


def _call_with_accepted(function: Any, arguments: dict[str, Any]) -> Any:
    parameters = inspect.signature(function).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return function(**arguments)
    return function(**{k: v for k, v in arguments.items() if k in parameters})


def span_marks(job: PhaseJob) -> SpanMarks:
    """The marks of this phase process (``wall_clock`` and the energy window are their span)."""
    return SpanMarks(span_path(job.run_dir, job.label))


def run_train(job: PhaseJob) -> PhaseResult:
    _register_envs()
    span = span_marks(job)
    span.mark("started")
    try:
        module = importlib.import_module(job.train_module)
        _call_with_accepted(module.train, dict(job.participant_args))
    finally:
        span.mark("ended")
    return PhaseResult()


def _register_envs() -> None:
    from a2perf_core.envs import register_envs

    register_envs()


def _make_env(job: PhaseJob, task_id: str) -> Any:
    from a2perf_core.envs import make

    return make(task_id, **job.env_kwargs)


def timed_infer(calls: ParticipantCalls, policy: Any, observation: Any) -> tuple[Any, int]:
    """The one timed call path: ``(action, nanoseconds)`` of ``infer_once`` through ``calls``."""
    t0 = perf_counter_ns()
    action = calls.infer(policy, observation)
    return action, perf_counter_ns() - t0


class _NoOpPositional:
    """An inference module that does nothing, spelled as A2Perf's template positionally."""

    @staticmethod
    def load_policy(env: Any) -> None:
        return None

    @staticmethod
    def preprocess_observation(observation: Any) -> Any:
        return observation

    @staticmethod
    def infer_once(policy: Any, observation: Any) -> None:
        return None


class _NoOpKeywords(_NoOpPositional):
    @staticmethod
    def infer_once(*, policy: Any, preprocessed_observation: Any) -> None:
        return None


def harness_overhead_ns(participant: ParticipantCalls, calls: int = 2000) -> float:
    """Median of :func:`timed_infer` around a no-op ``infer_once`` called the way the participant's
    is (same ``ParticipantCalls.infer`` branch): the harness's own cost in each timed sample."""
    noop = ParticipantCalls(_NoOpKeywords if participant.infer_keywords else _NoOpPositional)
    samples = [timed_infer(noop, None, None)[1] for _ in range(calls)]
    samples.sort()
    return float(samples[len(samples) // 2])


class EpisodeTable:
    """A CSV of finished episodes, appended and flushed one row at a time."""

    def __init__(self, path: Path, header: list[str]) -> None:
        new = not path.exists() or path.stat().st_size == 0
        self._file = path.open("a", newline="")
        self._writer = csv.writer(self._file)
        if new:
            self._writer.writerow(header)
            self._file.flush()

    def add(self, row: list[Any]) -> None:
        self._writer.writerow(row)
        self._file.flush()

    def close(self) -> None:
        os.fsync(self._file.fileno())
        self._file.close()


class SampleFile:
    """Latency samples appended as raw native int64s, one unbuffered write each (outside the
    timed region), so a process killed mid-phase leaves every sample it took on disk."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.count = 0

    def add(self, nanoseconds: int) -> None:
        os.write(self._fd, nanoseconds.to_bytes(8, sys.byteorder, signed=True))
        self.count += 1

    def close(self) -> None:
        os.fsync(self._fd)
        os.close(self._fd)


class LatencySamples:
    """Where each timed call's nanoseconds go: the first ``warmup_calls`` to the warm-up record, then the timed one."""

    def __init__(self, timed: SampleFile, warmup: SampleFile, warmup_calls: int) -> None:
        self.timed, self.warmup, self._warmup_left = timed, warmup, warmup_calls

    def add(self, nanoseconds: int) -> bool:
        """Record one call; True when it went to the timed record."""
        if self._warmup_left > 0:
            self.warmup.add(nanoseconds)
            self._warmup_left -= 1
            return False
        self.timed.add(nanoseconds)
        return True


def play_episode(env: Any, act: Any, seed: int | None, may_step: Any = None) -> tuple[float, int, bool]:
    """One episode with ``act(observation) -> action``: ``(return, length, finished)``. ``may_step()``
    is asked before each step; when it says no the episode stops there, not finished."""
    observation, _ = env.reset(seed=seed)
    total, length = 0.0, 0
    while True:
        if may_step is not None and not may_step():
            return total, length, False
        observation, reward, terminated, truncated, _ = env.step(act(observation))
        total += float(reward)
        length += 1
        if terminated or truncated:
            return total, length, True


def play_inference(job: PhaseJob, env: Any, act: Any, timed: SampleFile, table: EpisodeTable) -> tuple[int, bool, bool]:
    """The inference episodes, up to the step cap: ``(episodes finished, partial episode dropped, cap reached)``."""
    cap = job.num_inference_steps
    under_cap = None if cap is None else (lambda: timed.count < cap)
    for episode in range(int(job.num_inference_episodes)):
        total, length, finished = play_episode(env, act, job.seed if episode == 0 else None, under_cap)
        if not finished:
            return episode, length > 0, True
        table.add([episode, repr(total), length])
    return int(job.num_inference_episodes), False, False


def play_generalization(job: PhaseJob, env: Any, act: Any, table: EpisodeTable) -> int:
    """The generalization task's episodes; the number finished."""
    for episode in range(int(job.num_generalization_episodes)):
        total, length, _ = play_episode(env, act, job.seed if episode == 0 else None)
        table.add([job.generalization_task, episode, repr(total), length])
    return int(job.num_generalization_episodes)


def run_inference(job: PhaseJob) -> PhaseResult:
    _register_envs()
    run_dir = Path(job.run_dir)
    env = _make_env(job, job.task_id)
    span = span_marks(job)
    span.mark("started")
    calls = ParticipantCalls(importlib.import_module(job.inference_module))
    policy = calls.load_policy(env, dict(job.participant_args))
    overhead = harness_overhead_ns(calls)
    timed = SampleFile(run_dir / LATENCIES_RAW)
    warmup = SampleFile(run_dir / WARMUP_LATENCIES_RAW)
    samples = LatencySamples(timed, warmup, int(job.num_warmup_calls))
    table = EpisodeTable(run_dir / INFERENCE_EPISODES, ["episode", "return", "length"])

    def act(observation: Any) -> Any:
        action, elapsed = timed_infer(calls, policy, calls.preprocess(observation))
        samples.add(elapsed)
        return action

    try:
        episodes_done, dropped_partial, cap_reached = play_inference(job, env, act, timed, table)
    finally:
        span.mark("ended")
        table.close()
        timed.close()
        warmup.close()
        env.close()
    return PhaseResult(
        episodes=episodes_done,
        episodes_requested=int(job.num_inference_episodes),
        timed_calls=timed.count,
        warmup_calls=warmup.count,
        harness_overhead_ns_per_call=overhead,
        partial_episode_dropped=dropped_partial,
        step_cap_reached=cap_reached,
    )


def run_generalization(job: PhaseJob) -> PhaseResult:
    _register_envs()
    run_dir = Path(job.run_dir)
    env = _make_env(job, job.generalization_task)
    span = span_marks(job)
    span.mark("started")
    calls = ParticipantCalls(importlib.import_module(job.inference_module))
    policy = calls.load_policy(env, dict(job.participant_args))
    table = EpisodeTable(run_dir / GENERALIZATION_EPISODES, ["task", "episode", "return", "length"])
    try:
        episodes_done = play_generalization(job, env, lambda o: calls.infer(policy, calls.preprocess(o)), table)
    finally:
        span.mark("ended")
        table.close()
        env.close()
    return PhaseResult(episodes=episodes_done, episodes_requested=int(job.num_generalization_episodes))


PHASE_FUNCTIONS = {"train": run_train, "inference": run_inference, "generalization": run_generalization}


def job_environ(
    run_dir: Path,
    phase: str,
    task_id: str,
    seed: int,
    num_train_steps: int | None,
    env_kwargs: dict[str, Any],
    records_dir: Path | None = None,
    untrusted: bool = False,
) -> dict[str, str]:
    """Environment of a phase's process; only training episodes go to the training log.

    The participant's own folder (``A2PERF_RUN_DIR``) is the run directory, the same for every phase,
    so a model train() saved there is found by inference; with ``untrusted`` it is
    ``<run_dir>/participant/`` (the sandboxed policy may write only there). The records go to
    ``records_dir`` (the phase attempt's folder; the run directory when not given), which no later
    attempt writes to.
    """
    from a2perf_core.envs import ENV_KWARGS_ENV, TRAIN_LOG_ENV
    from a2perf_core.metrics import TRAIN_LOG

    records_dir = run_dir if records_dir is None else records_dir
    environ = {
        RUN_DIR_ENV: str(run_dir / PARTICIPANT_DIR if untrusted else run_dir),
        RECORDS_DIR_ENV: str(records_dir),
        TASK_ENV: task_id,
        SEED_ENV: str(seed),
        "PYTHONUNBUFFERED": "1",
        ENV_KWARGS_ENV: json.dumps(env_kwargs),
    }
    if num_train_steps is not None:
        environ[TRAIN_STEPS_ENV] = str(num_train_steps)
    if phase == "train":
        environ[TRAIN_LOG_ENV] = str(records_dir / TRAIN_LOG)
    return environ


class PolicyProcessError(A2PerfError):
    """The sandboxed policy process raised, crashed, or answered with something that is not an action."""


class PolicyProcess:
    """The harness's side of an untrusted phase: the participant's policy in a sandboxed process of its own.

    It holds the env's action space (every action is checked against it), starts the policy process in the
    sandbox (writable: ``<run_dir>/participant/`` only, no network), and turns each observation into an action,
    the nanoseconds the policy says ``infer_once`` took, and the round trip the harness measured.
    """

    def __init__(self, job: PhaseJob, env: Any) -> None:
        from a2perf_core.runner.policy_process import REPLY_READY
        from a2perf_core.runner.sandbox import sandboxed_command
        from a2perf_core.runner.wire import space_to_json

        self.log = phase_log(job.label)
        self.action_space = env.action_space
        masks = getattr(env.unwrapped, "action_masks", None)
        self._masks = masks if callable(masks) else None
        hello = {
            "task_id": job.generalization_task,
            "observation_space": space_to_json(env.observation_space),
            "action_space": space_to_json(env.action_space),
            "has_action_masks": self._masks is not None,
            "cwd": job.cwd,
            "sys_path": list(job.sys_path),
            "inference_module": job.inference_module,
            "participant_args": dict(job.participant_args),
        }
        participant_dir = Path(job.environ[RUN_DIR_ENV])  # the run directory's participant/, not the attempt's
        participant_dir.mkdir(exist_ok=True)
        command = [sys.executable, "-m", "a2perf_core.runner.policy_process"]
        self._process = subprocess.Popen(
            sandboxed_command(command, participant_dir, readable=[job.cwd, *job.sys_path]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        self._send(json.dumps(hello).encode())
        kind, body = self._receive("load_policy")
        if kind != REPLY_READY:
            raise self._malformed("load_policy", kind)
        try:
            overhead = json.loads(body)["harness_overhead_ns_per_call"]
        except (ValueError, KeyError, TypeError):
            overhead = None
        if not isinstance(overhead, (int, float)) or isinstance(overhead, bool):
            raise PolicyProcessError("the policy process's ready message is malformed")
        #: the policy process's own timing cost per call (participant-reported, like its latencies)
        self.harness_overhead_ns = float(overhead)

    def _send(self, payload: bytes) -> None:
        from a2perf_core.runner.wire import write_frame

        try:
            write_frame(self._process.stdin, payload)  # type: ignore[arg-type]
        except (BrokenPipeError, ValueError):
            raise self._gone("a request") from None

    def _receive(self, what: str) -> tuple[bytes, bytes]:
        from a2perf_core.runner.policy_process import REPLY_ERROR
        from a2perf_core.runner.wire import PolicyProtocolError, read_frame

        try:
            reply = read_frame(self._process.stdout)  # type: ignore[arg-type]
        except PolicyProtocolError as error:
            if "closed its pipe" in str(error):
                raise self._gone(what) from None
            raise PolicyProcessError(f"during {what}: {error}") from None
        kind, body = reply[:1], reply[1:]
        if kind == REPLY_ERROR:
            message = body.decode(errors="replace")
            raise PolicyProcessError(f"the policy process: {message} (traceback in {self.log})")
        return kind, body

    def _gone(self, what: str) -> PolicyProcessError:
        from a2perf_core.runner.process import describe_exit

        try:
            code = self._process.wait(5)
        except subprocess.TimeoutExpired:
            code = None
        return PolicyProcessError(
            f"the policy process {describe_exit(code)} during {what} without answering (its output is in {self.log})"
        )

    def _malformed(self, what: str, kind: bytes) -> PolicyProcessError:
        return PolicyProcessError(f"the policy process answered {what} with a frame of unknown kind {kind!r}")

    def _request(self, observation: Any) -> bytes:
        from a2perf_core.runner.wire import encode_tree

        return encode_tree((observation, self._masks()) if self._masks is not None else (observation,))

    def act(self, observation: Any) -> tuple[Any, int, int]:
        """``(action, nanoseconds the policy reports for infer_once, round trip measured here)``: the round trip
        runs from writing the encoded request to the action decoded and checked."""
        from a2perf_core.runner.policy_process import NANOSECONDS, REPLY_ACTION, REQUEST_INFER
        from a2perf_core.runner.wire import PolicyProtocolError, decode_action

        request = REQUEST_INFER + self._request(observation)  # the env's mask and the encoding stay outside
        t0 = perf_counter_ns()
        self._send(request)
        kind, body = self._receive("infer_once")
        if kind != REPLY_ACTION or len(body) < NANOSECONDS.size:
            raise self._malformed("infer_once", kind)
        try:
            action = decode_action(body[NANOSECONDS.size :], self.action_space)
        except PolicyProtocolError as error:
            raise PolicyProcessError(str(error)) from None
        roundtrip = perf_counter_ns() - t0
        (reported,) = NANOSECONDS.unpack_from(body)
        if not 0 <= reported <= roundtrip:
            raise PolicyProcessError(
                f"the policy process reported {reported} ns for an infer_once whose round trip took {roundtrip} ns"
            )
        return action, reported, roundtrip

    def transport_floor_ns(self, observation: Any, calls: int = 200) -> float:
        """Median round trip of a no-op request as large as a real one: the pipe's share of each round trip."""
        from a2perf_core.runner.policy_process import REPLY_NOOP, REQUEST_NOOP

        samples = []
        request = REQUEST_NOOP + self._request(observation)
        for _ in range(calls):
            t0 = perf_counter_ns()
            self._send(request)
            kind, _ = self._receive("a no-op request")
            samples.append(perf_counter_ns() - t0)
            if kind != REPLY_NOOP:
                raise self._malformed("a no-op request", kind)
        samples.sort()
        return float(samples[len(samples) // 2])

    def close(self) -> None:
        """Ask the policy process to quit; kill it if it does not."""
        from a2perf_core.runner.policy_process import REQUEST_QUIT

        if self._process.poll() is None:
            try:
                self._send(REQUEST_QUIT)
                self._process.stdin.close()  # type: ignore[union-attr]
                self._process.wait(5)
            except (PolicyProcessError, OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()


def run_inference_untrusted(job: PhaseJob) -> PhaseResult:
    """The inference phase with the env and every record here and the policy in its sandboxed process."""
    _register_envs()
    run_dir = Path(job.run_dir)
    env = _make_env(job, job.task_id)
    policy: PolicyProcess | None = None
    timed = SampleFile(run_dir / LATENCIES_RAW)
    warmup = SampleFile(run_dir / WARMUP_LATENCIES_RAW)
    samples = LatencySamples(timed, warmup, int(job.num_warmup_calls))
    roundtrips = SampleFile(run_dir / LATENCIES_ROUNDTRIP_RAW)
    table = EpisodeTable(run_dir / INFERENCE_EPISODES, ["episode", "return", "length"])
    episodes_done = 0
    dropped_partial = cap_reached = False
    floor = None
    span = span_marks(job)
    span.mark("started")  # the sandbox starts: the policy process's first line follows
    try:
        policy = PolicyProcess(job, env)
        overhead = policy.harness_overhead_ns

        def act(observation: Any) -> Any:
            nonlocal floor
            assert policy is not None
            if floor is None:  # once, on the first observation, before any timed call
                floor = policy.transport_floor_ns(observation)
            action, reported, roundtrip = policy.act(observation)
            if samples.add(reported):
                roundtrips.add(roundtrip)
            return action

        episodes_done, dropped_partial, cap_reached = play_inference(job, env, act, timed, table)
    finally:
        span.mark("ended")
        if policy is not None:
            policy.close()
        table.close()
        timed.close()
        warmup.close()
        roundtrips.close()
        env.close()
    return PhaseResult(
        episodes=episodes_done,
        episodes_requested=int(job.num_inference_episodes),
        timed_calls=timed.count,
        warmup_calls=warmup.count,
        harness_overhead_ns_per_call=overhead,
        partial_episode_dropped=dropped_partial,
        step_cap_reached=cap_reached,
        transport_floor_ns=floor,
    )


def run_generalization_untrusted(job: PhaseJob) -> PhaseResult:
    """A generalization task with the env and its records here and the policy in its sandboxed process."""
    _register_envs()
    run_dir = Path(job.run_dir)
    env = _make_env(job, job.generalization_task)
    policy: PolicyProcess | None = None
    table = EpisodeTable(run_dir / GENERALIZATION_EPISODES, ["task", "episode", "return", "length"])
    span = span_marks(job)
    span.mark("started")
    try:
        policy = PolicyProcess(job, env)
        episodes_done = play_generalization(job, env, lambda o: policy.act(o)[0], table)  # type: ignore[union-attr]
    finally:
        span.mark("ended")
        if policy is not None:
            policy.close()
        table.close()
        env.close()
    return PhaseResult(episodes=episodes_done, episodes_requested=int(job.num_generalization_episodes))


UNTRUSTED_PHASE_FUNCTIONS = {"inference": run_inference_untrusted, "generalization": run_generalization_untrusted}


def phase_function(job: PhaseJob) -> Any:
    """What runs the job's phase: in untrusted mode inference and generalization keep the policy at arm's length."""
    if job.untrusted and job.phase in UNTRUSTED_PHASE_FUNCTIONS:
        return UNTRUSTED_PHASE_FUNCTIONS[job.phase]
    return PHASE_FUNCTIONS[job.phase]
