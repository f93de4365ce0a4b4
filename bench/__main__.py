"""Run every benchmark, print a table and write bench/results.json.

Usage: python -m bench [name ...]
(names: triage, reporter, ingest, live, query, startup, storage, graph, alerts, chat_ingest;
default all)
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from pathlib import Path

from bench.common import Figure

SUITES = {
    "triage": "bench.bench_triage",
    "reporter": "bench.bench_reporter",
    "ingest": "bench.bench_ingest",
    "live": "bench.bench_live",
    "query": "bench.bench_query",
    "startup": "bench.bench_startup",
    "storage": "bench.bench_storage",
    "graph": "bench.bench_graph",
    "alerts": "bench.bench_alerts",
    "chat_ingest": "bench.bench_chat_ingest",
}
RESULTS = Path(__file__).with_name("results.json")


def _table(figures: list[tuple[str, Figure]]) -> str:
    rows = [("suite", "figure", "value", "unit", "target", "ok")]
    for suite, f in figures:
        target = "" if f.target is None else f"{f.target[0]} {f.target[1]:g}"
        ok = {True: "yes", False: "NO", None: ""}[f.passed]
        value = f"{f.value:,.0f}" if abs(f.value) >= 1000 else f"{f.value:.3g}"
        rows.append((suite, f.name, value, f.unit, target, ok))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def main(argv: list[str] | None = None) -> int:
    """Run the selected suites; exit 1 if any figure misses its target."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("suites", nargs="*", help=f"any of {', '.join(SUITES)}")
    args = parser.parse_args(argv)
    names: list[str] = args.suites or list(SUITES)
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        parser.error(f"unknown suite {', '.join(unknown)}: expected any of {', '.join(SUITES)}")
    collected: list[tuple[str, Figure]] = []
    for name in names:
        module = importlib.import_module(SUITES[name])
        started = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        figures: list[Figure] = module.run()
        print(f"  {name} took {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
        collected.extend((name, f) for f in figures)
    print(_table(collected))
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    suites = previous.get("suites", {}) if isinstance(previous, dict) else {}
    for name in names:
        suites[name] = [f.as_json() for s, f in collected if s == name]
    payload = {
        "machine": {"python": platform.python_version(), "machine": platform.machine()},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "suites": suites,
    }
    RESULTS.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {RESULTS}")
    return 1 if any(f.passed is False for _, f in collected) else 0


if __name__ == "__main__":
    raise SystemExit(main())
