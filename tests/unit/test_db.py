"""The versioned store keeps every published version unchanged, switches between them atomically and gives back
exactly the frames read_table gives — on SQLite and on a real PostgreSQL server alike."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from pandas.testing import assert_frame_equal

from essen_dash.tables import db
from essen_dash.tables.db import Store, StoreError
from essen_dash.tables.load import read_table
from essen_dash.tables.schema import TABLES, Column, Table

AREAS = Table(
    name="areas", title="Gebiete", source_kind="document", primary_key=("stichtag", "area_nr"),
    columns=(
        Column("stichtag", "date", "Stichtag"),
        Column("area_nr", "integer", "Nummer"),
        Column("area_name", "string", "Name"),
        Column("population_count", "integer", "Einwohner", required=False),
        Column("share_pct", "number", "Anteil", required=False),
        Column("is_partial", "boolean", "teilweise"),
    ),
)
NOTES = Table(
    name="notes", title="Notizen", source_kind="document", primary_key=("document_id",),
    columns=(
        Column("document_id", "string", "Vorlage"),
        Column("document_date", "date", "Datum", required=False),
        Column("remark", "string", "Bemerkung", required=False),
        Column("is_public", "boolean", "öffentlich", required=False),
    ),
)
SCHEMA = {t.name: t for t in (AREAS, NOTES)}
META = {"author": "planer", "file_name": "vorlage.csv", "sha256": "ab" * 32}

AREAS_CSV = """stichtag,area_nr,area_name,population_count,share_pct,is_partial
2016-09-30,3,Altendorf,9223372036854775807,26.5,true
2016-09-30,1,Stadtkern,,0.30000000000000004,false
2015-12-31,2,Überruhr-Hinsel,-9223372036854775808,,true
2016-09-30,10,"Frohnhausen, Nord",0,100.0,false
"""
AREAS_CSV_2 = """stichtag,area_nr,area_name,population_count,share_pct,is_partial
2018-12-31,4,Bergerhausen,7,1.25,false
"""


def read(tmp_path: Path, table: Table, text: str) -> pd.DataFrame:
    """Return ``text`` as read_table reads it from a CSV file (so the dtypes are exactly the loader's)."""
    folder = tmp_path / f"csv-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    (folder / table.path).write_text(text, encoding="utf-8")
    return read_table(folder, table)


def notes(*rows: tuple) -> pd.DataFrame:
    """Return notes rows with the loader's dtypes; a missing date stays None, a missing boolean <NA>."""
    ids, dates, remarks, public = zip(*rows) if rows else ((), (), (), ())
    is_public = pd.Series(public, dtype="boolean")
    return pd.DataFrame({
        "document_id": pd.Series(ids, dtype=str),
        "document_date": pd.Series(dates, dtype=object),
        "remark": pd.Series(remarks, dtype=str),
        "is_public": is_public if is_public.isna().any() else is_public.astype(bool),
    })


NOTES_1 = (("0815/2016", date(2016, 11, 2), "O'Brien sagt:\t\"ja\"\nzweite Zeile", True),
           ("\\N", None, None, None),
           ("C:\\Pfad\\datei", date(1999, 12, 31), "", False))


@pytest.fixture
def url(db_url):
    """Return the URL of an empty database of its own for this test (SQLite and PostgreSQL)."""
    return db_url


@pytest.fixture
def open_store(url):
    """Return a function opening a created store on the test's database (several may share it)."""
    opened = []

    def open_(tables=SCHEMA) -> Store:
        store = Store(url, tables=tables)
        store.create()
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


def assert_frames_equal(found: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    assert list(found) == list(expected)
    for name, frame in expected.items():
        assert_frame_equal(found[name], frame, check_exact=True, obj=name)


# --- round trip ------------------------------------------------------------------------------------------------

def test_round_trip_keeps_values_dtypes_and_row_order(open_store, tmp_path):
    store = open_store()
    frames = {"areas": read(tmp_path, AREAS, AREAS_CSV), "notes": notes(*NOTES_1)}
    assert list(frames["areas"].dtypes.astype(str)) == ["object", "int64", "str", "Int64", "float64", "bool"]

    loaded = store.load(store.publish(frames, **META))

    assert_frames_equal(loaded, frames)
    areas = loaded["areas"]
    assert areas["area_nr"].tolist() == [3, 1, 2, 10]  # as published, not sorted
    assert areas["population_count"].tolist()[::2] == [2**63 - 1, -(2**63)]
    assert areas["population_count"].isna().tolist() == [False, True, False, False]
    assert areas["share_pct"].tolist()[:2] == [26.5, 0.1 + 0.2]
    assert areas["stichtag"].tolist()[2] == date(2015, 12, 31)
    assert areas["is_partial"].tolist() == [True, False, True, False]
    kept = loaded["notes"]
    assert kept["document_id"].tolist() == ["0815/2016", "\\N", "C:\\Pfad\\datei"]  # "\N" is text, not NULL
    assert kept["remark"].tolist()[0] == "O'Brien sagt:\t\"ja\"\nzweite Zeile"
    assert kept["remark"].tolist()[2] == ""
    assert kept["document_date"].tolist() == [date(2016, 11, 2), None, date(1999, 12, 31)]
    assert kept["is_public"].dtype == "boolean" and kept["is_public"].isna().tolist() == [False, True, False]


def test_round_trip_without_missing_values_gives_the_strict_dtypes(open_store, tmp_path):
    store = open_store()
    frames = {"areas": read(tmp_path, AREAS, AREAS_CSV_2), "notes": notes(("a", date(2020, 2, 29), "x", True))}

    loaded = store.load(store.publish(frames, **META))

    assert_frames_equal(loaded, frames)
    assert str(loaded["areas"]["population_count"].dtype) == "int64"
    assert str(loaded["notes"]["is_public"].dtype) == "bool"


def test_round_trip_of_empty_tables(open_store, tmp_path):
    store = open_store()
    frames = {"areas": read(tmp_path, AREAS, AREAS_CSV.splitlines()[0] + "\n"), "notes": notes()}

    loaded = store.load(store.publish(frames, **META))

    assert_frames_equal(loaded, frames)
    assert store.versions()[0].counts == {"areas": 0, "notes": 0}


def test_round_trip_of_the_fixture_data_package(url, tables):
    """The real schema: every table of the frozen fixture package comes back as load_tables read it."""
    store = Store(url)
    store.create()
    try:
        number = store.publish(dict(tables.frames), **META)
        assert_frames_equal(store.load(number), {name: tables[name] for name in TABLES})
        assert store.versions()[0].counts == {name: len(tables[name]) for name in TABLES}
    finally:
        store.close()


def test_index_of_a_frame_is_not_stored(open_store, tmp_path):
    store = open_store()
    areas = read(tmp_path, AREAS, AREAS_CSV)
    reversed_areas = areas.iloc[::-1]  # index 3, 2, 1, 0

    loaded = store.load(store.publish({"areas": reversed_areas, "notes": notes()}, **META))

    assert_frame_equal(loaded["areas"], reversed_areas.reset_index(drop=True))
    assert loaded["areas"]["area_nr"].tolist() == [10, 2, 1, 3]


# --- versions --------------------------------------------------------------------------------------------------

def test_publish_numbers_versions_and_keeps_their_metadata(open_store, tmp_path):
    store = open_store()
    assert store.is_empty() and store.current_version() is None and store.versions() == []
    before = datetime.now(timezone.utc)

    numbers = [store.publish({"areas": read(tmp_path, AREAS, AREAS_CSV), "notes": notes(*NOTES_1)},
                             author="anna", file_name="v1.xlsx", sha256="1" * 64, note="erste Lieferung"),
               store.publish({"areas": read(tmp_path, AREAS, AREAS_CSV_2)}, author="bernd", file_name="v2.xlsx",
                             sha256="2" * 64),
               store.publish({"notes": notes(NOTES_1[0])}, author="clara", file_name="v3.csv", sha256="3" * 64,
                             note="Korrektur")]

    after = datetime.now(timezone.utc)
    assert numbers == [1, 2, 3]
    assert not store.is_empty() and store.current_version() == 3
    versions = store.versions()
    assert [(v.number, v.author, v.file_name, v.sha256, v.note, v.counts, v.is_current) for v in versions] == [
        (3, "clara", "v3.csv", "3" * 64, "Korrektur", {"areas": 1, "notes": 1}, True),
        (2, "bernd", "v2.xlsx", "2" * 64, "", {"areas": 1, "notes": 3}, False),
        (1, "anna", "v1.xlsx", "1" * 64, "erste Lieferung", {"areas": 4, "notes": 3}, False),
    ]
    moments = [v.created_at for v in reversed(versions)]
    assert all(m.tzinfo == timezone.utc for m in moments)
    assert before <= moments[0] <= moments[1] <= moments[2] <= after


def test_tables_not_given_are_copied_from_the_current_version(open_store, tmp_path, monkeypatch):
    store = open_store()
    first = {"areas": read(tmp_path, AREAS, AREAS_CSV), "notes": notes(*NOTES_1)}
    store.publish(first, **META)
    written = []
    real = store._backend

    def recording(conn, table, names, columns):
        written.append(table.name)
        real.insert_rows(conn, table, names, columns)

    monkeypatch.setattr(store, "_backend", db.Backend(real.prepare, recording))
    new_areas = read(tmp_path, AREAS, AREAS_CSV_2)

    number = store.publish({"areas": new_areas}, **META)

    assert written == ["data_areas"]  # notes were copied inside the database, not sent again from Python
    assert_frames_equal(store.load(number), {"areas": new_areas, "notes": first["notes"]})
    assert_frames_equal(store.load(1), first)


def test_first_version_needs_every_table(open_store, tmp_path):
    store = open_store()

    with pytest.raises(StoreError) as raised:
        store.publish({"areas": read(tmp_path, AREAS, AREAS_CSV)}, **META)

    assert str(raised.value) == ("Es fehlen die Tabellen notes (die aktuelle Version hat sie nicht, "
                                 "also muss die neue sie bringen)")
    assert store.versions() == [] and store.is_empty()


def test_rollback_moves_the_current_version(open_store, tmp_path):
    store = open_store()
    first = {"areas": read(tmp_path, AREAS, AREAS_CSV), "notes": notes(*NOTES_1)}
    second = {"areas": read(tmp_path, AREAS, AREAS_CSV_2), "notes": notes(NOTES_1[0])}
    store.publish(first, **META)
    store.publish(second, **META)

    store.rollback(1)

    assert store.current_version() == 1
    assert_frames_equal(store.load(), first)
    assert [(v.number, v.is_current) for v in store.versions()] == [(2, False), (1, True)]
    assert_frames_equal(store.load(2), second)  # nothing was deleted

    number = store.publish({"areas": second["areas"]}, **META)  # copies notes from the current version 1

    assert number == 3
    assert_frames_equal(store.load(), {"areas": second["areas"], "notes": first["notes"]})
    store.rollback(2)
    assert store.current_version() == 2
    assert_frames_equal(store.load(), second)


def test_rollback_and_load_refuse_an_unknown_version(open_store, tmp_path):
    store = open_store()
    with pytest.raises(StoreError) as raised:
        store.rollback(1)
    assert str(raised.value) == "Version 1 gibt es nicht; es wurde noch keine Version veröffentlicht."
    with pytest.raises(StoreError) as raised:
        store.load()
    assert str(raised.value) == "Die Datenbank enthält noch keine Daten: es wurde keine Version veröffentlicht."

    frames = {"areas": read(tmp_path, AREAS, AREAS_CSV), "notes": notes()}
    store.publish(frames, **META)
    with pytest.raises(StoreError) as raised:
        store.rollback(2)
    assert str(raised.value) == "Version 2 gibt es nicht; vorhanden ist Version 1."
    store.publish(frames, **META)
    with pytest.raises(StoreError) as raised:
        store.rollback(7)
    assert str(raised.value) == "Version 7 gibt es nicht; vorhanden sind die Versionen 1 bis 2."
    with pytest.raises(StoreError) as raised:
        store.load(0)
    assert str(raised.value) == "Version 0 gibt es nicht; vorhanden sind die Versionen 1 bis 2."
    assert store.current_version() == 2


# --- all or nothing --------------------------------------------------------------------------------------------

def test_missing_required_value_publishes_nothing(open_store, tmp_path):
    store = open_store()
    first = {"areas": read(tmp_path, AREAS, AREAS_CSV), "notes": notes(*NOTES_1)}
    store.publish(first, **META)
    broken = read(tmp_path, AREAS, AREAS_CSV_2)
    broken.loc[0, "area_name"] = None

    with pytest.raises(StoreError) as raised:
        store.publish({"areas": broken, "notes": notes()}, **META)

    assert str(raised.value) == "Tabelle 'areas', Spalte 'area_name': Pflichtfeld ist leer (in 1 von 1 Zeilen)"
    assert [v.number for v in store.versions()] == [1] and store.current_version() == 1
    assert_frames_equal(store.load(), first)


@pytest.mark.parametrize("frame, message", [
    pytest.param(pd.DataFrame({"stichtag": [date(2016, 1, 1)], "area_nr": [1.5], "area_name": ["a"],
                               "population_count": [1], "share_pct": [1.0], "is_partial": [True]}),
                 "Tabelle 'areas', Spalte 'area_nr': Werte sind nicht eine ganze Zahl (Spaltentyp float64)",
                 id="fraction-as-integer"),
    pytest.param(pd.DataFrame({"stichtag": [datetime(2016, 1, 1, 12)], "area_nr": [1], "area_name": ["a"],
                               "population_count": [1], "share_pct": [1.0], "is_partial": [True]}),
                 "Tabelle 'areas', Spalte 'stichtag': Werte sind nicht ein Datum JJJJ-MM-TT "
                 "(Spaltentyp datetime64[us])", id="timestamp-as-date"),
    pytest.param(pd.DataFrame({"stichtag": [date(2016, 1, 1)], "area_nr": [1], "area_name": ["a"],
                               "share_pct": [1.0], "is_partial": [True], "extra": [0]}),
                 "Tabelle 'areas': es fehlen die Spalten population_count; unerwartete Spalten extra",
                 id="columns"),
])
def test_frames_that_do_not_fit_the_schema_are_refused(open_store, frame, message):
    store = open_store()

    with pytest.raises(StoreError) as raised:
        store.publish({"areas": frame, "notes": notes()}, **META)

    assert str(raised.value) == message
    assert store.is_empty()


def test_unknown_table_is_refused(open_store):
    store = open_store()

    with pytest.raises(StoreError) as raised:
        store.publish({"areaz": pd.DataFrame()}, **META)

    assert str(raised.value) == "Unbekannte Tabelle areaz; bekannt sind areas, notes"


def test_failure_halfway_leaves_no_trace(open_store, tmp_path, monkeypatch):
    store = open_store()
    first = {"areas": read(tmp_path, AREAS, AREAS_CSV), "notes": notes(*NOTES_1)}
    store.publish(first, **META)
    real = store._backend

    def second_table_fails(conn, table, names, columns):
        if table.name == "data_notes":
            raise RuntimeError("Verbindung verloren")
        real.insert_rows(conn, table, names, columns)

    monkeypatch.setattr(store, "_backend", db.Backend(real.prepare, second_table_fails))
    second = {"areas": read(tmp_path, AREAS, AREAS_CSV_2), "notes": notes(NOTES_1[0])}

    with pytest.raises(RuntimeError, match="Verbindung verloren"):
        store.publish(second, **META)

    assert [v.number for v in store.versions()] == [1] and store.current_version() == 1
    assert_frames_equal(store.load(), first)
    with pytest.raises(StoreError):
        store.load(2)
    with store.engine.connect() as conn:  # the areas rows written before the failure are gone too
        assert conn.execute(sa.text("SELECT count(*) FROM data_areas WHERE version_id = 2")).scalar() == 0
    monkeypatch.setattr(store, "_backend", real)
    assert store.publish(second, **META) == 2  # no gap in the numbers
    assert_frames_equal(store.load(), second)


# --- several processes ---------------------------------------------------------------------------------------

def test_two_stores_on_one_database_see_each_other(open_store, tmp_path):
    app_a, app_b = open_store(), open_store()
    frames = {"areas": read(tmp_path, AREAS, AREAS_CSV), "notes": notes(*NOTES_1)}

    app_a.publish(frames, **META)
    assert app_b.current_version() == 1
    assert_frames_equal(app_b.load(), frames)

    app_b.publish({"notes": notes()}, **META)
    assert app_a.current_version() == 2
    assert app_a.load()["notes"].empty

    app_a.rollback(1)
    assert app_b.current_version() == 1
    assert [v.is_current for v in app_b.versions()] == [False, True]


def test_concurrent_publishers_queue_and_lose_nothing(open_store, tmp_path, monkeypatch):
    """The second publisher waits for the first and copies its table, instead of copying the older version."""
    slow, fast = open_store(), open_store()
    slow.publish({"areas": read(tmp_path, AREAS, AREAS_CSV), "notes": notes(*NOTES_1)}, **META)
    new_areas, new_notes = read(tmp_path, AREAS, AREAS_CSV_2), notes(NOTES_1[1])
    locked = threading.Event()
    real = slow._backend

    def writes_slowly(conn, table, names, columns):
        locked.set()
        time.sleep(0.5)
        real.insert_rows(conn, table, names, columns)

    monkeypatch.setattr(slow, "_backend", db.Backend(real.prepare, writes_slowly))
    numbers = {}
    thread = threading.Thread(target=lambda: numbers.update(slow=slow.publish({"areas": new_areas}, **META)))
    thread.start()
    assert locked.wait(10)

    numbers["fast"] = fast.publish({"notes": new_notes}, **META)
    thread.join(30)

    assert numbers == {"slow": 2, "fast": 3}
    assert_frames_equal(fast.load(), {"areas": new_areas, "notes": new_notes})


def test_create_is_safe_from_several_processes_at_once(url, tmp_path):
    stores = [Store(url, tables=SCHEMA) for _ in range(4)]
    start, errors = threading.Barrier(len(stores)), []

    def create(store: Store) -> None:
        start.wait()
        try:
            store.create()
        except Exception as exc:  # noqa: BLE001 - collected and shown by the assertion
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(s,)) for s in stores]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []
        assert stores[0].publish({"areas": read(tmp_path, AREAS, AREAS_CSV_2), "notes": notes()}, **META) == 1
        assert stores[3].current_version() == 1
    finally:
        for s in stores:
            s.close()


# --- the SQL schema ----------------------------------------------------------------------------------------------

def test_sql_tables_follow_the_schema(open_store):
    store = open_store()
    inspector = sa.inspect(store.engine)

    assert {name for name in inspector.get_table_names()} == {"versions", "store_state", "data_areas", "data_notes"}
    columns = {c["name"]: c["nullable"] for c in inspector.get_columns("data_notes")}
    assert columns == {"version_id": False, "row_no": False, "document_id": False, "document_date": True,
                       "remark": True, "is_public": True}
    assert inspector.get_pk_constraint("data_areas")["constrained_columns"] == ["version_id", "row_no"]
    assert [fk["referred_table"] for fk in inspector.get_foreign_keys("data_areas")] == ["versions"]


def test_a_new_schema_table_comes_with_the_next_version(open_store, tmp_path):
    """Versions published before a table joined the schema are kept but cannot be loaded or made current."""
    first = {"areas": read(tmp_path, AREAS, AREAS_CSV), "notes": notes(*NOTES_1)}
    open_store().publish(first, **META)
    extra = Table(name="extra", title="Neu", source_kind="document", primary_key=("area_nr",),
                  columns=(Column("area_nr", "integer", "Nummer"),))
    store = open_store({**SCHEMA, "extra": extra})

    for action in (store.load, lambda: store.rollback(1)):
        with pytest.raises(StoreError) as raised:
            action()
        assert str(raised.value) == "Version 1 ist älter als das Schema: ihr fehlen die Tabellen extra."
    with pytest.raises(StoreError, match="^Es fehlen die Tabellen extra "):
        store.publish({"areas": first["areas"]}, **META)

    extra_rows = pd.DataFrame({"area_nr": [4, 2]})
    assert store.publish({"extra": extra_rows}, **META) == 2
    assert_frames_equal(store.load(), {**first, "extra": extra_rows})


def test_create_refuses_a_table_whose_columns_changed(open_store):
    open_store()
    grown = Table(name="notes", title="Notizen", source_kind="document", primary_key=("document_id",),
                  columns=(*NOTES.columns, Column("page_nr", "integer", "Seite", required=False)))

    with pytest.raises(StoreError) as raised:
        open_store({"areas": AREAS, "notes": grown})

    assert str(raised.value) == ("Tabelle data_notes in der Datenbank hat andere Spalten als das Schema (gefunden: "
                                 "version_id, row_no, document_id, document_date, remark, is_public; erwartet: "
                                 "version_id, row_no, document_id, document_date, remark, is_public, page_nr)")
