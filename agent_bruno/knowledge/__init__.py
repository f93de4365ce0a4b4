"""The knowledge graph: sensors, nodes, locations, workloads, episodes, incidents, root causes.

One catalogue of Cypher (`graph/` at the repository root, shipped in the package) runs on two
backends behind `GraphBackend`: LadybugDB embedded by default, Neo4j 5 in production.
"""
