"""Edge reporter: sensor reading, local triage and store-and-forward on each Pi."""
