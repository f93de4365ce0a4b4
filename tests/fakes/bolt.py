"""A Bolt-speaking test server: real TCP on loopback, real handshake, PackStream and chunking.

The official `neo4j` driver connects to it exactly as to Neo4j 5: the version handshake (it
answers Bolt 5.4 to the driver's proposals), HELLO and LOGON, BEGIN / RUN / PULL / DISCARD /
COMMIT / ROLLBACK, auto-commit RUN, RESET and GOODBYE, with FAILURE and IGNORED after a failure
as the protocol has them. What a query returns comes from a `Responder`:

- `Scripted` answers from rules (query substring → rows or a failure), for connection
  handling, credentials, transient errors and error mapping;
- `LadybugResponder` (tests/fakes/bolt_ladybug.py) runs the received Cypher on an in-memory
  LadybugDB, so the catalogue's behaviour can be checked through the real driver.

Everything received is kept in `server.received` for assertions. It is not Neo4j: no routing,
no planner, no security beyond the credentials check; see the README for what ran where.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

MAGIC = b"\x60\x60\xb0\x17"
VERSION = (5, 4)
SERVER_AGENT = "Neo4j/5.26.0"

HELLO, GOODBYE, RESET, RUN, BEGIN, COMMIT, ROLLBACK = 0x01, 0x02, 0x0F, 0x10, 0x11, 0x12, 0x13
DISCARD, PULL, TELEMETRY, LOGON, LOGOFF, ROUTE = 0x2F, 0x3F, 0x54, 0x6A, 0x6B, 0x66
SUCCESS, RECORD, IGNORED, FAILURE = 0x70, 0x71, 0x7E, 0x7F
NAMES = {
    HELLO: "HELLO",
    GOODBYE: "GOODBYE",
    RESET: "RESET",
    RUN: "RUN",
    BEGIN: "BEGIN",
    COMMIT: "COMMIT",
    ROLLBACK: "ROLLBACK",
    DISCARD: "DISCARD",
    PULL: "PULL",
    TELEMETRY: "TELEMETRY",
    LOGON: "LOGON",
    LOGOFF: "LOGOFF",
    ROUTE: "ROUTE",
}


# --- PackStream v1 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Structure:
    """A PackStream structure: a tag byte and its fields (messages, nodes, relationships)."""

    tag: int
    fields: tuple[Any, ...]


def pack(value: Any) -> bytes:
    """Encode one value."""
    if value is None:
        return b"\xc0"
    if value is True:
        return b"\xc3"
    if value is False:
        return b"\xc2"
    if isinstance(value, int):
        if -16 <= value < 128:
            return struct.pack(">b", value)
        for marker, fmt, lo, hi in (
            (0xC8, ">b", -(2**7), 2**7),
            (0xC9, ">h", -(2**15), 2**15),
            (0xCA, ">i", -(2**31), 2**31),
            (0xCB, ">q", -(2**63), 2**63),
        ):
            if lo <= value < hi:
                return bytes([marker]) + struct.pack(fmt, value)
        raise ValueError(f"integer {value} does not fit in 64 bits")
    if isinstance(value, float):
        return b"\xc1" + struct.pack(">d", value)
    if isinstance(value, str):
        data = value.encode()
        return _header(len(data), 0x80, 0xD0) + data
    if isinstance(value, bytes | bytearray):
        return _header(len(value), None, 0xCC) + bytes(value)
    if isinstance(value, list | tuple):
        return _header(len(value), 0x90, 0xD4) + b"".join(pack(v) for v in value)
    if isinstance(value, dict):
        return _header(len(value), 0xA0, 0xD8) + b"".join(
            pack(str(k)) + pack(v) for k, v in value.items()
        )
    if isinstance(value, Structure):
        return bytes([0xB0 + len(value.fields), value.tag]) + b"".join(
            pack(f) for f in value.fields
        )
    raise TypeError(f"cannot pack {type(value).__name__}")


def _header(size: int, tiny: int | None, base: int) -> bytes:
    """The marker and size of a string, bytes, list or map."""
    if tiny is not None and size < 16:
        return bytes([tiny + size])
    if size < 2**8:
        return bytes([base]) + struct.pack(">B", size)
    if size < 2**16:
        return bytes([base + 1]) + struct.pack(">H", size)
    return bytes([base + 2]) + struct.pack(">I", size)


class Unpacker:
    """Decode values from a buffer."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        if len(chunk) != n:
            raise ValueError("truncated PackStream value")
        self.pos += n
        return chunk

    def _size(self, marker: int, tiny: int | None, base: int) -> int | None:
        if tiny is not None and tiny <= marker < tiny + 16:
            return marker - tiny
        fmt = {base: ">B", base + 1: ">H", base + 2: ">I"}.get(marker)
        if fmt is None:
            return None
        return int(struct.unpack(fmt, self._take(struct.calcsize(fmt)))[0])

    def unpack(self) -> Any:
        """The next value."""
        marker = self._take(1)[0]
        if marker < 0x80:
            return marker
        if marker >= 0xF0:
            return marker - 0x100
        if marker == 0xC0:
            return None
        if marker in (0xC2, 0xC3):
            return marker == 0xC3
        if marker == 0xC1:
            return struct.unpack(">d", self._take(8))[0]
        ints = {0xC8: ">b", 0xC9: ">h", 0xCA: ">i", 0xCB: ">q"}
        if marker in ints:
            fmt = ints[marker]
            return struct.unpack(fmt, self._take(struct.calcsize(fmt)))[0]
        if (n := self._size(marker, 0x80, 0xD0)) is not None:
            return self._take(n).decode()
        if (n := self._size(marker, None, 0xCC)) is not None:
            return self._take(n)
        if (n := self._size(marker, 0x90, 0xD4)) is not None:
            return [self.unpack() for _ in range(n)]
        if (n := self._size(marker, 0xA0, 0xD8)) is not None:
            return {self.unpack(): self.unpack() for _ in range(n)}
        if 0xB0 <= marker <= 0xBF:
            tag = self._take(1)[0]
            return Structure(tag, tuple(self.unpack() for _ in range(marker - 0xB0)))
        raise ValueError(f"unknown PackStream marker 0x{marker:02X}")


def chunked(message: bytes) -> bytes:
    """A message as Bolt chunks, ended by the empty chunk."""
    out = bytearray()
    for start in range(0, len(message), 0xFFFF):
        part = message[start : start + 0xFFFF]
        out += struct.pack(">H", len(part)) + part
    return bytes(out + b"\x00\x00")


# --- What the server answers -------------------------------------------------------------------


@dataclass
class Failure:
    """A Bolt FAILURE: a Neo4j status code and message."""

    code: str
    message: str


@dataclass
class Result:
    """The answer to a RUN: columns, rows, and the query type the summary reports."""

    fields: list[str] = field(default_factory=list)
    records: list[list[Any]] = field(default_factory=list)
    query_type: str = "r"


@dataclass(frozen=True)
class Received:
    """One message the server received: its name and fields."""

    name: str
    fields: tuple[Any, ...]


class Responder(Protocol):
    """Decides logins, transactions and query answers."""

    def login(self, auth: dict[str, Any]) -> Failure | None:
        """None to accept the credentials, or the failure to send."""

    async def begin(self, meta: dict[str, Any]) -> Failure | None:
        """A transaction starts (`meta` has its mode, database and timeout)."""

    async def run(
        self, query: str, params: dict[str, Any], meta: dict[str, Any]
    ) -> Result | Failure:
        """The answer to one query."""

    async def commit(self) -> Failure | None:
        """The transaction commits."""

    async def rollback(self) -> None:
        """The transaction is rolled back (also on RESET inside a transaction)."""


@dataclass
class Rule:
    """`Scripted`: queries containing `match` get `answer` (a callable sees the parameters);
    `times` limits how often the rule applies (None: always)."""

    match: str
    answer: Result | Failure | Callable[[dict[str, Any]], Result | Failure]
    times: int | None = None


class Scripted:
    """Answers from rules, first match wins; unmatched queries get an empty result."""

    def __init__(
        self,
        rules: Sequence[Rule] = (),
        *,
        user: str = "neo4j",
        password: str = "test-password-1234",  # noqa: S107 (the test server's own)
    ) -> None:
        self.rules = list(rules)
        self.user = user
        self.password = password

    def login(self, auth: dict[str, Any]) -> Failure | None:
        """Accept only the configured user and password."""
        if auth.get("principal") == self.user and auth.get("credentials") == self.password:
            return None
        return Failure(
            "Neo.ClientError.Security.Unauthorized",
            "The client is unauthorized due to authentication failure.",
        )

    async def begin(self, meta: dict[str, Any]) -> Failure | None:
        """Transactions always start."""
        return None

    async def run(
        self, query: str, params: dict[str, Any], meta: dict[str, Any]
    ) -> Result | Failure:
        """The first rule whose text is in the query."""
        for rule in self.rules:
            if rule.match in query and (rule.times is None or rule.times > 0):
                if rule.times is not None:
                    rule.times -= 1
                answer = rule.answer
                return answer(params) if callable(answer) else answer
        return Result()

    async def commit(self) -> Failure | None:
        """Commits always succeed."""
        return None

    async def rollback(self) -> None:
        """Nothing to undo."""


# --- The server ---------------------------------------------------------------------------------


class BoltServer:
    """`async with BoltServer(responder) as server:` listens on 127.0.0.1:`server.port`."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.received: list[Received] = []
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.drop_next: int = 0  # close this many new connections right after the handshake

    @property
    def port(self) -> int:
        """The listening port."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def uri(self) -> str:
        """A `bolt://` URI for the driver."""
        return f"bolt://127.0.0.1:{self.port}"

    def names(self) -> list[str]:
        """The names of the messages received so far, in order."""
        return [r.name for r in self.received]

    def queries(self) -> list[str]:
        """The text of every RUN received."""
        return [str(r.fields[0]) for r in self.received if r.name == "RUN"]

    async def __aenter__(self) -> BoltServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        if self._server is not None:
            self._server.close()
            for w in list(self._writers):
                w.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _read_message(self, reader: asyncio.StreamReader) -> Structure | None:
        """The next message (NOOP chunks skipped); None at end of stream."""
        data = bytearray()
        while True:
            try:
                size = struct.unpack(">H", await reader.readexactly(2))[0]
            except asyncio.IncompleteReadError:
                return None
            if size == 0:
                if data:
                    break
                continue  # NOOP keep-alive
            data += await reader.readexactly(size)
        value = Unpacker(bytes(data)).unpack()
        if not isinstance(value, Structure):
            raise ValueError("a Bolt message must be a structure")
        return value

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self.connections += 1
        try:
            await self._session(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _handshake(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Agree on Bolt 5.4 if the client proposes it (a range counts)."""
        if await reader.readexactly(4) != MAGIC:
            return False
        proposals = await reader.readexactly(16)
        major, minor = VERSION
        for i in range(0, 16, 4):
            _, span, p_minor, p_major = proposals[i : i + 4]
            if p_major == major and p_minor - span <= minor <= p_minor:
                writer.write(bytes([0, 0, minor, major]))
                await writer.drain()
                return True
        writer.write(b"\x00\x00\x00\x00")
        await writer.drain()
        return False

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not await self._handshake(reader, writer):
            return
        if self.drop_next > 0:
            self.drop_next -= 1
            return
        failed = False
        in_tx = False
        pending: list[list[Any]] = []
        pending_meta: dict[str, Any] = {}
        tx_meta: dict[str, Any] = {}

        def send(tag: int, *fields: Any) -> None:
            writer.write(chunked(pack(Structure(tag, fields))))

        while True:
            msg = await self._read_message(reader)
            if msg is None:
                return
            name = NAMES.get(msg.tag, f"0x{msg.tag:02X}")
            self.received.append(Received(name, msg.fields))
            if msg.tag == GOODBYE:
                return
            if msg.tag == RESET:
                if in_tx:
                    await self.responder.rollback()
                failed, in_tx, pending = False, False, []
                send(SUCCESS, {})
            elif failed:
                send(IGNORED)
            elif msg.tag == HELLO:
                send(
                    SUCCESS,
                    {
                        "server": SERVER_AGENT,
                        "connection_id": f"bolt-{self.connections}",
                        "hints": {},
                    },
                )
            elif msg.tag == LOGON:
                problem = self.responder.login(dict(msg.fields[0]))
                if problem is not None:
                    send(FAILURE, {"code": problem.code, "message": problem.message})
                    await writer.drain()
                    return  # Neo4j closes the connection after an authentication failure
                send(SUCCESS, {})
            elif msg.tag in (LOGOFF, TELEMETRY):
                send(SUCCESS, {})
            elif msg.tag == BEGIN:
                tx_meta = dict(msg.fields[0]) if msg.fields else {}
                problem = await self.responder.begin(tx_meta)
                if problem is not None:
                    failed = True
                    send(FAILURE, {"code": problem.code, "message": problem.message})
                else:
                    in_tx = True
                    send(SUCCESS, {})
            elif msg.tag == RUN:
                query, params = str(msg.fields[0]), dict(msg.fields[1])
                extra = dict(msg.fields[2]) if len(msg.fields) > 2 else {}
                answer = await self.responder.run(query, params, tx_meta if in_tx else extra)
                if isinstance(answer, Failure):
                    failed = True
                    if in_tx:
                        await self.responder.rollback()
                        in_tx = False
                    send(FAILURE, {"code": answer.code, "message": answer.message})
                else:
                    pending = list(answer.records)
                    pending_meta = {"type": answer.query_type}
                    meta: dict[str, Any] = {"fields": answer.fields, "t_first": 0}
                    if in_tx:
                        meta["qid"] = 0
                    send(SUCCESS, meta)
            elif msg.tag in (PULL, DISCARD):
                n = int(dict(msg.fields[0]).get("n", -1)) if msg.fields else -1
                take = len(pending) if n < 0 else min(n, len(pending))
                if msg.tag == PULL:
                    for values in pending[:take]:
                        send(RECORD, values)
                pending = pending[take:]
                done: dict[str, Any] = {"has_more": bool(pending)}
                if not pending:
                    done.update(pending_meta, t_last=0, db="neo4j")
                    if not in_tx:
                        done["bookmark"] = "bm:1"
                send(SUCCESS, done)
            elif msg.tag == COMMIT:
                problem = await self.responder.commit()
                in_tx = False
                if problem is not None:
                    failed = True
                    send(FAILURE, {"code": problem.code, "message": problem.message})
                else:
                    send(SUCCESS, {"bookmark": "bm:1"})
            elif msg.tag == ROLLBACK:
                await self.responder.rollback()
                in_tx = False
                send(SUCCESS, {})
            else:
                failed = True
                send(
                    FAILURE,
                    {"code": "Neo.ClientError.Request.Invalid", "message": f"unsupported {name}"},
                )
            await writer.drain()
