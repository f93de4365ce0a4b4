"""The browser chat at `/`: one page and its script and style, shipped in the package
(`web/`, linked as `agent_bruno/assets/web`), read once, served with a strict Content Security
Policy (nothing loads from anywhere but the agent itself)."""

from __future__ import annotations

from functools import cache
from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import Response

from agent_bruno.api.errors import ApiError
from agent_bruno.api.openapi import documented
from agent_bruno.assets import asset

router = APIRouter(tags=["web"])

FILES = {
    "chat.js": "text/javascript; charset=utf-8",
    "chat.css": "text/css; charset=utf-8",
}
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@cache
def _read(name: str) -> bytes:
    """A shipped web file's bytes (read once)."""
    return asset("web", name).read_bytes()


@router.get(
    "/",
    responses=documented(
        media={"text/html": {"schema": {"type": "string"}}},
        description="The chat page (its script asks POST /chat with the API token you enter)",
    ),
)
async def chat_page() -> Response:
    """The browser chat."""
    return Response(_read("index.html"), media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get(
    "/ui/{name}",
    responses=documented(
        404,
        media={
            "text/javascript": {"schema": {"type": "string"}},
            "text/css": {"schema": {"type": "string"}},
        },
        description="The chat's script or style",
    ),
)
async def chat_file(
    name: Annotated[str, Path(description="chat.js or chat.css", examples=["chat.js"])],
) -> Response:
    """A file of the browser chat."""
    media = FILES.get(name)
    if media is None:
        raise ApiError(404, f"no file {name[:80]!r}; the chat has {', '.join(FILES)}")
    return Response(_read(name), media_type=media, headers=HEADERS)
