"""Ask the agent every case over the seeded dataset and score it: `python -m evals.agent.run`.

A case passes when every expected tool call (name and a subset of its arguments) is among the
calls of its last turn, every fact is in the answer and no `absent` string is. Several sets
(`--cases` repeated) share one dataset and one agent. Exit status: 0 when the overall and
every category's accuracy of every set reach their targets, 1 when one does not, 2 when the
cases or the agent cannot be loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from evals.agent.cases import (
    CASES_DIR,
    CATEGORIES,
    Call,
    Case,
    CaseError,
    Outcome,
    Report,
    ToolExpectation,
    ToolSpec,
    load_cases,
    parse_cases,
)
from evals.agent.dataset import Dataset, build
from evals.agent.harness import Asker, BuiltAgent, build_agent, run_cases
from evals.agent.scoring import contains_fact, default_time_parser, normalize, score

__all__ = [  # the names tests and tools import from here
    "CASES_DIR",
    "CATEGORIES",
    "Asker",
    "BuiltAgent",
    "Call",
    "Case",
    "CaseError",
    "Outcome",
    "Report",
    "ToolExpectation",
    "ToolSpec",
    "build_agent",
    "contains_fact",
    "default_time_parser",
    "load_cases",
    "main",
    "meets_targets",
    "normalize",
    "parse_cases",
    "print_report",
    "run_cases",
    "score",
    "to_json",
]

# ------------------------------------------------------------------------------ reporting


def _excerpt(text: str, limit: int = 240) -> str:
    """The answer on one line, cut to `limit` characters with a visible mark."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def print_report(report: Report, min_overall: float, min_category: float) -> None:
    """The table by category, then each failure with its reasons and the answer."""
    print(f"{'category':<22} {'passed':>6} {'total':>6} {'accuracy':>9}")
    for category, (passed, total) in report.by_category().items():
        mark = "" if passed / total >= min_category else "  < target"
        print(f"{category:<22} {passed:>6} {total:>6} {100 * passed / total:>8.1f}%{mark}")
    total = len(report.outcomes)
    print(f"{'overall':<22} {report.passed:>6} {total:>6} {100 * report.overall:>8.1f}%")
    failures = [o for o in report.outcomes if not o.passed]
    if failures:
        print(f"\n{len(failures)} failed:")
    for o in failures:
        turns = " → ".join((*o.case.turns, o.case.question))
        print(f"- {o.case.id}: {turns}")
        for reason in o.reasons:
            print(f"    {reason}")
        print(f"    answer: {_excerpt(o.answer)!r}")


def to_json(report: Report, seconds: float, mode: str) -> dict[str, Any]:
    """Results per category and per case."""
    return {
        "mode": mode,
        "cases": len(report.outcomes),
        "passed": report.passed,
        "overall": round(report.overall, 4),
        "seconds": round(seconds, 2),
        "categories": {
            c: {"passed": p, "total": t, "accuracy": round(p / t, 4)}
            for c, (p, t) in report.by_category().items()
        },
        "results": [
            {
                "id": o.case.id,
                "category": o.case.category,
                "passed": o.passed,
                "reasons": list(o.reasons),
                "answer": o.answer,
                "mode": o.mode,
                "calls": [{"name": c.name, "args": dict(c.args)} for c in o.calls],
                "seconds": round(o.seconds, 3),
            }
            for o in report.outcomes
        ],
    }


def meets_targets(report: Report, min_overall: float, min_category: float) -> bool:
    """Overall ≥ min_overall and every category ≥ min_category."""
    return report.overall >= min_overall and all(
        p / t >= min_category for p, t in report.by_category().values()
    )


async def _evaluate(
    args: argparse.Namespace, sets: list[tuple[str, list[Case]]]
) -> tuple[list[tuple[str, Report]], Dataset]:
    """Build the dataset and the agent once, in a temporary directory, and run every set."""
    reports = []
    with tempfile.TemporaryDirectory(prefix="agent-eval-") as tmp:
        dataset = build(Path(tmp) / "eval.db")
        agent = await build_agent(dataset, args.mode)
        try:
            for name, cases in sets:
                report = await run_cases(cases, agent.ask, dataset.now, dataset.tz, args.verbose)
                reports.append((name, report))
        finally:
            await agent.close()
    return reports, dataset


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation, print accuracy by category and write JSON results if asked."""
    parser = argparse.ArgumentParser(prog="python -m evals.agent.run", description=__doc__)
    parser.add_argument(
        "--cases",
        type=Path,
        action="append",
        default=None,
        help="directory of *.yaml (repeat for several sets; default: the gated cases/)",
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="write results here (several sets: by set name)"
    )
    parser.add_argument("--min-overall", type=float, default=0.98)
    parser.add_argument("--min-category", type=float, default=0.95)
    parser.add_argument("--mode", choices=["builtin"], default="builtin")
    parser.add_argument("--only", default=None, help="run only case ids containing this text")
    parser.add_argument("--verbose", action="store_true", help="print each case as it runs")
    args = parser.parse_args(argv)

    sets: list[tuple[str, list[Case]]] = []
    for directory in args.cases or [CASES_DIR]:
        try:
            cases = load_cases(directory)
        except (CaseError, OSError, yaml.YAMLError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.only:
            cases = [c for c in cases if args.only in c.id]
        sets.append((directory.name, cases))
    started = time.perf_counter()
    try:
        reports, _ = asyncio.run(_evaluate(args, sets))
    except ImportError as exc:
        print(f"error: the agent cannot be imported ({exc}); is agent_bruno.agent complete?")
        return 2
    elapsed = time.perf_counter() - started
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    total = sum(len(c) for _, c in sets)
    print(f"agent eval ({args.mode}): {total} cases in {elapsed:.1f}s, {when}")
    ok = True
    for name, report in reports:
        print(f"\n== {name}: {len(report.outcomes)} cases\n")
        print_report(report, args.min_overall, args.min_category)
        if not meets_targets(report, args.min_overall, args.min_category):
            ok = False
            print(
                f"\nFAIL ({name}): overall {100 * report.overall:.1f}% "
                f"(target {100 * args.min_overall:g}%), "
                f"every category must reach {100 * args.min_category:g}%"
            )
        else:
            print(
                f"\nok ({name}): overall {100 * report.overall:.1f}% >= {100 * args.min_overall:g}%"
            )
    if args.json is not None:
        payloads = {name: to_json(report, elapsed, args.mode) for name, report in reports}
        payload = next(iter(payloads.values())) if len(payloads) == 1 else {"sets": payloads}
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
