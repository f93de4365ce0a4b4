"""Evaluations of agent-bruno components against public benchmarks."""
