"""The versioned store through the command line and the running app, on SQLite and on a real PostgreSQL:
an office's table imported in one command, refused whole when wrong, versions and rollback, the data package
round trip, and two app servers on one PostgreSQL seeing each other's imports.

Every figure written here is made up (Testdaten); the bundled data are only read.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import requests
from openpyxl import Workbook

from essen_dash import paths
from essen_dash.cli import main
from essen_dash.data import load_app_data
from essen_dash.figures.choropleth import VALUES
from essen_dash.params import Params
from essen_dash.tables.db import Store
from essen_dash.views import build
from tests.integration.conftest import free_port, tail, wait_for_health

INTAKE = paths.REPO_ROOT / "tests" / "fixtures" / "intake"
DAY = date(2018, 12, 31)


def cli(url: str, *args: str) -> int:
    return main(["--database-url", url, *args])


def stadtteile_xlsx(path: Path) -> Path:
    """Write a made-up office workbook: a title row, a Stand row, then all 50 Stadtteile by number and name."""
    register = pd.read_csv(paths.DEFAULT_DATA_DIR / "stadtteile_register.csv")
    book = Workbook()
    sheet = book.active
    sheet.title = "Tabelle 1"
    sheet.append(["Testdaten (erfunden) – Anteil der wesentlichen Herkunftsländer nach Stadtteilen"])
    sheet.append(["Stand: 31.12.2018"])
    sheet.append([])
    sheet.append(["Stadtteil-Nr.", "Stadtteil", "Anteil der wesentlichen 12 Herkunftsländer"])
    for nr, name in zip(register["stadtteil_nr"], register["stadtteil_name"]):
        sheet.append([int(nr), name, round(0.5 + nr * 0.25, 2)])
    sheet.append(["Quelle: Testdaten, erfunden"])
    book.save(path)
    return path


def test_office_tables_import_and_show_at_their_level_and_stichtag(db_url, tmp_path, capsys):
    """A Windows-1252 export with title lines and decimal commas, and an XLSX with a title row, each in one
    command; the Stadtteil map of that Stichtag is then filled for all 50 Stadtteile."""
    assert cli(db_url, "import", str(INTAKE / "bezirke_windows1252.csv")) == 0
    assert "als Version 2 veröffentlicht" in capsys.readouterr().out
    assert cli(db_url, "import", str(stadtteile_xlsx(tmp_path / "stadtteile.xlsx"))) == 0
    assert "als Version 3 veröffentlicht" in capsys.readouterr().out

    assert cli(db_url, "show", "values", "--kennzahl", "non_german_pct", "--stichtag", "2018-12-31") == 0
    rows = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out), dtype=str, keep_default_na=False)
    shown = dict(zip(rows["gebiet"], zip(rows["wert"], rows["status"])))
    assert shown["I"] == ("18.6", "veröffentlicht") and shown["II"] == ("9.0", "veröffentlicht")
    assert shown["III"] == ("", "fehlt")  # an empty cell in the file: no value, not 0
    assert cli(db_url, "show", "values", "--kennzahl", "bg_ro_pct", "--stichtag", "2018-12-31") == 0
    rows = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out), dtype=str, keep_default_na=False)
    assert dict(zip(rows["gebiet"], rows["status"]))["I"] == "gesperrt"  # the office's secrecy mark

    data = load_app_data(paths.settings(database_url=db_url))
    assert data.stichtage == [date(2016, 9, 30), DAY]
    chart = build(data, "karte-map", Params(indicator="origin12_pct", level="stadtteil", stichtag=DAY))
    assert sorted(drawn(chart)) == sorted(str(n) for n in range(1, 51))  # every Stadtteil coloured by its value
    bezirke = build(data, "karte-map", Params(indicator="non_german_pct", level="bezirk", stichtag=DAY))
    assert sorted(drawn(bezirke)) == ["I", "II"]  # the others stay grey: no value, not 0


def drawn(chart) -> dict[str, float]:
    """Return the areas the map's values trace colours (every area is in it; z is missing where no value)."""
    trace = chart.figure.data[VALUES]
    return {loc: z for loc, z in zip(trace.locations, trace.z) if z is not None}


@pytest.mark.parametrize(("file", "expected"), [
    ("bad_unknown_area.csv", "Spalte 'Stadtteil'"),
    ("bad_text_value.csv", "ist keine Zahl"),
    ("bad_share.csv", "über dem Höchstwert 100"),
    ("bad_duplicate_area.csv", "mehrfach in der Datei"),
    ("bad_no_area_column.csv", "keine Gebietsspalte gefunden"),
])
def test_a_bad_file_is_refused_whole_and_publishes_nothing(db_url, capsys, file, expected):
    assert cli(db_url, "versions") == 0
    capsys.readouterr()
    assert cli(db_url, "import", str(INTAKE / file)) == 1
    err = capsys.readouterr().err
    assert "FEHLER: Import abgelehnt, es wird nichts veröffentlicht" in err and file in err and expected in err, err
    assert "Zeile " in err and "Traceback" not in err
    store = Store(db_url)
    assert [v.number for v in store.versions()] == [1]


def test_dry_run_shows_the_change_and_publishes_nothing(db_url, capsys):
    assert cli(db_url, "import", str(INTAKE / "bezirke_windows1252.csv"), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "8 neu, 0 geändert, 0 unverändert" in out and "Probelauf: nichts veröffentlicht." in out
    assert [v.number for v in Store(db_url).versions()] == [1]


def test_versions_rollback_and_the_data_package_round_trip(db_url, tmp_path, capsys):
    assert cli(db_url, "import", str(INTAKE / "bezirke_windows1252.csv"), "--author", "statistik",
               "--note", "Lieferung 2018") == 0
    assert cli(db_url, "versions") == 0
    listing = capsys.readouterr().out
    assert "statistik" in listing and "bezirke_windows1252.csv" in listing and "Lieferung 2018" in listing
    store = Store(db_url)
    assert [(v.number, v.is_current) for v in store.versions()] == [(2, True), (1, False)]
    assert cli(db_url, "rollback", "1") == 0
    assert store.current_version() == 1
    assert load_app_data(paths.settings(database_url=db_url), maps=False).stichtage == [date(2016, 9, 30)]
    assert cli(db_url, "rollback", "9") == 1
    assert "Version 9 gibt es nicht" in capsys.readouterr().err
    assert cli(db_url, "rollback", "2") == 0

    # the exchange format: exported, imported back, the same store
    out = tmp_path / "paket"
    assert cli(db_url, "export-data", str(out)) == 0
    assert cli(db_url, "import", str(out)) == 0
    assert store.current_version() == 3
    before, after = store.load(2), store.load(3)
    for name in before:
        pd.testing.assert_frame_equal(after[name], before[name], obj=name)
    assert cli(db_url, "export-data", str(out)) == 1  # never writes into a folder that holds something
    assert "nicht leer" in capsys.readouterr().err


def test_the_bundled_package_is_the_first_version_and_exports_byte_for_byte(db_url, tmp_path):
    assert cli(db_url, "export-data", str(tmp_path / "paket")) == 0
    for file in paths.DEFAULT_DATA_DIR.iterdir():
        assert (tmp_path / "paket" / file.name).read_bytes() == file.read_bytes(), file.name
    (first,) = Store(db_url).versions()
    assert first.number == 1 and first.author == "essen-dash" and first.counts["values"] == 98


def start_app(url: str, root: Path) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log = root / f"server-{port}.log"
    env = {**os.environ, paths.DATABASE_URL_ENV: url, paths.CACHE_DIR_ENV: str(root / "cache"),
           "PYTHONUNBUFFERED": "1"}
    env.pop(paths.DATA_DIR_ENV, None)
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, str(paths.REPO_ROOT / "app.py"), "--port", str(port)],
                                   cwd=paths.REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_for_health(base, process, log)
    return process, base, log


def served_stichtage(base: str) -> list[str]:
    """Return the Stichtage the server offers in its filter (its page layout, as a browser receives it)."""
    layout = requests.get(base + "/_dash-layout", timeout=10).text
    return sorted(d for d in ("2016-09-30", "2018-12-31") if f'"value": "{d}"' in layout or f'"value":"{d}"' in layout)


def follows(base: str, expected: list[str], log: Path, within_s: float = 15) -> None:
    """Wait until the server offers exactly ``expected`` (it looks at the store every 2 s on a request)."""
    deadline = time.monotonic() + within_s
    while served_stichtage(base) != expected:
        assert time.monotonic() < deadline, f"{base} still offers {served_stichtage(base)}:\n{tail(log)}"
        time.sleep(0.5)


def test_two_app_servers_on_one_postgresql_share_every_import(postgres_url, tmp_path, capsys):
    import sqlalchemy as sa

    name = f"shared_{time.monotonic_ns()}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    servers = []
    try:
        servers = [start_app(url, tmp_path), start_app(url, tmp_path)]
        (_, first, first_log), (_, second, log) = servers
        assert served_stichtage(first) == served_stichtage(second) == ["2016-09-30"]
        assert [v.number for v in Store(url).versions()] == [1]  # seeded once, though two servers started
        assert cli(url, "import", str(stadtteile_xlsx(tmp_path / "stadtteile.xlsx"))) == 0
        for base, server_log in ((second, log), (first, first_log)):  # each notices within seconds
            follows(base, ["2016-09-30", "2018-12-31"], server_log)
        assert cli(url, "rollback", "1") == 0
        for base, server_log in ((second, log), (first, first_log)):
            follows(base, ["2016-09-30"], server_log)
    finally:
        for process, _, _ in servers:
            process.terminate()
            process.wait(timeout=20)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
