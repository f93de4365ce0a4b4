"""The intent model's JSON: each malformed model refused with what is wrong, a good one read
back exactly as written, and an unreadable file named with how to rebuild it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from agent_bruno.agent.nlu.classifier import FORMAT, IntentModel, ModelError, load_model


def model(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format": FORMAT,
        "digest": "abc",
        "intents": ["a", "b"],
        "bias": [0.5, -1],
        "features": {"w:x": [1.5, [0.25, 2]], "w:y": [2, [0, -0.5]]},
    }
    data.update(changes)
    return data


def refused(data: Any) -> str:
    with pytest.raises(ModelError) as caught:
        IntentModel.from_json(data, "m.json")
    return str(caught.value)


def test_a_good_model_is_read_with_every_number_as_a_float():
    m = IntentModel.from_json(model(), "m.json")
    assert m.intents == ("a", "b")
    assert m.bias == [0.5, -1.0]
    assert dict(m.idf) == {"w:x": 1.5, "w:y": 2.0}
    assert {k: list(v) for k, v in m.weights.items()} == {"w:x": [0.25, 2.0], "w:y": [0.0, -0.5]}
    assert all(type(v) is float for v in [*m.bias, *m.idf.values()])
    assert all(type(w) is float for ws in m.weights.values() for w in ws)
    assert m.digest == "abc"
    features = {"w:x": [1.5, [0.25, 2.0]], "w:y": [2.0, [0.0, -0.5]]}
    assert m.to_json() == {**model(), "bias": [0.5, -1.0], "features": features}


def test_a_model_without_a_digest_has_an_empty_one():
    data = model()
    del data["digest"]
    assert IntentModel.from_json(data).digest == ""


def test_a_model_without_features_is_read():
    assert IntentModel.from_json(model(features={})).idf == {}


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], f"m.json: not an intent model of format {FORMAT!r}"),
        (model(format="agent-bruno-intents/2"), "m.json: not an intent model of format"),
        ({"intents": ["a"]}, "m.json: not an intent model of format"),
        (model(intents=[]), "m.json: `intents` must be a non-empty list of names"),
        (model(intents="ab"), "m.json: `intents` must be a non-empty list of names"),
        (model(intents=["a", 2]), "m.json: `intents` must be a non-empty list of names"),
        (model(bias=[0.5]), "m.json: `bias` must hold 2 numbers"),
        (model(bias=(0.5, 1.0)), "m.json: `bias` must hold 2 numbers"),
        (model(bias=[0.5, True]), "m.json: `bias` must hold 2 numbers"),
        (model(bias=[0.5, "1"]), "m.json: `bias` must hold 2 numbers"),
        (model(bias=[0.5, float("inf")]), "m.json: `bias` must hold 2 numbers"),
        (model(bias=[float("nan"), 0.0]), "m.json: `bias` must hold 2 numbers"),
        (model(features=[]), "m.json: `features` must map each feature to [idf, weights]"),
        (model(features={"w:x": [1.0, [0.1]]}), "m.json: feature 'w:x' needs [idf, 2 weights]"),
        (model(features={"w:x": [1.0, [0.1, 0.2], 3]}), "feature 'w:x' needs [idf, 2 weights]"),
        (model(features={"w:x": [1.0]}), "feature 'w:x' needs [idf, 2 weights]"),
        (model(features={"w:x": (1.0, [0.1, 0.2])}), "feature 'w:x' needs [idf, 2 weights]"),
        (model(features={"w:x": ["1", [0.1, 0.2]]}), "feature 'w:x' needs [idf, 2 weights]"),
        (model(features={"w:x": [False, [0.1, 0.2]]}), "feature 'w:x' needs [idf, 2 weights]"),
        (model(features={"w:x": [float("nan"), [0.1, 0.2]]}), "feature 'w:x' needs"),
        (model(features={"w:x": [1.0, "ab"]}), "feature 'w:x' needs [idf, 2 weights]"),
        (model(features={"w:x": [1.0, [0.1, True]]}), "feature 'w:x' needs [idf, 2 weights]"),
        (model(features={"w:x": [1.0, [0.1, None]]}), "feature 'w:x' needs [idf, 2 weights]"),
        (model(features={"w:x": [1.0, [0.1, float("inf")]]}), "feature 'w:x' needs"),
        (model(features={"w:x": [1.0, [1e308, 1e308]]}), "feature 'w:x' needs"),
    ],
)
def test_a_malformed_model_is_refused_naming_what_is_wrong(data: Any, problem: str):
    assert problem in refused(data)
    assert refused(data).startswith("m.json: ")


def test_a_model_file_that_is_not_json_is_named(tmp_path: Path):
    path = tmp_path / "model.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match=r"model\.json: not valid JSON \(") as caught:
        load_model.__wrapped__(path)
    assert str(caught.value).startswith(f"{path}: not valid JSON (")


def test_a_model_file_is_read_with_its_path_named_in_errors(tmp_path: Path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model()), encoding="utf-8")
    assert load_model.__wrapped__(path).intents == ("a", "b")
    path.write_text(json.dumps(model(bias=[1])), encoding="utf-8")
    with pytest.raises(ModelError) as caught:
        load_model.__wrapped__(path)
    assert str(caught.value) == f"{path}: `bias` must hold 2 numbers"


def test_a_missing_model_file_is_named_with_how_to_build_it(tmp_path: Path):
    path = tmp_path / "model.json"
    with pytest.raises(ModelError) as caught:
        load_model.__wrapped__(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: cannot read the intent model (")
    assert text.endswith("); build it with `python -m scripts.train_intents`")


def test_a_model_read_without_a_source_names_it_as_data():
    with pytest.raises(ModelError) as caught:
        IntentModel.from_json(model(bias=[1]))
    assert str(caught.value) == "<data>: `bias` must hold 2 numbers"


def test_the_model_is_written_to_five_decimals():
    m = IntentModel(("a", "b"), {"w:x": 1 / 3}, {"w:x": [2 / 3, -1 / 7]}, [1 / 6, -2 / 3], "d")
    written = m.to_json()
    assert written["bias"] == [0.16667, -0.66667]
    assert written["features"] == {"w:x": [0.33333, [0.66667, -0.14286]]}


@pytest.mark.parametrize("bias", [[800.0, 0.0], [-800.0, -1000.0]])
def test_large_logits_still_give_probabilities(bias: list[float]):
    """Softmax is taken from the largest logit down, so a confident model neither overflows
    nor divides by zero."""
    m = IntentModel(("a", "b"), {}, {}, bias, "d")
    (best, p), (other, q) = m.scores("anything")
    assert (best, other) == ("a", "b")
    assert p == pytest.approx(1.0)
    assert q == pytest.approx(0.0)


def test_scores_refuse_weights_that_do_not_match_the_intents():
    """A model built in code with too few weights or biases raises rather than silently
    scoring fewer intents (`from_json` refuses such a file)."""
    fewer_weights = IntentModel(("a", "b"), {"w:warm": 1.0}, {"w:warm": [1.0]}, [0.0, 0.0], "d")
    with pytest.raises(ValueError, match="zip"):
        fewer_weights.scores("warm")
    three = [1.0, 1.0, 1.0]
    more_weights = IntentModel(("a", "b"), {"w:warm": 1.0}, {"w:warm": three}, [0, 0], "d")
    with pytest.raises(ValueError, match="zip"):
        more_weights.scores("warm")
    fewer_biases = IntentModel(("a", "b"), {}, {}, [0.0], "d")
    with pytest.raises(ValueError, match="zip"):
        fewer_biases.scores("warm")


def test_a_feature_the_model_has_moves_the_scores_by_its_weight():
    m = IntentModel(("a", "b"), {"w:warm": 2.0}, {"w:warm": [1.0, -1.0]}, [0.0, 0.0], "d")
    (best, p), (_, q) = m.scores("warm")
    assert best == "a"
    # one feature of the model's, so its normalised value is 1: logits 1 and -1
    assert p == pytest.approx(1 / (1 + math.exp(-2.0)))
    assert q == pytest.approx(1 - p)
