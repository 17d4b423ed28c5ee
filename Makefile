# codex-fsm: everything a fresh machine needs is installed from here (Python packages into .venv,
# the pinned Codex CLI releases into node_modules/, Debian's graphviz for SVG diagrams and redis-server for
# the shared pool's tests).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMPS := .make-stamps
WHEELHOUSE := $(STAMPS)/wheelhouse
# package.json's two npm aliases of @openai/codex: the newest release tested (node_modules/.bin/codex)
# and the oldest supported. `make test` runs the e2e suite against each, the newest first.
CODEX_RELEASES := newest oldest
PYTEST_ARGS ?=

.PHONY: install test check diagrams check-diagrams lint typecheck bench demo graphviz redis codex clean

install: $(STAMPS)/venv $(STAMPS)/wheels

$(STAMPS)/venv: setup.cfg pyproject.toml
	@mkdir -p $(STAMPS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]' ruff
	@touch $@

# Wheels of codex-fsm's runtime dependencies and of its build backend, so that
# tests/demo/test_wheel_install.py can build the package and install it into a fresh venv offline
# (the suite runs without a network). codex-fsm's own wheel is not kept: the test builds the one under test.
$(STAMPS)/wheels: setup.cfg pyproject.toml | $(STAMPS)/venv
	rm -rf $(WHEELHOUSE).partial && mkdir -p $(WHEELHOUSE).partial
	$(BIN)/pip wheel --quiet --wheel-dir $(WHEELHOUSE).partial . 'setuptools>=64' wheel
	rm -f $(WHEELHOUSE).partial/codex_fsm-*.whl
	rm -rf $(WHEELHOUSE) && mv $(WHEELHOUSE).partial $(WHEELHOUSE)
	@touch $@

# The real Codex CLI releases, pinned in package.json/package-lock.json, for the end-to-end tests.
codex: $(STAMPS)/codex

$(STAMPS)/codex: package.json package-lock.json
	@mkdir -p $(STAMPS)
	@command -v npm >/dev/null || { echo "make: npm is needed to install the Codex CLI (apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@for release in $(CODEX_RELEASES); do \
	  test -f node_modules/codex-$$release/bin/codex.js || { echo "make: npm ci did not install codex-$$release"; exit 1; }; \
	done
	@test "$$(readlink node_modules/.bin/codex)" = ../codex-newest/bin/codex.js || \
	  { echo "make: node_modules/.bin/codex is not the newest pinned Codex"; exit 1; }
	@touch $@

# Graphviz's dot renders the SVG diagram; Debian's package when it is missing.
graphviz:
	@command -v dot >/dev/null || { \
	  echo "make: installing Debian's graphviz for SVG diagrams"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq graphviz >/dev/null; }
	@command -v dot >/dev/null || { echo "make: graphviz's dot is still missing"; exit 1; }

# Debian's redis-server when it is missing: the shared pool's tests start private servers on 127.0.0.1
# (tests/fakes/redis_server.py), so only the binary is wanted. The package's postinst starts and enables a
# system redis service: a policy-rc.d answering 101 ("action forbidden") keeps it from starting (one that is
# there already is left alone, ours is removed afterwards even when the install fails), and the service is
# then disabled and stopped in case something started it anyway.
REDIS_POLICY_RC := /usr/sbin/policy-rc.d
redis:
	@command -v redis-server >/dev/null || { \
	  echo "make: installing Debian's redis-server for the shared pool's tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  made_policy=; \
	  trap '[ -z "$$made_policy" ] || $$SUDO rm -f $(REDIS_POLICY_RC)' EXIT; trap 'exit 130' INT TERM HUP; \
	  if [ ! -e $(REDIS_POLICY_RC) ]; then \
	    made_policy=1; \
	    printf '#!/bin/sh\n# written by codex-fsm make redis: no service starts during the install\nexit 101\n' \
	      | $$SUDO tee $(REDIS_POLICY_RC) >/dev/null && $$SUDO chmod 755 $(REDIS_POLICY_RC) || exit 1; \
	  fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server >/dev/null \
	    || { echo "make: apt-get could not install redis-server"; exit 1; }; \
	  if command -v systemctl >/dev/null; then \
	    $$SUDO systemctl disable --quiet redis-server.service 2>/dev/null; \
	    [ ! -d /run/systemd/system ] || $$SUDO systemctl stop redis-server.service; \
	  fi; \
	  if [ -x /etc/init.d/redis-server ]; then \
	    $$SUDO /etc/init.d/redis-server stop >/dev/null 2>&1; \
	    ! command -v update-rc.d >/dev/null || $$SUDO update-rc.d redis-server disable >/dev/null 2>&1; \
	  fi; \
	  true; }
	@redis-server --version >/dev/null || { echo "make: redis-server is still missing or does not run"; exit 1; }

# The suite runs inside a loopback-only network namespace where the machine allows it, and always with
# dead proxies, so that nothing (the real Codex included) can reach a host other than 127.0.0.1.
DEAD_PROXIES := HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9 \
                NO_PROXY=127.0.0.1,localhost https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 \
                no_proxy=127.0.0.1,localhost

# The whole suite against the newest pinned Codex, then the e2e suite again against each older one.
test: install codex graphviz redis
	@if unshare -n true 2>/dev/null && command -v ip >/dev/null; then \
	  echo "make: running the suite in a loopback-only network namespace"; \
	  run() { env $(DEAD_PROXIES) CODEX_FSM_NETNS=1 unshare -n sh -c 'ip link set lo up && exec "$$@"' sh "$$@"; }; \
	else \
	  echo "make: no network namespace available here; running with dead proxies only"; \
	  run() { env $(DEAD_PROXIES) "$$@"; }; \
	fi; \
	echo "make: the whole suite, the e2e tests against the newest pinned Codex"; \
	run $(BIN)/pytest --codex=newest $(PYTEST_ARGS) || exit $$?; \
	for release in $(filter-out newest,$(CODEX_RELEASES)); do \
	  echo "make: the e2e tests again, against the $$release pinned Codex"; \
	  run $(BIN)/pytest --codex=$$release $(PYTEST_ARGS) tests/e2e || exit $$?; \
	done

diagrams: install graphviz
	$(BIN)/codex-fsm diagram --format mermaid -o statecharts/session.mmd
	$(BIN)/codex-fsm diagram --format svg -o statecharts/session.svg
	$(BIN)/codex-fsm diagram --format table -o statecharts/session.md
	$(PY) tools/embed_diagram.py README.md statecharts/session.mmd statecharts/session.md

check-diagrams: install graphviz
	$(BIN)/pytest -q tests/test_diagram.py

lint: install
	$(BIN)/ruff check supervisor tests tools

# The pure core is strictly typed (tests/core/test_typecheck.py keeps it so).
typecheck: install
	$(BIN)/mypy --strict supervisor/core

check: test check-diagrams lint typecheck

bench: install codex graphviz redis
	$(PY) tools/bench/run_all.py

demo: install codex
	$(BIN)/codex-fsm demo

clean:
	rm -rf $(VENV) $(STAMPS) node_modules
