"""Keep every published data package as a numbered, unchangeable version in an SQL database.

Each schema table has one SQL table ``data_<name>`` that holds the rows of every version side by side, keyed by
``version_id`` and ``row_no`` (the row's place in the published frame, so the order comes back as it went in;
the key also serves as the index for reading one version). A version is written once and never changed or
deleted; the one-row table ``store_state`` points at the current one. Publishing and rolling back are single
transactions that first lock that row, so two publishers queue instead of losing each other's tables.

SQLite (one file, the default) and PostgreSQL behave the same; they differ only in how a connection is set up
and how rows are bulk-inserted (:data:`BACKENDS`). What comes back has exactly the dtypes
:func:`essen_dash.tables.load.read_table` gives (:data:`COLUMN_TYPES`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from dataclasses import dataclass
from datetime import date, datetime, timezone

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from essen_dash.tables.load import TYPE_NAMES
from essen_dash.tables.schema import TABLES, Table

DEFAULT_SQLITE_NAME = "essen-dash.db"
TABLE_PREFIX = "data_"
VERSION_COLUMN, ROW_COLUMN = "version_id", "row_no"
STATE_ID = 1
SQLITE_BUSY_TIMEOUT_MS = 30_000
CREATE_ATTEMPTS = 3
#: Execution option marking a transaction that writes (SQLite then takes the write lock at BEGIN).
WRITES = "essen_dash_writes"


#: ``Store.publish(based_on=ANY)``: publish whatever version is current
ANY = object()


class StoreError(ValueError):
    """A request the store refuses; the message is German and meant for the user."""


class StaleVersion(StoreError):
    """A publish computed from a version that is no longer current."""


@dataclass(frozen=True)
class Version:
    """One published version of the data package."""

    number: int
    created_at: datetime  # UTC
    author: str
    file_name: str
    sha256: str
    counts: dict[str, int]  # rows per table
    note: str
    is_current: bool


# --- column types: SQL type, values to write, dtype read back ------------------------------------------------

def _strict_unless_missing(strict: str | type, nullable: str) -> Callable[[list], pd.Series]:
    """Return a reader giving the nullable dtype only where values are missing (as read_table does for integers)."""
    def read(values: list) -> pd.Series:
        s = pd.Series(values, dtype=nullable)
        return s if s.isna().any() else s.astype(strict)
    return read


def _dates(s: pd.Series) -> pd.Series:
    s = s.astype(object).where(s.notna(), None)
    wrong = next((v for v in s if v is not None and type(v) is not date), None)  # a datetime would lose its time
    if wrong is not None:
        raise TypeError(f"not a date: {wrong!r}")
    return s


@dataclass(frozen=True)
class ColumnType:
    """How one schema column type is stored in SQL and read back."""

    sql: Callable[[], sa.types.TypeEngine]
    coerce: Callable[[pd.Series], pd.Series]  # to the dtype read_table gives; raises TypeError/ValueError
    read: Callable[[list], pd.Series]


COLUMN_TYPES: dict[str, ColumnType] = {
    "string": ColumnType(sa.Text, lambda s: s.astype(str), lambda v: pd.Series(v, dtype=str)),
    "integer": ColumnType(sa.BigInteger, lambda s: s.astype("Int64"), _strict_unless_missing("int64", "Int64")),
    "number": ColumnType(sa.Double, lambda s: s.astype("float64"), lambda v: pd.Series(v, dtype="float64")),
    "boolean": ColumnType(sa.Boolean, lambda s: s.astype("boolean"), _strict_unless_missing(bool, "boolean")),
    "date": ColumnType(sa.Date, _dates, lambda v: pd.Series(v, dtype=object)),
}


def python_values(s: pd.Series) -> list:
    """Return a column as plain Python values, None where missing (what every database driver accepts)."""
    return s.astype(object).where(s.notna(), None).tolist()


# --- database backends -----------------------------------------------------------------------------------------

RowWriter = Callable[[Connection, sa.Table, list[str], list[list]], None]  # names and their columns of values


def insert_executemany(conn: Connection, table: sa.Table, names: list[str], columns: list[list]) -> None:
    """Insert rows through SQLAlchemy's executemany (any database)."""
    conn.execute(table.insert(), [dict(zip(names, row)) for row in zip(*columns)])


def insert_sqlite(conn: Connection, table: sa.Table, names: list[str], columns: list[list]) -> None:
    """Insert rows with sqlite3's executemany, each column converted once by SQLAlchemy's own type processors.

    About four times faster than :func:`insert_executemany`, which builds and processes a dict per row.
    """
    converted = []
    for name, values in zip(names, columns):
        process = table.c[name].type.bind_processor(conn.dialect)
        converted.append([process(v) for v in values] if process else values)
    quote = conn.dialect.identifier_preparer.quote
    statement = (f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, names))}) "
                 f"VALUES ({', '.join('?' * len(names))})")
    conn.exec_driver_sql(statement, list(zip(*converted)))


def insert_copy(conn: Connection, table: sa.Table, names: list[str], columns: list[list]) -> None:
    """Insert rows with PostgreSQL's COPY inside the open transaction (three times faster than executemany)."""
    from psycopg import sql as pg_sql  # only PostgreSQL needs the driver

    statement = pg_sql.SQL("COPY {} ({}) FROM STDIN").format(
        pg_sql.Identifier(table.name), pg_sql.SQL(", ").join(map(pg_sql.Identifier, names)))
    with conn.connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in zip(*columns):
            copy.write_row(row)


def prepare_sqlite(engine: Engine) -> None:
    """Let several processes read while one writes (WAL), wait for a writer instead of failing, check keys."""
    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # transactions are opened below, so DDL is transactional too
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        # A writer takes the write lock at BEGIN: one that read first could not wait for another writer,
        # SQLite would refuse it at once ("database is locked") instead of waiting out the busy timeout.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITES) else "BEGIN")


@dataclass(frozen=True)
class Backend:
    """What differs between databases: connection set-up and the fastest bulk insert."""

    prepare: Callable[[Engine], None]
    insert_rows: RowWriter


def as_configured(engine: Engine) -> None:
    """Leave the connections as the driver sets them up."""


BACKENDS: dict[str, Backend] = {
    "sqlite": Backend(prepare_sqlite, insert_sqlite),
    "postgresql": Backend(as_configured, insert_copy),
}
DEFAULT_BACKEND = Backend(as_configured, insert_executemany)


# --- the store -------------------------------------------------------------------------------------------------

def _utc(moment: datetime) -> datetime:
    """Return a stored timestamp as aware UTC (SQLite gives it back without its zone)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _known(last: int | None) -> str:
    if not last:
        return "es wurde noch keine Version veröffentlicht"
    return "vorhanden ist Version 1" if last == 1 else f"vorhanden sind die Versionen 1 bis {last}"


class Store:
    """A versioned store of the data package's tables in SQLite or PostgreSQL, given by a SQLAlchemy URL."""

    def __init__(self, url: str, tables: Mapping[str, Table] = TABLES):
        self.tables = dict(tables)
        self.engine = sa.create_engine(url)
        self._backend = BACKENDS.get(self.engine.dialect.name, DEFAULT_BACKEND)
        self._backend.prepare(self.engine)
        self._writer = self.engine.execution_options(**{WRITES: True})
        self._metadata = sa.MetaData()
        self._versions = sa.Table(
            "versions", self._metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # numbered under lock: no gaps
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("author", sa.Text, nullable=False),
            sa.Column("file_name", sa.Text, nullable=False),
            sa.Column("sha256", sa.Text, nullable=False),
            sa.Column("counts", sa.Text, nullable=False),
            sa.Column("note", sa.Text, nullable=False),
        )
        self._state = sa.Table(
            "store_state", self._metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=True),
        )
        self._data = {name: self._data_table(table) for name, table in self.tables.items()}

    def _data_table(self, table: Table) -> sa.Table:
        clash = {VERSION_COLUMN, ROW_COLUMN} & set(table.column_names)
        if clash:
            raise ValueError(f"Tabelle {table.name!r}: Spaltenname {sorted(clash)[0]!r} ist dem Speicher vorbehalten")
        return sa.Table(
            TABLE_PREFIX + table.name, self._metadata,
            sa.Column(VERSION_COLUMN, sa.Integer, sa.ForeignKey("versions.id"), primary_key=True, autoincrement=False),
            sa.Column(ROW_COLUMN, sa.Integer, primary_key=True, autoincrement=False),
            *(sa.Column(c.name, COLUMN_TYPES[c.type].sql(), nullable=not c.required) for c in table.columns),
        )

    # --- schema

    def create(self) -> None:
        """Create the store's tables where missing; safe to call from several processes at once."""
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)  # a new state folder
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                with self._writer.begin() as conn:
                    self._metadata.create_all(conn)
                    if conn.execute(sa.select(self._state.c.id)).first() is None:
                        conn.execute(self._state.insert().values(id=STATE_ID, version_id=None))
                break
            except sa.exc.DBAPIError:
                # another process created the same tables at the same moment; once it has, ours is a no-op
                if attempt == CREATE_ATTEMPTS:
                    raise
        inspector = sa.inspect(self.engine)
        for table in self._data.values():
            found = [c["name"] for c in inspector.get_columns(table.name)]
            if found != [c.name for c in table.columns]:
                raise StoreError(f"Tabelle {table.name} in der Datenbank hat andere Spalten als das Schema "
                                 f"(gefunden: {', '.join(found)}; erwartet: {', '.join(table.columns.keys())})")

    def close(self) -> None:
        """Close the store's database connections."""
        self.engine.dispose()

    # --- reading

    def current_version(self) -> int | None:
        """Return the number of the current version, None if nothing was published."""
        with self.engine.connect() as conn:
            return self._current(conn)

    def is_empty(self) -> bool:
        """Return whether no version was published yet."""
        return self.current_version() is None

    def versions(self) -> list[Version]:
        """Return every version, newest first."""
        v = self._versions
        with self.engine.connect() as conn:
            current = self._current(conn)
            rows = conn.execute(sa.select(v).order_by(v.c.id.desc())).all()
        return [Version(number=r.id, created_at=_utc(r.created_at), author=r.author, file_name=r.file_name,
                        sha256=r.sha256, counts=json.loads(r.counts), note=r.note, is_current=r.id == current)
                for r in rows]

    def load(self, number: int | None = None) -> dict[str, pd.DataFrame]:
        """Return every table of version ``number`` (default: the current one) as read_table gives it."""
        with self.engine.connect() as conn:
            if number is None:
                number = self._current(conn)
                if number is None:
                    raise StoreError("Die Datenbank enthält noch keine Daten: es wurde keine Version veröffentlicht.")
            self._complete(number, self._version_counts(conn, number))
            return {name: self._read(conn, name, number) for name in self.tables}

    def _read(self, conn: Connection, name: str, number: int) -> pd.DataFrame:
        data, columns = self._data[name], self.tables[name].columns
        query = (sa.select(*(data.c[c.name] for c in columns))
                 .where(data.c[VERSION_COLUMN] == number).order_by(data.c[ROW_COLUMN]))
        rows = conn.execute(query).all()
        values = list(zip(*rows)) if rows else [()] * len(columns)
        return pd.DataFrame({c.name: COLUMN_TYPES[c.type].read(list(v)) for c, v in zip(columns, values)})

    def _current(self, conn: Connection) -> int | None:
        return conn.execute(sa.select(self._state.c.version_id).where(self._state.c.id == STATE_ID)).scalar()

    def _version_counts(self, conn: Connection, number: int) -> dict[str, int]:
        """Return the row counts of version ``number``; refuse an unknown number."""
        v = self._versions
        counts = conn.execute(sa.select(v.c.counts).where(v.c.id == number)).scalar()
        if counts is None:
            last = conn.execute(sa.select(sa.func.max(v.c.id))).scalar()
            raise StoreError(f"Version {number} gibt es nicht; {_known(last)}.")
        return json.loads(counts)

    def _complete(self, number: int, counts: dict[str, int]) -> None:
        """Refuse a version published before the schema had all of today's tables."""
        absent = [name for name in self.tables if name not in counts]
        if absent:
            raise StoreError(f"Version {number} ist älter als das Schema: ihr fehlen die Tabellen {', '.join(absent)}.")

    # --- writing

    def _lock(self, conn: Connection) -> int | None:
        """Lock the pointer row until the transaction ends (writers queue here); return the current version."""
        s = self._state
        row = conn.execute(s.update().where(s.c.id == STATE_ID).values(version_id=s.c.version_id)
                           .returning(s.c.version_id)).first()
        if row is None:
            raise StoreError("Die Datenbank ist nicht eingerichtet (Store.create() wurde nicht aufgerufen).")
        return row.version_id

    def _columns(self, name: str, frame: pd.DataFrame) -> list[list]:
        """Return the frame's columns in schema order as Python values; refuse what does not fit the schema."""
        table = self.tables[name]
        missing = [c for c in table.column_names if c not in frame.columns]
        extra = [str(c) for c in frame.columns if c not in table.column_names]
        if missing or extra:
            parts = ([f"es fehlen die Spalten {', '.join(missing)}"] if missing else []) + \
                    ([f"unerwartete Spalten {', '.join(extra)}"] if extra else [])
            raise StoreError(f"Tabelle {name!r}: {'; '.join(parts)}")
        out = []
        for c in table.columns:
            try:
                s = COLUMN_TYPES[c.type].coerce(frame[c.name])
            except (TypeError, ValueError) as exc:
                raise StoreError(f"Tabelle {name!r}, Spalte {c.name!r}: Werte sind nicht {TYPE_NAMES[c.type]} "
                                 f"(Spaltentyp {frame[c.name].dtype})") from exc
            empty = int(s.isna().sum())
            if c.required and empty:
                raise StoreError(f"Tabelle {name!r}, Spalte {c.name!r}: Pflichtfeld ist leer "
                                 f"(in {empty} von {len(s)} Zeilen)")
            out.append(python_values(s))
        return out

    def publish(self, frames: Mapping[str, pd.DataFrame], *, author: str, file_name: str, sha256: str,
                note: str = "", based_on: int | None | object = ANY) -> int:
        """Store a new version made current, in one transaction; return its number.

        Tables not in ``frames`` are copied from the current version inside the database. With ``based_on``
        (a version number, or None for an empty store) the publish is refused with :class:`StaleVersion` when
        another version has become current meanwhile: ``frames`` were computed from a state no longer in force.
        """
        unknown = sorted(set(frames) - set(self.tables))
        if unknown:
            raise StoreError(f"Unbekannte Tabelle {', '.join(unknown)}; bekannt sind {', '.join(self.tables)}")
        given = {name: self._columns(name, frame) for name, frame in frames.items()}
        with self._writer.begin() as conn:
            previous = self._lock(conn)
            if based_on is not ANY and previous != based_on:
                raise StaleVersion(f"Inzwischen ist Version {previous} aktuell (die Lieferung wurde mit "
                                   f"{'einem leeren Speicher' if based_on is None else f'Version {based_on}'} "
                                   "zusammengeführt); bitte erneut einspielen")
            kept = self._version_counts(conn, previous) if previous is not None else {}
            absent = [name for name in self.tables if name not in frames and name not in kept]
            if absent:
                raise StoreError(f"Es fehlen die Tabellen {', '.join(absent)} "
                                 f"(die aktuelle Version hat sie nicht, also muss die neue sie bringen)")
            number = (conn.execute(sa.select(sa.func.max(self._versions.c.id))).scalar() or 0) + 1
            counts = {name: len(frames[name]) if name in frames else kept[name] for name in self.tables}
            conn.execute(self._versions.insert().values(
                id=number, created_at=datetime.now(timezone.utc), author=author, file_name=file_name,
                sha256=sha256, counts=json.dumps(counts, ensure_ascii=False), note=note))
            for name, data in self._data.items():
                n = counts[name]
                if name not in given:
                    self._copy(conn, data, previous, number)
                elif n:  # an empty table sends no rows (an empty executemany is an error in some drivers)
                    names = [VERSION_COLUMN, ROW_COLUMN, *self.tables[name].column_names]
                    self._backend.insert_rows(conn, data, names, [[number] * n, list(range(n)), *given[name]])
            conn.execute(self._state.update().where(self._state.c.id == STATE_ID).values(version_id=number))
        return number

    def _copy(self, conn: Connection, data: sa.Table, source: int, target: int) -> None:
        """Copy one table's rows of version ``source`` into version ``target`` without leaving the database."""
        kept = [c for c in data.columns if c.name != VERSION_COLUMN]
        rows = sa.select(sa.literal(target, sa.Integer), *kept).where(data.c[VERSION_COLUMN] == source)
        conn.execute(data.insert().from_select([data.c[VERSION_COLUMN], *kept], rows))

    def rollback(self, number: int) -> None:
        """Make version ``number`` current again (every version stays stored)."""
        with self._writer.begin() as conn:
            self._lock(conn)
            self._complete(number, self._version_counts(conn, number))
            conn.execute(self._state.update().where(self._state.c.id == STATE_ID).values(version_id=number))
