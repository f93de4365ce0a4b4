"""Tools the agent calls, grouped into toolsets and registered in one list."""
