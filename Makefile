# Build and test tooling of the astra.devops collection.
#
#   make demo    set up, build and install the collection, run the demo against the local emulator
#   make test    every check CI runs, in order, stopping at the first failure
#
# Every target sets up what it needs on a fresh machine (Python, pip, git and make only).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
VPY := $(VENV)/bin/python
TOOLS_DIR := $(ROOT)/.tools
DEV_REQUIREMENTS := tests/requirements-dev.txt
STAMP := $(VENV)/.installed

BUILD_DIR := $(ROOT)/build
INSTALL_ROOT := $(ROOT)/.ansible/collections
COLLECTION_VERSION := $(shell sed -n 's/^version:[[:space:]]*//p' galaxy.yml | tr -d "\"'")
TARBALL := $(BUILD_DIR)/astra-devops-$(COLLECTION_VERSION).tar.gz

# Python for .venv: pyenv's 3.12 (newest patch), else python3.12 on PATH, else python3 (which
# then gets the newest ansible-core that supports it, see tests/requirements-dev.txt).
PYENV_ROOT ?= $(HOME)/.pyenv
BASE_PYTHON ?= $(shell \
	p=$$(ls -d $(PYENV_ROOT)/versions/3.12.*/bin/python3.12 2>/dev/null | sort -V | tail -n 1); \
	if [ -n "$$p" ] && "$$p" -c '' 2>/dev/null; then echo "$$p"; \
	elif python3.12 -c '' 2>/dev/null; then command -v python3.12; \
	else command -v python3; fi)

VENV_PYTHON_VERSION = $(shell "$(VPY)" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
AT_ENV := VENV=$(VENV) TOOLS_DIR=$(TOOLS_DIR) $(ROOT)/tools/ansible_test_env.sh
# ansible-test's own console output is enough; colour codes make CI logs hard to read.
ANSIBLE_TEST_OPTS ?= --color no
PIP_QUIET := 2>&1 | { grep -v -e 'is ignored: it is neither a file nor a directory' || true; }

# 'make compat': the second supported ansible-core (2.19, the newest on Python 3.11) in .venv-compat.
# Python 3.11: pyenv's (newest patch, here 3.11.7), else python3.11 on PATH.
COMPAT_PYTHON ?= $(shell \
	p=$$(ls -d $(PYENV_ROOT)/versions/3.11.*/bin/python3.11 2>/dev/null | sort -V | tail -n 1); \
	if [ -n "$$p" ] && "$$p" -c '' 2>/dev/null; then echo "$$p"; else command -v python3.11; fi)
COMPAT_PYTHON_VERSION := 3.11
COMPAT_VENV := $(ROOT)/.venv-compat
COMPAT_VPY := $(COMPAT_VENV)/bin/python
COMPAT_REQUIREMENTS := tests/requirements-compat.txt
COMPAT_STAMP := $(COMPAT_VENV)/.installed
COMPAT_CORE := 2.19
# A tools folder (python links, collection copy, ansible-test's cached venvs) apart from the main one.
COMPAT_TOOLS_DIR := $(TOOLS_DIR)/compat
COMPAT_INSTALL_ROOT := $(ROOT)/.ansible/compat/collections
COMPAT_AT_ENV := VENV=$(COMPAT_VENV) TOOLS_DIR=$(COMPAT_TOOLS_DIR) $(ROOT)/tools/ansible_test_env.sh
# The smoke subset of the integration tests run with ansible-core $(COMPAT_CORE).
COMPAT_SMOKE ?= tests/integration/test_astra_token.py tests/integration/test_token_info.py \
	'tests/integration/test_rotation.py::test_no_outage_while_rotating[plain]'

# 'make docs': the collection's docsite (antsibull-docs sphinx-init + Sphinx) in .venv-docs, from the same Python as
# .venv; sphinx-init's working folder is docs/build/sphinx, the HTML lands in docs/build/html.
DOCS_VENV := $(ROOT)/.venv-docs
DOCS_VPY := $(DOCS_VENV)/bin/python
DOCS_REQUIREMENTS := tests/requirements-docs.txt
DOCS_STAMP := $(DOCS_VENV)/.installed
DOCS_SITE := $(ROOT)/docs/build/sphinx
DOCS_HTML := $(ROOT)/docs/build/html
DOCS_SCREENSHOT := $(BUILD_DIR)/docs-astra_token.png
DOCS_ENV := PATH="$(DOCS_VENV)/bin:$$PATH" ANSIBLE_COLLECTIONS_PATH="$(INSTALL_ROOT)"

# 'make bench' / 'make bench-smoke' (tools/bench/): matplotlib on top of .venv. The BENCH_* variables and BASE are
# passed on only when given, so the defaults live in one place (tools/bench/bench.py, OPTIONS).
BENCH_REQUIREMENTS := tests/requirements-bench.txt
BENCH_STAMP := $(VENV)/.installed-bench
BENCH_ARGS = --collection "$(TARBALL)" $(if $(BENCH_RUNS),--runs '$(BENCH_RUNS)') \
	$(if $(BENCH_WARMUP),--warmup '$(BENCH_WARMUP)') $(if $(BENCH_BIG_RUNS),--big-runs '$(BENCH_BIG_RUNS)') \
	$(if $(BENCH_TASKS),--tasks '$(BENCH_TASKS)') \
	$(if $(BENCH_ORG),--org-size '$(BENCH_ORG)') $(if $(BENCH_HOSTS),--hosts '$(BENCH_HOSTS)') \
	$(if $(BENCH_FORKS),--forks '$(BENCH_FORKS)') $(if $(BENCH_BASE_HOSTS),--base-hosts '$(BENCH_BASE_HOSTS)') \
	$(if $(BENCH_ONLY),--only '$(BENCH_ONLY)') $(if $(BASE),--base '$(BASE)')

heading = @printf '\n==== %s ====\n' "$(1)"

.PHONY: changelog help venv compat-venv docs-venv units emulator-tests sanity sanity-one lint docs-lint changelog-lint build galaxy-import \
	integration check chaos compat docs docs-test test demo bench bench-smoke clean

help:
	@echo "make demo            build and install the collection, then run the demo against the local emulator"
	@echo "                     (ends with ansible-rulebook renewing a token about to expire; Java 17 is installed if missing)"
	@echo "make test            units, emulator-tests, sanity, lint, docs-lint, changelog-lint, build, galaxy-import, integration, bench-smoke, compat, docs-test"
	@echo "make check           the fast loop (about 2 minutes once the venvs exist): units, emulator-tests, lint, sanity on the venv's Python"
	@echo "make venv            create .venv with ansible-core, ansible-lint, antsibull-docs, antsibull-changelog, pytest"
	@echo "make <step>          run one step of 'make test'"
	@echo "make chaos           the crash matrix: SIGKILL the controller at every task boundary of a rotation, then re-run (make integration runs a sample)"
	@echo "make compat          with ansible-core 2.19 on Python 3.11 (.venv-compat): sanity, then an integration smoke subset"
	@echo "make docs            build the collection's HTML docsite (antsibull-docs, Sphinx; .venv-docs) into docs/build/html"
	@echo "make docs-test       make docs, then check every module page in headless Chromium (Debian's chromium, installed if missing)"
	@echo "make bench           benchmark against the local emulator (about 15 min): tests/output/bench.{md,json,png}, docs/performance.md"
	@echo "                     options: BENCH_RUNS BENCH_WARMUP BENCH_BIG_RUNS BENCH_TASKS BENCH_ORG BENCH_HOSTS BENCH_FORKS BENCH_ONLY; BASE=<git ref>"
	@echo "make bench-smoke     the bench at small sizes, one round (about a minute): tests/output/bench-smoke.*"
	@echo "make changelog       fold changelogs/fragments and new modules into the galaxy.yml version's entry, regenerate CHANGELOG.rst"
	@echo "make clean           remove .venv, .venv-compat, .venv-docs, .tools, .ansible, build/, docs/build/ and test output"

# ---------------------------------------------------------------------------------------------
venv: $(STAMP)

$(STAMP): $(DEV_REQUIREMENTS)
	$(call heading,venv: $(VENV) from $(BASE_PYTHON))
	@if [ ! -x "$(VPY)" ] || ! "$(VPY)" -c '' 2>/dev/null; then \
		rm -rf "$(VENV)"; "$(BASE_PYTHON)" -m venv "$(VENV)"; fi
	@echo "pip install -r $(DEV_REQUIREMENTS)"
	@"$(VPY)" -m pip install --quiet --disable-pip-version-check -r $(DEV_REQUIREMENTS) $(PIP_QUIET)
	@"$(VPY)" -c 'import ansible, sys; print("python %s, ansible-core %s" % (sys.version.split()[0], ansible.__version__))'
	@touch $@

# ---------------------------------------------------------------------------------------------
units: $(STAMP)
	$(call heading,units: ansible-test units)
	@if [ -z "$$(ls tests/unit 2>/dev/null | grep -v '^requirements.txt$$')" ]; then \
		echo "tests/unit holds no tests" >&2; exit 1; fi
	$(AT_ENV) run ansible-test units $(ANSIBLE_TEST_OPTS) --venv --python $(VENV_PYTHON_VERSION)

emulator-tests: $(STAMP)
	$(call heading,emulator-tests: pytest tests/emulator)
	"$(VPY)" -m pytest tests/emulator -q -p no:cacheprovider

sanity: $(STAMP)
	$(call heading,sanity: ansible-test sanity)
	@if compgen -G 'tests/sanity/ignore-*.txt' >/dev/null; then \
		echo "tests/sanity/ignore-*.txt found: the collection keeps no sanity ignore entries" >&2; exit 1; fi
	@pythons="$$($(AT_ENV) pythons)"; [ -n "$$pythons" ] || { echo "no controller Python found" >&2; exit 1; }; \
	failed=""; \
	for v in $$pythons; do \
		echo "---- ansible-test sanity --python $$v"; \
		$(AT_ENV) run ansible-test sanity $(ANSIBLE_TEST_OPTS) --venv --python $$v || failed="$$failed $$v"; \
	done; \
	if [ -n "$$failed" ]; then echo "sanity FAILED on Python$$failed" >&2; exit 1; fi

# The fast loop: sanity on the venv's Python only.
sanity-one: $(STAMP)
	$(call heading,sanity-one: ansible-test sanity --python $(VENV_PYTHON_VERSION))
	$(AT_ENV) run ansible-test sanity $(ANSIBLE_TEST_OPTS) --venv --python $(VENV_PYTHON_VERSION)

check:
	@start=$$(date +%s); \
	for step in units emulator-tests lint sanity-one; do \
		$(MAKE) --no-print-directory $$step || { echo "==== make check: step '$$step' FAILED" >&2; exit 1; }; \
	done; \
	echo; echo "==== make check: all steps passed in $$(( $$(date +%s) - start )) s"

lint: $(STAMP)
	$(call heading,lint: ansible-lint --profile production)
	cd "$(ROOT)" && PATH="$(VENV)/bin:$$PATH" "$(VENV)/bin/ansible-lint" --profile production

docs-lint: $(STAMP)
	$(call heading,docs-lint: antsibull-docs lint-collection-docs --plugin-docs)
	$(AT_ENV) run "$(VENV)/bin/antsibull-docs" lint-collection-docs --plugin-docs .

changelog-lint: $(STAMP)
	$(call heading,changelog-lint: antsibull-changelog lint)
	"$(VENV)/bin/antsibull-changelog" lint

# Not part of 'make test': it edits changelogs/changelog.yaml and CHANGELOG.rst and removes the
# fragments it folds in. New modules are found by their version_added.
changelog: $(STAMP)
	$(call heading,changelog: antsibull-changelog release for version $(COLLECTION_VERSION))
	PATH="$(VENV)/bin:$$PATH" "$(VENV)/bin/antsibull-changelog" release --reload-plugins --refresh-plugins --update-existing

build: $(STAMP)
	$(call heading,build: ansible-galaxy collection build + install into $(INSTALL_ROOT))
	mkdir -p "$(BUILD_DIR)" "$(INSTALL_ROOT)"
	"$(VENV)/bin/ansible-galaxy" collection build --force --output-path "$(BUILD_DIR)" .
	ANSIBLE_COLLECTIONS_PATH="$(INSTALL_ROOT)" "$(VENV)/bin/ansible-galaxy" collection install --force --offline \
		-p "$(INSTALL_ROOT)" "$(TARBALL)"

# The checks Galaxy and Automation Hub run on an upload (galaxy-importer, with ansible-doc and ansible-lint on PATH),
# on the built tarball; any warning or error fails. The importer's log: build/galaxy-import/importer.log.
galaxy-import: build
	$(call heading,galaxy-import: galaxy-importer on $(notdir $(TARBALL)))
	"$(VPY)" tools/galaxy_import_check.py "$(TARBALL)"

# ansible-rulebook needs Java 17 (tests/integration/test_event_driven_renewal.py, the demo's part 4): Debian's headless
# JRE if missing, then the ansible-rulebook and Java versions. Recipe lines: `$(java17)` in the targets that need it.
define java17
	@if ! java -version 2>&1 | grep -q 'version "17'; then \
		echo "apt-get install openjdk-17-jre-headless (ansible-rulebook needs Java 17)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null 2>&1 || \
			{ apt-get update -qq && apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null; }; \
	fi
	@"$(VENV)/bin/ansible-rulebook" --version | grep -E 'ansible-rulebook|Java (home|version)'
endef

integration: build
	$(call heading,integration: pytest tests/integration against the emulator)
	$(java17)
	PATH="$(VENV)/bin:$$PATH" ANSIBLE_COLLECTIONS_PATH="$(INSTALL_ROOT)" ANSIBLE_PYTHON_INTERPRETER="$(VPY)" \
		"$(VPY)" -m pytest tests/integration -q -p no:cacheprovider -n 2 --durations=20

# The crash matrix at every task boundary of a rotation (tests/integration/test_crash_matrix.py); 'make integration'
# runs a fixed sample of it. The result: tests/output/crash-matrix.json.
chaos: build
	$(call heading,chaos: SIGKILL at every task boundary of a rotation and a re-run after each)
	PATH="$(VENV)/bin:$$PATH" ANSIBLE_COLLECTIONS_PATH="$(INSTALL_ROOT)" ANSIBLE_PYTHON_INTERPRETER="$(VPY)" \
		ASTRA_IT_CRASH_MATRIX=full "$(VPY)" -m pytest tests/integration/test_crash_matrix.py -q -p no:cacheprovider -s

# ---------------------------------------------------------------------------------------------
# The second supported ansible-core: 2.19 on Python 3.11, in .venv-compat. The venv gets a
# .gitignore of its own ('*'), so git ls-files (ansible-test's copy, ansible-lint) never sees it.
compat-venv: $(COMPAT_STAMP)

$(COMPAT_STAMP): $(COMPAT_REQUIREMENTS)
	$(call heading,compat-venv: $(COMPAT_VENV) from $(COMPAT_PYTHON))
	@if [ ! -x "$(COMPAT_VPY)" ] || ! "$(COMPAT_VPY)" -c '' 2>/dev/null; then \
		rm -rf "$(COMPAT_VENV)"; "$(COMPAT_PYTHON)" -m venv "$(COMPAT_VENV)"; fi
	@echo '*' > "$(COMPAT_VENV)/.gitignore"
	@echo "pip install -r $(COMPAT_REQUIREMENTS)"
	@"$(COMPAT_VPY)" -m pip install --quiet --disable-pip-version-check -r $(COMPAT_REQUIREMENTS) $(PIP_QUIET)
	@"$(COMPAT_VPY)" -c 'import ansible, sys; print("python %s, ansible-core %s" % (sys.version.split()[0], ansible.__version__))'
	@touch $@

# Sanity on Python 3.11, then the tarball of 'make build' installed by ansible-core 2.19's
# ansible-galaxy, then the smoke subset run by 2.19's ansible-playbook (the harness takes the
# ansible-playbook beside the Python running pytest; checked here before the run).
compat: build $(COMPAT_STAMP)
	$(call heading,compat: ansible-test sanity with ansible-core $(COMPAT_CORE) on Python $(COMPAT_PYTHON_VERSION))
	$(COMPAT_AT_ENV) run ansible-test sanity $(ANSIBLE_TEST_OPTS) --venv --python $(COMPAT_PYTHON_VERSION)
	$(call heading,compat: install $(notdir $(TARBALL)) with ansible-core $(COMPAT_CORE) into $(COMPAT_INSTALL_ROOT))
	mkdir -p "$(COMPAT_INSTALL_ROOT)"
	ANSIBLE_COLLECTIONS_PATH="$(COMPAT_INSTALL_ROOT)" "$(COMPAT_VENV)/bin/ansible-galaxy" collection install --force \
		--offline -p "$(COMPAT_INSTALL_ROOT)" "$(TARBALL)"
	$(call heading,compat: integration smoke subset with ansible-core $(COMPAT_CORE))
	@"$(COMPAT_VPY)" -c 'import subprocess, sys; sys.path.insert(0, "tests/integration"); import _astra_it; \
		out = subprocess.check_output([str(_astra_it.ANSIBLE_PLAYBOOK), "--version"], text=True); print(out, end=""); \
		sys.exit(0 if out.split("\n")[0].split("[core ")[-1].startswith("$(COMPAT_CORE).") else \
		"the integration harness does not run ansible-core $(COMPAT_CORE): %s" % _astra_it.ANSIBLE_PLAYBOOK)'
	PATH="$(COMPAT_VENV)/bin:$$PATH" ANSIBLE_COLLECTIONS_PATH="$(COMPAT_INSTALL_ROOT)" \
		ANSIBLE_PYTHON_INTERPRETER="$(COMPAT_VPY)" "$(COMPAT_VPY)" -m pytest $(COMPAT_SMOKE) -q -p no:cacheprovider

# ---------------------------------------------------------------------------------------------
docs-venv: $(DOCS_STAMP)

$(DOCS_STAMP): $(DOCS_REQUIREMENTS)
	$(call heading,docs-venv: $(DOCS_VENV) from $(BASE_PYTHON))
	@if [ ! -x "$(DOCS_VPY)" ] || ! "$(DOCS_VPY)" -c '' 2>/dev/null; then \
		rm -rf "$(DOCS_VENV)"; "$(BASE_PYTHON)" -m venv "$(DOCS_VENV)"; fi
	@echo "pip install -r $(DOCS_REQUIREMENTS)"
	@"$(DOCS_VPY)" -m pip install --quiet --disable-pip-version-check -r $(DOCS_REQUIREMENTS) $(PIP_QUIET)
	@"$(DOCS_VENV)/bin/antsibull-docs" --version
	@touch $@

# The docsite of the collection as 'make build' installed it: a new 'antsibull-docs sphinx-init' in
# docs/build/sphinx, local intersphinx inventories (no documentation host is reachable, and its build.sh runs
# sphinx-build with -W), its build.sh, then its build/html moved to docs/build/html.
docs: build $(DOCS_STAMP)
	$(call heading,docs: antsibull-docs sphinx-init + build.sh into $(DOCS_HTML))
	rm -rf "$(DOCS_SITE)" "$(DOCS_HTML)"
	mkdir -p "$(DOCS_SITE)"
	$(DOCS_ENV) antsibull-docs sphinx-init --use-current --fail-on-error --dest-dir "$(DOCS_SITE)" \
		--project astra.devops --copyright 'Astra DevOps collection maintainers' \
		--title 'astra.devops collection documentation' --html-short-title astra.devops astra.devops
	"$(DOCS_VPY)" tests/docs/offline_inventories.py "$(DOCS_SITE)"
	$(DOCS_ENV) "$(DOCS_SITE)/build.sh"
	mv "$(DOCS_SITE)/build/html" "$(DOCS_HTML)"
	@echo "docsite: $(DOCS_HTML)/index.html"

# Debian's chromium (apt lists refreshed only if the first try fails); the test takes the screenshot
# $(DOCS_SCREENSHOT), which stays as a build artifact.
docs-test: docs
	$(call heading,docs-test: the docsite in headless Chromium)
	@if ! command -v chromium >/dev/null; then \
		echo "apt-get install chromium"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 || \
			{ apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; \
	fi
	@chromium --version
	$(DOCS_ENV) DOCS_HTML="$(DOCS_HTML)" DOCS_SCREENSHOT="$(DOCS_SCREENSHOT)" \
		"$(DOCS_VPY)" -m pytest tests/docs -q -p no:cacheprovider

# Each step runs in order; make stops at the first one that fails.
test:
	@start=$$(date +%s); \
	for step in units emulator-tests sanity lint docs-lint changelog-lint build galaxy-import integration bench-smoke compat docs-test; do \
		t0=$$(date +%s); \
		$(MAKE) --no-print-directory $$step || { echo "==== make test: step '$$step' FAILED" >&2; exit 1; }; \
		echo "==== $$step: OK in $$(( $$(date +%s) - t0 )) s"; \
	done; \
	echo; echo "==== make test: all steps passed in $$(( $$(date +%s) - start )) s"

demo: build
	$(call heading,demo: tools/run_demo.py)
	$(java17)
	PATH="$(VENV)/bin:$$PATH" ANSIBLE_COLLECTIONS_PATH="$(INSTALL_ROOT)" ANSIBLE_PYTHON_INTERPRETER="$(VPY)" \
		"$(VPY)" tools/run_demo.py

# ---------------------------------------------------------------------------------------------
$(BENCH_STAMP): $(STAMP) $(BENCH_REQUIREMENTS)
	@echo "pip install -r $(BENCH_REQUIREMENTS)"
	@"$(VPY)" -m pip install --quiet --disable-pip-version-check -r $(BENCH_REQUIREMENTS) $(PIP_QUIET)
	@touch $@

bench: build $(BENCH_STAMP)
	$(call heading,bench: tools/bench/bench.py against the emulator)
	PATH="$(VENV)/bin:$$PATH" "$(VPY)" tools/bench/bench.py $(BENCH_ARGS)

bench-smoke: build $(BENCH_STAMP)
	$(call heading,bench-smoke: tools/bench/bench.py --smoke against the emulator)
	PATH="$(VENV)/bin:$$PATH" "$(VPY)" tools/bench/bench.py --smoke $(BENCH_ARGS)

clean:
	rm -rf "$(VENV)" "$(COMPAT_VENV)" "$(DOCS_VENV)" "$(TOOLS_DIR)" "$(ROOT)/.ansible" "$(BUILD_DIR)" "$(ROOT)/docs/build" \
		"$(ROOT)/tests/output" "$(ROOT)/.pytest_cache"
	find "$(ROOT)" -path "$(ROOT)/.git" -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
