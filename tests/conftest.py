"""Shared by every tier: temporary files in memory, no event loop made behind a test's back, one
default TLS context for every HTTP client, what lives all run kept out of the garbage collector's
walks, and the agent eval's dataset, built once per run (across pytest-xdist's workers too)."""

from __future__ import annotations

import asyncio
import dataclasses
import faulthandler
import fcntl
import gc
import os
import pickle
import sqlite3
import ssl
import sys
import time
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from evals.agent.dataset import Dataset


# Temporary files in memory when there is room: the suite's SQLite databases fsync, and on a disk
# those waits were seconds of the default tier. A small /dev/shm (a container's 64 MiB) is left
# alone. Set PYTEST_DEBUG_TEMPROOT (or --basetemp) to choose yourself.
MEMORY_TMP = "/dev/shm"
MEMORY_TMP_MIN_FREE = 1 << 30


# A test still running this long after the watchdog was last set (the slowest, the soak, takes
# about 3 minutes) prints every thread's stack, and again each time as long again passes, so a
# hang says where it is. pytest's own `faulthandler_timeout` sets and cancels the watchdog (a
# thread) around every test, about 0.25 ms each, a second of CPU over the default tier; here it
# is set again when a test starts and it was last set REARM_AFTER_S ago or more.
HANG_AFTER_S = float(os.environ.get("TESTS_HANG_AFTER_S", "300"))
REARM_AFTER_S = min(10.0, HANG_AFTER_S / 2)
_HANG_STREAM = pytest.StashKey[Any]()
_ARMED_AT = pytest.StashKey[float]()


def _arm_watchdog(config: pytest.Config) -> None:
    faulthandler.dump_traceback_later(HANG_AFTER_S, repeat=True, file=config.stash[_HANG_STREAM])
    config.stash[_ARMED_AT] = time.monotonic()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if not _is_xdist_controller(config):  # it only waits for its workers
        # Before capturing starts, so the stacks reach the terminal, not a test's captured output.
        config.stash[_HANG_STREAM] = open(os.dup(2), "w")  # noqa: SIM115 - open until unconfigure
        _arm_watchdog(config)
    _use_memory_tmp(config)


def pytest_runtest_setup(item: pytest.Item) -> None:
    armed_at = item.config.stash.get(_ARMED_AT, None)
    if armed_at is not None and time.monotonic() - armed_at >= REARM_AFTER_S:
        _arm_watchdog(item.config)


def _is_xdist_controller(config: pytest.Config) -> bool:
    workers = getattr(config.option, "numprocesses", None)
    return bool(workers) and "PYTEST_XDIST_WORKER" not in os.environ


def _use_memory_tmp(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_DEBUG_TEMPROOT") or config.option.basetemp:
        return
    try:
        stat = os.statvfs(MEMORY_TMP)
    except OSError:
        return
    if stat.f_bavail * stat.f_frsize >= MEMORY_TMP_MIN_FREE and os.access(MEMORY_TMP, os.W_OK):
        os.environ["PYTEST_DEBUG_TEMPROOT"] = MEMORY_TMP


def share_default_tls() -> None:
    """Every httpx client made with the default TLS settings gets one SSL context, made once per
    CA source (`SSL_CERT_FILE` / `SSL_CERT_DIR`, which httpx reads when it makes one).

    Loading the CA bundle costs about 35 ms of CPU per client, and the suite makes some 150 (the
    Ollama, Forge and alert clients of every app a test starts, and the tests' own), all to
    loopback over plain HTTP: about 5 s of the default tier. A client given its own `verify`
    or `cert` is made as before."""
    import httpx._transports.default as transports  # where httpx's transports look it up

    make = transports.create_ssl_context
    made: dict[tuple[bool, str | None, str | None], ssl.SSLContext] = {}

    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is not True or cert is not None:
            return make(verify=verify, cert=cert, trust_env=trust_env)
        key = (trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        if key not in made:
            made[key] = make(verify=verify, cert=cert, trust_env=trust_env)
        return made[key]

    transports.create_ssl_context = create_ssl_context  # type: ignore[assignment]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Asking for the current event loop never makes one: every loop a test runs on is made and
    closed by pytest-asyncio or `asyncio.run`.

    looptime asks the loop policy for the current loop before every test, sync ones included, and
    Python 3.11's policy makes and installs a loop when none was ever set in the main thread. The
    first sync test of a run got one that nothing closed; the next async test replaced it, and the
    collector reported the unclosed loop (and its AF_UNIX self-pipe) inside whichever test ran
    then. With a loop set to none, the policy answers "no current loop" (as from Python 3.14 on).
    """
    del session
    asyncio.set_event_loop(None)
    share_default_tls()


# FastAPI remembers what kind of callable each endpoint and dependency is, in caches of 4,096
# entries. The callables of an app made by a test close over that app, so every app a worker
# made stayed alive to the end (~150 apps, ~130,000 objects), walked by each full collection.
_FASTAPI_CALLABLE_CACHES = (
    "_is_gen_callable_cached",
    "_is_async_gen_callable_cached",
    "_is_coroutine_callable_cached",
)


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    """After each test, FastAPI forgets the callables of the apps it made."""
    del nodeid, location
    models = sys.modules.get("fastapi.dependencies.models")
    if models is not None:
        for name in _FASTAPI_CALLABLE_CACHES:
            getattr(models, name).cache_clear()


def pytest_collection_finish(session: pytest.Session) -> None:
    """What is loaded by the time the tests are collected (the modules, the collected items, the
    shipped model and lexicons) lives until the run ends: it is moved out of the collector's
    reach (`gc.freeze`).

    A full collection walks every tracked object; with the run's ~250,000 static ones that was
    about 0.3 s each, some 5 s of CPU per worker. Cycles made by the tests are still collected as
    before."""
    del session
    gc.freeze()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """The interpreter's last collections at exit walk whatever the run left: a worker took 1-5 s
    to exit after its last test. Nothing is collected after this, so everything is frozen."""
    faulthandler.cancel_dump_traceback_later()
    if _HANG_STREAM in config.stash:
        config.stash[_HANG_STREAM].close()
    gc.freeze()


@pytest.fixture(scope="session")
def built_eval_dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """The agent eval's dataset (about 10 s of CPU to write), built once for the whole run: under
    pytest-xdist the first worker to need it builds it in the run's shared temporary directory,
    under a lock, and the others read what it wrote.

    Read it through `eval_dataset`, a private copy, so no test sees another's writes.
    """
    # The eval package, imported only by tests using it.
    from evals.agent.dataset import Dataset, build

    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return build(tmp_path_factory.mktemp("eval-dataset") / "eval.db")
    shared = tmp_path_factory.getbasetemp().parent / "eval-dataset"
    shared.mkdir(exist_ok=True)
    truth = shared / "dataset.pickle"
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if truth.exists():
            with truth.open("rb") as f:
                fields = pickle.load(f)  # noqa: S301 - written by this run, just below
            read_only = {
                k: MappingProxyType(v) if isinstance(v, dict) else v for k, v in fields.items()
            }
            return Dataset(**read_only)
        dataset = build(shared / "eval.db")
        plain = {f.name: getattr(dataset, f.name) for f in dataclasses.fields(dataset)}
        plain = {k: dict(v) if isinstance(v, MappingProxyType) else v for k, v in plain.items()}
        partial = truth.with_suffix(".partial")
        with partial.open("wb") as f:
            pickle.dump(plain, f)
        partial.replace(truth)
        return dataset


@pytest.fixture(scope="module")
def eval_dataset(built_eval_dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """A copy of the eval dataset for one test module (SQLite's backup: a consistent file)."""
    target = tmp_path_factory.mktemp("eval-db") / "eval.db"
    source = sqlite3.connect(built_eval_dataset.path)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    return replace(built_eval_dataset, path=target)
