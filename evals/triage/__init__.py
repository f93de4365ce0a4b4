"""NAB evaluation of the edge triage detector (`python -m evals.triage`)."""
