"""HTTP API: one router per resource, dependencies in deps.py."""
