# agent-bruno: `make demo` runs the system, `make test` checks it. Both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# Wheels of every pinned run-time dependency: the installed-wheel test installs from here, offline.
WHEELHOUSE := $(VENV)/wheelhouse
NAB_DIR ?= ../shared/datasets/nab
# Every blind held-out set (heldout, heldout2, …): reported by `make eval`, never gated.
HELDOUT := $(patsubst %/,%,$(sort $(wildcard evals/agent/heldout*/)))
# Python keeps its bytecode caches (__pycache__/, ignored by git) even where the environment says
# not to: without them every test worker and every process a test starts compiles the project
# and rewrites the test modules again, about 6 s of CPU per worker.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test lint typecheck unit e2e eval eval-gate bench soak clean wheelhouse nlu-model mutate

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[agent,edge,sdk,dev]'
	touch $(STAMP)

$(WHEELHOUSE)/.stamp: $(STAMP)
	rm -rf $(WHEELHOUSE)
	$(PY) -m pip wheel -q --disable-pip-version-check -c constraints.txt -w $(WHEELHOUSE) '.[agent,edge]'
	rm -f $(WHEELHOUSE)/agent_bruno-*.whl
	touch $@

wheelhouse: $(WHEELHOUSE)/.stamp

demo: $(STAMP)
	$(PY) -m agent_bruno.demo

test: $(STAMP) lint typecheck unit e2e eval-gate

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m deptry .

typecheck: $(STAMP)
	$(PY) -m mypy

# The default tier: everything that runs in the test process (markers in pyproject.toml), on
# PYTEST_WORKERS pytest-xdist workers (`make unit PYTEST_WORKERS=0` runs it in one process); a
# worker that runs out of tests takes half of what another has left (worksteal), so a few long
# tests at the end do not leave one core idle.
PYTEST_WORKERS ?= 2
unit: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal

# The tests that start processes: agent and reporter, the installed wheel, crash writers, brokers.
e2e: $(STAMP) $(WHEELHOUSE)/.stamp
	$(PY) -m pytest -m 'e2e and not slow'

# The edge detector on the Numenta Anomaly Benchmark; fails under the target score.
# `make eval` updates the committed evals/triage/results.json; the gate in `make test` does not.
eval: $(STAMP)
	$(PY) -m evals.triage --nab-dir $(NAB_DIR) --min-standard 65
	$(PY) -m pytest -m slow tests/unit
	$(PY) -m evals.agent.run --json evals/agent/results.json
	$(PY) -m evals.agent.run $(foreach set,$(HELDOUT),--cases $(set)) --min-overall 0 --min-category 0

eval-gate: $(STAMP)
	$(PY) -m evals.triage --nab-dir $(NAB_DIR) --min-standard 65 --out $(VENV)/nab-results.json
	$(PY) -m evals.agent.run --min-overall 0.98 --min-category 0.95

# Retrain the built-in intent classifier after changing agent_bruno/agent/nlu/intents/.
nlu-model: $(STAMP)
	$(PY) -m scripts.train_intents

# `make bench` runs every suite; `make bench storage query` only those named.
BENCH_SUITES := triage reporter ingest live query storage graph alerts
bench: $(STAMP)
	$(PY) -m bench $(filter $(BENCH_SUITES),$(MAKECMDGOALS))

ifneq ($(filter bench,$(MAKECMDGOALS)),)
$(BENCH_SUITES):
	@:
endif

# Fault-table cases too slow for every CI run (marked `slow`): the reporter under 128 MiB
# through a long outage and replay.
soak: $(STAMP)
	$(PY) -m pytest -m slow tests/e2e

# Mutation testing of the core modules (mutation/modules.toml), not part of `make test`: each
# module within its time budget (MUTATE_BUDGET_S overrides them all); prints every module's score
# and each surviving mutant with why it may stay (mutation/survivors.toml) or UNJUSTIFIED.
# MODULES="forwarder body" runs some of them.
MUTATE_BUDGET_S ?=
mutate: $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[mutate]'
	$(PY) -m mutation $(MODULES) $(if $(MUTATE_BUDGET_S),--budget-s $(MUTATE_BUDGET_S))

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
