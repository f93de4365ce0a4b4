"""Benchmarks: programs that print figures and write bench/results.json (not timed tests)."""
