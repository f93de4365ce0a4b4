"""The `mqtt` sensor source: devices on a broker, read through paho-mqtt in its own thread.

Messages arrive whenever devices publish; `read(now)` hands over what arrived since the last
read, one reading per series (the latest), and a dropout (None) for each series whose device
went offline, went quiet for longer than MQTT_STALE_AFTER, or cannot be heard because the
broker is unreachable. A series that is merely quiet (a Zigbee sensor reports on change)
reads nothing, so triage never sees invented repeats. `drain(now)` is the same without the
dropouts: the reporter calls it as soon as a message arrives, so a critical reading is
triaged and sent within milliseconds, not at the next sample.

A dropped broker is reconnected with exponential backoff (1 s doubling to 60 s, reset once
connected); every attempt that fails is logged with its reason. The other sources never wait
for this one: nothing here blocks the caller.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edge_reporter.model import Reading, SensorSpec
from edge_reporter.sensor_config import MqttConfig
from edge_reporter.sensors.mqtt.decoder import MqttDecoder
from edge_reporter.sensors.mqtt.formats import Decoded

log = logging.getLogger(__name__)

MAX_PAYLOAD = 1 << 20  # a Zigbee2MQTT bridge/devices of a large network is a few hundred KiB
KEEPALIVE_S = 30  # a silently dead link is noticed within about 1.5× this
MAX_OFFLINE = 4096  # devices remembered as offline


@dataclass(slots=True)
class _Series:
    unit: str
    devices: tuple[str, ...]
    heard: float  # monotonic time of the last message


class MqttSource:
    """Readings from devices on one MQTT broker; thread-safe between its client and callers."""

    def __init__(
        self,
        config: MqttConfig,
        *,
        reserved: Collection[str] = (),
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._reserved = frozenset(reserved)
        self._backoff = (reconnect_min_s, reconnect_max_s)
        self._clock = clock
        self._decoder = MqttDecoder(config.subscriptions)
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str], _Series] = {}
        self._pending: dict[tuple[str, str], float | None] = {}
        self._offline: set[str] = set()
        self._discovered: set[str] = set()  # announced topics no configured filter covers
        self._said: set[str] = set()  # problems logged once
        self._connected = False
        self._accepted = False  # the last connection attempt got a successful CONNACK
        self._wake: Callable[[], None] = _noop
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = self._build_client()

    def _build_client(self) -> paho.Client:
        cfg = self._config
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=cfg.client_id,
            reconnect_on_failure=False,  # reconnects are ours: logged, with backoff
        )
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls:
            client.tls_set(
                ca_certs=None if cfg.ca_file is None else str(cfg.ca_file),
                certfile=None if cfg.cert_file is None else str(cfg.cert_file),
                keyfile=None if cfg.key_file is None else str(cfg.key_file),
            )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    # --- the SensorSource interface (any thread) ------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the broker connection is up."""
        return self._connected

    def specs(self) -> list[SensorSpec]:
        """Every series heard since start."""
        with self._lock:
            return [SensorSpec(s, m, x.unit) for (s, m), x in self._series.items()]

    def read(self, now: float) -> list[Reading]:
        """What arrived since the last read, plus a dropout for each series that cannot report."""
        with self._lock:
            pending, self._pending = self._pending, {}
            out: list[Reading] = []
            for (sensor, metric), series in self._series.items():
                if (sensor, metric) in pending:
                    out.append(Reading(now, sensor, metric, series.unit, pending[sensor, metric]))
                elif not self._connected or self._silent(series):
                    out.append(Reading(now, sensor, metric, series.unit, None))
            return out

    def drain(self, now: float) -> list[Reading]:
        """What arrived since the last read, and nothing else."""
        with self._lock:
            pending, self._pending = self._pending, {}
            return [
                Reading(now, s, m, self._series[s, m].unit, value)
                for (s, m), value in pending.items()
            ]

    def _silent(self, series: _Series) -> bool:
        if any(d in self._offline for d in series.devices):
            return True
        return self._clock() - series.heard > self._config.stale_after

    # --- lifecycle --------------------------------------------------------------------------

    def start(self, wake: Callable[[], None] | None = None) -> None:
        """Connect in the background; `wake` is called (from that thread) when readings arrive."""
        if self._thread is not None:
            return
        self._wake = wake or _noop
        self._thread = threading.Thread(target=self._run, name="mqtt-source", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 3.0) -> None:
        """Disconnect and stop the client thread."""
        self._stop.set()
        self._client.disconnect()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        cfg = self._config
        delay = self._backoff[0]
        while not self._stop.is_set():
            try:
                self._client.connect(cfg.host, cfg.port, keepalive=KEEPALIVE_S)
            except (OSError, ValueError) as exc:  # refused, unreachable, DNS, TLS, bad host
                # The text only: a kept exception would keep paho's half-open TLS socket alive.
                log.warning(
                    "MQTT broker %s: cannot connect (%s); its series read as dropouts; "
                    "retrying in %.1f s",
                    cfg.url,
                    str(exc) or type(exc).__name__,
                    delay,
                )
            else:
                self._client.loop_forever()
                if self._accepted:
                    delay = self._backoff[0]
                with self._lock:
                    self._connected = False
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self._backoff[1])
        self._client.disconnect()

    # --- paho callbacks (client thread) -------------------------------------------------

    def _on_connect(
        self, client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any = None
    ) -> None:
        self._accepted = not reason.is_failure
        if reason.is_failure:
            log.error(
                "MQTT broker %s refused the connection: %s (check MQTT_USERNAME, "
                "MQTT_PASSWORD and the broker's ACL); retrying",
                self._config.url,
                reason,
            )
            return
        with self._lock:
            self._connected = True
            topics = [*self._decoder.filters, *sorted(self._discovered)]
        client.subscribe([(t, 1) for t in dict.fromkeys(topics)])
        log.info("MQTT broker %s connected; subscribed to %s", self._config.url, topics)

    def _on_disconnect(
        self, _c: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any = None
    ) -> None:
        with self._lock:
            was, self._connected = self._connected, False
        if was and not self._stop.is_set():
            log.warning(
                "MQTT broker %s: connection lost (%s); reconnecting", self._config.url, reason
            )

    def _on_message(self, client: paho.Client, _u: Any, message: paho.MQTTMessage) -> None:
        # An exception here would end the client thread: nothing a device sends may do that.
        try:
            topic = message.topic
        except UnicodeDecodeError:
            self._say("a message whose topic is not UTF-8 was ignored")
            return
        payload = bytes(message.payload)
        if len(payload) > MAX_PAYLOAD:
            self._say(f"{topic}: a payload of {len(payload)} bytes was ignored")
            return
        try:
            decoded = self._decoder.decode(topic, payload)
        except Exception as exc:
            self._say(f"message on {topic!r} not read: {exc!r}")
            return
        if decoded.problem:
            self._say(decoded.problem)
        new_topics = self._apply(decoded)
        if new_topics:
            client.subscribe([(t, 1) for t in new_topics])
        if decoded.values:
            self._wake()

    def _apply(self, decoded: Decoded) -> list[str]:
        """Take in one message's meaning; returns announced topics to subscribe to now."""
        heard = self._clock()
        new_topics: list[str] = []
        with self._lock:
            for device, online in decoded.availability:
                if online:
                    self._offline.discard(device)
                elif len(self._offline) < MAX_OFFLINE:  # bounded against a flood of topics
                    self._offline.add(device)
            for value in decoded.values:
                sensor = f"{value.sensor}-mqtt" if value.sensor in self._reserved else value.sensor
                key = (sensor, value.metric)
                series = self._series.get(key)
                if series is None:
                    if len(self._series) >= self._config.max_series:
                        self._say(
                            f"more than MQTT_MAX_SERIES={self._config.max_series} series; "
                            f"{sensor}/{value.metric} and later new ones are ignored"
                        )
                        continue
                    series = self._series[key] = _Series(value.unit, value.devices, heard)
                series.unit, series.devices, series.heard = value.unit, value.devices, heard
                self._pending[key] = value.value
            for topic in decoded.subscribe:
                if topic not in self._discovered and not self._decoder.covered(topic):
                    self._discovered.add(topic)
                    new_topics.append(topic)
            return new_topics if self._connected else []

    def _say(self, problem: str) -> None:
        """Log a problem with what devices send once, not at every message."""
        if problem not in self._said and len(self._said) < 1000:
            self._said.add(problem)
            log.warning("MQTT: %s", problem)


def _noop() -> None:
    return None
