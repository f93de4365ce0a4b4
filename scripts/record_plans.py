"""Record what the built-in understanding makes of every eval question:
`python -m scripts.record_plans`.

Asks each question of the gated eval cases, of every held-out set and of the extra questions of
`scripts.record_answers` (each case's earlier turns first, in its own thread) of the real agent
over the seeded eval world, and writes, for each turn, the question, the thread's focus before
it, the clock, the time zone and the plan the understanding made (intent, tool calls and their
arguments, the focus after, the answer hints) to `tests/unit/agent/nlu/plans.json`, with the
world's vocabulary once. `tests/unit/agent/nlu/test_recorded_plans.py` understands each question
again and compares the plan field by field, so a change in understanding shows up as the
questions it changes: review them (the eval gate says whether the answers are still right),
then record again. Every gated answer was right when the plans were recorded (`make eval-gate`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from dataclasses import asdict
from datetime import tzinfo
from pathlib import Path
from typing import Any

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
        words = _plain(asdict(vocab))
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


def main(argv: list[str] | None = None) -> int:
    """Record every turn's plan and write them as JSON."""
    parser = argparse.ArgumentParser(prog="python -m scripts.record_plans", description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    recorder = Recorder()
    asyncio.run(_record(recorder))
    lines = ",\n".join(json.dumps(t, ensure_ascii=False) for t in recorder.turns)
    vocabulary = json.dumps(recorder.vocabulary, ensure_ascii=False)
    args.out.write_text(
        f'{{"vocabulary": {vocabulary},\n"turns": [\n{lines}\n]}}\n', encoding="utf-8"
    )
    print(f"{len(recorder.turns)} turns written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
