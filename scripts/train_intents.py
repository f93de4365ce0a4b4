"""Train the intent classifier from agent_bruno/agent/nlu/intents/ and write its data/model.json:
`python -m scripts.train_intents [--check]`.

scikit-learn (the `dev` extra) fits TF-IDF weights and a multinomial logistic regression over
the features of `features.py`; the model is written as plain JSON that `classifier.py` scores
without scikit-learn. Training is deterministic (the lbfgs solver, no sampling): the same
examples give the same file. `--check` only says whether the shipped model is up to date.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from agent_bruno.agent.nlu.classifier import MODEL_PATH, IntentModel
from agent_bruno.agent.nlu.features import features
from agent_bruno.agent.nlu.intents import digest, intents, training_set

C = 20.0  # weak regularisation: examples are few and each one matters


def fit(texts: Sequence[str], labels: Sequence[str]) -> IntentModel:
    """A linear model of `labels` over the features of `texts`."""
    from sklearn.feature_extraction import DictVectorizer  # type: ignore[import-untyped]
    from sklearn.feature_extraction.text import TfidfTransformer  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    vectorizer = DictVectorizer(sort=True)
    counts = vectorizer.fit_transform([dict(features(t)) for t in texts])
    tfidf = TfidfTransformer(sublinear_tf=True, norm="l2", smooth_idf=True)
    x = tfidf.fit_transform(counts)
    model = LogisticRegression(C=C, max_iter=5000, tol=1e-6)
    model.fit(x, list(labels))
    classes = [str(c) for c in model.classes_]
    names = [str(n) for n in vectorizer.get_feature_names_out()]
    coef = model.coef_
    return IntentModel(
        intents=tuple(classes),
        idf={n: float(v) for n, v in zip(names, tfidf.idf_, strict=True)},
        weights={n: [float(w) for w in coef[:, j]] for j, n in enumerate(names)},
        bias=[float(b) for b in model.intercept_],
        digest=digest(texts, labels),
    )


def build(path: Path = MODEL_PATH) -> IntentModel:
    """Train on every intent's examples and write the model to `path`."""
    texts, labels = training_set(list(intents().values()))
    model = fit(texts, labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(model.to_json(), separators=(",", ":"), sort_keys=True) + "\n")
    return model


def is_current(path: Path = MODEL_PATH) -> bool:
    """Whether the model at `path` was trained on today's examples."""
    try:
        shipped = json.loads(path.read_text(encoding="utf-8")).get("digest")
    except (OSError, ValueError, AttributeError):
        return False
    return bool(shipped == digest(*training_set(list(intents().values()))))


def main(argv: list[str] | None = None) -> int:
    """Train and write the model, or with `--check` only report whether it is current."""
    parser = argparse.ArgumentParser(prog="python -m scripts.train_intents", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the model is stale")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    if args.check:
        if is_current(args.out):
            print(f"{args.out} is up to date")
            return 0
        print(f"{args.out} is stale: run `python -m scripts.train_intents`", file=sys.stderr)
        return 1
    model = build(args.out)
    n = len(training_set(list(intents().values()))[0])
    print(
        f"wrote {args.out}: {len(model.intents)} intents, {n} examples, {len(model.idf)} features"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
