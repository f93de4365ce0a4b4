"""Find what a question names: metrics (by their words), locations, nodes and sensors (by the
catalog's names), and names that look like one of these but do not exist."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent_bruno.agent.nlu.vocabulary import Kind, Vocabulary

# Words that mean a metric, most specific first (SoC temperature before temperature).
METRIC_WORDS: tuple[tuple[str, str], ...] = (
    ("soc_temp_c", r"soc(?:[\s_-]*temp\w*)?|chip[\s-]*temp\w*|cpu[\s-]*temp\w*|soc_temp_c"),
    ("cpu_percent", r"cpu(?:[\s_-]*(?:usage|use|utili[sz]ation|percent|load))?|processor"),
    ("load_1m", r"load[\s_-]*average|load[\s_-]*1m|load"),
    ("memory_percent", r"memory|ram|mem"),
    ("disk_percent", r"disk(?:[\s_-]*(?:usage|use|space|percent))?|storage|sd[\s-]*card"),
    (
        "temperature",
        r"temp|temps|temperatures?|heat|degrees",
    ),
    ("humidity", r"humid\w*|moisture|damp\w*|dry|drier|driest|dryness|rh"),
    ("pressure", r"pressure|barometric|barometers?"),
    ("co2", r"co2|co₂|carbon[\s-]*dioxide|air[\s-]*quality|ppm"),
    ("motion", r"motion|movement|presence|occupancy|pir"),
)
# Adjectives that imply temperature only when no other metric is named ("hottest SoC").
_WARMTH = re.compile(
    r"(?<![\w-])(?:warm\w*|hot|hotter|hottest|cold|colder|coldest|cool|cooler|coolest|chilly"
    r"|freezing)(?![\w-])",
    re.I,
)
_METRIC_RE = [(m, re.compile(rf"(?<![\w-])(?:{p})(?![\w-])", re.I)) for m, p in METRIC_WORDS]

# Words after "in/at the …" that are not place names.
_NOT_PLACES = frozenset(
    """the a an all any each every my our this that last past general total celsius fahrenheit
    kelvin f c k degrees order detail details summary percent ppm hpa inhg kpa mbar mmhg
    cluster homelab network house system room rooms location locations node nodes sensor sensors
    pi pis raspberry numbers terms words short brief it there here use total list table
    morning afternoon evening night today yesterday hour hours minute minutes day days week weeks
    month months year time range future past moment general in at on of for from to inside with
    which what who where when how why right now currently warning warnings critical trouble
    alert alerts anomaly anomalies problems issues fahrenheit inches mercury millibars
    celsius kilopascal kilopascals hectopascal hectopascals millibar millibars kelvins celcius
    farenheit centigrade mm hg one two three four five six seven eight nine ten both all either
    each these those me us you him her them myself record""".split()  # noqa: SIM905 - a word list reads better as text
)
_PLACE = re.compile(
    r"(?<![\w-])(?:in|at|inside|for|from|of)\s+(?:the\s+)?([a-z][a-z0-9]*(?:[\s_-]+room)?)"
    r"(?![\w-])",
    re.I,
)
_NODE_LIKE = re.compile(r"(?<![\w-])((?:pi[\s-]?)?node[\s-]?\d+|pi-\d+|rpi-?\d+)(?![\w-])", re.I)
# Host-like names ("raspberrypi-3", "pi4-garage") that are not stored: unknown nodes, not aliases.
_HOST_LIKE = re.compile(r"(?<![\w-])((?:raspberry[\s-]?pi|rpi|pi\d?)[\w-]*\d[\w-]*)(?![\w-])", re.I)
_METRIC_SLOT = re.compile(
    r"(?<![\w-])(?:what(?:'s|’s| is| are| was)|show(?:\s+me)?|how\s+(?:high|low|much)\s+is|check"
    r"|give\s+me)\s+(?:the\s+)?(?:current\s+|latest\s+|average\s+|mean\s+)?"
    r"([a-z][a-z0-9_]*(?:\s+(?:speed|level|levels|index|intensity|concentration))?)"
    r"(?:\s+(?:level|levels|reading|readings|value|values))?\s+(?:in|at|on|for)"
    r"(?![\w-])",
    re.I,
)
# Quantities people ask sensor networks about; when the catalog has none, they are unknown
# metrics (said as such), not something to answer with a different metric.
_OTHER_QUANTITIES = re.compile(
    r"(?<![\w-])(soil[\s-]*moisture|lux|light(?:\s+level)?|illuminance|brightness|noise|sound"
    r"|decibels?|db|radiation|radon|wind(?:\s+speed)?|rain(?:fall)?|voltage|current draw"
    r"|power(?:\s+draw|\s+usage)?|watts?|energy|pm2\.?5|pm10|vocs?|tvoc|ozone|water[\s-]*level"
    r"|flow|vibration|gas|smoke|uv(?:\s+index)?)(?![\w-])",
    re.I,
)
_LEVELS = re.compile(r"(?<![\w-])([a-z][a-z0-9_]*)\s+(?:level|levels)(?![\w-])", re.I)
_NOT_METRICS = frozenset(
    """status health state anomalies anomaly alerts alert readings reading values value data
    sensors sensor nodes node situation weather latest current average mean problem problems
    issues issue trend history time everything it going happening up wrong new left this that
    there unit units running broken weird eating anything something""".split()  # noqa: SIM905 - a word list reads better as text
)


_MARK = "¦"  # neither space nor word character: no pattern spans a name taken out


@dataclass(frozen=True, slots=True)
class Unknown:
    """A name in the question that looks like a location, node or metric but is not stored."""

    kind: Kind
    name: str


@dataclass(slots=True)
class Mentions:
    """What a question names, in order of appearance, plus unknown names."""

    metrics: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    sensors: list[str] = field(default_factory=list)
    unknown: list[Unknown] = field(default_factory=list)


def _name_pattern(name: str) -> re.Pattern[str]:
    """A name matched whole, with any of space, hyphen or underscore (or none) between parts."""
    parts = [re.escape(p) for p in re.split(r"[\s_\-]+", name) if p]
    return re.compile(r"(?<![\w-])" + r"[\s_\-]*".join(parts) + r"(?![\w-])", re.I)


def _blank(text: str, start: int, end: int) -> str:
    """The text with [start, end) replaced by spaces (positions stay where they were)."""
    return text[:start] + _MARK * (end - start) + text[end:]


def _find_names(text: str, names: tuple[str, ...]) -> tuple[list[tuple[int, str]], str]:
    """Stored names found in `text` (longest first), and the text with them blanked out."""
    found: list[tuple[int, str]] = []
    for name in sorted(names, key=len, reverse=True):
        for m in _name_pattern(name).finditer(text):
            found.append((m.start(), name))
            text = _blank(text, m.start(), m.end())
    return found, text


def _ordered(found: list[tuple[int, str]]) -> list[str]:
    """Names in the order they appear, each once."""
    out: list[str] = []
    for _, name in sorted(found):
        if name not in out:
            out.append(name)
    return out


def extract(text: str, vocab: Vocabulary) -> Mentions:
    """Everything the question names that the catalog knows, and look-alikes it does not."""
    mentions = Mentions()
    nodes, text = _find_names(text, vocab.nodes)
    # A sensor named by a plain word ("node", the host's own health) is not looked for in free
    # text: "is the node healthy" is not about that sensor.
    sensors, text = _find_names(text, tuple(s for s in vocab.sensors if re.search(r"\d", s)))
    locations, text = _find_names(text, vocab.locations)
    mentions.nodes = _ordered(nodes)
    mentions.sensors = _ordered(sensors)
    mentions.locations = _ordered(locations)
    for m in _NODE_LIKE.finditer(text):
        number = re.search(r"\d+", m.group(1))
        by_number = [n for n in vocab.nodes if number and re.search(rf"\D{number.group()}$", n)]
        if len(by_number) == 1 and by_number[0] not in mentions.nodes:
            mentions.nodes.append(by_number[0])
        elif not by_number:
            mentions.unknown.append(Unknown("node", m.group(1).lower()))
        text = _blank(text, m.start(), m.end())
    for m in _HOST_LIKE.finditer(text):
        mentions.unknown.append(Unknown("node", m.group(1).lower()))
        text = _blank(text, m.start(), m.end())
    for m in _OTHER_QUANTITIES.finditer(text):
        name = " ".join(m.group(1).lower().split())
        if vocab.canonical("metric", name) is None:
            mentions.unknown.append(Unknown("metric", name))
        text = _blank(text, m.start(), m.end())
    metrics: list[tuple[int, str]] = []
    for metric, pattern in _METRIC_RE:
        for m in pattern.finditer(text):
            metrics.append((m.start(), metric))
            text = _blank(text, m.start(), m.end())
    for known in vocab.metrics:
        for m in _name_pattern(known).finditer(text):
            metrics.append((m.start(), known))
    if not metrics:
        metrics = [(m.start(), "temperature") for m in _WARMTH.finditer(text)][:1]
    mentions.metrics = _ordered(metrics)
    if not mentions.metrics:
        for m in (*_METRIC_SLOT.finditer(text), *_LEVELS.finditer(text)):
            word = " ".join(m.group(1).lower().split())
            unknown = Unknown("metric", word)
            first = word.split()[0]
            if first not in _NOT_METRICS | _NOT_PLACES and unknown not in mentions.unknown:
                mentions.unknown.append(unknown)
    for m in _PLACE.finditer(text):
        word = " ".join(m.group(1).lower().split())
        if word.split()[0] in _NOT_PLACES or vocab.canonical("node", word):
            continue
        mentions.unknown.append(Unknown("location", word))
    return mentions
