"""Score the edge triage detector on NAB: `python -m evals.triage --nab-dir PATH --min-standard 65`.

Exit status: 0 when the standard score reaches --min-standard, 1 when it does not, 2 when the
NAB data directory is missing or incomplete.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from evals.triage.corpus import CorpusError, load_corpus, load_profiles
from evals.triage.run import evaluate, score_files

RESULTS = Path(__file__).with_name("results.json")


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation, print the normalized scores and write results.json."""
    parser = argparse.ArgumentParser(prog="python -m evals.triage", description=__doc__)
    parser.add_argument("--nab-dir", type=Path, default=Path("../shared/datasets/nab"))
    parser.add_argument("--min-standard", type=float, default=65.0)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: CPUs)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    try:
        files = load_corpus(args.nab_dir)
        profiles = load_profiles(args.nab_dir)
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    scores = score_files(files, workers=args.workers)
    reports = evaluate(files, scores, profiles)
    elapsed = time.perf_counter() - started

    rows = sum(len(f.values) for f in files)
    print(f"NAB v1.1: {len(files)} files, {rows:,} rows, scored in {elapsed:.1f}s")
    for name, report in reports.items():
        r = report.result
        print(
            f"  {name:<20} {r.normalized:6.2f}   raw {r.raw:7.2f}, threshold {r.threshold:.4f}: "
            f"{report.detected} windows detected, {report.missed} missed, "
            f"{report.false_positives} false positives"
        )
        for category, raw in report.by_category.items():
            print(f"      {category:<24} raw {raw:7.2f}")
    payload = {
        "detector": "edge_reporter.triage.SeriesTriage (default TriageConfig)",
        "files": len(files),
        "rows": rows,
        "seconds": round(elapsed, 2),
        "profiles": {
            name: {
                "normalized": round(rep.result.normalized, 2),
                "raw": round(rep.result.raw, 3),
                "threshold": rep.result.threshold,
                "null_raw": rep.result.null_raw,
                "perfect_raw": rep.result.perfect_raw,
                "windows_detected": rep.detected,
                "windows_missed": rep.missed,
                "false_positives": rep.false_positives,
                "raw_by_category": {k: round(v, 3) for k, v in rep.by_category.items()},
            }
            for name, rep in reports.items()
        },
    }
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    standard = reports["standard"].result.normalized
    if standard < args.min_standard:
        print(f"FAIL: standard score {standard:.2f} is below --min-standard {args.min_standard:g}")
        return 1
    print(f"ok: standard score {standard:.2f} >= {args.min_standard:g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
