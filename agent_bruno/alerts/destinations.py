"""Destination checks against server-side request forgery, on creation and before every send.

A destination must be https, and every address its host resolves to must be public: no
loopback, link-local (cloud metadata at 169.254.169.254 included), private, shared, multicast
or reserved address, unless the settings' allow-list names the host or a network holding the
address. Sends go to the address that was checked (the host name travels in the Host header
and TLS SNI), so a DNS answer that changes between check and connect (rebinding) cannot
redirect a notification.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]
_METADATA = {"169.254.169.254", "fd00:ec2::254", "100.100.100.200"}


class DestinationError(ValueError):
    """A destination is refused; the message says why and what would be accepted."""


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    """What destinations are allowed: hosts and networks beyond the public internet, and
    whether plain http is accepted for them."""

    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[IpNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Sequence[str]) -> DestinationPolicy:
        """From settings entries: host names, addresses or CIDR networks."""
        hosts: set[str] = set()
        nets: list[IpNetwork] = []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(nets))

    def allows_host(self, host: str) -> bool:
        """Whether the host name itself is on the allow-list."""
        return host.lower().rstrip(".") in self.allow_hosts

    def allows_address(self, ip: IpAddress) -> bool:
        """Whether an address falls in an allowed network."""
        return any(ip in net for net in self.allow_networks if net.version == ip.version)


@dataclass(frozen=True, slots=True)
class Target:
    """A checked destination: where to connect and what to call the host."""

    url: str
    scheme: str
    host: str
    port: int
    address: str  # the checked address to connect to


def _blocked(ip: IpAddress) -> str | None:
    """Why an address may not be a destination, or None when it is public."""
    if str(ip) in _METADATA:
        return "a cloud metadata address"
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        return _blocked(mapped)
    for attr, what in (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_unspecified", "an unspecified address"),
        ("is_reserved", "a reserved address"),
        ("is_private", "a private address"),
    ):
        if getattr(ip, attr):
            return what
    if ip.version == 4 and ip in ipaddress.ip_network("100.64.0.0/10"):
        return "a shared (carrier-grade NAT) address"
    if not ip.is_global:
        return "a non-public address"
    return None


async def system_resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host`."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def parse_url(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of an http(s) URL; DestinationError if it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DestinationError(f"{url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise DestinationError(
            f"destination URL scheme {parts.scheme!r} is not allowed; use https://"
        )
    if not parts.hostname:
        raise DestinationError(
            "destination URL has no host; write e.g. https://hooks.example.com/x"
        )
    if parts.username or parts.password:
        raise DestinationError("destination URL must not carry a user name or password")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def check(url: str, policy: DestinationPolicy, resolve: Resolver = system_resolve) -> Target:
    """Resolve and check a destination; raise DestinationError naming the problem."""
    scheme, host, port = parse_url(url)
    host_allowed = policy.allows_host(host)
    try:
        literal: IpAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = await resolve(host, port)
        except OSError as exc:
            raise DestinationError(f"destination host {host!r} does not resolve: {exc}") from None
        if not addresses:
            raise DestinationError(f"destination host {host!r} has no address")
    allowed = host_allowed
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
        if host_allowed or policy.allows_address(ip):
            allowed = True
            continue
        why = _blocked(ip)
        if why is not None:
            raise DestinationError(
                f"destination {host!r} resolves to {ip}, {why}; notifications may only go to "
                "public https addresses unless AGENT_BRUNO_ALERT_ALLOW_HOSTS names the host "
                "or its network"
            )
    if scheme != "https" and not allowed:
        raise DestinationError(
            f"destination {url.split('?', 1)[0][:80]!r} is plain http; use https, or add its "
            "host to AGENT_BRUNO_ALERT_ALLOW_HOSTS (loopback receivers, a LAN Alertmanager)"
        )
    return Target(url, scheme, host, port, addresses[0])
