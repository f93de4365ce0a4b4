"""The Cypher catalogue: the schema and named queries of `graph/`, loaded once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Literal

from agent_bruno.assets import asset

BackendName = Literal["ladybug", "neo4j"]
BACKENDS: tuple[BackendName, ...] = ("ladybug", "neo4j")
Mode = Literal["read", "write"]


class CatalogueError(RuntimeError):
    """A catalogue file is missing, unreadable or ambiguous; the message names it."""


def shipped_catalogue() -> Traversable:
    """The `graph/` folder shipped in the package (a link to the top-level folder in a checkout)."""
    return asset("graph")


def _text(path: Traversable) -> str:
    """The text of a catalogue file, or a `CatalogueError` naming it."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"cannot read graph catalogue file {path}: {exc}") from None
    if not text:
        raise CatalogueError(f"graph catalogue file {path} is empty")
    return text


def statements(text: str) -> list[str]:
    """The statements of a schema file: `;`-separated, `//` comment lines dropped."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    return [s.strip() for s in body.split(";") if s.strip()]


def description(text: str) -> str:
    """The leading `//` comment of a query file, joined into one line."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("//"):
            break
        lines.append(line.removeprefix("//").strip())
    return " ".join(lines)


@dataclass(frozen=True, slots=True)
class CatalogueQuery:
    """One named query: its mode, and its text per backend (the same text when shared)."""

    name: str
    mode: Mode
    texts: dict[BackendName, str]
    shared: bool  # one file for both backends

    def text(self, backend: BackendName) -> str:
        """The query as `backend` runs it."""
        return self.texts[backend]


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The schema statements per backend and every named query."""

    schema: dict[BackendName, list[str]]
    queries: dict[str, CatalogueQuery]

    def query(self, name: str) -> CatalogueQuery:
        """The query called `name` (KeyError naming the known ones otherwise)."""
        try:
            return self.queries[name]
        except KeyError:
            known = ", ".join(sorted(self.queries))
            raise KeyError(f"no graph query {name!r} in the catalogue; known: {known}") from None


def load_catalogue(root: Traversable | None = None) -> Catalogue:
    """Read the schema and every query under `root` (default: the shipped `graph/`)."""
    root = root or shipped_catalogue()
    schema = {b: statements(_text(root / f"schema.{b}.cypher")) for b in BACKENDS}
    queries: dict[str, CatalogueQuery] = {}
    for mode in ("read", "write"):
        folder = root / "queries" / mode
        if not folder.is_dir():
            raise CatalogueError(f"graph catalogue folder {folder} is missing")
        names: dict[str, dict[str, str]] = {}
        for entry in folder.iterdir():
            if not entry.name.endswith(".cypher"):
                continue
            stem = entry.name.removesuffix(".cypher")
            base, _, variant = stem.partition(".")
            if variant and variant not in BACKENDS:
                raise CatalogueError(
                    f"graph catalogue file {entry}: {variant!r} is not a backend; "
                    f"name variants NAME.ladybug.cypher or NAME.neo4j.cypher"
                )
            names.setdefault(base, {})[variant or "*"] = _text(entry)
        for base, found in sorted(names.items()):
            if base in queries:
                raise CatalogueError(f"graph query {base!r} is both a read and a write")
            shared = "*" in found
            if shared and len(found) > 1:
                raise CatalogueError(
                    f"graph query {base!r} has both {base}.cypher and a backend variant; keep one"
                )
            missing = [b for b in BACKENDS if not shared and b not in found]
            if missing:
                raise CatalogueError(
                    f"graph query {base!r} has no variant for {', '.join(missing)}: "
                    f"add {base}.{missing[0]}.cypher beside its twin"
                )
            texts: dict[BackendName, str] = {b: found["*" if shared else b] for b in BACKENDS}
            queries[base] = CatalogueQuery(base, mode, texts, shared)
    return Catalogue(schema, queries)
