"""The TLS context of the agent's outgoing HTTP clients, built once per process.

Loading the CA bundle costs ~50 ms of CPU, and httpx does it again for every client it builds
without one; the agent builds its clients at each start (the app's lifespan), so an app started
twice in one process (the tests, a restarted lifespan) would pay it twice. The context is
exactly what httpx builds by default (certifi's bundle, and SSL_CERT_FILE / SSL_CERT_DIR when
the client trusts the environment).
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def client_tls(*, trust_env: bool) -> ssl.SSLContext:
    """The verifying context httpx would build for a client with this `trust_env`."""
    return httpx.create_ssl_context(trust_env=trust_env)
