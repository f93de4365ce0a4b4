#!/usr/bin/env python3
"""Write the token and password files an overlay's secretGenerator reads (stdlib only).

    python3 manifests/make_secrets.py manifests/overlays/pi

Nodes come from the overlay's `locations.env` (`<node>=<location>` per line). Files go to
`<overlay>/secrets/` (git-ignored, mode 0600). Existing values are kept: run it again after
adding a node and only the new node gets tokens. Every reporter gets its own push token (the
agent maps a token to its node); one read token, shared by the agent and Prometheus, guards the
reporters' raw reads and /metrics.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
from pathlib import Path

_NODE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def nodes_of(locations: Path) -> list[str]:
    """Node names from a `<node>=<location>` file (comments and blank lines skipped)."""
    nodes: list[str] = []
    for number, line in enumerate(locations.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        node, sep, location = text.partition("=")
        if not sep or not location.strip() or not _NODE.match(node.strip()):
            raise SystemExit(
                f"{locations}:{number}: {text!r} is not `<node name>=<location>` "
                "(node names as `kubectl get nodes` prints them, e.g. pi-node-1=warehouse)"
            )
        nodes.append(node.strip())
    if not nodes:
        raise SystemExit(f"{locations} names no node; add one `<node name>=<location>` per line")
    return nodes


def _token() -> str:
    return secrets.token_urlsafe(32)


def _read_env(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.partition("=") for line in path.read_text(encoding="utf-8").splitlines())
    return {k: v for k, sep, v in pairs if sep and not k.startswith("#")}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def make_secrets(overlay: Path) -> list[str]:
    """Create what is missing under `overlay/secrets`; return the names of the files written."""
    nodes = nodes_of(overlay / "locations.env")
    out = overlay / "secrets"
    written: list[str] = []

    def keep_or_make(name: str) -> str:
        path = out / name
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        value = _token()
        # No trailing newline: a secretKeyRef passes the file's bytes as the variable's value.
        _write(path, value)
        written.append(name)
        return value

    keep_or_make("api-token")
    read_token = keep_or_make("read-token")
    push = _read_env(out / "reporter-tokens.env")
    if any(node not in push for node in nodes):
        push.update({node: _token() for node in nodes if node not in push})
        _write(out / "reporter-tokens.env", "".join(f"{n}={t}\n" for n, t in push.items()))
        written.append("reporter-tokens.env")
    agent_push = json.dumps({n: push[n] for n in push}, indent=2) + "\n"
    agent_read = json.dumps(dict.fromkeys(push, read_token), indent=2) + "\n"
    for name, text in (
        ("reporter-tokens.json", agent_push),
        ("reporter-read-tokens.json", agent_read),
    ):
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            _write(path, text)
            written.append(name)
    neo4j = _read_env(out / "neo4j.env")
    if "password" not in neo4j:
        password = _token()
        _write(out / "neo4j.env", f"NEO4J_AUTH=neo4j/{password}\npassword={password}\n")
        written.append("neo4j.env")
    return written


def main(argv: list[str]) -> int:
    """Command line: one overlay directory."""
    if len(argv) != 1 or not (Path(argv[0]) / "kustomization.yaml").is_file():
        print("usage: make_secrets.py <overlay directory with kustomization.yaml>", file=sys.stderr)
        return 2
    overlay = Path(argv[0])
    written = make_secrets(overlay)
    where = overlay / "secrets"
    print(f"{where}: wrote {', '.join(written)}" if written else f"{where}: all present, kept")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
