"""The read-only check of generated Cypher: writes are refused wherever they hide, reads pass
even when they mention write words as data."""

from __future__ import annotations

import pytest

from agent_bruno.knowledge.readonly import is_read_only, read_only_problem, tokenize

READS = [
    "MATCH (n:Node) RETURN n.name",
    "MATCH (n:Node) RETURN n.set, n.`delete`",
    "MATCH (n) WHERE n.name = 'CREATE (x)' RETURN n",
    'MATCH (n) WHERE n.note CONTAINS "DETACH DELETE" RETURN n',
    "MATCH (n) // DELETE n\nRETURN n",
    "MATCH (n) /* SET n.x = 1 */ RETURN n",
    "MATCH (n:`CREATE`)-[:`MERGE`]->(m) RETURN m",
    "MATCH (w:Workload)-[r:RUNS_ON]->(n) RETURN w.name ORDER BY r.cpu_percent DESC LIMIT 5",
    "CALL db.labels() YIELD label RETURN label",
    "CALL show_tables() RETURN *",
    "MATCH (n) RETURN n;",
    "MATCH (n) WITH n CALL { WITH n MATCH (n)--(m) RETURN count(m) AS c } RETURN n, c",
    "RETURN 'it''s', \"a \\\" quote\"",
]
WRITES = [
    ("MATCH (n) SET n.x = 1", "SET"),
    ("CREATE (n:Node {name: 'x'})", "CREATE"),
    ("MERGE (n:Node {name: 'x'})", "MERGE"),
    ("MATCH (n) DETACH DELETE n", "DETACH"),
    ("MATCH (n) DELETE n", "DELETE"),
    ("MATCH (n) REMOVE n.x", "REMOVE"),
    ("LOAD CSV FROM 'file:///etc/passwd' AS r RETURN r", "LOAD"),
    ("MATCH (n) FOREACH (x IN [1] | SET n.y = x)", "FOREACH"),
    ("match (n) set n.x = 1", "SET"),
    ("MATCH (n) CALL { CREATE (m) } RETURN n", "CREATE"),
    ("CALL apoc.create.node(['X'], {})", "apoc.create.node"),
    ("CALL dbms.killQueries(['q'])", "dbms.killqueries"),
    ("CALL db.create.setNodeVectorProperty(n, 'v', [1.0])", "db.create"),
    ("RETURN apoc.text.join(['a'], ',')", "APOC"),
    ("RETURN 1; MATCH (n) DELETE n", "one statement"),
    ("DROP TABLE Node", "DROP"),
    ("COPY Node FROM 'nodes.csv'", "COPY"),
    ("USE system SHOW USERS", "USE"),
    ("MATCH (n) RETURN n /* unclosed", "unclosed comment"),
    ("MATCH (n {name: 'unclosed}) RETURN n", "unclosed '"),
    ("", "empty"),
]


@pytest.mark.parametrize("query", READS)
def test_reads_pass(query: str):
    assert read_only_problem(query) is None


@pytest.mark.parametrize(("query", "named"), WRITES)
def test_writes_are_refused_and_named(query: str, named: str):
    problem = read_only_problem(query)
    assert problem is not None
    assert named.lower() in problem.lower()
    assert not is_read_only(query)


def test_strings_and_comments_are_single_tokens():
    kinds = [(t.kind, t.text) for t in tokenize("RETURN 'a SET b' // c\n, $p")]
    assert kinds == [("word", "RETURN"), ("string", "'a SET b'"), ("punct", ","), ("param", "$p")]
