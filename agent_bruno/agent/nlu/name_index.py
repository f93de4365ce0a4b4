"""Which stored names a question can contain, found without trying every name's pattern.

A catalog holds thousands of names (1,000 nodes, 10,000 sensors) and `extract` matched each
name's pattern against every clause: milliseconds per question. (The index also keeps what
the loose matching of locations derives from their names.) A name's pattern matches its
parts literally (case-insensitively), so a name is only worth trying when each of its parts
occurs in the text. `NameIndex` keeps, per name, its rarest part; a clause's candidates are
the names whose rarest part occurs, then whose every part does, in the caller's order.

Exact by construction: only names that cannot match are left out. Text or names beyond ASCII
(where case folding is wider than `str.lower`) are always tried. The index is built once per
`Vocabulary` (a catalog version) and dropped with it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import cache

from agent_bruno.agent.nlu.vocabulary import Vocabulary, squash

# What `extract` puts in place of a found name: the words a later pattern may then meet.
PLACEHOLDER_WORDS = " node sensor location metric unit time num"


@cache
def name_parts(name: str) -> tuple[str, ...] | None:
    """The lower-case parts every match of the name's pattern contains; None when the name
    is not ASCII."""
    if not name.isascii():
        return None
    return tuple(p.lower() for p in re.split(r"[\s_\-]+", name) if p)


class NameIndex:
    """Names in the order they are tried, each keyed by its rarest part."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = list(names)
        parts = [name_parts(n) for n in self.names]
        counts = Counter(p for ps in parts if ps for p in set(ps))
        self._always: list[int] = []  # names tried whatever the text (no ASCII parts)
        self._by_key: dict[str, list[int]] = {}
        self._parts = parts
        for i, ps in enumerate(parts):
            if not ps:
                self._always.append(i)
            else:
                key = min(ps, key=lambda p: (counts[p], p))
                self._by_key.setdefault(key, []).append(i)

    def candidates(self, text: str) -> list[str]:
        """The names that may occur in `text`, in order (all of them for non-ASCII text)."""
        if not text.isascii():
            return list(self.names)
        seen = text.lower() + PLACEHOLDER_WORDS
        chosen = list(self._always)
        for key, ids in self._by_key.items():
            if key in seen:
                chosen.extend(ids)
        chosen.sort()
        parts = self._parts
        return [
            self.names[i] for i in chosen if (ps := parts[i]) is None or all(p in seen for p in ps)
        ]


class VocabularyIndex:
    """The name indexes of one vocabulary, in the orders `extract` tries them."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.nodes = NameIndex(sorted(vocab.nodes, key=len, reverse=True))
        # A sensor named by a plain word ("node") is not looked for in free text.
        self.sensors = NameIndex(n for n in vocab.sensors if re.search(r"\d", n))
        self.locations = NameIndex(sorted(vocab.locations, key=len, reverse=True))
        # For typos and abbreviations of locations: the lower-case parts of each name of two
        # or more parts, and every location by its squashed name.
        split = (
            (loc, [p for p in re.split(r"[\s_\-]+", loc.lower()) if p]) for loc in vocab.locations
        )
        self.multi_part_locations = [(loc, parts) for loc, parts in split if len(parts) >= 2]
        self.squashed_locations = {squash(loc): loc for loc in vocab.locations}
        self.squashed_keys = list(self.squashed_locations)


_KEPT = 4
_indexes: dict[int, VocabularyIndex] = {}


def index_of(vocab: Vocabulary) -> VocabularyIndex:
    """The index of `vocab` (built the first time; the last few vocabularies are kept)."""
    found = _indexes.get(id(vocab))
    if found is not None and found.vocab is vocab:
        return found
    built = VocabularyIndex(vocab)
    if len(_indexes) >= _KEPT:
        _indexes.pop(next(iter(_indexes)))
    _indexes[id(vocab)] = built
    return built
