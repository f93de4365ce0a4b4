"""The eval's cases: what each asks and expects (`Case`), how a run went (`Outcome`, `Report`),
and reading them from YAML files (`load_cases`), one file per category."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CASES_DIR = Path(__file__).with_name("cases")
CATEGORIES = (
    "current_value",
    "statistics",
    "time_expressions",
    "units",
    "series",
    "anomalies",
    "node_health",
    "diagnosis",
    "comparisons_rankings",
    "counts",
    "unknown_names",
    "follow_ups",
    "subscriptions",
)

_CASE_KEYS = {"id", "turns", "question", "tools", "facts", "absent"}


class CaseError(ValueError):
    """A case file is malformed; the message names the file, the case and the problem."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One acceptable call: the tool's name and arguments the call must carry."""

    name: str
    args: Mapping[str, Any]

    def describe(self) -> str:
        """`name(k=v, ...)` for failure reports."""
        inner = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.name}({inner})"


@dataclass(frozen=True, slots=True)
class ToolExpectation:
    """An expected call: any one of `alternatives` satisfies it."""

    alternatives: tuple[ToolSpec, ...]

    def describe(self) -> str:
        """The alternatives joined by ' or '."""
        return " or ".join(a.describe() for a in self.alternatives)


@dataclass(frozen=True, slots=True)
class Case:
    """One question, asked after `turns` in the same thread, with what the answer needs."""

    id: str
    category: str
    turns: tuple[str, ...]
    question: str
    tools: tuple[ToolExpectation, ...]
    facts: tuple[str, ...]
    absent: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Call:
    """A tool call the agent made."""

    name: str
    args: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one case went."""

    case: Case
    passed: bool
    reasons: tuple[str, ...]
    answer: str
    calls: tuple[Call, ...]
    seconds: float
    mode: str = ""


@dataclass(slots=True)
class Report:
    """Accuracy overall and per category."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def passed(self) -> int:
        """Cases passed."""
        return sum(o.passed for o in self.outcomes)

    @property
    def overall(self) -> float:
        """Fraction of all cases passed."""
        return self.passed / len(self.outcomes) if self.outcomes else 0.0

    def by_category(self) -> dict[str, tuple[int, int]]:
        """category → (passed, total), in the order of CATEGORIES."""
        counts = {c: [0, 0] for c in CATEGORIES}
        for o in self.outcomes:
            entry = counts.setdefault(o.case.category, [0, 0])
            entry[0] += int(o.passed)
            entry[1] += 1
        return {c: (p, t) for c, (p, t) in counts.items() if t}


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    """A list of non-empty strings, or CaseError."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CaseError(f"{where}: `{key}` must be a list of non-empty strings, got {value!r}")
    return tuple(value)


def _spec(raw: Any, where: str) -> ToolSpec:
    """One `{name, args}` mapping."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise CaseError(f"{where}: a tool needs a `name` (and optional `args`), got {raw!r}")
    args = raw.get("args") or {}
    if not isinstance(args, dict) or set(raw) - {"name", "args"}:
        raise CaseError(f"{where}: tool {raw['name']!r} takes only `name` and an `args` mapping")
    return ToolSpec(raw["name"], dict(args))


def _expectation(raw: Any, where: str) -> ToolExpectation:
    """`{name, args}` or `{any_of: [{name, args}, ...]}`."""
    if isinstance(raw, dict) and "any_of" in raw:
        options = raw["any_of"]
        if not isinstance(options, list) or not options or len(raw) != 1:
            raise CaseError(f"{where}: `any_of` must be the only key, with a non-empty list")
        return ToolExpectation(tuple(_spec(o, where) for o in options))
    return ToolExpectation((_spec(raw, where),))


def parse_cases(text: str, category: str, source: str = "<text>") -> list[Case]:
    """Cases of one category from YAML text."""
    data = yaml.safe_load(text)
    if not isinstance(data, list):
        raise CaseError(f"{source}: expected a list of cases, got {type(data).__name__}")
    cases = []
    for i, raw in enumerate(data):
        where = f"{source} case {i + 1}"
        if not isinstance(raw, dict):
            raise CaseError(f"{where}: a case is a mapping, got {raw!r}")
        where = f"{source} case {raw.get('id', i + 1)!r}"
        unknown = set(raw) - _CASE_KEYS
        if unknown or not {"id", "question"} <= set(raw):
            raise CaseError(
                f"{where}: keys must be {sorted(_CASE_KEYS)} with `id` and `question` "
                f"required; got {sorted(raw)}"
            )
        if not isinstance(raw["id"], str) or not isinstance(raw["question"], str):
            raise CaseError(f"{where}: `id` and `question` must be strings")
        tools = raw.get("tools") or []
        if not isinstance(tools, list):
            raise CaseError(f"{where}: `tools` must be a list")
        cases.append(
            Case(
                id=raw["id"],
                category=category,
                turns=_strings(raw.get("turns"), where, "turns"),
                question=raw["question"],
                tools=tuple(_expectation(t, where) for t in tools),
                facts=_strings(raw.get("facts"), where, "facts"),
                absent=_strings(raw.get("absent"), where, "absent"),
            )
        )
    return cases


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    """Every case of `directory/*.yaml`; the file name is the category. Ids must be unique."""
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise CaseError(f"no case files (*.yaml) in {directory}")
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in files:
        category = path.stem
        if category not in CATEGORIES:
            raise CaseError(f"{path}: unknown category {category!r}; use one of {CATEGORIES}")
        for case in parse_cases(path.read_text(encoding="utf-8"), category, str(path)):
            if case.id in seen:
                raise CaseError(f"{path}: case id {case.id!r} is also used in {seen[case.id]}")
            seen[case.id] = str(path)
            cases.append(case)
    return cases
