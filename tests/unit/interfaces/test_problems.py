"""Every problem code has its section in docs/problems.md, where its `type` URI points."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_bruno.api.errors import PROBLEMS, TYPE_BASE, code_for, problem

DOC = Path(__file__).resolve().parents[3] / "docs" / "problems.md"


@pytest.mark.parametrize("code", sorted(PROBLEMS))
def test_every_problem_is_documented_where_its_type_points(code: str) -> None:
    anchor = problem(400, "x", code)["type"].removeprefix(TYPE_BASE)
    assert f"\n## {anchor}\n" in DOC.read_text(encoding="utf-8")
    assert PROBLEMS[code].title in DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("status", "reason", "code"),
    [(422, "bad_parameter", "bad_parameter"), (404, "", "not_found"), (418, "", "bad_request"),
     (503, "nonsense", "unavailable"), (502, "", "internal_error")],
)  # fmt: skip
def test_an_error_without_a_documented_reason_gets_its_statuss_code(status, reason, code):
    assert code_for(status, reason) == code


def test_extension_members_never_replace_the_standard_ones() -> None:
    body = problem(
        422, "what", "bad_parameter", "/v1/x", {"title": "no", "code": "x", "parameter": "a"}
    )
    assert (body["title"], body["code"], body["parameter"]) == ("Bad query parameter",
                                                               "bad_parameter", "a")  # fmt: skip
