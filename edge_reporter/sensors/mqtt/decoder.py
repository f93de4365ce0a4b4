"""Which reader a message goes to: decided by the subscription it matches, one reader each.

Native formats first (Zigbee2MQTT and Tasmota payloads carry every field with known units),
then Home Assistant discovery (configs, and the state and availability topics they announce),
then bare ESPHome states. So a Zigbee2MQTT device that also announces itself by discovery is
read once, natively, and an ESPHome entity with a discovery config gets its unit.
"""

from __future__ import annotations

from collections.abc import Sequence

from edge_reporter.sensors.mqtt.devices import Zigbee2Mqtt, esphome, tasmota
from edge_reporter.sensors.mqtt.discovery import Discovery
from edge_reporter.sensors.mqtt.formats import Decoded, topic_matches


class MqttDecoder:
    """Decodes messages for a set of (format, topic filter) subscriptions; not thread-safe."""

    def __init__(self, subscriptions: Sequence[tuple[str, str]]) -> None:
        self.filters = [f for _, f in subscriptions]
        self._z2m = [
            (f, Zigbee2Mqtt.for_filter(f)) for fmt, f in subscriptions if fmt == "zigbee2mqtt"
        ]
        self._tasmota = [f for fmt, f in subscriptions if fmt == "tasmota"]
        self._discovery = [
            (f, Discovery.for_filter(f)) for fmt, f in subscriptions if fmt == "homeassistant"
        ]
        self._esphome = [f for fmt, f in subscriptions if fmt == "esphome"]

    def covered(self, topic: str) -> bool:
        """Whether a configured subscription already delivers `topic`."""
        return any(topic_matches(f, topic) for f in self.filters)

    def decode(self, topic: str, payload: bytes) -> Decoded:
        """What one message means."""
        for topic_filter, z2m in self._z2m:
            if topic_matches(topic_filter, topic):
                return z2m.decode(topic, payload)
        for topic_filter in self._tasmota:
            if topic_matches(topic_filter, topic):
                return tasmota(topic_filter, topic, payload)
        for topic_filter, discovery in self._discovery:
            if topic.endswith("/config") and topic_matches(topic_filter, topic):
                return discovery.decode(topic, payload)
        known = [d for _, d in self._discovery if d.knows(topic)]
        if known:
            out = Decoded()
            for discovery in known:
                one = discovery.decode(topic, payload)
                out.values += one.values
                out.availability += one.availability
            return out
        for topic_filter in self._esphome:
            if topic_matches(topic_filter, topic):
                return esphome(topic_filter, topic, payload)
        return Decoded()  # e.g. homeassistant/status, or a state topic not announced (yet)
