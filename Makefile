# esops.jobs build and test harness.  `make help` lists the targets.
#
# Everything runs from a virtualenv (.venv) built from requirements-dev.txt, and every ansible
# tool sees the collection through a build tree: ansible-test insists on running from
# .../ansible_collections/<namespace>/<name>, so `build-tree` mirrors this checkout into
# .build/ansible_collections/esops/jobs (changed files only; stale files deleted).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON_BOOT ?= $(shell command -v python3.11 || command -v python3)
VENV        := $(CURDIR)/.venv
PY          := $(VENV)/bin/python
VENV_STAMP  := $(VENV)/.esops-requirements-dev.stamp
BUILD       := $(CURDIR)/.build
COLLECTION  := $(BUILD)/ansible_collections/esops/jobs
PRIME       := $(CURDIR)/../shared/tools/prime-ansible-test
ANSIBLE_TEST := cd $(COLLECTION) && $(VENV)/bin/ansible-test

# Every supported Elasticsearch era: 6.8 (_xpack), 7.13 (datafeeds stopped first), 7.14 (close stops
# datafeeds, delete does not yet), 7.17 (job delete removes its datafeed), 8.19, 9.1 (newest).
ES_VERSIONS ?= 6.8.23 7.13.4 7.14.2 7.17.28 8.19.3 9.1.5
DEMO_ES_VERSION ?= 8.19.3
# ansible-core versions tested besides .venv's own (requirements-dev.txt pins the newest, 2.19.x):
# units and a smoke playbook in .venv-core/<version> each. meta/runtime.yml claims >= 2.16; 2.20 and
# later need Python 3.12, which this machine's python3.11 cannot offer (pip index versions ansible-core).
CORE_VERSIONS ?= 2.16.19 2.17.14 2.18.19
CORE_VENVS := $(CURDIR)/.venv-core
# What `make test` (and so .ci/run) runs, in this order, each timed by .ci/suites.py.
TEST_SUITES ?= changelog-lint sanity units docs-check lint fidelity reliability integration molecule \
               bench-smoke core-matrix
# Integration targets to run (empty = all); e.g. make integration TARGETS=ml_job_state
TARGETS ?=
PYTEST_ARGS ?=

export ANSIBLE_COLLECTIONS_PATH := $(BUILD)
# molecule and ansible-lint call ansible-config/ansible-playbook by name.
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_FORCE_COLOR ?= $(if $(CI),0,1)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export ES_VERSIONS

RUNNER := $(PY) tests/integration/run_integration.py --collection $(COLLECTION)
MODULES = $(sort $(basename $(filter-out _%,$(notdir $(wildcard plugins/modules/*.py)))))

.PHONY: help venv build-tree prime sanity units fidelity reliability integration molecule lint \
        bench bench-smoke smoke core-matrix demo emulator changelog-lint docs-check test clean

help:
	@echo "make demo          emulator + playbooks/demo.yml (fresh machine: this is all you need)"
	@echo "make test          everything CI runs ($(TEST_SUITES)),"
	@echo "                   then a CPU/wall table per suite against the budget"
	@echo "make sanity|units|docs-check|lint|changelog-lint|fidelity|reliability"
	@echo "make integration   [ES_VERSIONS='8.19.3'] [TARGETS=...] or ES_URL=https://... for a real cluster"
	@echo "make core-matrix   units + smoke playbook on each CORE_VERSIONS ansible-core (+ smoke on .venv's)"
	@echo "make molecule | bench | bench-smoke | smoke | emulator | clean"

# ---------------------------------------------------------------- environment

venv: $(VENV_STAMP)

# Rebuilt only when requirements-dev.txt changes.
$(VENV_STAMP): requirements-dev.txt
	@test -n "$(PYTHON_BOOT)" || { echo "need python3.11 (or python3) on PATH" >&2; exit 1; }
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

build-tree: venv
	@$(PY) .ci/sync_build_tree.py $(CURDIR) $(COLLECTION)

# ansible-test bootstraps pip in its venvs from a host this network cannot reach; shared/ ships an
# offline stand-in (present here and in CI, beside the repo).
prime: venv
	@if [ -f $(PRIME) ]; then bash $(PRIME) $(PY); else echo "no $(PRIME): ansible-test will fetch get-pip itself"; fi

# ---------------------------------------------------------------- static checks

# --venv: each sanity test gets its own cached venv (~/.ansible/test/venv) with ansible-test's pinned
# tools, so .venv's ansible-lint/yamllint pins never fight them. Measured here: 41 s the first time,
# 8 s after. (--requirements would install those pins into .venv itself; --docker is not available.)
# No ignore file: tests/sanity/ignore-*.txt must stay absent.
sanity: build-tree prime
	@if ls tests/sanity/ignore-*.txt >/dev/null 2>&1 && [ -n "$$(cat tests/sanity/ignore-*.txt)" ]; then \
	  echo "tests/sanity/ignore-*.txt must be empty: fix the code instead" >&2; exit 1; fi
	$(ANSIBLE_TEST) sanity --venv --python 3.11 --color $(if $(CI),no,yes)

# ansible-test units rather than bare pytest: it runs pytest with ansible-core's collection loader,
# so `ansible_collections.esops.jobs...` and `ansible.module_utils...` import exactly as they do for
# a module, with pytest-xdist and pytest-mock in its own venv (under the build tree's tests/output,
# kept between runs). Measured here: ~4 s cold, ~1.5 s warm; plain pytest saves nothing worth the
# PYTHONPATH hacks.
units: build-tree prime
	@if [ -z "$$(find tests/unit -name 'test_*.py' 2>/dev/null)" ]; then echo "units: no tests/unit/**/test_*.py yet" >&2; exit 1; fi
	$(ANSIBLE_TEST) units --venv --python 3.11 --color $(if $(CI),no,yes)

# Every module's documentation renders with ansible-doc (issue 2's done-criterion).
docs-check: build-tree
	@if [ -z "$(MODULES)" ]; then echo "docs-check: no modules in plugins/modules/" >&2; exit 1; fi; \
	for m in $(MODULES); do \
	  out=$$($(VENV)/bin/ansible-doc -t module esops.jobs.$$m 2>&1) || { echo "$$out"; echo "docs-check: esops.jobs.$$m FAILED" >&2; exit 1; }; \
	  if grep -qiE '^\[?(WARNING|ERROR)' <<<"$$out"; then echo "$$out"; echo "docs-check: esops.jobs.$$m warns" >&2; exit 1; fi; \
	  echo "docs-check: esops.jobs.$$m ok"; \
	done

lint: build-tree
	@cd $(COLLECTION) && paths=$$(ls -d roles/*/ playbooks/*.yml 2>/dev/null || true); \
	if [ -z "$$paths" ]; then echo "lint: no roles/ or playbooks/ to lint" >&2; exit 1; fi; \
	$(VENV)/bin/ansible-lint --profile production --strict $$paths

changelog-lint: venv
	$(VENV)/bin/antsibull-changelog lint

# ---------------------------------------------------------------- pytest suites run from the repo root

# No silent passes: a missing directory fails, and so does one that collects no tests (pytest's exit
# code 5).
define pytest_suite
	@if [ ! -d tests/$(1) ]; then echo "$(1): tests/$(1)/ does not exist" >&2; exit 1; fi; \
	rc=0; $(PY) -m pytest tests/$(1) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "$(1): tests/$(1)/ exists but collected no tests" >&2; fi; exit $$rc
endef

# The YAML REST tests need the reference copies in ../shared; everything else runs without them.
SHARED_REFERENCE := $(CURDIR)/../shared/reference/es-rest-spec
define no_reference_banner
	@if [ ! -d $(SHARED_REFERENCE) ]; then \
	  echo "################################################################################" >&2; \
	  echo "# fidelity: $(SHARED_REFERENCE) is MISSING." >&2; \
	  echo "# Elasticsearch's own YAML REST tests (tests/fidelity/test_yaml_rest.py) are NOT run;" >&2; \
	  echo "# every other fidelity test runs. Put the shared/ checkout beside this repository." >&2; \
	  echo "################################################################################" >&2; fi
endef

fidelity: venv
	$(no_reference_banner)
	$(call pytest_suite,fidelity)
	$(no_reference_banner)

reliability: build-tree
	$(call pytest_suite,reliability)

# ---------------------------------------------------------------- against Elasticsearch (emulated or real)

# One ansible-test integration run per ES_VERSIONS entry against the emulator, or one run against
# ES_URL (ES_USERNAME/ES_PASSWORD/ES_API_KEY/ES_CA_CERT). See tests/integration/run_integration.py.
integration: build-tree
	$(RUNNER) integration $(TARGETS)

# Every scenario under extensions/molecule/ (shared settings in extensions/molecule/config.yml),
# with an emulator (DEMO_ES_VERSION) or ES_URL exported as ES_URL.
molecule: build-tree
	@if [ -z "$$(find extensions/molecule -mindepth 2 -name molecule.yml 2>/dev/null)" ]; then \
	  echo "molecule: no scenarios under extensions/molecule/" >&2; exit 1; fi; \
	ANSIBLE_ACTION_PLUGINS=$(CURDIR)/tests/integration/targets/setup_es/action_plugins \
	  $(RUNNER) with-es --es-version $(DEMO_ES_VERSION) -- $(VENV)/bin/molecule test --all

# Timing targets: on a quiet machine only (writes benchmarks/RESULTS.md).
bench: build-tree
	$(PY) -m benchmarks $(BENCH_ARGS)

# In make test: small sizes, the exact requests of every run (deterministic); no timing targets.
bench-smoke: build-tree
	$(PY) -m benchmarks --smoke

# ---------------------------------------------------------------- ansible-core matrix

# The smoke playbook: playbooks/demo.yml (modules and roles) against an emulator, with the
# ansible-playbook of $(SMOKE_VENV) (default .venv).
SMOKE_VENV ?= $(VENV)
smoke: build-tree
	$(RUNNER) with-es --es-version $(DEMO_ES_VERSION) -- \
	  bash -c 'exec $(SMOKE_VENV)/bin/ansible-playbook playbooks/demo.yml -e es_url="$$ES_URL"'

# One venv per ansible-core (rebuilt only when its pins change): ansible-core and pytest.
$(CORE_VENVS)/%/.stamp: requirements-dev.txt
	@test -n "$(PYTHON_BOOT)" || { echo "need python3.11 (or python3) on PATH" >&2; exit 1; }
	test -x $(CORE_VENVS)/$*/bin/python || $(PYTHON_BOOT) -m venv $(CORE_VENVS)/$*
	$(CORE_VENVS)/$*/bin/python -m pip install --quiet "ansible-core==$*" "$$(grep -E '^pytest==' requirements-dev.txt)"
	touch $@

# Units (plain pytest over the build tree: the tests import ansible_collections.esops.jobs... from
# .build) and the smoke playbook on every CORE_VERSIONS ansible-core; then the smoke playbook on
# .venv's (its units run in `make units`, sanity in `make sanity`).
core-matrix: build-tree $(foreach v,$(CORE_VERSIONS),$(CORE_VENVS)/$(v)/.stamp)
	@for v in $(CORE_VERSIONS); do \
	  echo "=== ansible-core $$v: units"; \
	  ( cd $(COLLECTION) && PYTHONPATH=$(BUILD) $(CORE_VENVS)/$$v/bin/python -m pytest -q -p no:cacheprovider \
	      tests/unit $(PYTEST_ARGS) ) || { echo "core-matrix: units FAILED on ansible-core $$v" >&2; exit 1; }; \
	  echo "=== ansible-core $$v: smoke playbook"; \
	  $(MAKE) --no-print-directory smoke SMOKE_VENV=$(CORE_VENVS)/$$v || { echo "core-matrix: smoke FAILED on ansible-core $$v" >&2; exit 1; }; \
	done
	@echo "=== ansible-core of .venv: smoke playbook"
	$(MAKE) --no-print-directory smoke

demo: build-tree
	@test -f playbooks/demo.yml || { echo "demo: playbooks/demo.yml has not landed yet" >&2; exit 1; }
	$(RUNNER) with-es --es-version $(DEMO_ES_VERSION) --pid-file $(BUILD)/emulator.pid -- \
	  bash -c 'exec $(VENV)/bin/ansible-playbook playbooks/demo.yml -e es_url="$$ES_URL"'

emulator: venv
	$(PY) -m tests.emulator --port $${PORT:-9200} --es-version $(DEMO_ES_VERSION)

# ---------------------------------------------------------------- all of it

# Cheap and static first, then the suites that start servers. Each suite is one make target run and
# timed by .ci/suites.py (stdlib only), which runs them all (a failure fails the run at the end) and prints the per-suite
# CPU/wall table against the budget (25 CPU-minutes, 30 minutes wall on 2 cores) either way.
test:
	@$(PYTHON_BOOT) .ci/suites.py --record $(BUILD)/suite-times.tsv venv $(TEST_SUITES)

clean:
	rm -rf $(BUILD) $(CORE_VENVS) tests/output .pytest_cache
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
