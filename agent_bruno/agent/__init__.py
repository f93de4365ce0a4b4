"""The conversational agent: a LangGraph graph whose tools read the pipeline's data."""
