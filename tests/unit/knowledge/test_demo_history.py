"""The demo's past is a valid knowledge file that lands in the graph as the demo says."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from agent_bruno.demo_history import CAMERA_ADVICE, history
from agent_bruno.knowledge.catalogue import load_catalogue
from agent_bruno.knowledge.ladybug_backend import LadybugBackend
from agent_bruno.knowledge.model import episode_from_row
from agent_bruno.knowledge.service import KnowledgeGraph
from agent_bruno.knowledge.transfer import import_knowledge, parse_knowledge
from tests.unit.knowledge.facts import T0, episode


async def test_the_demo_history_imports_and_explains_a_recurring_overload():
    backend = await LadybugBackend.open(None)
    graph = KnowledgeGraph(backend, load_catalogue())
    await graph.apply_schema()
    counts = await import_knowledge(graph, parse_knowledge(history(T0)))
    assert counts == {"incidents": 3, "episodes": 3}
    places = {i["location"] for i in await graph.incidents()}
    assert places == {"warehouse-b", "server-room"}
    past = await graph.read("location_episodes", location="server-room", since=0.0,
                            until=T0, limit=5)  # fmt: skip
    assert episode_from_row(past[0]).metric == "cpu_percent"
    now = episode("now", T0, sigma=3.1, metric="cpu_percent", sensor="node",
                  location="server-room", minutes=30, ended=False)  # fmt: skip
    await graph.write(graph.episode_statements([now]))
    similar = await graph.similar_incidents(now, ZoneInfo("UTC"))
    assert similar
    assert similar[0]["root_causes"][0]["recommendation"] == CAMERA_ADVICE
    await backend.close()
