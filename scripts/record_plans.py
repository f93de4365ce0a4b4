"""Record what the built-in understanding makes of every eval question:
`python -m scripts.record_plans`.

Asks each question of the gated eval cases, of every held-out set and of the extra questions of
`scripts.record_answers` (each case's earlier turns first, in its own thread) of the real agent
over the seeded eval world, and writes, for each turn, the question, the thread's focus before
it, the clock, the time zone and the plan the understanding made (intent, tool calls and their
arguments, the focus after, the answer hints) to `tests/unit/agent/nlu/plans.json`, with the
world's vocabulary once. Of the ~800 turns only a cover is kept: turns chosen until every branch
of `agent_bruno/agent/nlu/` that any turn takes is taken by `--per-branch` of them (each
surviving mutant runs every kept turn, so the cover keeps `make mutate` within its budget).
Needs coverage.py (the `mutate` extra).
`tests/unit/agent/nlu/test_recorded_plans.py` understands each kept question again and
compares the plan field by field, so a change in understanding shows up as the questions it
changes: review them (the eval gate says whether the answers are still right), then record
again. Every gated answer was right when the plans were recorded (`make eval-gate`).
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
from agent_bruno.agent.nlu.plan import Plan, plan_dict
from agent_bruno.agent.nlu.understand import understand
from agent_bruno.agent.nlu.vocabulary import Vocabulary
from evals.agent.dataset import build
from evals.agent.run import build_agent, load_cases
from scripts.record_answers import EXTRA, _sets

OUT = Path("tests/unit/agent/nlu/plans.json")


def _plain(value: Any) -> Any:
    """JSON's view of a value (tuples as lists), as the recording reads back."""
    return json.loads(json.dumps(value, ensure_ascii=False))


def vocabulary(words: dict[str, Any]) -> Vocabulary:
    """The vocabulary back from its JSON form (name lists as tuples)."""
    data: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in words.items()}
    return Vocabulary(**data)


class Recorder:
    """Stands in for `understand` in the agent graph and keeps each turn it reads."""

    def __init__(self) -> None:
        self.turns: list[dict[str, Any]] = []
        self.vocabulary: dict[str, Any] | None = None
        self.seen: set[str] = set()

    def __call__(
        self,
        question: str,
        focus: Any,
        vocab: Vocabulary,
        now: float,
        tz: tzinfo,
        **options: Any,
    ) -> Plan:
        plan = understand(question, focus, vocab, now, tz, **options)
        # (the vocabulary's private lookup cache fills as it is used: not part of its words)
        words = _plain({k: v for k, v in asdict(vocab).items() if not k.startswith("_")})
        if self.vocabulary is None:
            self.vocabulary = words
        if words != self.vocabulary:
            raise SystemExit(f"the vocabulary changed at {question!r}")
        turn = {
            "question": question,
            "focus": _plain(focus),
            "now": now,
            "tz": str(tz),
            "forge": bool(options.get("forge")),
            "plan": _plain(plan_dict(plan)),
        }
        key = json.dumps([question, turn["focus"], now], sort_keys=True)
        if key not in self.seen:
            self.seen.add(key)
            self.turns.append(turn)
        return plan

    def __enter__(self) -> Recorder:
        graph.understand = self  # type: ignore[attr-defined]
        return self

    def __exit__(self, *exc: object) -> None:
        graph.understand = understand  # type: ignore[attr-defined]


async def _record(recorder: Recorder) -> None:
    with recorder, tempfile.TemporaryDirectory(prefix="agent-plans-") as tmp:
        dataset = build(Path(tmp) / "eval.db")
        agent = await build_agent(dataset, "builtin")
        try:
            for directory in _sets():
                for case in load_cases(directory):
                    thread = f"{directory.name}:{case.id}"
                    for turn in (*case.turns, case.question):
                        await agent.ask(turn, thread)
            for i, turns in enumerate(EXTRA):
                for turn in turns:
                    await agent.ask(turn, f"extra:{i}")
        finally:
            await agent.close()


def _branches(turns: list[dict[str, Any]], vocab: Vocabulary) -> list[set[tuple[str, int, int]]]:
    """The understanding's branches (file, from line, to line) each turn takes, checking on the
    way that it reads back from JSON to the same plan."""
    coverage = importlib.import_module("coverage")
    cov = coverage.Coverage(branch=True, include=["*/agent/nlu/*"], data_file=None)
    taken = []
    for t in turns:
        cov.start()
        plan = understand(t["question"], t["focus"], vocab, t["now"], ZoneInfo(t["tz"]),
                          forge=t["forge"])  # fmt: skip
        cov.stop()
        if _plain(plan_dict(plan)) != t["plan"]:
            raise SystemExit(f"not reproducible: {t['question']!r}")
        data = cov.get_data()
        taken.append(
            {(Path(f).name, a, b) for f in data.measured_files() for a, b in data.arcs(f) or []}
        )
        cov.erase()
    return taken


def cover(turns: list[dict[str, Any]], vocab: Vocabulary, per_branch: int) -> list[dict[str, Any]]:
    """Turns taking every branch any turn takes `per_branch` times (or as often as any do),
    the turns taking most branches still needed first."""
    taken = _branches(turns, vocab)
    every = set().union(*taken)
    need = {b: min(per_branch, sum(b in t for t in taken)) for b in every}
    chosen: set[int] = set()
    while any(n > 0 for n in need.values()):
        best = max(
            (i for i in range(len(turns)) if i not in chosen),
            key=lambda i: sum(need[b] > 0 for b in taken[i]),
        )
        chosen.add(best)
        for b in taken[best]:
            need[b] -= 1
    return [turns[i] for i in sorted(chosen)]


def main(argv: list[str] | None = None) -> int:
    """Record every turn's plan and write a cover of them as JSON."""
    parser = argparse.ArgumentParser(prog="python -m scripts.record_plans", description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--per-branch", type=int, default=3)
    args = parser.parse_args(argv)
    recorder = Recorder()
    asyncio.run(_record(recorder))
    turns = cover(recorder.turns, vocabulary(recorder.vocabulary or {}), args.per_branch)
    lines = ",\n".join(json.dumps(t, ensure_ascii=False) for t in turns)
    words = json.dumps(recorder.vocabulary, ensure_ascii=False)
    args.out.write_text(f'{{"vocabulary": {words},\n"turns": [\n{lines}\n]}}\n', encoding="utf-8")
    print(f"{len(turns)} of {len(recorder.turns)} turns written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
