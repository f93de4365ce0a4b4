"""Surviving mutants: what a mutant changed, whether only a log line, and why one may stay."""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

JUSTIFIED = Path(__file__).with_name("survivors.toml")
SQL_CASE = "equivalent: only the case of SQL keywords and names changed, which SQLite ignores"
_SQL = re.compile(
    r"\b(SELECT|INSERT|DELETE|UPDATE|CREATE|ALTER|PRAGMA|BEGIN|COMMIT|ROLLBACK)\b", re.IGNORECASE
)
# A continuation line of a statement split over several string literals: a clause keyword and
# a `?` placeholder (an English message that merely says "where" has no placeholder).
_SQL_CLAUSE = re.compile(r"\b(WHERE|VALUES|ORDER\s+BY|RETURNING|FROM|SET)\b.*\?", re.IGNORECASE)
_QUOTED = re.compile(r"'[^']*'")
_LOGGERS = {"log", "logger", "logging"}
_MUTANT = re.compile(r"^(?P<module>[\w.]+?)\.(?P<key>x[_ǁ].*?)__mutmut_\d+$")


def function_of(mutant: str) -> str:
    """The function a mutant name points at: "Forwarder._sleep", "gunzip"."""
    m = _MUTANT.match(mutant)
    if m is None:
        return mutant
    key = m["key"]
    if key.startswith("x_"):
        return key[2:]
    _, cls, name = key.split("ǁ")
    return f"{cls}.{name}"


def mutated_lines(diff: str) -> list[str]:
    """The lines a mutant wrote (the diff's `+` lines, stripped)."""
    return [
        line[1:].strip()
        for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]


def _removed_lines(diff: str) -> list[str]:
    return [
        line[1:].strip()
        for line in diff.splitlines()
        if line.startswith("-") and not line.startswith("---")
    ]


def _is_log_call(node: ast.AST) -> TypeGuard[ast.Call]:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    owner = node.func.value
    return isinstance(owner, ast.Name) and owner.id in _LOGGERS


def log_lines(source: str) -> tuple[set[str], set[str]]:
    """Texts of the lines inside logging calls, and of every other line (both stripped)."""
    lines = source.splitlines()
    inside: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if _is_log_call(node) and node.end_lineno is not None:
            inside.update(range(node.lineno, node.end_lineno + 1))
    logged = {lines[i - 1].strip() for i in inside}
    other = {text.strip() for i, text in enumerate(lines, start=1) if i not in inside}
    return logged, other


def only_in_logging(diff: str, lines: tuple[set[str], set[str]]) -> bool:
    """Whether every line the mutant changed belongs to a logging call (and to nothing else)."""
    logged, other = lines
    removed = _removed_lines(diff)
    return bool(removed) and all(r in logged and r not in other for r in removed)


def sql_case_only(diff: str) -> bool:
    """Whether a mutant only changed the case of SQL text (keywords, table and column names),
    leaving its quoted literals as they were: SQLite reads both the same."""
    removed, added = _removed_lines(diff), mutated_lines(diff)
    if not removed or len(removed) != len(added):
        return False
    for old, new in zip(removed, added, strict=True):
        if old == new:
            continue
        if old.lower() != new.lower() or not (_SQL.search(old) or _SQL_CLAUSE.search(old)):
            return False
        if _QUOTED.findall(old) != _QUOTED.findall(new):
            return False
    return removed != added


@dataclass(frozen=True, slots=True)
class Justification:
    """Why a surviving mutant is equivalent to the original or accepted."""

    function: str
    mutant: str  # the mutated line, as the diff shows it
    why: str

    def matches(self, name: str, lines: list[str]) -> bool:
        """Whether this explains the mutant `name` that wrote `lines`."""
        return function_of(name) == self.function and self.mutant in lines


def load_justifications(path: Path = JUSTIFIED) -> dict[str, list[Justification]]:
    """Justified survivors by module, from the data file."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {
        module: [Justification(e["function"], e["mutant"], e["why"]) for e in entries]
        for module, entries in data.items()
    }
