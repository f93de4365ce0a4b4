"""Storage: protocol, SQLite implementation, group-commit writer, retention."""
