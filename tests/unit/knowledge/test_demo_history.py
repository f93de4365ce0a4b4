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


def test_the_demo_records_and_asks_in_words_the_understanding_reads():
    from datetime import datetime

    from agent_bruno.agent.nlu.incidents import parse_report
    from agent_bruno.agent.nlu.understand import understand
    from agent_bruno.agent.nlu.vocabulary import Vocabulary
    from agent_bruno.demo_recurrence import CAUSE, LOCATION, QUESTION, recording_sentence

    local = datetime.fromtimestamp(T0).astimezone().tzinfo
    assert local is not None
    report = parse_report(recording_sentence(T0 - 120), T0, local, [LOCATION, "warehouse"])
    assert report is not None
    assert (report.location, report.cause, report.status) == (LOCATION, CAUSE, "resolved")
    assert report.at == T0 - 120 - (T0 - 120) % 60  # the clock minute it started
    vocab = Vocabulary(locations=(LOCATION, "warehouse"), nodes=("pi-node-2",),
                       sensors=("dht22-1",), metrics=("temperature", "humidity"))  # fmt: skip
    plan = understand(QUESTION, None, vocab, T0, local)
    assert plan.intent == "diagnosis"
    similar = [c.args for c in plan.calls if c.name == "similar_incidents"]
    assert similar == [{"location": LOCATION, "metric": "temperature"}]
