"""A plan and a catalog row as the plain data a checkpoint stores: what `dataclasses.asdict`
makes of them, with containers copied so the stored data does not change with the plan."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from agent_bruno.agent.nlu.plan import Plan, PlannedCall, plan_dict, row_dict


@dataclass(frozen=True)
class Place:
    kind: str
    name: str


@dataclass
class Row:
    name: str
    value: float
    tags: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    place: Place | None = None


def test_a_plan_is_stored_as_asdict_makes_it():
    args = {"metric": "temperature", "places": [("location", "office")]}
    plan = Plan(
        "compare",
        (PlannedCall("metric_summary", args),),
        {"shown": [["location", "office"]], "span": None},
        {"place": Place("location", "office"), "limit": 3, "ratio": 0.5, "ok": True},
    )
    stored = plan_dict(plan)
    assert stored == asdict(plan)
    assert stored["hints"]["place"] == {"kind": "location", "name": "office"}
    args["places"].append(("location", "garage"))
    assert stored["calls"][0]["args"]["places"] == [("location", "office")]


def test_a_row_is_stored_as_asdict_makes_it():
    row = Row("t", 21.5, ["a"], {"k": (1, 2)}, Place("node", "pi-node-1"))
    assert row_dict(row) == asdict(row)
    assert row_dict(Row("u", 1.0)) == {"name": "u", "value": 1.0, "tags": [], "extra": {},
                                       "place": None}  # fmt: skip
    # the field names are read once per class and reused
    assert row_dict(Row("v", 2.0, ["b"])) == asdict(Row("v", 2.0, ["b"]))
