"""Where the data in force live, and the one way a new state of them is published.

A state of the data is a complete data package (the tables of
:mod:`essen_dash.tables.schema`) that passes every rule of ``essen-dash
validate``. It lives in one of two places:

* a **database** (the default): SQLite in one file, or PostgreSQL when a URL is
  configured. Every publication is a new version; nothing is overwritten, an
  earlier version can be made current again. A new database starts with the
  bundled data package as its first version.
* a **data package folder** given with ``--data-dir`` (or its environment
  variable) and no database: read as it is, and written all or nothing by an
  import (no versions).

Every delivery — an office's table, a council submission, a whole package — is
merged into the current state (:func:`merged`), validated as a whole and only
then published; a refused delivery changes nothing.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

import pandas as pd

from essen_dash.paths import Settings
from essen_dash.tables.load import Tables, check_folder, load_tables
from essen_dash.tables.quality import findings
from essen_dash.tables.schema import TABLES
from essen_dash.tables.db import ANY, StaleVersion, Store
from essen_dash.tables.store import ImportRefused, as_strings, write_csv, write_descriptor, write_into, write_tables


@dataclass(frozen=True)
class Delivery:
    """Who published what: recorded with the version it creates."""

    author: str
    file_name: str
    sha256: str
    note: str = ""


class DataSource(Protocol):
    """The data in force: how to tell that they changed, read them, and publish a new state."""

    label: str

    def revision(self) -> object: ...  # cheap; changes whenever another state comes into force

    def load(self) -> Tables: ...

    def publish(self, tables: Mapping[str, pd.DataFrame], delivery: Delivery, replace: bool = False) -> str: ...


def file_sha256(path: Path) -> str:
    """Return the sha256 of a file, or of a folder's files (names and contents, in name order)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.name.encode("utf-8") + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()


def write_package(frames: Mapping[str, pd.DataFrame], folder: Path) -> None:
    """Write complete tables as a data package folder (CSV files and their descriptor), as ``data/`` holds them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in TABLES.items():
        write_csv(as_strings(table, frames[name]), folder / table.path)
    write_descriptor(folder)


def merged(current: Mapping[str, pd.DataFrame], delivered: Mapping[str, pd.DataFrame], label: str,
           replace: bool = False) -> dict[str, pd.DataFrame]:
    """Return the complete tables after ``delivered`` comes into ``current`` (or replaces it), validated with the
    rules of ``validate``; raise :class:`ImportRefused` naming every problem otherwise."""
    with tempfile.TemporaryDirectory(prefix="essen-dash-") as tmp:
        folder = Path(tmp)
        if replace:
            write_package(delivered, folder)
        else:
            write_package(current, folder)
            try:
                write_into(dict(delivered), folder)
            except ImportRefused as exc:
                raise ImportRefused(Path(label), exc.problems) from None
        frames, problems = check_folder(folder)
        if problems:
            raise ImportRefused(Path(label), problems)
        findings(Tables(folder, frames))  # the app's own reading of the result (quality report) works too
        return frames


class FolderSource:
    """A data package folder, read as it is; an import rewrites it all or nothing."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.label = str(self.folder)

    def revision(self) -> object:
        try:
            return tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns)
                                for p in self.folder.iterdir() if p.is_file()))
        except OSError:
            return ()

    def load(self) -> Tables:
        return load_tables(self.folder)

    def publish(self, tables: Mapping[str, pd.DataFrame], delivery: Delivery, replace: bool = False,
                based_on: object = ANY) -> str:
        write_tables(dict(tables), self.folder, replace=replace)
        return f"in {self.folder} geschrieben"


class DatabaseSource:
    """The versioned store; starts with the bundled data package (``seed``) as version 1."""

    def __init__(self, url: str, seed: Path):
        self.store = Store(url)
        self.seed = Path(seed)
        self.label = f"Datenbank {self.store.engine.url.render_as_string(hide_password=True)}"
        self._ready = False

    def ready(self) -> None:
        """Create the tables, and publish the bundled data as the first version of an empty database (once:
        a second process starting at the same moment finds the version the first one published)."""
        if self._ready:
            return
        self.store.create()
        if self.store.is_empty():
            try:
                self.store.publish(load_tables(self.seed).frames, author="essen-dash", sha256=file_sha256(self.seed),
                                   file_name=f"{self.seed.name}/ (mitgeliefertes Datenpaket)",
                                   note="erste Version: die mitgelieferten Daten", based_on=None)
            except StaleVersion:
                pass
        self._ready = True

    def revision(self) -> object:
        self.ready()
        return self.store.current_version()

    def load(self, number: int | None = None) -> Tables:
        self.ready()
        return Tables(Path(self.label), self.store.load(number))

    def publish(self, tables: Mapping[str, pd.DataFrame], delivery: Delivery, replace: bool = False,
                based_on: int | None | object = ANY) -> str:
        """Merge, validate and publish; with ``based_on`` (the version the delivery was compared with) refuse
        with :class:`StaleVersion` when another version has become current since."""
        if based_on is ANY:
            based_on = self.revision()
        frames = merged(self.load(based_on).frames, tables, self.label, replace)
        number = self.store.publish(frames, author=delivery.author, file_name=delivery.file_name,
                                    sha256=delivery.sha256, note=delivery.note, based_on=based_on)
        return f"als Version {number} veröffentlicht"


_sources: dict[Settings, DataSource] = {}  # one store (one connection pool) per process and settings


def data_source(settings: Settings) -> DataSource:
    """Return the data in force for these settings: the database, or the data package folder without one."""
    if settings not in _sources:
        _sources[settings] = DatabaseSource(settings.database_url, settings.data_dir) if settings.database_url \
            else FolderSource(settings.data_dir)
    return _sources[settings]



def after_fork() -> None:
    """Let a forked worker open its own database connections, never share its parent's."""
    for source in _sources.values():
        if isinstance(source, DatabaseSource):
            source.store.engine.dispose(close=False)


# --- one delivery, the same way from the command line and from the browser -------------------------------------

#: who delivers an office table unless the caller says otherwise
DEFAULT_QUELLE = "Stadt Essen, Amt für Statistik (FB 12)"


@dataclass(frozen=True)
class Prepared:
    """A delivery read and compared with the data in force; nothing is published yet."""

    what: str  # one German line: the file and how many values it brings
    delivered: dict[str, pd.DataFrame]
    replace: bool  # a whole data package (the complete new state) rather than values merged in
    diff: pd.DataFrame  # essen_dash.intake.diff_values: every delivered value, new / changed / unchanged
    lines: list[str]  # essen_dash.intake.describe_diff
    based_on: object  # the source's revision the delivery was compared with
    current: Tables  # the data in force at that revision
    file_name: str
    sha256: str


def prepare_delivery(source: DataSource, path: Path, *, stichtag: date | None = None, level: str | None = None,
                     sheet: str | None = None, quelle: str | None = None, file_name: str | None = None) -> Prepared:
    """Read an office table (CSV/XLSX) or a data package folder and compare it with the data in force.

    Raise :class:`~essen_dash.tables.load.DataError` naming every problem of the file (nothing is published).
    ``file_name`` is the name shown in messages and recorded with the version (default: the path's).
    """
    from essen_dash.intake import describe_diff, diff_values, read_office_table
    from essen_dash.kennzahlen import Catalog
    from essen_dash.tables.load import DataError

    path = Path(path)
    name = file_name or path.name
    based_on = source.revision()
    current = source.load(based_on) if isinstance(source, DatabaseSource) else source.load()
    if path.is_dir():  # a data package: the complete new state
        delivered, replace = load_tables(path).frames, True
        what = f"Datenpaket {path}: {len(delivered['values'])} Werte"
    else:
        catalog = Catalog.from_table(current["kennzahlen"]).resolved(current, current.stichtage[-1])
        intake = read_office_table(path, catalog=catalog, register=current["stadtteile_register"],
                                   stichtag=stichtag, level=level, sheet=sheet, source=quelle or DEFAULT_QUELLE,
                                   file_name=name)
        if intake.problems:
            raise DataError(Path(name), intake.problems, f"Import abgelehnt, es wird nichts veröffentlicht – "
                                                         f"{len(intake.problems)} Fehler in {name}")
        delivered, replace = {"values": intake.values}, False
        what = f"{name}: {len(intake.values)} Werte ({'lang' if intake.layout == 'long' else 'breit'})"
    catalog = Catalog.from_table(delivered.get("kennzahlen", current["kennzahlen"]))
    diff = diff_values(current["values"], delivered["values"])
    return Prepared(what, delivered, replace, diff, describe_diff(diff, catalog), based_on, current, name,
                    file_sha256(path))


def check_delivery(source: DataSource, prepared: Prepared) -> dict[str, pd.DataFrame]:
    """Return the complete tables the delivery would publish, validated as a publication is; raise
    :class:`ImportRefused` naming every problem otherwise. Publishes nothing."""
    return merged(prepared.current.frames, prepared.delivered, source.label, prepared.replace)


def publish_delivery(source: DataSource, prepared: Prepared, author: str, note: str = "") -> str:
    """Publish a prepared delivery as a new version, merged into the state it was compared with (refused with
    :class:`StaleVersion` when another state came into force meanwhile); return the German outcome."""
    delivery = Delivery(author=author, file_name=prepared.file_name, sha256=prepared.sha256, note=note)
    return source.publish(prepared.delivered, delivery, replace=prepared.replace, based_on=prepared.based_on)

