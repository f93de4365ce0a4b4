"""Text that came from data, made safe to print and to show a model (pure functions).

Names, reasons and tool results come from reporters and imports: none of it is trusted. On a
terminal, control characters in it (ANSI escapes such as `ESC[2J`, bidirectional overrides)
would act instead of showing; in a prompt, a newline in a name could start a fake section. So:

- `for_terminal` escapes every control and bidi-override character except newline and tab, for
  plain-text answers (`POST /query`) and `agent-bruno ask`;
- `one_line` also escapes newlines, for one data value inside a line;
- `fence` marks a block of data as untrusted for a model, and `json_for_model` writes data as
  JSON that cannot close that fence.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import orjson

# C0 and C1 controls, DEL, and the bidirectional embedding / override / isolate characters.
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[{_CONTROLS}]")
_UNSAFE_LINE = re.compile(f"[{_CONTROLS}\n\t\u2028\u2029]")
# The one fence every model prompt uses (the graph tools' results too).
FENCE_OPEN = '<untrusted-data tool="{source}">'
FENCE_CLOSE = "</untrusted-data>"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char == "\n":
        return "\\n"
    if char == "\t":
        return "\\t"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: str) -> str:
    """`text` with control and bidi characters shown as escapes (newlines and tabs kept)."""
    return _UNSAFE.sub(_escape, text)


def one_line(text: str) -> str:
    """`text` as one line: newlines and every control character shown as escapes."""
    return _UNSAFE_LINE.sub(_escape, text)


def is_clean(text: str) -> bool:
    """Whether `text` has no control, format or line-separator characters."""
    return not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in text)


def json_for_model(value: Any) -> str:
    """Compact JSON in which no string can close a `fence` (`<` and `>` are escaped)."""
    text = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


def fence(source: str, text: str) -> str:
    """`text` between markers that tell a model it is data from `source`, not instructions."""
    safe = text.replace("<", "\\u003c").replace(">", "\\u003e")
    return f"{FENCE_OPEN.format(source=source)}\n{safe}\n{FENCE_CLOSE}"
