"""What the intent classifier sees of a question: word, word-pair and character n-gram counts.

One pure function, used the same way when the model is trained (`scripts/train_intents.py`)
and when it scores a question (`classifier.py`), so the two can never disagree about a feature.
Placeholders such as `_metric_` (names and phrases the slot extraction took out) count as
words but give no character n-grams: "warehouse" and "greenhouse" must not look different
to the intent.
"""

from __future__ import annotations

import re
from collections import Counter

_TOKEN = re.compile(r"_[a-z]+_|[a-z0-9]+(?:'[a-z]+)?")
CHAR_SIZES = (3, 4)


def tokens(text: str) -> list[str]:
    """Lower-case words and placeholders, apostrophes unified ("What’s" → "what's")."""
    return _TOKEN.findall(text.lower().replace("’", "'").replace("`", "'"))


def is_placeholder(token: str) -> bool:
    """Whether a token stands for a slot the extraction filled (`_metric_`, `_time_`)."""
    return len(token) > 2 and token[0] == "_" and token[-1] == "_"


def features(text: str) -> Counter[str]:
    """Counts of `w:` words, `b:` word pairs (from the start mark `^`) and `c:` n-grams."""
    words = tokens(text)
    counts: Counter[str] = Counter()
    for word in words:
        counts[f"w:{word}"] += 1
        if not is_placeholder(word):
            padded = f" {word} "
            for n in CHAR_SIZES:
                for i in range(len(padded) - n + 1):
                    counts[f"c:{padded[i : i + n]}"] += 1
    for a, b in zip(["^", *words], words, strict=False):
        counts[f"b:{a} {b}"] += 1
    if not words:
        counts["w:^"] += 1
    return counts
