"""A real Mosquitto broker on an ephemeral loopback port, with its own temporary config.

`.ci/run` installs Debian's `mosquitto`; where it is absent locally the tests that need it are
skipped, visibly, and in CI (`CI` set) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

BINARY_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def mosquitto_binary() -> str | None:
    """The broker's executable, or None."""
    found = shutil.which("mosquitto")
    return found or next((p for p in BINARY_PATHS if Path(p).is_file()), None)


def require_mosquitto() -> str:
    """The broker's executable; skip the test (fail in CI) when it is not installed."""
    binary = mosquitto_binary()
    if binary is None:
        message = "mosquitto is not installed (apt-get install mosquitto; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must test against the real broker")
        pytest.skip(message)
    return binary


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Mosquitto:
    """One broker process; `start()` again after `stop()` reuses the port (a restart)."""

    def __init__(
        self,
        root: Path,
        *,
        binary: str,
        port: int | None = None,
        users: dict[str, str] | None = None,
        tls: tuple[Path, Path, Path] | None = None,  # (ca, server cert, server key)
    ) -> None:
        self.root = root
        self.binary = binary
        self.port = port or free_port()
        self.log = root / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", "log_dest stderr"]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to `mosquitto`, who cannot read tmp files
        if users:
            password_file = root / "passwords"
            password_file.touch(mode=0o600)
            tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
            for user, password in users.items():
                subprocess.run(  # noqa: S603 - the broker's own tool, fixed arguments
                    [tool, "-b", str(password_file), user, password],
                    check=True,
                    capture_output=True,
                )
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines.append("allow_anonymous true")
        if tls is not None:
            ca, cert, key = tls
            lines += [f"cafile {ca}", f"certfile {cert}", f"keyfile {key}"]
        self.config = root / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 10.0) -> None:
        """Start the broker and wait until it accepts connections."""
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(  # noqa: S603 - the installed broker
                [self.binary, "-c", str(self.config)], stdout=handle, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout} s")

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    @property
    def url(self) -> str:
        """mqtt:// or mqtts:// URL of the listener."""
        return f"mqtt://127.0.0.1:{self.port}"


def make_tls_files(root: Path, openssl: str = "openssl") -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost, made with openssl."""
    ca_key, ca, key, csr, cert = (
        root / n for n in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem")
    )
    ext = root / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    steps = [
        [
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            ca_key,
            "-out",
            ca,
            "-days",
            "2",
            "-subj",
            "/CN=agent-bruno test CA",
        ],
        [
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            key,
            "-out",
            csr,
            "-subj",
            "/CN=127.0.0.1",
        ],
        [
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-out",
            cert,
            "-days",
            "2",
            "-extfile",
            ext,
        ],
    ]
    for step in steps:
        subprocess.run(  # noqa: S603 - openssl with fixed arguments
            [openssl, *map(str, step)], check=True, capture_output=True
        )
    return ca, cert, key
