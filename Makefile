# Two commands for a fresh machine:  make start   |   make test
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8050

.PHONY: start test test-second-stichtag install browser bench clean plotly-js

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# axe-core for the accessibility tests and the tools that build the app's plotly.js, as pinned in package-lock.json
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

# The app's plotly.js (essen_dash/vendor/, committed): rebuild after changing plotly-essen.js or the pinned plotly.js
plotly-js: node_modules/.installed
	node essen_dash/vendor/build.mjs

# Debian's Chromium and ChromeDriver for browser tests and static export (never a downloaded browser),
# a sans-serif font for exported charts, poppler for looking at PDFs, PostgreSQL for the store's tests
# (the tests start their own server in a temporary folder).
DEBS := chromium chromium-driver fonts-liberation poppler-utils postgresql
browser:
	@if ! dpkg -s $(DEBS) >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $(DEBS) >/dev/null; \
	fi

start: install browser
	$(PY) app.py --port $(PORT)

test: install browser node_modules/.installed
	$(PY) -m pytest

# The same suite in a worktree whose data/ holds a made-up second Stichtag beside 2016: no test may change.
test-second-stichtag: install browser node_modules/.installed
	tests/second_stichtag.sh

bench: install browser
	$(PY) -m compileall -q essen_dash  # after changes, too: the cold start is a deployment's, not a first run's
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .cache .pytest_cache test-artifacts node_modules
