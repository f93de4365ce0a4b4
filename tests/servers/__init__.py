"""Real servers (Debian packages) that tests and benchmarks start on loopback and stop."""
