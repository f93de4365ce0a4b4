"""Home Assistant MQTT discovery: devices announce their sensors, units and state topics.

A retained config on `PREFIX/COMPONENT/[NODE_ID/]OBJECT_ID/config` (or, since 2024.11, one
`PREFIX/device/OBJECT_ID/config` with its components under `cmps`) describes one entity:

    {"dev_cla":"temperature","unit_of_meas":"°C","stat_t":"livingroom/sensor/temp/state",
     "avty_t":"livingroom/status","uniq_id":"a0b1c2-temp","dev":{"ids":"a0b1c2","name":"livingroom"}}

ESPHome (abbreviated keys, plain-number states), Zigbee2MQTT (`value_template`s over its JSON)
and many other projects publish these. `sensor` and `binary_sensor` entities are read; a
device's `diagnostic` and `config` entities (Wi-Fi signal, uptime, settings) are not. Value
templates are read in the common forms only: `{{ value }}`, `{{ value_json.a.b }}`,
`{{ value_json['A'].b }}`, with `| float`, `| int`, `| round(n)`; an entity with another
template is skipped, and the log says which.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edge_reporter.sensors.mqtt.formats import Decoded, Value, normalize, number, slug, snake

_ABBREVIATIONS: Mapping[str, str] = {
    "stat_t": "state_topic",
    "unit_of_meas": "unit_of_measurement",
    "dev_cla": "device_class",
    "val_tpl": "value_template",
    "avty_t": "availability_topic",
    "avty": "availability",
    "pl_avail": "payload_available",
    "pl_not_avail": "payload_not_available",
    "pl_on": "payload_on",
    "pl_off": "payload_off",
    "uniq_id": "unique_id",
    "obj_id": "object_id",
    "dev": "device",
    "ent_cat": "entity_category",
    "t": "topic",
    "p": "platform",
    "cmps": "components",
}
_COMPONENTS = ("sensor", "binary_sensor")
_NOT_READ = ("diagnostic", "config")  # entity categories that are not measurements
# Home Assistant device classes → this project's metric names (others are used as they are).
_METRICS: Mapping[str, str] = {
    "carbon_dioxide": "co2",
    "carbon_monoxide": "co",
    "pm25": "pm2_5",
    "atmospheric_pressure": "pressure",
    "volatile_organic_compounds": "voc",
    "volatile_organic_compounds_parts": "voc",
}
_TEMPLATE = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
_PATH = re.compile(r"""\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*(?:'([^']*)'|"([^"]*)"|(\d+))\s*\]""")
_FILTER = re.compile(r"(float|int|round|is_defined)\s*(?:\(\s*(-?\d+(?:\.\d+)?)?\s*\))?")


@dataclass(frozen=True, slots=True)
class Template:
    """A value template reduced to what it does: which JSON member, and how it is rounded."""

    json: bool = False
    path: tuple[str | int, ...] = ()
    digits: int | None = None

    def apply(self, payload: bytes) -> tuple[bool, object]:
        """(found, value) for one state payload; not found when the member is absent."""
        if not self.json:
            return True, payload
        try:
            data: Any = json.loads(payload)
        except ValueError:
            return False, None
        for step in self.path:
            if isinstance(step, int):
                if not isinstance(data, list) or not -len(data) <= step < len(data):
                    return False, None
            elif not isinstance(data, dict) or step not in data:
                return False, None
            data = data[step]
        return True, data


def parse_template(text: str | None) -> Template | None:
    """The template's meaning, or None when it is not one of the forms read here."""
    if text is None or not text.strip():
        return Template()
    match = _TEMPLATE.fullmatch(text.strip())
    if match is None:
        return None
    head, *filters = (part.strip() for part in match.group(1).split("|"))
    template: Template
    if head == "value":
        template = Template()
    elif head.startswith("value_json"):
        rest, path, pos = head[len("value_json") :], [], 0
        while pos < len(rest):
            step = _PATH.match(rest, pos)
            if step is None:
                return None
            name, single, double, index = step.groups()
            path.append(int(index) if index is not None else name or single or double or "")
            pos = step.end()
        template = Template(json=True, path=tuple(path))
    else:
        return None
    digits: int | None = None
    for item in filters:
        f = _FILTER.fullmatch(item)
        if f is None:
            return None
        if f.group(1) == "round":
            digits = int(float(f.group(2) or 0))
    return Template(template.json, template.path, digits)


@dataclass(frozen=True, slots=True)
class Entity:
    """One announced sensor: where its state comes from and what it is."""

    key: str
    component: str
    sensor: str
    metric: str
    unit: str
    state_topic: str
    template: Template
    payload_on: object = "ON"
    payload_off: object = "OFF"
    availability: tuple[tuple[str, str], ...] = ()  # (topic, payload when available)

    def value(self, payload: bytes) -> Value | None:
        """The reading a state payload carries, or None when it carries none for this entity."""
        found, raw = self.template.apply(payload)
        if not found:
            return None
        if self.component == "binary_sensor":
            text = raw.decode("utf-8", "replace").strip() if isinstance(raw, bytes) else raw
            if text == self.payload_on or str(text) == str(self.payload_on):
                reading: float | None = 1.0
            elif text == self.payload_off or str(text) == str(self.payload_off):
                reading = 0.0
            else:
                return None
        else:
            ok, reading = number(raw)
            if not ok:
                return None
            if reading is not None and self.template.digits is not None:
                reading = round(reading, self.template.digits)
        unit, reading = normalize(self.metric, self.unit, reading)
        devices = tuple(f"ha:{topic}" for topic, _ in self.availability)
        return Value(self.sensor, self.metric, unit, reading, devices)


def _expand(config: Mapping[str, Any]) -> dict[str, Any]:
    """Long key names, and the `~` base topic put back into every topic."""
    out = {_ABBREVIATIONS.get(k, k): v for k, v in config.items()}
    base = out.pop("~", None)
    if isinstance(base, str):
        for key, value in out.items():
            if key.endswith("topic") and isinstance(value, str):
                out[key] = _rebase(value, base)
        if isinstance(out.get("availability"), list):
            out["availability"] = [
                {**item, "~": base} if isinstance(item, dict) else item
                for item in out["availability"]
            ]
    return out


def _rebase(topic: str, base: str) -> str:
    if topic.startswith("~"):
        return base + topic[1:]
    if topic.endswith("~"):
        return topic[:-1] + base
    return topic


class Discovery:
    """The entities announced under one discovery prefix, and what their messages mean."""

    def __init__(self, prefix: str, *, max_entities: int = 2048) -> None:
        self.prefix = prefix
        self._max = max_entities
        self._entities: dict[str, Entity] = {}
        self._by_topic: dict[str, list[Entity]] = {}
        self._by_availability: dict[str, list[Entity]] = {}
        self._claims: dict[tuple[str, str], str] = {}
        # State topics of announced entities that are not read (diagnostics, settings), so that
        # a bare ESPHome subscription does not read them either.
        self._skipped: set[str] = set()

    @classmethod
    def for_filter(cls, topic_filter: str) -> Discovery:
        """The discovery prefix a subscription such as `homeassistant/#` covers."""
        return cls(topic_filter.split("/", 1)[0])

    def knows(self, topic: str) -> bool:
        """Whether `topic` is the state or availability topic of an announced entity."""
        return topic in self._by_topic or topic in self._by_availability or topic in self._skipped

    def decode(self, topic: str, payload: bytes) -> Decoded:
        """A config, state or availability message."""
        out = Decoded()
        if topic.startswith(self.prefix + "/") and topic.endswith("/config"):
            return self._config(topic, payload)
        for entity in self._by_topic.get(topic, ()):
            value = entity.value(payload)
            if value is not None:
                out.values.append(value)
        for entity in self._by_availability.get(topic, ()):
            available = dict(entity.availability)[topic]
            text = payload.decode("utf-8", "replace").strip()
            if text.startswith("{"):
                try:
                    data = json.loads(text)
                except ValueError:
                    data = {}
                text = str(data.get("state", "")) if isinstance(data, dict) else ""
            out.availability.append((f"ha:{topic}", text == available))
        return out

    def _config(self, topic: str, payload: bytes) -> Decoded:
        levels = topic[len(self.prefix) + 1 : -len("/config")].split("/")
        if len(levels) not in (2, 3):
            return Decoded(problem=f"{topic!r} is not PREFIX/COMPONENT/[NODE_ID/]OBJECT_ID/config")
        component, node_id, object_id = levels[0], levels[1] if len(levels) == 3 else "", levels[-1]
        for key in [k for k in self._entities if k == topic or k.startswith(topic + "#")]:
            self._remove(key)
        if not payload.strip():
            return Decoded()  # an empty config removes the entity
        try:
            raw = json.loads(payload)
        except ValueError:
            return Decoded(problem=f"discovery config {topic!r} is not JSON")
        if not isinstance(raw, dict):
            return Decoded(problem=f"discovery config {topic!r} is not a JSON object")
        config = _expand(raw)
        if component == "device":
            return self._device(topic, object_id, config)
        return self._add(topic, component, node_id, object_id, config)

    def _device(self, topic: str, object_id: str, config: dict[str, Any]) -> Decoded:
        """Device discovery: shared options at the top, one entity per component."""
        components = config.pop("components", None)
        if not isinstance(components, dict):
            return Decoded(problem=f"device discovery {topic!r} has no components")
        out = Decoded()
        for cid, options in components.items():
            if isinstance(options, dict):
                merged = {**config, **_expand(options)}
                one = self._add(f"{topic}#{cid}", str(merged.get("platform")), "", cid, merged)
                out.subscribe += one.subscribe
                out.problem = out.problem or one.problem
        return out

    def _add(
        self, key: str, component: str, node_id: str, object_id: str, config: dict[str, Any]
    ) -> Decoded:
        state_topic = config.get("state_topic")
        if component not in _COMPONENTS or config.get("entity_category") in _NOT_READ:
            if isinstance(state_topic, str) and len(self._skipped) < self._max:
                self._skipped.add(state_topic)
            return Decoded()
        if not isinstance(state_topic, str) or not state_topic:
            return Decoded(problem=f"discovery config {key!r} has no state_topic")
        template = parse_template(config.get("value_template"))
        if template is None:
            return Decoded(
                problem=f"discovery config {key!r}: value_template "
                f"{str(config.get('value_template'))[:80]!r} is not a form read here"
            )
        if len(self._entities) >= self._max:
            return Decoded(problem=f"more than {self._max} discovered entities; {key!r} ignored")
        device = config.get("device")
        if not isinstance(device, dict):
            device = {}
        sensor = next(
            (s for s in (slug(str(device.get("name", ""))), slug(node_id), slug(object_id)) if s),
            "",
        )
        device_class = config.get("device_class")
        metric = (
            _METRICS.get(device_class, snake(device_class))
            if isinstance(device_class, str) and device_class
            else snake(object_id)
        )
        claimed = self._claims.get((sensor, metric))
        if claimed is not None and claimed != key:
            metric = snake(object_id)  # a second temperature on one device: named by its id
        if not sensor or not metric or (sensor, metric) in self._claims:
            return Decoded(problem=f"discovery config {key!r} gives no free sensor/metric name")
        availability = _availability(config)
        entity = Entity(
            key=key,
            component=component,
            sensor=sensor,
            metric=metric,
            unit=str(config.get("unit_of_measurement") or ""),
            state_topic=state_topic,
            template=template,
            payload_on=config.get("payload_on", "ON"),
            payload_off=config.get("payload_off", "OFF"),
            availability=availability,
        )
        self._entities[key] = entity
        self._claims[(sensor, metric)] = key
        self._by_topic.setdefault(state_topic, []).append(entity)
        for topic, _ in availability:
            self._by_availability.setdefault(topic, []).append(entity)
        return Decoded(subscribe=[state_topic, *(t for t, _ in availability)])

    def _remove(self, key: str) -> None:
        entity = self._entities.pop(key)
        self._claims.pop((entity.sensor, entity.metric), None)
        for index in (self._by_topic, self._by_availability):
            for topic in [t for t, es in index.items() if entity in es]:
                index[topic].remove(entity)
                if not index[topic]:
                    del index[topic]


def _availability(config: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """(topic, payload meaning available) pairs of an entity."""
    default = str(config.get("payload_available", "online"))
    pairs: list[tuple[str, str]] = []
    topic = config.get("availability_topic")
    if isinstance(topic, str) and topic:
        pairs.append((topic, default))
    listed = config.get("availability")
    for item in listed if isinstance(listed, list) else ():
        if isinstance(item, dict):
            item = _expand(item)
            if isinstance(item.get("topic"), str) and item["topic"]:
                pairs.append((item["topic"], str(item.get("payload_available", default))))
    return tuple(pairs)
