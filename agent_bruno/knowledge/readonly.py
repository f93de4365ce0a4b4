"""Whether a generated Cypher query only reads: a lexer and a clause check, no regex on raw text.

The query is split into tokens (strings, comments, quoted names and parameters are single tokens,
so a keyword inside them does not count); then every word in keyword position is checked
against the clauses that write or leave the graph, and every procedure call against a short
allow-list. The database's own check runs after this one (a read-only transaction on Ladybug,
EXPLAIN's query type and read access on Neo4j): this is the first of two locks, not the only one.
"""

from __future__ import annotations

from dataclasses import dataclass

# Clauses that change the graph, the schema, the database or its files.
WRITE_WORDS = frozenset(
    {
        "CREATE",
        "MERGE",
        "SET",
        "DELETE",
        "DETACH",
        "REMOVE",
        "DROP",
        "LOAD",
        "FOREACH",
        "COPY",
        "ALTER",
        "INSTALL",
        "ATTACH",
        "IMPORT",
        "EXPORT",
        "GRANT",
        "REVOKE",
        "DENY",
        "TERMINATE",
        "USE",
        "CHECKPOINT",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "MACRO",
        "RENAME",
        "ENABLE",
        "START",
        "STOP",
    }
)
# Procedures that only describe the graph.
READ_PROCEDURES = frozenset(
    {
        "db.labels",
        "db.relationshiptypes",
        "db.propertykeys",
        "db.schema.visualization",
        "db.schema.nodetypeproperties",
        "db.schema.reltypeproperties",
        "show_tables",
        "table_info",
    }
)
_PUNCT2 = ("->", "<-", "<=", ">=", "<>", "=~", "+=", "..")


class CypherSyntaxError(ValueError):
    """The text does not lex as Cypher (an unclosed string, comment or quoted name)."""


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token: kind is word, name (back-quoted), string, number, param or punct."""

    kind: str
    text: str
    pos: int


def _end_of_quoted(text: str, start: int, quote: str) -> int:
    """The index after the closing `quote` of a string or name starting at `start`."""
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and quote != "`":
            i += 2
            continue
        if c == quote:
            if quote == "`" and text[i + 1 : i + 2] == "`":
                i += 2  # `` inside a quoted name
                continue
            return i + 1
        i += 1
    raise CypherSyntaxError(f"unclosed {quote} opened at character {start}")


def tokenize(text: str) -> list[Token]:
    """The tokens of `text`, comments dropped."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise CypherSyntaxError(f"unclosed comment opened at character {i}")
            i = end + 2
        elif c in "'\"":
            j = _end_of_quoted(text, i, c)
            tokens.append(Token("string", text[i:j], i))
            i = j
        elif c == "`":
            j = _end_of_quoted(text, i, c)
            tokens.append(Token("name", text[i + 1 : j - 1].replace("``", "`"), i))
            i = j
        elif c == "$":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(Token("param", text[i:j], i))
            i = j
        elif c.isdigit():
            j = i
            while j < n and (text[j].isalnum() or text[j] == "."):
                if text.startswith("..", j):
                    break
                j += 1
            tokens.append(Token("number", text[i:j], i))
            i = j
        elif c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(Token("word", text[i:j], i))
            i = j
        else:
            two = text[i : i + 2]
            width = 2 if two in _PUNCT2 else 1
            tokens.append(Token("punct", text[i : i + width], i))
            i += width
    return tokens


def _procedure(tokens: list[Token], start: int) -> str:
    """The dotted name after CALL at `start` (e.g. `db.labels`)."""
    parts: list[str] = []
    i = start
    while i < len(tokens) and tokens[i].kind in ("word", "name"):
        parts.append(tokens[i].text)
        if i + 1 < len(tokens) and tokens[i + 1].text == ".":
            i += 2
            continue
        break
    return ".".join(parts)


def read_only_problem(text: str) -> str | None:
    """Why `text` is not a single read-only query, or None when it is."""
    try:
        tokens = tokenize(text)
    except CypherSyntaxError as exc:
        return str(exc)
    if not tokens:
        return "the query is empty"
    for i, tok in enumerate(tokens):
        if tok.kind == "punct" and tok.text == ";" and i != len(tokens) - 1:
            return "send one statement (a ';' separates several)"
        if tok.kind != "word":
            continue
        prev = tokens[i - 1].text if i > 0 else ""
        if prev in (".", ":"):
            continue  # a property, label or relationship type, not a clause
        word = tok.text.upper()
        if word in WRITE_WORDS:
            return f"{word} at character {tok.pos} writes or leaves the graph; only reads may run"
        if word == "APOC":
            return f"APOC at character {tok.pos}: procedures and functions of APOC may not run"
        if word == "CALL":
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if nxt is not None and nxt.text in ("{", "("):
                continue  # a subquery: its clauses are checked as tokens like the rest
            name = _procedure(tokens, i + 1).lower()
            if name not in READ_PROCEDURES:
                return f"CALL {name or '?'} at character {tok.pos} is not a known read procedure"
    return None


def is_read_only(text: str) -> bool:
    """Whether `text` is one query that only reads."""
    return read_only_problem(text) is None
