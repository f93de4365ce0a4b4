"""Record the built-in answers to every eval question: `python -m scripts.record_answers`.

Runs each question of the gated eval cases and of every held-out set through the real agent over
the seeded eval world (the dataset, the knowledge graph and the alert desk of
`evals.agent.run`), and writes, for each answer composed, the plan, the tool results, the clock,
the time zone and the answer to `tests/unit/agent/compose/answers.json`. The compose unit tests
replay them: the same plan and tool results must give the same words and numbers, so a change in
an answer writer shows up as the answers it changes (review them, then record again).

`--from-tests PATH ...` also records the answers composed while those pytest files run (their
worlds have what the eval world lacks: anomaly episodes, raw readings from a reporter, incidents
recorded and corrected).

Of the ~800 distinct answers only a cover is kept: answers chosen until every branch of
`agent_bruno/agent/compose/` that any answer takes is taken by `--per-branch` of them (or by all
that take it), smaller answers first. Needs coverage.py (the `mutate` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import tempfile
from dataclasses import asdict
from datetime import tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agent_bruno.agent import graph
from agent_bruno.agent.compose import compose
from agent_bruno.agent.graph import _plan_from_dict, _record_from_dict
from agent_bruno.agent.nlu.plan import Plan
from agent_bruno.agent.tools.base import ToolCallRecord
from evals.agent.dataset import build
from evals.agent.run import CASES_DIR, build_agent, load_cases

OUT = Path("tests/unit/agent/compose/answers.json")
# Answer shapes and wordings no eval case asks for, asked over the same world (each tuple one
# thread); these answers are all kept, not only a cover.
EXTRA: tuple[tuple[str, ...], ...] = (
    ("what sensors do you have",),
    ("list all locations",),
    ("which metrics do you track in the greenhouse",),
    ("what can you do",),
    ("hello there",),
    ("asdf qwerty zork",),
    ("show me the raw readings",),
    ("show me the raw readings from pi-node-1",),
    ("has this happened before",),
    ("show me the incident history of the greenhouse",),
    ("why is pi-node-1 under high load?",),
    ("what units do you use",),
    ("what is pi-node-3 running",),
    # Units asked and not applicable, SoC and humidity words, three places, rankings by node.
    ("compare the temperature in the warehouse and the garage",),
    ("compare the warehouse temperature now with two months ago",),
    ("compare the soc temperature of pi-node-1 and pi-node-3",),
    ("is the office drier than the greenhouse",),
    ("compare humidity in the greenhouse and the office",),
    ("compare temperature in warehouse, office, greenhouse and server-room",),
    ("which room is the coldest in fahrenheit",),
    ("rank the nodes by cpu",),
    ("which pi has the hottest soc",),
    ("which pi is the hottest",),
    ("rank the rooms by humidity in kelvin",),
    ("humidity in the office in fahrenheit",),
    ("pressure trend in the greenhouse today in fahrenheit",),
    ("warehouse temperature trend today in fahrenheit",),
    ("min and max temperature in the warehouse today in fahrenheit",),
    ("how many metrics do you track",),
    ("how many readings from pi-node-1 today",),
    ("how many anomaly episodes today",),
    ("what unit is humidity in and what about noise",),
    ("which nodes are offline",),
    ("are any nodes unhealthy",),
    ("which nodes are critical",),
    ("what's the load on pi-node-3",),
    ("motion in the garage today",),
    ("average co2 in the office since 09:00 in fahrenheit",),
    ("what's wrong with pi-node-1",),
    ("why is the garage sensor silent",),
    ("rank rooms by max temperature yesterday",),
    ("what's the temperature in the warehouse in kelvin and how did it change today",),
)


def _sets() -> list[Path]:
    root = CASES_DIR.parent
    return [CASES_DIR, *sorted(p for p in root.glob("heldout*") if p.is_dir())]


class Recorder:
    """Stands in for `compose` in the agent graph and keeps each distinct answer it gives."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.seen: set[str] = set()
        self.question = "(from a test)"
        self.extra = False
        self.kept: set[int] = set()  # items kept whatever the cover

    def __call__(self, plan: Plan, calls: list[ToolCallRecord], now: float, tz: tzinfo) -> str:
        answer = compose(plan, calls, now, tz)
        item = {
            "question": self.question,
            "plan": asdict(plan),
            "calls": [c.as_dict() for c in calls],
            "now": now,
            "tz": str(tz),
            "answer": answer,
        }
        key = json.dumps([item["plan"], item["calls"]], sort_keys=True, default=str)
        if key not in self.seen:
            self.seen.add(key)
            if self.extra:
                self.kept.add(len(self.items))
            self.items.append(item)
        return answer

    def __enter__(self) -> Recorder:
        graph.compose = self  # type: ignore[attr-defined,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        graph.compose = compose  # type: ignore[attr-defined]


async def _record_evals(recorder: Recorder) -> None:
    with recorder, tempfile.TemporaryDirectory(prefix="agent-answers-") as tmp:
        dataset = build(Path(tmp) / "eval.db")
        agent = await build_agent(dataset, "builtin")
        try:
            for directory in _sets():
                for case in load_cases(directory):
                    thread = f"{directory.name}:{case.id}"
                    for turn in (*case.turns, case.question):
                        recorder.question = turn
                        await agent.ask(turn, thread)
            recorder.extra = True
            for i, turns in enumerate(EXTRA):
                for turn in turns:
                    recorder.question = turn
                    await agent.ask(turn, f"extra:{i}")
            recorder.extra = False
        finally:
            await agent.close()


def _record_tests(recorder: Recorder, paths: list[str]) -> None:
    pytest = importlib.import_module("pytest")
    with recorder:
        recorder.question = "(from a test)"
        pytest.main(
            [
                "-q",
                "-p",
                "no:cacheprovider",
                "-W",
                "ignore::pytest.PytestAssertRewriteWarning",
                *paths,
            ]
        )


def _replayable(item: dict[str, Any]) -> bool:
    """The item reads back from JSON as it is (tool data of plain types) and gives its answer."""
    back = json.loads(json.dumps(item, default=str))
    try:
        zone = ZoneInfo(back["tz"])
        plan = _plan_from_dict(back["plan"])
        again = compose(plan, [_record_from_dict(c) for c in back["calls"]], back["now"], zone)
    except Exception:  # a test's odd world (a fixed-offset zone, a stand-in tool): left out
        return False
    return bool(again == item["answer"])


def _branches(items: list[dict[str, Any]]) -> list[set[tuple[str, int, int]]]:
    """The compose branches (file, from line, to line) each recorded answer takes."""
    coverage = importlib.import_module("coverage")
    cov = coverage.Coverage(branch=True, include=["*/agent/compose/*"], data_file=None)
    taken = []
    for item in items:
        plan = _plan_from_dict(item["plan"])
        records = [_record_from_dict(c) for c in item["calls"]]
        cov.start()
        answer = compose(plan, records, item["now"], ZoneInfo(item["tz"]))
        cov.stop()
        if answer != item["answer"]:
            raise SystemExit(f"not reproducible: {item['question']!r}")
        data = cov.get_data()
        taken.append(
            {(Path(f).name, a, b) for f in data.measured_files() for a, b in data.arcs(f) or []}
        )
        cov.erase()
    return taken


def cover(
    items: list[dict[str, Any]], per_branch: int, kept: set[int] | None = None
) -> list[dict[str, Any]]:
    """Answers taking every branch `per_branch` times (or as often as any do), small first,
    beside the `kept` ones."""
    taken = _branches(items)
    every = set().union(*taken)
    need = {b: min(per_branch, sum(b in t for t in taken)) for b in every}
    size = [len(json.dumps(i, default=str)) ** 0.5 for i in items]
    chosen: set[int] = set(kept or ())
    for i in chosen:
        for b in taken[i]:
            need[b] -= 1
    while any(n > 0 for n in need.values()):
        best = max(
            (i for i in range(len(items)) if i not in chosen),
            key=lambda i: sum(need[b] > 0 for b in taken[i]) / size[i],
        )
        chosen.add(best)
        for b in taken[best]:
            need[b] -= 1
    return [items[i] for i in sorted(chosen)]


def main(argv: list[str] | None = None) -> int:
    """Record every answer and write them as JSON."""
    parser = argparse.ArgumentParser(prog="python -m scripts.record_answers", description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--per-branch", type=int, default=3)
    parser.add_argument("--from-tests", nargs="*", default=[], help="pytest files to record too")
    args = parser.parse_args(argv)
    recorder = Recorder()
    asyncio.run(_record_evals(recorder))
    if args.from_tests:
        _record_tests(recorder, args.from_tests)
    good = [n for n, i in enumerate(recorder.items) if _replayable(i)]
    everything = [recorder.items[n] for n in good]
    kept = {k for k, n in enumerate(good) if n in recorder.kept}
    items = cover(everything, args.per_branch, kept)
    lines = ",\n".join(json.dumps(i, ensure_ascii=False, default=str) for i in items)
    args.out.write_text(f"[\n{lines}\n]\n", encoding="utf-8")
    print(f"{len(items)} of {len(everything)} answers written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
