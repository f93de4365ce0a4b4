"""Fake external servers that speak the real wire protocols, for loopback-only tests."""
