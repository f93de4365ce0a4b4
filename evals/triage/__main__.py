"""Score the edge triage detector on NAB: `python -m evals.triage --nab-dir PATH --min-standard 65`.

Scores one run three ways, for each NAB profile: (a) the raw anomaly score at NAB's best
threshold, (b) the verdicts a reporter sends with its default settings (warning or critical is a
detection) and (c) criticals only; and counts false alarms per 1,000 readings outside windows.
The gate (`--min-standard`) is on (b), the standard profile: what users get.

It also runs the false-alarm budget (`budget.py`): a simulated normal week of the demo's ten
series must raise at most one warning episode per series and no critical.

Exit status: 0 when the deployed standard score reaches --min-standard and the budget holds, 1
when either fails, 2 when the NAB data directory is missing or incomplete.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from evals.triage import budget
from evals.triage.corpus import CorpusError, DataFile, load_corpus, load_profiles
from evals.triage.run import (
    CRITICAL,
    WARNING,
    ProfileReport,
    Verdicts,
    evaluate,
    evaluate_fixed,
    false_alarms,
    score_files,
    triage_verdicts,
)

RESULTS = Path(__file__).with_name("results.json")
GENERALIZATION = "generalization"  # written by `python -m evals.triage.tune --record`
NO_ANOMALY = "artificialNoAnomaly"


def _profiles(reports: dict[str, ProfileReport], *, threshold: bool) -> dict[str, Any]:
    """Each profile's figures as stored in results.json."""
    out: dict[str, Any] = {}
    for name, rep in reports.items():
        entry: dict[str, Any] = {
            "normalized": round(rep.result.normalized, 2),
            "raw": round(rep.result.raw, 3),
            "null_raw": rep.result.null_raw,
            "perfect_raw": rep.result.perfect_raw,
            "windows_detected": rep.detected,
            "windows_missed": rep.missed,
            "false_positives": rep.false_positives,
            "raw_by_category": {k: round(v, 3) for k, v in rep.by_category.items()},
        }
        if threshold:
            entry["threshold"] = rep.result.threshold
        out[name] = entry
    return out


def _print(title: str, reports: dict[str, ProfileReport], *, threshold: bool) -> None:
    print(f"  {title}")
    for name, rep in reports.items():
        r = rep.result
        at = f", threshold {r.threshold:.4f}" if threshold else ""
        print(
            f"    {name:<20} {r.normalized:6.2f}   raw {r.raw:7.2f}{at}: {rep.detected} windows "
            f"detected, {rep.missed} missed, {rep.false_positives} false positives"
        )


def _no_anomaly_flags(files: list[DataFile], verdicts: list[Verdicts]) -> dict[str, int]:
    """Warnings and criticals on NAB's files without anomalies (every row, probation included)."""
    counts = {"files": 0, "warnings": 0, "criticals": 0}
    for data, v in zip(files, verdicts, strict=True):
        if data.category == NO_ANOMALY:
            counts["files"] += 1
            counts["warnings"] += v.levels.count(WARNING)
            counts["criticals"] += v.levels.count(CRITICAL)
    return counts


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation, print the normalized scores and write results.json."""
    parser = argparse.ArgumentParser(prog="python -m evals.triage", description=__doc__)
    parser.add_argument("--nab-dir", type=Path, default=Path("../shared/datasets/nab"))
    parser.add_argument("--min-standard", type=float, default=65.0)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: CPUs)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--no-budget", action="store_true", help="skip the simulated normal week (budget.py)"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    try:
        files = load_corpus(args.nab_dir)
        profiles = load_profiles(args.nab_dir)
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    verdicts = score_files(files, triage_verdicts, workers=args.workers)
    best = evaluate(files, [v.scores for v in verdicts], profiles)
    levels = [v.levels for v in verdicts]
    deployed = evaluate_fixed(files, levels, profiles, WARNING)
    critical = evaluate_fixed(files, levels, profiles, CRITICAL)
    alarms = {level: false_alarms(files, verdicts, level) for level in (WARNING, CRITICAL)}
    quiet = _no_anomaly_flags(files, verdicts)
    weeks = [] if args.no_budget else budget.budget(workers=args.workers)
    elapsed = time.perf_counter() - started

    rows = sum(len(f.values) for f in files)
    print(f"NAB v1.1: {len(files)} files, {rows:,} rows, scored in {elapsed:.1f}s")
    _print("(a) raw score at the best threshold", best, threshold=True)
    for category, raw in best["standard"].by_category.items():
        print(f"        {category:<24} raw {raw:7.2f}")
    _print("(b) deployed verdicts, warning or critical (gated)", deployed, threshold=False)
    _print("(c) deployed verdicts, critical only", critical, threshold=False)
    for level, name in ((WARNING, "warning or critical"), (CRITICAL, "critical only")):
        fa = alarms[level]
        print(
            f"  false alarms ({name}): {fa.per_1000:.2f} per 1,000 readings outside windows "
            f"({fa.flags} of {fa.readings:,}; sensor-fault rules {fa.sensor_fault_flags}, "
            f"statistical {fa.process_per_1000:.2f} per 1,000)"
        )
    print(
        f"  {NO_ANOMALY}: {quiet['warnings']} warnings, {quiet['criticals']} criticals "
        f"in {quiet['files']} files"
    )
    week = budget.summary(weeks) if weeks else None
    if week is not None:
        print(
            f"  normal week, {week['series_weeks']} series-weeks of the demo's ten series: "
            f"at most {week['max_warning_episodes_per_series_week']} warning episode per "
            f"series-week ({week['worst_series']}), {week['warning_episodes']} in all, "
            f"{week['critical_episodes']} critical"
        )

    def fixed(reports: dict[str, ProfileReport], level: int) -> dict[str, Any]:
        fa = alarms[level]
        return {
            "profiles": _profiles(reports, threshold=False),
            "false_alarms_per_1000": round(fa.per_1000, 3),
            "process_anomaly_false_alarms_per_1000": round(fa.process_per_1000, 3),
            "false_alarms": fa.flags,
            "sensor_fault_false_alarms": fa.sensor_fault_flags,
            "readings_outside_windows": fa.readings,
        }

    payload = {
        "detector": "edge_reporter.triage.SeriesTriage (default TriageConfig)",
        "files": len(files),
        "rows": rows,
        "seconds": round(elapsed, 2),
        "gate": {"figure": "deployed_warning_or_critical.standard", "minimum": args.min_standard},
        "best_threshold_raw": _profiles(best, threshold=True),
        "deployed_warning_or_critical": fixed(deployed, WARNING),
        "deployed_critical_only": fixed(critical, CRITICAL),
        NO_ANOMALY: quiet,
        "normal_week": week,
    }
    # The tuning runs' figures (`tune.py --record`) are not this run's: carry them over.
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    if isinstance(previous, dict) and GENERALIZATION in previous:
        payload[GENERALIZATION] = previous[GENERALIZATION]
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    standard = deployed["standard"].result.normalized
    failed = False
    if standard < args.min_standard:
        print(
            f"FAIL: deployed standard score {standard:.2f} is below --min-standard "
            f"{args.min_standard:g}"
        )
        failed = True
    if weeks and not budget.within_budget(weeks):
        print(
            "FAIL: the normal week raised more than one warning episode per series, or a critical"
        )
        failed = True
    if quiet["criticals"]:
        print(f"FAIL: {quiet['criticals']} criticals on {NO_ANOMALY}")
        failed = True
    if failed:
        return 1
    print(f"ok: deployed standard score {standard:.2f} >= {args.min_standard:g}; budget holds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
