"""The intent classifier: a model reproducible from the examples, safe to load, that scores
every intent and generalises past its examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent_bruno.agent.compose import WRITERS
from agent_bruno.agent.nlu.classifier import MODEL_PATH, IntentModel, ModelError, load_model
from agent_bruno.agent.nlu.features import features
from agent_bruno.agent.nlu.intents import IntentError, intents, training_set
from agent_bruno.agent.nlu.plans import PLANS
from scripts.train_intents import fit, is_current


def test_the_shipped_model_was_trained_on_todays_examples() -> None:
    assert is_current(), "examples changed: run `python -m scripts.train_intents`"
    assert set(load_model().intents) == set(intents())


@pytest.mark.slow  # sklearn's fit: 13 s of CPU, a quarter of the default tier's longest test
def test_training_again_reproduces_the_shipped_model() -> None:
    """Training is reproducible (the default tier checks the shipped model's digest against
    today's examples; this retrains and compares). Run by `make eval`."""
    texts, labels = training_set(list(intents().values()))
    fresh = fit(texts, labels)
    shipped = load_model()
    assert fresh.intents == shipped.intents
    assert set(fresh.idf) == set(shipped.idf)
    worst = max(
        abs(a - b)
        for name in shipped.weights
        for a, b in zip(fresh.weights[name], shipped.weights[name], strict=True)
    )
    assert worst < 1e-3
    same = sum(fresh.scores(t)[0][0] == shipped.scores(t)[0][0] for t in texts)
    assert same == len(texts)


def test_every_intent_names_a_plan_and_an_answer_that_exist() -> None:
    for spec in intents().values():
        assert spec.plan in PLANS, f"{spec.source}: no plan builder {spec.plan!r}"
        assert spec.answer in WRITERS or spec.plan == "unsupported", spec.source
        if spec.plan == "unsupported":
            assert spec.reply, spec.source


def test_the_model_learnt_its_examples() -> None:
    texts, labels = training_set(list(intents().values()))
    model = load_model()
    wrong = [(t, lab, model.scores(t)[0][0]) for t, lab in zip(texts, labels, strict=True)
             if model.scores(t)[0][0] != lab]  # fmt: skip
    assert len(wrong) <= len(texts) // 50, wrong[:10]


def test_scores_are_probabilities_over_every_intent_best_first() -> None:
    ranked = load_model().scores("why is _node_ so slow")
    assert ranked[0][0] == "diagnosis"
    assert abs(sum(p for _, p in ranked) - 1.0) < 1e-9
    assert [p for _, p in ranked] == sorted((p for _, p in ranked), reverse=True)


def test_features_ignore_names_taken_out_and_mark_the_start() -> None:
    counted = features("what's the _metric_ in the _location_")
    assert counted["w:_location_"] == 1
    assert counted["b:^ what's"] == 1
    assert not any(k.startswith("c:") and "_" in k for k in counted)


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"format": "pickle"},
        {"format": "agent-bruno-intents/1", "intents": [], "bias": [], "features": {}},
        {"format": "agent-bruno-intents/1", "intents": ["a"], "bias": [0.0],
         "features": {"w:x": [1.0, [0.1, 0.2]]}},
        {"format": "agent-bruno-intents/1", "intents": ["a"], "bias": [float("nan")],
         "features": {}},
    ],
)  # fmt: skip
def test_a_malformed_model_is_refused_with_what_is_wrong(data: Any) -> None:
    with pytest.raises(ModelError):
        IntentModel.from_json(data, "model.json")


def test_a_missing_model_file_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"scripts\.train_intents"):
        load_model.__wrapped__(tmp_path / "model.json")


def test_the_model_file_is_plain_json() -> None:
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert data["format"] == "agent-bruno-intents/1"


def test_an_intent_file_must_name_itself_and_give_examples(tmp_path: Path) -> None:
    (tmp_path / "odd.yaml").write_text("intent: other\nexamples: [a, b, c, d, e]\n")
    with pytest.raises(IntentError, match="file's name"):
        intents.__wrapped__(tmp_path)
    (tmp_path / "odd.yaml").write_text("intent: odd\nexamples: [a]\n")
    with pytest.raises(IntentError, match="at least 5"):
        intents.__wrapped__(tmp_path)
    (tmp_path / "odd.yaml").write_text(
        "intent: odd\nplan: unsupported\nexamples: [a, b, c, d, e]\n"
    )
    with pytest.raises(IntentError, match="reply"):
        intents.__wrapped__(tmp_path)
