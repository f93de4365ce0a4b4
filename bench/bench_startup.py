"""What the built-in understanding adds to `agent-bruno serve`'s start-up, in CPU time.

Each of `RUNS` fresh processes imports the app (what `serve` loads before its lifespan runs),
then does what the lifespan's `warm_up` does: reads the precomputed intent model
(`nlu/data/model.json`, trained at build time by `scripts/train_intents.py`; nothing is
trained at start), the intent files and the lexicon, and understands one question. CPU time,
not wall time: on a loaded machine the wall time of a start-up is mostly waiting for a core.
Medians of the runs.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

from bench.common import Figure

RUNS = 3
_PROBE = """
import json, time
c0 = time.process_time()
import agent_bruno.app
c1 = time.process_time()
from agent_bruno.agent.nlu.understand import warm_up
c2 = time.process_time()
warm_up()
c3 = time.process_time()
print(json.dumps({"import_s": c1 - c0, "nlu_s": c3 - c2}))
"""


def _probe() -> dict[str, float]:
    out = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", _PROBE], check=True, capture_output=True, text=True, timeout=600
    )
    data: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return data


def run() -> list[Figure]:
    """Probe `RUNS` fresh processes."""
    runs = [_probe() for _ in range(RUNS)]
    imports = statistics.median(r["import_s"] for r in runs) * 1000
    nlu = statistics.median(r["nlu_s"] for r in runs) * 1000
    share = statistics.median(r["nlu_s"] / (r["import_s"] + r["nlu_s"]) for r in runs)
    detail = f"CPU time, median of {RUNS} fresh processes"
    return [
        Figure("startup_import_cpu_ms", imports, "ms", None, f"import agent_bruno.app; {detail}"),
        Figure(
            "startup_nlu_warm_up_cpu_ms",
            nlu,
            "ms",
            None,
            f"warm_up(): read model.json, intents, lexicon, one question; {detail}",
        ),
        Figure(
            "startup_nlu_share",
            share,
            "ratio",
            ("<=", 0.1),
            f"NLU warm-up / (app import + warm-up); {detail}",
        ),
    ]
