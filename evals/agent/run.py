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
import importlib
import json
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import yaml

from evals.agent.dataset import Dataset, build

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
TIME_ARGS = ("start", "end")
TIME_TOLERANCE_S = 120.0
# What a tool uses when `start` is not given; a call that leaves it out asked for this window.
DEFAULT_WINDOW_S: Mapping[str, float] = {
    "metric_summary": 3600.0,
    "metric_series": 3600.0,
    "anomalies": 86_400.0,
}
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


# ------------------------------------------------------------------------------ loading


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


# ------------------------------------------------------------------------------ scoring


def normalize(text: str) -> str:
    """Lower case, no degree sign, single spaces, no space between a number and its unit."""
    text = " ".join(text.replace("°", " ").lower().split())
    return re.sub(r"(?<=\d) (?=[a-z%])", "", text)


def contains_fact(answer: str, fact: str) -> bool:
    """Whether `fact` is in `answer`, normalized; a number may not be part of a longer one."""
    needle = normalize(fact)
    if not needle:
        return True
    pattern = re.escape(needle)
    if needle[0].isdigit() or needle[0] in "-.":
        pattern = r"(?<![\d.])" + pattern
    if needle[-1].isdigit():
        pattern += r"(?![\d])"
    return re.search(pattern, normalize(answer)) is not None


TimeParser = Callable[[str, float, tzinfo, str], float]


def _iso_time(value: str, now: float, tz: tzinfo, role: str) -> float:
    """ISO 8601 or Unix seconds (the fallback when the agent's parser is not importable)."""
    del now, role
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parsed = datetime.fromisoformat(text)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)).timestamp()


def default_time_parser() -> TimeParser:
    """`agent_bruno.agent.nlu.timeexpr.parse_time_arg` when present, else ISO 8601 only."""
    try:
        module = importlib.import_module("agent_bruno.agent.nlu.timeexpr")
    except ImportError:
        return _iso_time
    parse = module.parse_time_arg

    def _parse(value: str, now: float, tz: tzinfo, role: str) -> float:
        return float(parse(value, now, tz, role=role))

    return _parse


def _arg_matches(
    key: str, want: Any, call: Call, now: float, tz: tzinfo, parse_time: TimeParser
) -> bool:
    """Whether the call's argument `key` satisfies `want`."""
    got = call.args.get(key)
    if key in TIME_ARGS:
        role = "start" if key == "start" else "end"
        expected = parse_time(str(want), now, tz, role)
        if got is None or got == "":
            if key == "end":
                actual = now
            elif call.name in DEFAULT_WINDOW_S:
                actual = now - DEFAULT_WINDOW_S[call.name]
            else:
                return False
        else:
            try:
                actual = parse_time(str(got), now, tz, role)
            except (ValueError, OverflowError):
                return False
        return abs(actual - expected) <= TIME_TOLERANCE_S
    if got is None:
        return False
    if isinstance(want, str):
        return isinstance(got, str) and got.strip().lower() == want.strip().lower()
    return bool(got == want)


def _satisfies(spec: ToolSpec, call: Call, now: float, tz: tzinfo, parse_time: TimeParser) -> bool:
    """Whether `call` is `spec`'s tool with (at least) its arguments."""
    return call.name == spec.name and all(
        _arg_matches(k, v, call, now, tz, parse_time) for k, v in spec.args.items()
    )


def score(
    case: Case,
    answer: str,
    calls: Sequence[Call],
    now: float,
    tz: tzinfo,
    parse_time: TimeParser | None = None,
) -> tuple[str, ...]:
    """Why the case failed (empty: it passed)."""
    parse = parse_time or default_time_parser()
    reasons: list[str] = []
    for expected in case.tools:
        if not any(_satisfies(s, c, now, tz, parse) for s in expected.alternatives for c in calls):
            made = ", ".join(ToolSpec(c.name, c.args).describe() for c in calls) or "none"
            reasons.append(f"missing tool call {expected.describe()} (made: {made})")
    for fact in case.facts:
        if not contains_fact(answer, fact):
            reasons.append(f"missing fact {fact!r}")
    for text in case.absent:
        if contains_fact(answer, text):
            reasons.append(f"answer contains {text!r}, which it must not")
    return tuple(reasons)


# ------------------------------------------------------------------------------ running

Asker = Callable[[str, str], Awaitable[tuple[str, list[Call], str]]]


def _call(raw: Any) -> Call:
    """A call from a `ToolCallRecord` or its `as_dict()`."""
    if isinstance(raw, Mapping):
        return Call(str(raw.get("name")), dict(raw.get("args") or {}))
    return Call(str(raw.name), dict(raw.args or {}))


async def run_cases(
    cases: Sequence[Case], ask: Asker, now: float, tz: tzinfo, verbose: bool = False
) -> Report:
    """Ask every case in a fresh thread (earlier turns first) and score its last turn."""
    report = Report()
    parse = default_time_parser()
    for case in cases:
        started = time.perf_counter()
        answer, mode = "", ""
        calls: list[Call] = []
        try:
            for turn in case.turns:
                await ask(turn, case.id)
            answer, calls, mode = await ask(case.question, case.id)
            reasons = score(case, answer, calls, now, tz, parse)
        except Exception as exc:  # one broken case must not stop the evaluation
            reasons = (f"the agent failed: {type(exc).__name__}: {exc}",)
        outcome = Outcome(
            case, not reasons, reasons, answer, tuple(calls), time.perf_counter() - started, mode
        )
        report.outcomes.append(outcome)
        if verbose:
            print(f"{'ok  ' if outcome.passed else 'FAIL'} {case.id}", flush=True)
    return report


@dataclass(slots=True)
class BuiltAgent:
    """The agent service over the dataset, and how to close it."""

    ask: Asker
    close: Callable[[], Awaitable[None]]


async def build_agent(dataset: Dataset, mode: str) -> BuiltAgent:
    """The real agent (no model in `builtin` mode) over the dataset, with a frozen clock."""
    if mode != "builtin":
        raise ValueError(f"mode {mode!r} is not supported; use builtin")
    service_mod = importlib.import_module("agent_bruno.agent.service")
    context_mod = importlib.import_module("agent_bruno.agent.context")
    prompts_mod = importlib.import_module("agent_bruno.agent.prompts")
    storage_mod = importlib.import_module("agent_bruno.storage.sqlite")
    storage = storage_mod.SqliteStorage(dataset.path)
    graph, backend = await _knowledge_graph(storage, dataset)
    context = context_mod.AgentContext(
        storage=storage,
        prompts=prompts_mod.load_prompts(),
        clock=lambda: dataset.now,
        tz=dataset.tz,
        graph_client=graph,
    )
    service = await service_mod.AgentService.create(context, model=None)
    alerts, client = await _alert_desk(service, storage, dataset)

    async def ask(question: str, thread_id: str) -> tuple[str, list[Call], str]:
        # Each case is its own asker, as `/query` callers are: its subscriptions are its own.
        reply = await service.ask(question, thread_id=thread_id, owner=f"eval:{thread_id}")
        return str(reply.answer), [_call(c) for c in reply.calls], str(reply.mode)

    async def close() -> None:
        await service.close()
        await alerts.close()
        await client.aclose()
        await backend.close()
        storage.close()

    return BuiltAgent(ask, close)


# What people taught the graph before "now": one past incident with its cause.
PAST_INCIDENT_DAYS = 12.0


async def _knowledge_graph(storage: Any, dataset: Dataset) -> tuple[Any, Any]:
    """The knowledge graph as `agent-bruno serve` keeps it (embedded Ladybug, in memory here),
    built from the dataset's storage by the real upkeep, plus one incident a person recorded:
    pi-node-3 overloaded by frigate, 12 days ago, resolved."""
    ladybug = importlib.import_module("agent_bruno.knowledge.ladybug_backend")
    service = importlib.import_module("agent_bruno.knowledge.service")
    upkeep_mod = importlib.import_module("agent_bruno.knowledge.upkeep")
    model = importlib.import_module("agent_bruno.knowledge.model")
    catalogue = importlib.import_module("agent_bruno.knowledge.catalogue")
    backend = await ladybug.LadybugBackend.open(None)
    graph = service.KnowledgeGraph(backend, catalogue.load_catalogue())
    upkeep = upkeep_mod.GraphUpkeep(graph, storage, clock=lambda: dataset.now)
    await upkeep.start()
    await upkeep.reconcile()
    at = dataset.now - PAST_INCIDENT_DAYS * 86_400.0
    incident = model.IncidentInput(
        location="server-room",
        started=at,
        ended=at + 3_600.0,
        status="resolved",
        title="pi-node-3 overloaded",
        root_cause=model.RootCauseInput(
            description="frigate transcoding every camera at full resolution",
            resolution="frigate limited to the substreams",
            recommendation="move frigate's detection to the substreams",
        ),
    )
    await graph.record_incident(incident, by="eval", at=at + 3_600.0)
    return graph, backend


async def _alert_desk(service: Any, storage: Any, dataset: Dataset) -> tuple[Any, Any]:
    """The alert service as the agent's desk, as `agent-bruno serve` wires it: subscriptions
    in the dataset's database, alerts to a loopback webhook nobody listens on (cases only
    create and manage subscriptions; nothing is ingested, so nothing fires)."""
    alerts_mod = importlib.import_module("agent_bruno.alerts.service")
    desk_mod = importlib.import_module("agent_bruno.alerts.desk")
    dest_mod = importlib.import_module("agent_bruno.alerts.destinations")
    sub_mod = importlib.import_module("agent_bruno.alerts.subscription")
    httpx = importlib.import_module("httpx")
    config = alerts_mod.AlertConfig(
        database=dataset.path,
        policy=dest_mod.DestinationPolicy.parse(["127.0.0.1/32"]),
        default_destination=sub_mod.Destination(kind="webhook", url="http://127.0.0.1:9/eval"),
    )
    client = httpx.AsyncClient(trust_env=False)
    alerts = alerts_mod.AlertService(config, storage, client, clock=lambda: dataset.now)
    await alerts.start()
    service.desks.append(desk_mod.AlertDesk(alerts, storage, dataset.tz))
    return alerts, client


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
