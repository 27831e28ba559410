"""An import replaces the data folder completely or not at all: a refused or failed import leaves every file
byte for byte as it was, and nothing half-written beside it."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from essen_dash.cli import main
from essen_dash.tables import store
from essen_dash.tables.load import check_folder, load_tables
from tests.conftest import FIXTURE_DATA
from tests.unit.sources.fake_vorlage import FakeVorlage


def snapshot(folder: Path) -> dict[str, str]:
    """Return the sha256 of every file under ``folder``, by relative path."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def beside(folder: Path) -> list[str]:
    """Return what lies in the folder's parent (temporary folders of an import would show here)."""
    return sorted(p.name for p in folder.parent.iterdir())


def vorlage(tmp_path: Path, text: str, name: str = "vorlage.txt") -> Path:
    path = tmp_path / "in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def import_into(path: Path, out: Path, data_dir: Path | None = None) -> int:
    return main(["import-vorlage", str(path), "--out", str(out), "--data-dir", str(data_dir or out)])


def broken_target(folder: Path) -> Path:
    """Break a row of the 2016 Stichtag in the target (the reference data come from the frozen fixture)."""
    path = folder / "values.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("2016-09-30,bezirk,I,origin12_pct,7.1,",
                                                             "2016-09-30,bezirk,I,origin12_pct,107.1,"),
                    encoding="utf-8")
    return FIXTURE_DATA


FAKE = FakeVorlage().text()


@pytest.mark.parametrize("text, prepare, expected", [
    pytest.param(FAKE.replace("Bevölkerung\t10,0 %", "Bevölkerung\t181,8 %"),
                 None, "Wert 181,8 % liegt über dem Höchstwert 100 %", id="share-181.8"),
    pytest.param(FAKE.replace("Gesamtbevölkerung\t60.000", "Gesamtbevölkerung\t99.999.999.999.999.999.999"),
                 None, "zu groß für eine ganze Zahl", id="population-overflow"),
    pytest.param(FAKE.replace("Stand 31.12.2018", "Stand 31.02.2016"), None,
                 "Datum 31.02.2016 gibt es nicht", id="impossible-date"),
    pytest.param(FakeVorlage(number="1846", year="2016").text(), None,
                 "Vorlage 1846/2016 steht schon mit anderem Stand im Datenordner", id="same-document-new-stichtag"),
    pytest.param(FakeVorlage(stand_day="30.09.2016", stand_words="30. September 2016").text(), None,
                 "stammt schon aus Vorlage 1846/2016", id="other-document-same-stichtag"),
    # the submission is fine; the merged result is not (old rows of the target break a rule): only the
    # validation of the complete result finds it, after every file has been written
    pytest.param(FAKE, broken_target, "Import abgelehnt, {out} bleibt unverändert – 1 Fehler:\n  - values.csv, "
                 "Zeile 20, Spalte 'value': Kennzahl 'origin12_pct': Wert 107,1 liegt über dem Höchstwert 100 %",
                 id="invalid-result"),
])
def test_refused_import_leaves_every_file_byte_identical(tmp_path, data_copy, capsys, text, prepare, expected):
    data_dir, path = prepare(data_copy) if prepare else None, vorlage(tmp_path, text)
    before, around = snapshot(data_copy), beside(data_copy)
    assert import_into(path, data_copy, data_dir) == 1
    err = capsys.readouterr().err
    assert expected.format(out=data_copy) in err and "Traceback" not in err, err
    assert snapshot(data_copy) == before
    assert beside(data_copy) == around  # no temporary or old folder left behind


def failing_at(n: int, real, only: bool = False):
    """Return a stand-in for ``real`` whose ``n``-th call (and, unless ``only``, every later one) fails like a
    full disk."""
    calls = []

    def stand_in(*args, **kwargs):
        calls.append(args)
        if len(calls) == n or (len(calls) > n and not only):
            raise OSError(28, "Kein Platz mehr auf dem Gerät")
        return real(*args, **kwargs)
    return stand_in


def test_failure_after_three_tables_leaves_the_target_unchanged(tmp_path, data_copy, monkeypatch, capsys):
    """The issue's case: three to six tables used to be rewritten before a failure."""
    monkeypatch.setattr(store, "write_csv", failing_at(4, store.write_csv))
    path = vorlage(tmp_path, FAKE)
    before, around = snapshot(data_copy), beside(data_copy)
    assert import_into(path, data_copy) == 1
    assert "Kein Platz mehr auf dem Gerät" in capsys.readouterr().err
    assert snapshot(data_copy) == before and beside(data_copy) == around


def test_failed_swap_puts_the_old_folder_back(tmp_path, data_copy, monkeypatch):
    """Where folders cannot be exchanged in one call, the old one is renamed aside and renamed back on failure."""
    monkeypatch.setattr(store, "exchange", lambda a, b: False)
    # the old folder goes aside, putting the new one in fails, the old one comes back
    monkeypatch.setattr(store.os, "replace", failing_at(2, os.replace, only=True))
    path = vorlage(tmp_path, FAKE)
    before, around = snapshot(data_copy), beside(data_copy)
    assert import_into(path, data_copy) == 1
    assert snapshot(data_copy) == before and beside(data_copy) == around


@pytest.mark.parametrize("exchange", ["renameat2", "rename-aside"])
def test_successful_import_replaces_the_folder_in_one_step(tmp_path, data_copy, monkeypatch, exchange):
    if exchange == "rename-aside":
        monkeypatch.setattr(store, "exchange", lambda a, b: False)
    (data_copy / "LIESMICH.txt").write_text("eigene Notiz\n", encoding="utf-8")  # a file the import does not write
    data_copy.chmod(0o750)
    path = vorlage(tmp_path, FAKE)
    before, around, inode = snapshot(data_copy), beside(data_copy), data_copy.stat().st_ino
    assert import_into(path, data_copy) == 0
    after = snapshot(data_copy)
    # every table with rows of the new Stichtag and the descriptor are new; the reference tables and the note are not
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {"values.csv", "city.csv", "jobcenter.csv", "jobcenter_crosswalk.csv",
                       "origin_countries.csv", "documents.csv", "datapackage.json"}
    assert set(after) == set(before)
    assert data_copy.stat().st_ino != inode  # a new folder took the old one's place; no file was rewritten in place
    assert data_copy.stat().st_mode & 0o777 == 0o750
    assert beside(data_copy) == around
    assert check_folder(data_copy)[1] == [] and len(load_tables(data_copy).stichtage) == 2


def test_import_into_a_new_folder(tmp_path, data_copy):
    out = tmp_path / "neu" / "daten"
    assert import_into(vorlage(tmp_path, FAKE), out, data_copy) == 0
    assert load_tables(out).stichtage[-1].year == 2018
    assert sorted(p.name for p in out.parent.iterdir()) == ["daten"]


def test_two_imports_at_once_both_land(tmp_path, data_copy, monkeypatch):
    """The second import waits for the first and merges into its result, instead of both starting from the old
    folder and the later one silently dropping the earlier one's rows."""
    second_started = threading.Event()
    real_check = store.check_folder

    def slow_check(folder):
        if threading.current_thread().name == "first":
            second_started.wait(timeout=1.0)  # give the second import every chance to overtake
        return real_check(folder)
    monkeypatch.setattr(store, "check_folder", slow_check)
    first = vorlage(tmp_path, FAKE, "a.txt")
    second = vorlage(tmp_path, FakeVorlage(number="0099", year="2021", stand_day="31.12.2020",
                                           stand_words="31. Dezember 2020", jc_stand="15.01.2021").text(), "b.txt")
    results = {}

    def run(name, path):
        if name == "second":
            second_started.set()
        results[name] = import_into(path, data_copy, FIXTURE_DATA)
    threads = [threading.Thread(target=run, name="first", args=("first", first))]
    threads[0].start()
    deadline = time.monotonic() + 10
    while not any(p.startswith(".data.tmp-") for p in os.listdir(data_copy.parent)) and time.monotonic() < deadline:
        time.sleep(0.001)  # until the first import is building its folder
    threads.append(threading.Thread(target=run, name="second", args=("second", second)))
    threads[1].start()
    for t in threads:
        t.join(timeout=30)
    assert results == {"first": 0, "second": 0}
    assert [d.year for d in load_tables(data_copy).stichtage] == [2016, 2018, 2020]
    assert sorted(load_tables(data_copy)["documents"]["document_id"]) == ["0099/2021", "0427/2019", "1846/2016"]
