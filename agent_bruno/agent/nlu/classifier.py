"""The intent classifier at run time: a linear model over `features`, loaded from plain JSON.

`scripts/train_intents.py` fits it at build time (scikit-learn's TF-IDF weighting and logistic
regression) on the example questions in `intents/`, and writes `data/model.json`: the intents,
each feature's inverse document frequency and per-intent weights, and the examples' digest.
Scoring here repeats the same arithmetic in pure Python (sublinear tf × idf, L2 norm, dot
product, softmax), so the agent needs no numerical library and loading runs no code: the file
is only data. A question is scored in well under a millisecond.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from agent_bruno.agent.nlu.features import features

MODEL_PATH = Path(__file__).with_name("data") / "model.json"
FORMAT = "agent-bruno-intents/1"


class ModelError(ValueError):
    """The model file is missing or malformed; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class IntentModel:
    """Per-feature idf and per-intent weights of a linear classifier."""

    intents: tuple[str, ...]
    idf: Mapping[str, float]
    weights: Mapping[str, Sequence[float]]  # feature → one weight per intent
    bias: Sequence[float]
    digest: str  # sha256 of the examples it was trained on

    def scores(self, text: str) -> list[tuple[str, float]]:
        """Every intent with its probability for `text`, best first."""
        vector: dict[str, float] = {}
        for name, count in features(text).items():
            idf = self.idf.get(name)
            if idf is not None:
                vector[name] = (1.0 + math.log(count)) * idf
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        logits = list(self.bias)
        weights = self.weights
        for name, value in vector.items():
            x = value / norm
            # Each logit plus x·w, as a loop over the intents would add it (the same floats).
            logits = [a + x * w for a, w in zip(logits, weights[name], strict=True)]
        top = max(logits)
        exps = [math.exp(v - top) for v in logits]
        total = sum(exps)
        return sorted(
            zip(self.intents, (e / total for e in exps), strict=True), key=lambda kv: -kv[1]
        )

    def to_json(self) -> dict[str, Any]:
        """The model as JSON-ready data (what `scripts/train_intents.py` writes)."""
        return {
            "format": FORMAT,
            "digest": self.digest,
            "intents": list(self.intents),
            "bias": [round(b, 5) for b in self.bias],
            "features": {
                name: [round(self.idf[name], 5), [round(w, 5) for w in self.weights[name]]]
                for name in sorted(self.idf)
            },
        }

    @classmethod
    def from_json(cls, data: Any, source: str = "<data>") -> IntentModel:
        """Check and read a model written by `to_json`; `ModelError` names what is wrong."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelError(f"{source}: not an intent model of format {FORMAT!r}")
        intents, bias, table = data.get("intents"), data.get("bias"), data.get("features")
        if not (isinstance(intents, list) and intents and all(isinstance(i, str) for i in intents)):
            raise ModelError(f"{source}: `intents` must be a non-empty list of names")
        n = len(intents)
        if not (isinstance(bias, list) and len(bias) == n and all(_number(b) for b in bias)):
            raise ModelError(f"{source}: `bias` must hold {n} numbers")
        if not isinstance(table, dict):
            raise ModelError(f"{source}: `features` must map each feature to [idf, weights]")
        idf: dict[str, float] = {}
        weights: dict[str, list[float]] = {}
        for name, entry in table.items():
            ok = (
                isinstance(entry, list)
                and len(entry) == 2
                and _number(entry[0])
                and isinstance(entry[1], list)
                and len(entry[1]) == n
                and _numbers(entry[1])
            )
            if not ok:
                raise ModelError(f"{source}: feature {name!r} needs [idf, {n} weights]")
            idf[name] = float(entry[0])
            weights[name] = [float(w) for w in entry[1]]
        return cls(
            tuple(intents), idf, weights, [float(b) for b in bias], str(data.get("digest", ""))
        )


_NUMERIC = frozenset({int, float})


def _numbers(values: list[Any]) -> bool:
    """Whether every item is a finite int or float (a NaN or infinity makes the sum one) and
    their sum is finite too (finite weights whose sum overflows are refused, not raised)."""
    try:
        return all(type(v) in _NUMERIC for v in values) and math.isfinite(math.fsum(values))
    except OverflowError:
        return False


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@cache
def load_model(path: Path = MODEL_PATH) -> IntentModel:
    """The shipped model (read once per process); `ModelError` when it cannot be used."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(
            f"{path}: cannot read the intent model ({exc}); "
            "build it with `python -m scripts.train_intents`"
        ) from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ModelError(f"{path}: not valid JSON ({exc})") from exc
    return IntentModel.from_json(data, str(path))
