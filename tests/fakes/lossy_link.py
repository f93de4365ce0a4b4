"""A flapping loopback link for tests: a TCP proxy that delays, cuts and refuses.

Every chunk either way waits a random delay; a chunk from the client is lost (both sides closed
before it reaches the server) with probability `loss`, and so is a chunk of the server's answer
(the request arrived, its acknowledgement did not). While the link is down (`down()`), new
connections are closed at once. It runs its own event loop in a thread, so a test drives real
processes through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections import Counter
from types import TracebackType


class LossyLink:
    """Forward 127.0.0.1:`port` to 127.0.0.1:`upstream_port`, losing and delaying chunks."""

    def __init__(
        self,
        upstream_port: int,
        *,
        loss: float = 0.4,
        delay_s: tuple[float, float] = (0.01, 0.2),
        seed: int = 1,
    ) -> None:
        self.upstream_port = upstream_port
        self.loss = loss
        self.delay_s = delay_s
        self.port = 0
        self.counts: Counter[str] = Counter()
        # One stream per direction: with one shared stream, which draws fell to answers
        # depended on how the two directions interleaved, and some runs lost no answer at all.
        self._rngs = {"request": random.Random(seed), "answer": random.Random(seed + 1)}
        self._up = True
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def __enter__(self) -> LossyLink:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def url(self) -> str:
        """The link's end for the client."""
        return f"http://127.0.0.1:{self.port}"

    def down(self) -> None:
        """Refuse new connections and cut open ones (the link flaps down)."""
        self._up = False
        self._loop.call_soon_threadsafe(self._cut_all)

    def up(self) -> None:
        """Take connections again (still lossy)."""
        self._up = True

    async def _start(self) -> asyncio.Server:
        return await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        self._cut_all()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._server.wait_closed()

    def _cut_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        server_w: asyncio.StreamWriter | None = None
        try:
            if not self._up:
                self.counts["refused"] += 1
                return
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            ahead = asyncio.ensure_future(self._pipe(client_r, server_w, "request"))
            back = asyncio.ensure_future(self._pipe(server_r, client_w, "answer"))
            try:
                await asyncio.wait({ahead, back}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                ahead.cancel()
                back.cancel()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            for writer in (client_w, server_w):
                if writer is not None:
                    writer.close()
            self._tasks.discard(task)  # type: ignore[arg-type]

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, what: str) -> None:
        while chunk := await src.read(65536):
            rng = self._rngs[what]
            await asyncio.sleep(rng.uniform(*self.delay_s))
            if rng.random() < self.loss:
                self.counts[f"{what}s lost"] += 1
                return  # the caller closes both sides: this chunk never arrives
            dst.write(chunk)
            await dst.drain()
            self.counts[f"{what}s passed"] += 1
