"""Mutation testing of the core modules (`make mutate`); see mutation/__main__.py."""
