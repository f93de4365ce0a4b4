"""Destinations: https only, no private or metadata addresses after DNS, the allow-list."""

from __future__ import annotations

import pytest

from agent_bruno.alerts.destinations import DestinationError, DestinationPolicy, check
from agent_bruno.alerts.subscription import Destination, redact_url


def resolver(*addresses: str):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


OPEN = DestinationPolicy()


async def test_public_https_is_accepted_and_pinned() -> None:
    target = await check("https://hooks.slack.com/services/T/B/x", OPEN, resolver("3.5.6.7"))
    assert (target.host, target.port, target.address) == ("hooks.slack.com", 443, "3.5.6.7")


@pytest.mark.parametrize(
    ("url", "addresses", "says"),
    [
        ("https://evil.example/x", ["127.0.0.1"], "loopback"),
        ("https://evil.example/x", ["10.1.2.3"], "private"),
        ("https://evil.example/x", ["192.168.1.10"], "private"),
        ("https://evil.example/x", ["169.254.169.254"], "metadata"),
        ("https://evil.example/x", ["169.254.10.1"], "link-local"),
        ("https://evil.example/x", ["100.64.1.1"], "shared"),
        ("https://evil.example/x", ["::1"], "loopback"),
        ("https://evil.example/x", ["::ffff:127.0.0.1"], "loopback"),
        ("https://evil.example/x", ["fd00::5"], "private"),
        # Rebinding-style answers: one public address is not enough when another is private.
        ("https://evil.example/x", ["3.5.6.7", "127.0.0.1"], "loopback"),
        ("https://127.0.0.1:9000/x", [], "loopback"),
        ("https://[::1]/x", [], "loopback"),
        ("http://hooks.example.com/x", ["3.5.6.7"], "plain http"),
        ("ftp://hooks.example.com/x", ["3.5.6.7"], "scheme"),
        ("https://user:pw@hooks.example.com/x", ["3.5.6.7"], "user name"),
        ("https:///x", [], "no host"),
    ],
)
async def test_refused(url: str, addresses: list[str], says: str) -> None:
    with pytest.raises(DestinationError, match=says):
        await check(url, OPEN, resolver(*addresses))


@pytest.mark.parametrize(
    ("entries", "url", "addresses"),
    [
        (["127.0.0.1/32"], "http://127.0.0.1:9000/hook", []),
        (["10.0.0.0/8"], "http://alertmanager.lan:9093", ["10.0.0.5"]),
        (["alertmanager.lan"], "http://alertmanager.lan:9093", ["10.0.0.5"]),
    ],
)
async def test_the_allow_list_permits_named_hosts_and_networks(
    entries: list[str], url: str, addresses: list[str]
) -> None:
    await check(url, DestinationPolicy.parse(entries), resolver(*addresses))


async def test_an_allowed_network_does_not_open_others() -> None:
    policy = DestinationPolicy.parse(["127.0.0.1/32"])
    with pytest.raises(DestinationError, match="private"):
        await check("https://x.example/", policy, resolver("10.0.0.5"))


async def test_unresolvable_host() -> None:
    async def fail(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(DestinationError, match="does not resolve"):
        await check("https://nowhere.invalid/x", OPEN, fail)


def test_secrets_are_never_echoed_whole() -> None:
    dest = Destination(
        kind="pagerduty", url="https://events.pagerduty.com/v2/enqueue",
        secret="R0UTINGKEY1234567890abcdef",  # type: ignore[arg-type]
    )  # fmt: skip
    shown = dest.redacted()
    assert shown["secret"] == "R0UT… (26 chars)"
    assert redact_url("https://hooks.slack.com/services/T000/B000/XXXXSECRET") == (
        "https://hooks.slack.com/…"
    )
    assert "XXXXSECRET" not in str(shown)
