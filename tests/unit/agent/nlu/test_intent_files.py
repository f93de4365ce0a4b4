"""Reading the intent files: a malformed one is refused with its file and the problem named,
and the defaults a file may leave out (plan, answer, description, reply) are what the
understanding and the answer writers then use."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agent_bruno.agent.nlu.intents import IntentError, IntentSpec, digest, intents

EXAMPLES = "\n".join(f"  - example question {i}" for i in range(5))


def write(directory: Path, name: str, body: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_a_file_leaving_out_plan_answer_and_reply_takes_their_defaults(tmp_path: Path):
    path = write(tmp_path, "greet", f"intent: greet\nexamples:\n{EXAMPLES}\n")
    assert intents(tmp_path) == {
        "greet": IntentSpec(
            "greet", "", "greet", "greet", None,
            tuple(f"example question {i}" for i in range(5)), str(path),
        )
    }  # fmt: skip


def test_the_answer_defaults_to_the_plan_and_texts_are_stripped(tmp_path: Path):
    body = (
        "intent: greet\ndescription: '  says hello  '\nplan: unsupported\n"
        f"reply: '  not yet  '\nexamples:\n{EXAMPLES}\n"
    )
    write(tmp_path, "greet", body)
    spec = intents(tmp_path)["greet"]
    assert (spec.description, spec.plan, spec.answer, spec.reply) == (
        "says hello", "unsupported", "unsupported", "not yet",
    )  # fmt: skip
    (tmp_path / "b").mkdir()
    other = f"intent: greet\nplan: status\nanswer: overview\nexamples:\n{EXAMPLES}\n"
    write(tmp_path / "b", "greet", other)
    spec = intents(tmp_path / "b")["greet"]
    assert (spec.plan, spec.answer, spec.reply) == ("status", "overview", None)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("- a list", "expected a mapping with keys among"),
        (f"intent: greet\nextra: 1\nexamples:\n{EXAMPLES}\n", "expected a mapping with keys"),
        (f"examples:\n{EXAMPLES}\n", "expected a mapping with keys"),
        (f"intent: hello\nexamples:\n{EXAMPLES}\n", "`intent` must be the file's name, 'greet'"),
        (f"intent: 3\nexamples:\n{EXAMPLES}\n", "`intent` must be the file's name"),
        ("intent: greet\nexamples: one\n", "`examples` must list at least 5"),
        ("intent: greet\nexamples:\n  - a\n  - b\n  - c\n  - d\n", "at least 5 example"),
        ("intent: greet\n", "`examples` must list at least 5"),
        (f"intent: greet\nexamples:\n{EXAMPLES}\n  - '  '\n", "every example must be a non-empty"),
        (f"intent: greet\nexamples:\n{EXAMPLES}\n  - 7\n", "every example must be a non-empty"),
        (f"intent: greet\nplan: 4\nexamples:\n{EXAMPLES}\n", "`plan` and `reply` must be strings"),
        (f"intent: greet\nreply: [a]\nexamples:\n{EXAMPLES}\n", "`plan` and `reply` must be"),
        (f"intent: greet\nplan: unsupported\nexamples:\n{EXAMPLES}\n",
         "an unsupported intent needs the `reply` that says so"),
        (f"intent: greet\nplan: unsupported\nreply: ''\nexamples:\n{EXAMPLES}\n",
         "an unsupported intent needs the `reply`"),
    ],
)  # fmt: skip
def test_a_malformed_file_is_refused_naming_it_and_the_problem(
    tmp_path: Path, body: str, problem: str
):
    path = write(tmp_path, "greet", body)
    with pytest.raises(IntentError) as caught:
        intents(tmp_path)
    assert str(caught.value).startswith(f"{path}: ")
    assert problem in str(caught.value)


def test_five_examples_are_enough(tmp_path: Path):
    write(tmp_path, "greet", "intent: greet\nexamples:\n  - a\n  - b\n  - c\n  - d\n  - e\n")
    assert intents(tmp_path)["greet"].examples == ("a", "b", "c", "d", "e")


def test_an_example_of_two_intents_is_refused(tmp_path: Path):
    write(tmp_path, "greet", f"intent: greet\nexamples:\n{EXAMPLES}\n")
    path = write(
        tmp_path, "wave", f"intent: wave\nexamples:\n  - Example  QUESTION 3\n{EXAMPLES}\n"
    )
    with pytest.raises(IntentError, match="is also an example of 'greet'") as caught:
        intents(tmp_path)
    assert str(caught.value).startswith(f"{path}: example 'Example  QUESTION 3'")


def test_an_empty_directory_is_refused(tmp_path: Path):
    with pytest.raises(IntentError, match=r"no intent files \(\*\.yaml\) in "):
        intents(tmp_path)


def test_the_training_digest_hashes_the_examples_as_utf_8_json():
    # The shipped model records this digest; another byte form would call it stale.
    assert (
        digest(["22 °C à côté"], ["current"])
        == hashlib.sha256('[["22 °C à côté"], ["current"]]'.encode()).hexdigest()
    )
    assert digest(["a"], ["x"]) != digest(["a"], ["y"])
