"""`make mutate`: mutation testing of the core modules with mutmut, one module at a time.

Usage: python -m mutation [module ...] [--budget-s S] [--min-score P] [--keep | --retest]
    [--only GLOB]
(modules: the tables of mutation/modules.toml; default all)

For each module a scratch directory `var/mutate/<module>/` is made with the repository's files
and a `[tool.mutmut]` section naming the module's files and the tests that judge them; mutmut
runs there (niced, one worker, within the module's time budget) and the score and every
surviving mutant are printed, each with its justification from mutation/survivors.toml or
marked UNJUSTIFIED. Results go to var/mutate/results.json. Exit 1 when a module scores under
--min-score or a survivor is not justified.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

from mutation.survivors import (
    SQL_CASE,
    Justification,
    load_justifications,
    log_lines,
    mutated_lines,
    only_in_logging,
    sql_case_only,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SCRATCH = REPO / "var" / "mutate"
MUTMUT = Path(sys.executable).with_name("mutmut")
# Never copied into a scratch directory: version control, environments, build output.
SKIPPED = {".git", ".venv", "var", "build", "mutants", "pyproject.toml", "agent_bruno.egg-info"}
SOURCES = ("agent_bruno", "edge_reporter")
# Statuses that count for the tests (a mutant the type checker rejects cannot be committed).
KILLED = {"killed", "timeout", "caught by type check"}
UNTESTED = {"not checked", "check was interrupted by user", "skipped"}
# What `--retest` runs: mutmut keeps a verdict until the mutated function changes, so a
# survivor stays one after the test that kills it is added, unless it is named; mutants not
# run yet (a function changed since, or the budget ran out) are named too.
RETESTED = {"survived", "no tests", "suspicious", "not checked"}


@dataclass(frozen=True, slots=True)
class Module:
    """One core module: the files mutated, the tests that judge them, the time allowed."""

    name: str
    mutate: tuple[str, ...]
    tests: tuple[str, ...]
    budget_s: float
    # mutmut stops a mutant after (tests' time + 1 s) * 2 * this many CPU seconds: a mutant
    # that makes a loop never end (a sender that never stops) costs that much. mutmut's 15 is
    # minutes per such mutant on a shared machine; a module whose tests run in a fake clock
    # can use 2-3 (a mutant's CPU time does not grow with the machine's load).
    timeout_multiplier: float = 15.0


@dataclass(slots=True)
class Survivor:
    """A mutant no test killed, with its diff and why it may stay."""

    name: str
    status: str
    diff: str
    why: str | None = None


@dataclass(slots=True)
class Result:
    """What one module's run found."""

    module: str
    counts: Counter[str] = field(default_factory=Counter)
    survivors: list[Survivor] = field(default_factory=list)
    log_only: int = 0  # mutants confined to a logging call: not scored
    seconds: float = 0.0
    complete: bool = True

    @property
    def scored(self) -> int:
        """Mutants that were run and count towards the score."""
        return sum(n for s, n in self.counts.items() if s not in UNTESTED)

    @property
    def killed(self) -> int:
        """Mutants a test killed (or that timed out, or that the type checker refused)."""
        return sum(self.counts[s] for s in KILLED)

    @property
    def equivalent(self) -> int:
        """Survivors justified as equivalent: no input tells them from the original."""
        return sum(1 for s in self.survivors if is_equivalent(s.why))

    @property
    def score(self) -> float:
        """The mutation score, in percent: killed over the scored mutants less the equivalent
        ones (which no test can kill). Accepted and open survivors count as not killed."""
        return _percent(self.killed, self.scored - self.equivalent)

    @property
    def raw_score(self) -> float:
        """Killed share of all scored mutants, equivalent ones included, in percent."""
        return _percent(self.killed, self.scored)


def is_equivalent(why: str | None) -> bool:
    """Whether a survivor's justification says it is equivalent (not merely accepted)."""
    return why is not None and why.lower().startswith("equivalent")


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole > 0 else 100.0


def load_modules(path: Path = HERE / "modules.toml") -> dict[str, Module]:
    """The core modules and their tests, from the data file."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {
        name: Module(
            name,
            tuple(spec["mutate"]),
            tuple(spec["tests"]),
            float(spec.get("budget_s", 900)),
            float(spec.get("timeout_multiplier", 15.0)),
        )
        for name, spec in data.items()
    }


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def prepare(module: Module, keep: bool) -> Path:
    """A scratch directory holding the repository (linked) and the module's mutmut config."""
    work = SCRATCH / module.name
    if work.exists() and not keep:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    copied: list[str] = []
    for entry in sorted(REPO.iterdir()):
        if entry.name in SKIPPED or entry.name.endswith(".egg-info"):
            continue
        link = work / entry.name
        if not link.is_symlink():
            link.symlink_to(entry)
        if entry.name not in SOURCES:
            copied.append(entry.name)
    shared = REPO.parent / "shared"  # NAB and the house style sit beside the checkout
    if shared.exists() and not (work / "shared").is_symlink():
        (work / "shared").symlink_to(shared)
    # The packages' assets are links to top-level folders, which mutmut's copy does not follow.
    copied += [f"{s}/assets" for s in SOURCES]
    config = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    config += (
        "\n[tool.mutmut]\n"
        f"source_paths = {_toml_list(list(SOURCES))}\n"
        f"only_mutate = {_toml_list(list(module.mutate))}\n"
        f"also_copy = {_toml_list(copied)}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(list(module.tests))}\n"
        f"timeout_multiplier = {module.timeout_multiplier}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", '
        '"-W", "ignore::pytest.PytestUnraisableExceptionWarning"]\n'
    )
    (work / "pyproject.toml").write_text(config, encoding="utf-8")
    return work


def survivors_of(work: Path, module: Module) -> list[str]:
    """The mutants of an earlier run in `work` that no test killed (or that had no test)."""
    from mutmut.stats import status_by_exit_code

    names: list[str] = []
    for source in sorted({str(p.relative_to(REPO)) for g in module.mutate for p in REPO.glob(g)}):
        meta = work / "mutants" / f"{source}.meta"
        if meta.exists():
            codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
            names += [n for n, c in codes.items() if status_by_exit_code[c] in RETESTED]
    return sorted(names)


def run_mutmut(work: Path, budget_s: float, names: list[str] | None = None) -> bool:
    """Run mutmut in `work` within `budget_s` (only the mutants `names`, if given); False if
    it had to be stopped."""
    log = (work / "mutmut.log").open("wb")
    cmd = ["nice", "-n", "10", str(MUTMUT), "run", "--max-children", "1", *(names or [])]
    proc = subprocess.Popen(  # noqa: S603
        cmd,
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # A background job (`make mutate &`, nohup, CI) inherits SIGINT ignored, and mutmut
        # then never sees the interrupt the budget sends: it ran on until the SIGKILL.
        preexec_fn=_interruptible,
    )
    try:
        proc.wait(timeout=budget_s)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)  # mutmut stops its workers and keeps what it found
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        return False
    finally:
        log.close()


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def read_results(work: Path, module: Module, justified: list[Justification]) -> Result:
    """Statuses from mutmut's files, survivors with their diffs and justifications."""
    from mutmut.stats import status_by_exit_code  # the venv's mutmut, imported when used

    result = Result(module.name)
    sources = sorted({str(p.relative_to(REPO)) for g in module.mutate for p in REPO.glob(g)})
    for source in sources:
        meta = work / "mutants" / f"{source}.meta"
        if not meta.exists():
            result.counts["not checked"] += 1
            continue
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        logged = log_lines((REPO / source).read_text(encoding="utf-8"))
        for name, code in sorted(codes.items()):
            status = status_by_exit_code[code]
            if status in KILLED or status in UNTESTED:
                result.counts[status] += 1
                continue
            diff = _diff(work, name, source)
            if only_in_logging(diff, logged):
                result.log_only += 1
                continue
            result.counts[status] += 1
            survivor = Survivor(name, status, diff)
            for j in justified:
                if j.matches(name, mutated_lines(diff)):
                    survivor.why = j.why
                    break
            else:
                survivor.why = SQL_CASE if sql_case_only(diff) else None
            result.survivors.append(survivor)
    return result


def _diff(work: Path, name: str, source: str) -> str:
    """The mutant's diff, as `mutmut show` prints it (in this process: one run per survivor
    costs seconds on a loaded machine)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    here = Path.cwd()
    os.chdir(work)  # mutmut reads `mutants/` relative to the working directory
    try:
        return str(get_diff_for_mutant(name, path=source))
    except Exception as exc:  # a mutant mutmut cannot show still counts, with what went wrong
        return f"(no diff: {type(exc).__name__}: {exc})"
    finally:
        os.chdir(here)


def report(result: Result, min_score: float) -> bool:
    """Print one module's score and survivors; True if it meets the bar."""
    c = result.counts
    killed = result.killed
    print(
        f"\n== {result.module}: score {result.score:.1f} % ({killed} of "
        f"{result.scored - result.equivalent} killed, the {result.equivalent} equivalent "
        f"survivors left out); raw {result.raw_score:.1f} % ({killed} of {result.scored}; "
        f"{c['survived']} survived, {c['no tests']} without tests, {c['timeout']} timed out, "
        f"{c['caught by type check']} refused by mypy; {result.log_only} inside logging calls "
        f"not scored; {result.seconds:.0f} s)"
        + ("" if result.complete else " — STOPPED AT THE TIME BUDGET, partial")
    )
    unjustified = 0
    for s in result.survivors:
        lines = mutated_lines(s.diff)
        shown = " | ".join(lines) if lines else "(see `mutmut show`)"
        verdict = s.why or "UNJUSTIFIED"
        unjustified += s.why is None
        print(f"  {s.status}: {s.name}\n      {shown}\n      -> {verdict}")
    return result.score >= min_score and unjustified == 0 and result.complete


def main(argv: list[str] | None = None) -> int:
    """Run the selected modules; exit 1 if one misses the score or has unjustified survivors."""
    modules = load_modules()
    parser = argparse.ArgumentParser(prog="python -m mutation")
    parser.add_argument("modules", nargs="*", help=f"any of {', '.join(modules)}")
    parser.add_argument("--budget-s", type=float, help="override each module's time budget")
    parser.add_argument("--min-score", type=float, default=90.0)
    parser.add_argument("--keep", action="store_true", help="reuse earlier results (mutmut)")
    parser.add_argument(
        "--retest",
        action="store_true",
        help="keep earlier results; run the survivors again (after adding tests) and the rest",
    )
    parser.add_argument(
        "--only",
        help="run only the mutants named like this glob, e.g. '*[05]': every function's "
        "mutants numbered ...0 and ...5, a systematic fifth (the score counts the mutants run)",
    )
    args = parser.parse_args(argv)
    names: list[str] = args.modules or list(modules)
    unknown = [n for n in names if n not in modules]
    if unknown:
        parser.error(
            f"unknown module(s) {', '.join(unknown)}; expected any of {', '.join(modules)}"
        )
    justified = load_justifications()
    results: list[Result] = []
    ok = True
    for name in names:
        module = modules[name]
        work = prepare(module, args.keep or args.retest)
        started = time.monotonic()
        again = survivors_of(work, module) if args.retest else None
        if args.only:  # a sample: of the survivors to retest, or of all the mutants
            sample = args.only
            again = [n for n in again if fnmatch(n, sample)] if again is not None else [sample]
        complete = again == [] or run_mutmut(work, args.budget_s or module.budget_s, again)
        result = read_results(work, module, justified.get(name, []))
        result.seconds = time.monotonic() - started
        result.complete = complete
        ok = report(result, args.min_score) and ok
        results.append(result)
    out = SCRATCH / "results.json"
    out.write_text(
        json.dumps(
            [
                {
                    "module": r.module,
                    "score": round(r.score, 1),
                    "raw_score": round(r.raw_score, 1),
                    "equivalent": r.equivalent,
                    "counts": dict(r.counts),
                    "log_only": r.log_only,
                    "complete": r.complete,
                    "seconds": round(r.seconds),
                    "survivors": [
                        {
                            "name": s.name,
                            "status": s.status,
                            "lines": mutated_lines(s.diff),
                            "why": s.why,
                        }
                        for s in r.survivors
                    ],
                }
                for r in results
            ],
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    print(f"\nwritten {out.relative_to(REPO)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
