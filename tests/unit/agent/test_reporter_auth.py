"""Reporter tokens among many: each authenticates its own node and only that one; a token that
is close to a real one (a prefix, one character off) is refused. The lookup is by the token's
SHA-256 (one dictionary lookup per request, whatever the number of reporters)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agent_bruno.app import create_app
from tests.unit.agent.helpers import aggregate, auth, envelope, make_settings

REPORTERS = 2_000


def token(n: int) -> str:
    return f"fleet-token-{n:05d}-4c8e1a7f"


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    tokens = {f"pi-{n}": token(n) for n in range(REPORTERS)}
    app = create_app(make_settings(tmp_path, reporter_tokens=tokens))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
            yield c


async def test_each_of_many_tokens_is_its_own_node(fleet):
    for n in (0, 1_234, REPORTERS - 1):
        body = envelope([aggregate(1)], node=f"pi-{n}")
        r = await fleet.post("/v1/events", json=body, headers=auth(token(n)))
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == 1
    other = await fleet.post(
        "/v1/events", json=envelope([aggregate(2)], node="pi-7"), headers=auth(token(8))
    )
    assert other.status_code == 403
    assert "pi-8" in other.json()["detail"]


@pytest.mark.parametrize("near", [token(5)[:-1], token(5) + "x", token(5).upper(), " "])
async def test_a_token_close_to_a_real_one_is_refused(fleet, near):
    r = await fleet.post(
        "/v1/events", json=envelope([aggregate(1)], node="pi-5"), headers=auth(near)
    )
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
