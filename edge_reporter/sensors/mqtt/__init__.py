"""The MQTT source: broker client, and the readers of what devices publish."""
