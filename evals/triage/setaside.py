"""Set-aside series: faults injected into real recordings, for one score at the end.

`python -m evals.triage.setaside` builds labelled series that NAB does not have and scores the
deployed detector on them once, writing `evals/triage/setaside-results.json`. It was written
before the tuning search (`tune.py`) and is never called by it, so no parameter was chosen with
these labels in view.

The recordings: there is no real sensor data in this workspace beyond NAB, so they are the part
of each of NAB's real recordings of a physical or machine quantity (temperatures, CPU, request
latency, traffic occupancy) that lies before NAB's first anomaly window, at least 1,500 rows
long. Those stretches carry no NAB label, and the only labels here are the injected faults. The
detector has seen these rows (unlabelled) while NAB was scored; the faults and their windows it
has not.

The generator (seeded) injects into each recording, in its second half, one fault of each of
these kinds, spaced apart, scaled by the recording's own spread (σ of its first differences and
of its level):

| kind | what the sensor does |
|---|---|
| spike | one reading off by 8 level σ |
| step | the level moves by 4 σ for 60 readings |
| drift | a ramp to 5 σ over 120 readings, then back |
| stuck | the value freezes for 150 readings |
| noise | the noise grows fivefold for 60 readings |
| dropout | no reading for 20 readings |

Each fault's window runs from its first faulty reading for max(its length, 30) readings.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.triage.corpus import CorpusError, DataFile, load_corpus, load_profiles
from evals.triage.run import (
    CRITICAL,
    WARNING,
    evaluate,
    evaluate_fixed,
    false_alarms,
    score_files,
    triage_verdicts,
)

RESULTS = Path(__file__).with_name("setaside-results.json")
RECORDINGS = (
    "realKnownCause/ambient_temperature_system_failure.csv",
    "realKnownCause/machine_temperature_system_failure.csv",
    "realKnownCause/cpu_utilization_asg_misconfiguration.csv",
    "realKnownCause/ec2_request_latency_system_failure.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv",
    "realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv",
    "realAWSCloudwatch/grok_asg_anomaly.csv",
    "realTraffic/occupancy_6005.csv",
    "realTraffic/speed_7578.csv",
)
KINDS = ("spike", "step", "drift", "stuck", "noise", "dropout")
LENGTH = {"spike": 1, "step": 60, "drift": 120, "stuck": 150, "noise": 60, "dropout": 20}
MIN_ROWS = 1500
MIN_WINDOW = 30
SEED = 20261201


@dataclass(frozen=True, slots=True)
class Injected:
    """One injected fault: where it starts, how long it lasts and its kind."""

    series: str
    kind: str
    start: int
    length: int


def _clean_part(data: DataFile) -> tuple[list[float], list[float]] | None:
    """The rows before the first window, if there are enough of them."""
    first = min((a for a, _ in data.windows), default=math.inf)
    n = sum(1 for ts in data.timestamps if ts < first)
    if n < MIN_ROWS:
        return None
    return data.timestamps[:n], data.values[:n]


def inject(data: DataFile, rng: random.Random) -> tuple[DataFile, list[Injected]] | None:
    """One fault of each kind in the second half of the recording's unlabelled part."""
    part = _clean_part(data)
    if part is None:
        return None
    ts, clean = part
    values: list[float | None] = list(clean)
    level = statistics.pstdev(clean) or 1.0
    diffs = [b - a for a, b in itertools.pairwise(clean)]
    noise = statistics.pstdev(diffs) or level
    n = len(values)
    kinds = list(KINDS)
    rng.shuffle(kinds)
    slot = (n // 2) // len(kinds)
    faults: list[Injected] = []
    for i, kind in enumerate(kinds):
        length = LENGTH[kind]
        room = slot - length - MIN_WINDOW
        start = n // 2 + i * slot + rng.randrange(max(1, room))
        sign = rng.choice((-1.0, 1.0))
        end = min(n, start + length)
        for j in range(start, end):
            v = clean[j]
            if kind == "spike":
                values[j] = v + sign * 8.0 * level
            elif kind == "step":
                values[j] = v + sign * 4.0 * level
            elif kind == "drift":
                k = j - start
                ramp = k / (length / 2) if k < length / 2 else (length - k) / (length / 2)
                values[j] = v + sign * 5.0 * level * ramp
            elif kind == "stuck":
                values[j] = clean[start - 1]
            elif kind == "noise":
                values[j] = v + rng.gauss(0.0, 5.0 * noise)
            else:
                values[j] = None
        faults.append(Injected(data.name, kind, start, end - start))
    windows = [
        (ts[f.start], ts[min(n - 1, f.start + max(f.length, MIN_WINDOW) - 1)]) for f in faults
    ]
    name = f"setaside/{data.name.replace('/', '__')}"
    # DataFile holds floats; a dropout is kept as NaN here and fed to triage as None.
    as_floats = [math.nan if v is None else v for v in values]
    return DataFile(name, list(ts), as_floats, sorted(windows)), faults


def build(files: Sequence[DataFile], seed: int = SEED) -> tuple[list[DataFile], list[Injected]]:
    """The set-aside series and their faults, from the listed recordings."""
    rng = random.Random(seed)
    by_name = {f.name: f for f in files}
    series: list[DataFile] = []
    faults: list[Injected] = []
    for name in RECORDINGS:
        data = by_name.get(name)
        made = None if data is None else inject(data, rng)
        if made is not None:
            series.append(made[0])
            faults.extend(made[1])
    return series, faults


def _detected(data: DataFile, levels: bytes, f: Injected, minimum: int) -> int | None:
    """Rows from the fault's start to its first flag inside its window (None: missed)."""
    width = max(f.length, MIN_WINDOW)
    for k in range(f.start, min(len(levels), f.start + width)):
        if levels[k] >= minimum:
            return k - f.start
    return None


def main(argv: list[str] | None = None) -> int:
    """Build the set-aside series, score the deployed detector once, write the results."""
    parser = argparse.ArgumentParser(prog="python -m evals.triage.setaside", description=__doc__)
    parser.add_argument("--nab-dir", type=Path, default=Path("../shared/datasets/nab"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        files = load_corpus(args.nab_dir)
        profiles = load_profiles(args.nab_dir)
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    series, faults = build(files)
    verdicts = score_files(series, triage_verdicts, workers=args.workers)
    best = evaluate(series, [v.scores for v in verdicts], profiles)
    deployed = evaluate_fixed(series, [v.levels for v in verdicts], profiles, WARNING)
    critical = evaluate_fixed(series, [v.levels for v in verdicts], profiles, CRITICAL)
    alarms = false_alarms(series, verdicts, WARNING)
    by_name = {s.name: (s, v) for s, v in zip(series, verdicts, strict=True)}
    per_kind: dict[str, dict[str, Any]] = {}
    for f in faults:
        data, v = by_name[f"setaside/{f.series.replace('/', '__')}"]
        entry = per_kind.setdefault(f.kind, {"injected": 0, "detected": 0, "critical": 0})
        entry["injected"] += 1
        entry["detected"] += _detected(data, v.levels, f, WARNING) is not None
        entry["critical"] += _detected(data, v.levels, f, CRITICAL) is not None
    payload: dict[str, Any] = {
        "series": len(series),
        "rows": sum(len(s.values) for s in series),
        "faults": len(faults),
        "deployed_warning_or_critical": {
            k: round(r.result.normalized, 2) for k, r in deployed.items()
        },
        "deployed_critical_only": {k: round(r.result.normalized, 2) for k, r in critical.items()},
        "best_threshold_raw": {k: round(r.result.normalized, 2) for k, r in best.items()},
        "false_alarms_per_1000": round(alarms.per_1000, 3),
        "by_kind": per_kind,
    }
    print(json.dumps(payload, indent=2))
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
