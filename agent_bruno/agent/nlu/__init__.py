"""Built-in language understanding: questions to tool calls, tool results to answers."""
