"""Alert subscriptions: rules, their evaluation on ingest, routing and delivery."""
