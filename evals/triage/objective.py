"""The tuning search's objective, computed fast: labels once per file set, verdicts cached.

A search scores a few dozen parameter sets on the same files, and the two-fold and
leave-one-category-out runs score many of the same sets on overlapping files (every run starts
from `START` and tries the same first neighbours). Running the detector is the whole cost
(365,558 readings at about 5 µs in pure Python, plus the process pool), so:

- each file's verdicts under one parameter set are cached, on disk when a directory is given
  (`var/tune-cache` for `python -m evals.triage.tune`), keyed by the parameter set, the file's
  contents and a fingerprint of the detector's and the evaluation's source, so a changed
  detector never reads stale verdicts; only the files missing from the cache are run;
- the NAB labels of every scorable row (window, detection value) do not depend on the
  parameters and are built once per file set; the deployed score then looks only at the flagged
  rows.

The figures are exactly those of `run.evaluate` and `run.evaluate_fixed` (same functions, same
order of additions); `tests/unit/evals/test_tuning.py` checks that.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import struct
import tempfile
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import edge_reporter
from edge_reporter.triage import TriageConfig
from evals.triage.corpus import DataFile
from evals.triage.nab import (
    CostMatrix,
    FileRows,
    Row,
    SweepResult,
    file_rows,
    probationary_length,
    sweep,
    window_spans,
)
from evals.triage.run import WARNING, Verdicts, score_files, tally_at, triage_verdicts

_HEADER = struct.Struct("<Q")  # rows in a cached file


def code_fingerprint() -> str:
    """A digest of every source file the verdicts and the budget depend on."""
    digest = hashlib.sha256()
    roots = (Path(edge_reporter.__file__).parent, Path(__file__).parent)
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def file_fingerprint(data: DataFile) -> str:
    """A digest of one file's name, times, values and windows."""
    digest = hashlib.sha256(data.name.encode())
    digest.update(array("d", data.timestamps).tobytes())
    digest.update(array("d", data.values).tobytes())
    digest.update(repr(data.windows).encode())
    return digest.hexdigest()


def values_key(config: TriageConfig) -> str:
    """The parameter set as canonical text (every field, so no default is implied)."""
    return json.dumps(dataclasses.asdict(config), sort_keys=True)


class VerdictCache:
    """Verdicts per (code, file, parameter set): in memory, or in `directory` when given."""

    def __init__(self, directory: Path | None = None) -> None:
        self._dir = directory
        self._code = code_fingerprint()
        self._files: dict[int, tuple[DataFile, str]] = {}  # by id: a DataFile is unhashable
        self._memory: dict[str, Verdicts] = {}
        self._flags: dict[str, bool] = {}
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def _key(self, *parts: str) -> str:
        return hashlib.sha256("\0".join((self._code, *parts)).encode()).hexdigest()

    def _file_key(self, data: DataFile, config: TriageConfig) -> str:
        known = self._files.get(id(data))
        if known is None or known[0] is not data:
            known = self._files[id(data)] = (data, file_fingerprint(data))
        fp = known[1]
        return self._key("verdicts", fp, values_key(config))

    def _write(self, name: str, blob: bytes) -> None:
        assert self._dir is not None
        # Written aside and renamed: runs in parallel may share the directory.
        fd, tmp = tempfile.mkstemp(dir=self._dir, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, self._dir / name)

    def _load(self, key: str) -> Verdicts | None:
        if self._dir is None:
            return self._memory.get(key)
        path = self._dir / key
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        (n,) = _HEADER.unpack_from(blob)
        scores = array("d")
        scores.frombytes(blob[_HEADER.size : _HEADER.size + 8 * n])
        at = _HEADER.size + 8 * n
        return Verdicts(scores.tolist(), blob[at : at + n], blob[at + n : at + 2 * n])

    def _store(self, key: str, v: Verdicts) -> None:
        if self._dir is None:
            self._memory[key] = v
            return
        n = len(v.scores)
        self._write(key, _HEADER.pack(n) + array("d", v.scores).tobytes() + v.levels + v.faults)

    def verdicts(
        self, files: Sequence[DataFile], config: TriageConfig, workers: int | None = None
    ) -> list[Verdicts]:
        """Every file's verdicts under `config`, running the detector only where not cached."""
        keys = [self._file_key(f, config) for f in files]
        found = [self._load(k) for k in keys]
        missing = [i for i, v in enumerate(found) if v is None]
        if missing:
            run = partial(triage_verdicts, config=config)
            fresh = score_files([files[i] for i in missing], run, workers=workers)
            for i, v in zip(missing, fresh, strict=True):
                self._store(keys[i], v)
                found[i] = v
        return [v for v in found if v is not None]

    def flag(self, name: str, parts: str, compute: Callable[[], bool]) -> bool:
        """A cached yes/no figure (the false-alarm budget of a parameter set)."""
        key = self._key(name, parts)
        if key in self._flags:
            return self._flags[key]
        path = None if self._dir is None else self._dir / f"{name}-{key}"
        if path is not None and path.exists():
            got = path.read_text().strip() == "1"
        else:
            got = compute()
            if path is not None:
                self._write(path.name, b"1" if got else b"0")
        self._flags[key] = got
        return got


@dataclass(frozen=True, slots=True)
class _Labels:
    """One file's scorable rows, labelled: detection value and window id of each."""

    probation: int
    values: list[float]
    windows_of_rows: list[int]
    windows: list[int]


class Objective:
    """Deployed and best-threshold standard scores of parameter sets on fixed files."""

    def __init__(
        self,
        files: Sequence[DataFile],
        cost: CostMatrix,
        cache: VerdictCache,
        workers: int | None = None,
    ) -> None:
        self._files = list(files)
        self._cost = cost
        self._cache = cache
        self._workers = workers
        self._n_windows = sum(len(f.windows) for f in files)
        self._labels: list[_Labels] = []
        next_id = 0  # window ids unique across the files, as `run.evaluate` numbers them
        for data in self._files:
            spans = window_spans(data.timestamps, data.windows)
            rows = file_rows(data.name, [0.0] * len(data.values), spans, next_id)
            next_id += len(spans)
            self._labels.append(
                _Labels(
                    probationary_length(len(data.values)),
                    [r.value for r in rows.rows],
                    [r.window for r in rows.rows],
                    rows.windows,
                )
            )

    def verdicts(self, config: TriageConfig) -> list[Verdicts]:
        """Every file's verdicts under `config` (cached)."""
        return self._cache.verdicts(self._files, config, self._workers)

    def deployed(self, verdicts: Sequence[Verdicts]) -> float:
        """Normalized standard score of warning-or-critical verdicts (`run.evaluate_fixed`)."""
        labelled = []
        for data, lab, v in zip(self._files, self._labels, verdicts, strict=True):
            levels = v.levels
            p = lab.probation
            rows = [
                Row(1.0, lab.values[j], lab.windows_of_rows[j])
                for j in range(len(lab.values))
                if levels[p + j] >= WARNING
            ]
            labelled.append(FileRows(data.name, rows, lab.windows))
        cost = self._cost
        categories, *_ = tally_at(self._files, labelled, cost, 1.0)
        null_raw = -cost.fn_weight * sum(len(f.windows) for f in labelled)
        raw = sum(categories.values())
        return SweepResult(
            "standard", 1.0, raw, null_raw, cost.tp_weight * self._n_windows
        ).normalized

    def best(self, verdicts: Sequence[Verdicts]) -> float:
        """Normalized standard score at NAB's best threshold (`run.evaluate`)."""
        labelled = [
            FileRows(
                data.name,
                [
                    Row(s, value, window)
                    for s, value, window in zip(
                        v.scores[lab.probation :], lab.values, lab.windows_of_rows, strict=True
                    )
                ],
                lab.windows,
            )
            for data, lab, v in zip(self._files, self._labels, verdicts, strict=True)
        ]
        return sweep(labelled, self._cost, "standard", self._n_windows).normalized
