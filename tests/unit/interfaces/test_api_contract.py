"""The API against its own OpenAPI document, with schemathesis over HTTP to a real agent: for a
bounded number of generated requests per operation, no 5xx, and every answer's status, media type,
headers and body as documented (problem+json for errors)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.unit.agent.helpers import NODE1_TOKEN
from tests.unit.interfaces.live import LiveAgent, running_agent

EXAMPLES_PER_OPERATION = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def contract_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAgent]:
    # Its own agent: generated requests create and delete things.
    with running_agent(tmp_path_factory.mktemp("contract")) as live:
        yield live


def _exercise(operation: Any, agent: LiveAgent) -> str | None:
    """Run the operation's generated cases; the first failure, described, or None."""
    token = NODE1_TOKEN if operation.path == "/v1/events" else agent.token
    headers = {"Authorization": f"Bearer {token}"}

    @given(operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: Any) -> None:
        case.call_and_validate(base_url=agent.url, headers=headers, checks=CHECKS, timeout=30)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # a check's failure, with its case
        parts = [str(exc)]
        if isinstance(exc, BaseExceptionGroup):  # e.g. Hypothesis's FlakyFailure: say why
            parts += [f"{type(e).__name__}: {e}" for e in exc.exceptions]
        return f"{operation.method.upper()} {operation.path}: " + "\n".join(parts)[:3000]
    return None


# schemathesis's own strategies draw from `random` in places; Hypothesis warns about it now and
# then (under warnings-as-errors a flaky failure of whichever operation it lands on).
@pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)
def test_every_operation_answers_as_documented(contract_agent: LiveAgent) -> None:
    schema = schemathesis.openapi.from_url(f"{contract_agent.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    failures = [f for op in operations if (f := _exercise(op, contract_agent)) is not None]
    assert not failures, "\n\n".join(failures)


def test_the_document_covers_every_route_with_problems_and_security(contract_agent: LiveAgent):
    spec = httpx.get(f"{contract_agent.url}/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert {"apiToken", "reporterToken", "slackSignature"} <= set(schemes)
    for path, item in spec["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary") or op.get("description"), where
            for code, response in op["responses"].items():
                if int(code) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], where
                else:
                    assert response.get("content"), f"{where} {code} has no documented body"
                    for media, body in response["content"].items():
                        assert body.get("schema"), f"{where} {code} {media} has no schema"
            if path not in ("/healthz", "/readyz", "/", "/ui/{name}"):  # no data in these
                assert op.get("security"), f"{where} documents no security"


def test_docs_page_is_served_without_a_cdn(contract_agent: LiveAgent):
    page = httpx.get(f"{contract_agent.url}/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "/docs/static/swagger-ui-bundle.js" in page.text
    script = httpx.get(f"{contract_agent.url}/docs/static/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert len(script.content) > 100_000


def test_unknown_paths_and_methods_are_problems(contract_agent: LiveAgent, tmp_path: Path):
    r = httpx.get(f"{contract_agent.url}/v1/nope")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "not_found"
    r = httpx.delete(f"{contract_agent.url}/v1/nodes")
    assert r.status_code == 405
    assert r.json()["title"] == "Method not allowed"
