"""agent-bruno: ingest, storage and read API for edge sensor events."""
