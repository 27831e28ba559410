#!/usr/bin/env bash
# Proof that a new Stichtag in data/ changes no test: a throwaway worktree of HEAD beside this checkout (so
# ../shared is where it is for the checkout) gets a made-up second submission of the same format imported into
# its data/, beside 2016, and the whole suite runs there. The worktree is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="$PWD/.venv/bin/python"
wt="$(cd .. && pwd)/.essen-dash-second-stichtag"
git worktree remove --force "$wt" 2>/dev/null || rm -rf "$wt"
git worktree add --detach --quiet "$wt" HEAD
trap 'git worktree remove --force "$wt"' EXIT
ln -s "$PWD/node_modules" "$wt/node_modules"  # the test tools installed by make (axe-core)
cd "$wt"
export PYTHONPATH="$wt"  # the worktree's code and data, not the editable install of the checkout
"$PY" -c "import sys; from tests.unit.sources.fake_vorlage import FakeVorlage; sys.stdout.write(FakeVorlage().text())" \
    > "$wt/made-up-vorlage.txt"
"$PY" -m essen_dash.cli import-vorlage made-up-vorlage.txt --out data --data-dir data
"$PY" -m essen_dash.cli validate data >/dev/null  # the imported folder passes every rule
# only tests that read data/ can see the new Stichtag; the others ran in the first pass: the unit tests (their
# guard fails any that opens data/), the Datenpflege and the comparing pack on the frozen fixture, the store and
# the install on their own folders, the outages (failing Chromium, slow clients, logs: no figure is read) and the
# app's plotly.js
"$PY" -m pytest -q -p no:cacheprovider tests/integration \
    --ignore=tests/integration/test_datenpflege.py --ignore=tests/integration/test_pack_change.py \
    --ignore=tests/integration/test_store.py --ignore=tests/integration/test_install.py \
    --ignore=tests/integration/test_outage.py --ignore=tests/integration/test_plotly_bundle.py
