"""Every problem code has its section in docs/problems.md, where its `type` URI points."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_bruno.api.errors import PROBLEMS, TYPE_BASE, code_for, problem
from agent_bruno.api.schemas import rfc3339

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


@pytest.mark.parametrize(
    ("ts", "iso"),
    [
        (1764158400.0, "2025-11-26T12:00:00.000Z"),
        (0.25, "1970-01-01T00:00:00.250Z"),
        (None, None),
        (-2.6e15, None),  # a silence starting 83 million years ago (found by schemathesis)
        (1e20, None),
        (float("nan"), None),
    ],
)
def test_rfc3339_twins_never_fail_a_response(ts: float | None, iso: str | None) -> None:
    assert rfc3339(ts) == iso
