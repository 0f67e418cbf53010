"""Static validation of submissions: re-exports and wrapped functions are accepted, parameters the
harness cannot fill are reported, and misspelled participant arguments are an error before a run."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from a2perf_core.cli import main
from a2perf_core.runner.submission import SubmissionError, check_participant_args, load_submission

TRAIN = "def train():\n    pass\n"
INFERENCE = """
def load_policy(env, **load_kwargs):
    return None

def preprocess_observation(observation):
    return observation

def infer_once(policy, observation):
    return 0
"""


def submission(root: Path, train: str = TRAIN, inference: str = INFERENCE, **extra_files: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    files = {"__init__.py": "", "requirements.txt": "", "train.py": train, "inference.py": inference, **extra_files}
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def problems(root: Path) -> list[str]:
    with pytest.raises(SubmissionError) as caught:
        load_submission(str(root))
    return caught.value.problems


IMPL = """
def load_policy(env, **kw):
    return None

def preprocess_observation(observation):
    return observation

def infer_once(policy, observation):
    return 0
"""


def test_functions_re_exported_from_the_submissions_own_module_are_accepted(tmp_path):
    inference = "from policy_impl import infer_once, load_policy\nfrom .helpers import preprocess_observation\n"
    helpers = "from .deep.impl import preprocess_observation\n"
    root = submission(
        tmp_path / "sub",
        inference=inference,
        **{"policy_impl.py": IMPL, "helpers.py": helpers, "deep/__init__.py": "", "deep/impl.py": IMPL},
    )
    loaded = load_submission(str(root))
    assert loaded.signatures["infer_once"].positional == ("policy", "observation")
    assert loaded.signatures["preprocess_observation"].positional == ("observation",)


def test_a_re_export_is_checked_where_the_function_is_defined(tmp_path):
    bad_impl = IMPL.replace("def infer_once(policy, observation):", "def infer_once(policy, observation, temperature):")
    inference = "from policy_impl import infer_once, load_policy, preprocess_observation\n"
    root = submission(tmp_path / "sub", inference=inference, **{"policy_impl.py": bad_impl})
    assert problems(root) == [
        "policy_impl.py: infer_once() requires the parameter 'temperature', the harness never passes it; "
        "give it a default"
    ]


def test_a_name_the_re_exported_module_does_not_define_is_reported(tmp_path):
    inference = "from policy_impl import infer_once, load_policy, preprocess_observation\n"
    root = submission(tmp_path / "sub", inference=inference, **{"policy_impl.py": "def infer_once(p, o):\n    pass\n"})
    assert problems(root) == [
        "policy_impl.py: no top-level function load_policy()",
        "policy_impl.py: no top-level function preprocess_observation()",
    ]


def test_wrapped_functions_and_installed_packages_cannot_be_checked_statically_and_are_accepted(tmp_path):
    inference = """
    import functools
    from numpy import asarray as preprocess_observation

    def _infer(policy, observation):
        return 0

    def wrap(f):
        @functools.wraps(f)
        def inner(*args, **kwargs):
            return f(*args, **kwargs)
        return inner

    infer_once = wrap(_infer)
    load_policy = functools.partial(lambda env, **kw: None)
    """
    loaded = load_submission(str(submission(tmp_path / "sub", inference=inference)))
    assert loaded.signatures["infer_once"] is None and loaded.signatures["preprocess_observation"] is None


def test_a_name_bound_to_a_lambda_or_an_alias_is_checked(tmp_path):
    inference = """
    def _load(env, checkpoint):
        return None

    load_policy = _load
    preprocess_observation = lambda observation: observation
    infer_once = lambda policy, observation: 0
    """
    loaded = load_submission(str(submission(tmp_path / "sub", inference=inference)))
    assert loaded.signatures["load_policy"].required == ("env", "checkpoint")
    assert loaded.signatures["infer_once"].positional == ("policy", "observation")
    with pytest.raises(SubmissionError, match="load_policy\\(\\) requires 'checkpoint'"):
        check_participant_args(loaded, [])


def test_a_name_that_clearly_is_not_callable_is_rejected(tmp_path):
    inference = INFERENCE + "\ninfer_once = 3\n"
    assert problems(submission(tmp_path / "sub", inference=inference)) == [
        "inference.py: infer_once is bound to a constant, not a function"
    ]


def test_import_cycles_stop_at_the_depth_bound(tmp_path):
    inference = "from a import infer_once\n" + INFERENCE.replace(
        "def infer_once(policy, observation):", "def _i(p, o):"
    )
    root = submission(
        tmp_path / "sub",
        inference=inference,
        **{"a.py": "from b import infer_once\n", "b.py": "from a import infer_once\n"},
    )
    assert load_submission(str(root)).signatures["infer_once"] is None


def test_positional_only_extra_parameters_are_rejected_at_once(tmp_path):
    root = submission(tmp_path / "sub", train="def train(lr, /):\n    pass\n")
    assert problems(root) == [
        "train.py: train() requires the parameter 'lr', positional-only, so no participant argument can fill it; "
        "give it a default"
    ]


@pytest.mark.parametrize(
    ("train", "inference", "missing"),
    [
        ("def train(lr):\n    pass\n", INFERENCE, "train() requires 'lr'"),
        (TRAIN, INFERENCE.replace("def load_policy(env, **load_kwargs):", "def load_policy(env, path):"),
         "load_policy() requires 'path'"),
        ("def train(*, lr):\n    pass\n", INFERENCE, "train() requires 'lr'"),
    ],
)  # fmt: skip
def test_a_required_parameter_no_participant_argument_gives_is_an_error(tmp_path, train, inference, missing):
    loaded = load_submission(str(submission(tmp_path / "sub", train=train, inference=inference)))
    with pytest.raises(SubmissionError, match=re.escape(f"{missing}, which only a participant argument gives")):
        check_participant_args(loaded, [])
    check_participant_args(loaded, ["lr", "path"] if "lr" in train else ["path"])


def test_a_required_parameter_is_needed_only_by_the_phases_that_call_it(tmp_path):
    loaded = load_submission(str(submission(tmp_path / "sub", train="def train(lr):\n    pass\n")))
    check_participant_args(loaded, [], phases=["inference", "generalization"])
    with pytest.raises(SubmissionError, match="train\\(\\) requires 'lr'"):
        check_participant_args(loaded, [], phases=["train"])


def test_a_misspelled_participant_argument_is_an_error(tmp_path):
    inference = INFERENCE.replace("def load_policy(env, **load_kwargs):", "def load_policy(env, checkpoint=None):")
    train = "def train(learning_rate=3e-4, *, steps=10):\n    pass\n"
    loaded = load_submission(str(submission(tmp_path / "sub", train=train, inference=inference)))
    check_participant_args(loaded, ["learning_rate", "steps", "checkpoint"])
    with pytest.raises(SubmissionError) as caught:
        check_participant_args(loaded, ["learning_rte", "checkpoint"])
    assert caught.value.problems == [
        "participant argument 'learning_rte' is not a parameter of train() or load_policy() "
        "(did you mean 'learning_rate'?): train(learning_rate, steps); load_policy(env, checkpoint)"
    ]


def test_any_name_is_accepted_when_a_function_takes_kwargs_or_cannot_be_read(tmp_path):
    loaded = load_submission(str(submission(tmp_path / "sub")))  # load_policy(env, **load_kwargs)
    check_participant_args(loaded, ["anything"])
    wrapped = (
        INFERENCE.replace("def load_policy(env, **load_kwargs):", "def _load(env):") + "\nload_policy = wrap(_load)\n"
    )
    loaded = load_submission(str(submission(tmp_path / "wrapped", inference=wrapped)))
    check_participant_args(loaded, ["anything"])


def test_the_run_command_rejects_a_misspelled_participant_argument_before_anything_starts(
    with_example_domain, tmp_path
):
    root = submission(tmp_path / "sub", train="def train(learning_rate=0.1):\n    pass\n")
    out = tmp_path / "run"
    args = ["run", str(root), "--task", "ExampleCorridor-v0", "--out", str(out), "--participant-arg", "learnin_rate=1"]
    without_kwargs = INFERENCE.replace("**load_kwargs", "checkpoint=None")
    (root / "inference.py").write_text(textwrap.dedent(without_kwargs))
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "participant argument 'learnin_rate' is not a parameter" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_the_run_command_rejects_a_missing_required_parameter_before_training(with_example_domain, tmp_path):
    inference = INFERENCE.replace("def load_policy(env, **load_kwargs):", "def load_policy(env, path):")
    root = submission(tmp_path / "sub", inference=inference)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(root), "--task", "ExampleCorridor-v0", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "load_policy() requires 'path'" in result.output
    assert not out.exists()
