"""Sensor sources: the protocol (base), simulated sensors, node health, and their registry."""
