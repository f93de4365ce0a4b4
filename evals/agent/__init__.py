"""Agent evaluation: plain-language questions over a fixed seeded dataset, scored by facts."""
