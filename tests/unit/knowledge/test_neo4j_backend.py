"""The Neo4j backend's real driver against the Bolt test server: connections, credentials,
parameters, result decoding, retries and how failures are named."""

from __future__ import annotations

import pytest

from agent_bruno.knowledge.backend import GraphQueryError, GraphTimeout, GraphUnavailable
from agent_bruno.knowledge.neo4j_backend import Neo4jBackend, Neo4jConfig
from tests.fakes.bolt import BoltServer, Failure, Result, Rule, Scripted
from tests.servers.loopback import refused_port

PASSWORD = "test-password-1234"


def backend(server: BoltServer, password: str = PASSWORD) -> Neo4jBackend:
    # The driver's first back-off is a quarter of the retry time: a retry takes 10 ms here.
    return Neo4jBackend.create(
        Neo4jConfig(server.uri, "neo4j", password, connection_timeout_s=1, max_retry_time_s=0.04)
    )


async def test_parameters_go_over_the_wire_and_rows_come_back_typed():
    seen = {}

    def answer(params):
        seen.update(params)
        return Result(["node", "cpu", "tags", "meta"], [["pi-node-3", 93.5, ["a", None], {"k": 1}]])

    async with BoltServer(Scripted([Rule("MATCH (n:Node", answer)])) as server:
        neo = backend(server)
        rows = await neo.read(
            "MATCH (n:Node {name: $node}) RETURN n", {"node": "pi-node-3", "limit": 10, "f": 1.5}
        )
        await neo.close()
    assert rows == [{"node": "pi-node-3", "cpu": 93.5, "tags": ["a", None], "meta": {"k": 1}}]
    assert seen == {"node": "pi-node-3", "limit": 10, "f": 1.5}
    begins = [r.fields[0] for r in server.received if r.name == "BEGIN"]
    assert begins[-1].get("mode") == "r"
    assert begins[-1].get("db") == "neo4j"


async def test_a_write_is_one_transaction_of_all_its_statements():
    async with BoltServer(Scripted()) as server:
        neo = backend(server)
        await neo.write([("MERGE (a:X {k: $k})", {"k": 1}), ("MERGE (b:Y {k: $k})", {"k": 2})])
        await neo.close()
    names = server.names()
    tx = names[names.index("BEGIN") :]
    assert tx[: tx.index("COMMIT") + 1] == ["BEGIN", "RUN", "PULL", "RUN", "PULL", "COMMIT"]
    assert "mode" not in next(r.fields[0] for r in server.received if r.name == "BEGIN")


async def test_a_transient_error_is_retried_by_the_driver_then_succeeds():
    deadlock = Failure("Neo.TransientError.Transaction.DeadlockDetected", "deadlock")
    async with BoltServer(Scripted([Rule("MERGE", deadlock, times=1)])) as server:
        neo = backend(server)
        await neo.write([("MERGE (a:X {k: 1})", {})])
        await neo.close()
    assert server.names().count("COMMIT") == 1
    assert sum(1 for q in server.queries() if q.startswith("MERGE")) == 2


async def test_bad_credentials_are_named_without_the_password():
    async with BoltServer(Scripted()) as server:
        neo = backend(server, password="not-the-password-0000")
        with pytest.raises(GraphUnavailable, match="refused the credentials") as err:
            await neo.verify()
        await neo.close()
    assert "not-the-password" not in str(err.value)
    assert "AGENT_BRUNO_NEO4J_PASSWORD" in str(err.value)


async def test_an_unreachable_server_is_named_with_its_address():
    with refused_port() as port:
        neo = Neo4jBackend.create(
            Neo4jConfig(
                f"bolt://127.0.0.1:{port}",
                "neo4j",
                PASSWORD,
                connection_timeout_s=1,
                max_retry_time_s=0,
            )
        )
        with pytest.raises(GraphUnavailable, match=f"127.0.0.1:{port}.*unreachable"):
            await neo.read("RETURN 1", {})
        await neo.close()


async def test_a_server_that_drops_connections_is_unavailable_not_a_crash():
    async with BoltServer(Scripted()) as server:
        server.drop_next = 100
        neo = backend(server)
        with pytest.raises(GraphUnavailable):
            await neo.write([("MERGE (a:X)", {})])
        await neo.close()
    assert server.connections > 1  # the driver retried within its time before giving up


async def test_a_refused_query_is_a_query_error_with_the_code():
    bad = Failure("Neo.ClientError.Statement.SyntaxError", "Invalid input 'RETRUN'")
    async with BoltServer(Scripted([Rule("RETRUN", bad)])) as server:
        neo = backend(server)
        with pytest.raises(GraphQueryError, match=r"SyntaxError.*RETRUN"):
            await neo.read("MATCH (n) RETRUN n", {})
        # The connection is usable again after the failure (RESET).
        assert await neo.read("RETURN 1", {}) == []
        await neo.close()
    assert "RESET" in server.names()


async def test_a_generated_query_runs_only_when_the_server_plans_it_read_only():
    rules = [
        Rule("EXPLAIN MATCH (n) SET", Result(query_type="rw")),
        Rule("EXPLAIN", Result(query_type="r")),
        Rule("MATCH (n:Node) RETURN n.name", Result(["name"], [["a"], ["b"], ["c"]])),
    ]
    async with BoltServer(Scripted(rules)) as server:
        neo = backend(server)
        rows, more = await neo.read_untrusted(
            "MATCH (n:Node) RETURN n.name AS name", {}, timeout_s=2.0, limit=2
        )
        assert (rows, more) == ([{"name": "a"}, {"name": "b"}], True)
        with pytest.raises(GraphQueryError, match="not read-only"):
            await neo.read_untrusted("MATCH (n) SET n.x = 1", {}, timeout_s=2.0, limit=2)
        await neo.close()
    begins = [r.fields[0] for r in server.received if r.name == "BEGIN"]
    timed = [b for b in begins if b.get("tx_timeout")]
    assert timed
    assert timed[0]["tx_timeout"] == 2000
    assert timed[0]["mode"] == "r"
    assert not any(q.startswith("MATCH (n) SET") for q in server.queries())


async def test_a_server_side_timeout_is_a_timeout():
    code = "Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration"
    slow = Failure(code, "timed out")
    async with BoltServer(
        Scripted([Rule("EXPLAIN", Result(query_type="r")), Rule("MATCH", slow)])
    ) as server:
        neo = backend(server)
        with pytest.raises(GraphTimeout):
            await neo.read_untrusted("MATCH (n) RETURN n", {}, timeout_s=0.5, limit=5)
        await neo.close()
