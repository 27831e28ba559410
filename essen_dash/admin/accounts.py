"""Keep accounts, their roles and the audit log in the database that holds the data.

Passwords are stored only as slow salted hashes (werkzeug's scrypt). Roles are ordered: a ``viewer`` reads, an
``editor`` also uploads, publishes and rolls back, an ``admin`` also manages accounts. Every action is one row
of the audit log (who, when, from where, what). Uploads waiting for their publication are kept here too, so any
worker (or app server on the same PostgreSQL) can show and publish them.

The tables are created like the store's (:meth:`essen_dash.tables.db.Store.create`), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from essen_dash.tables.db import BACKENDS, CREATE_ATTEMPTS, DEFAULT_BACKEND, WRITES, StoreError, _utc


@dataclass(frozen=True)
class Role:
    """One role: its rank (higher may do everything lower may) and how the interface names it."""

    key: str
    rank: int
    label: str


#: the roles, lowest first
ROLES: dict[str, Role] = {r.key: r for r in (
    Role("viewer", 1, "Lesen"),
    Role("editor", 2, "Redaktion (hochladen, veröffentlichen, zurücksetzen)"),
    Role("admin", 3, "Verwaltung (auch Konten)"),
)}
#: werkzeug's scrypt: memory-hard and slow on purpose (about 0.1 s per check)
HASH_METHOD = "scrypt"
MIN_PASSWORD_LENGTH = 10
MAX_NAME_LENGTH = 64
#: how many audit rows the log page shows
AUDIT_PAGE_ROWS = 500
#: uploads kept for publication longer than this are dropped (seconds)
PENDING_MAX_AGE_S = 24 * 3600


class AccountError(StoreError):
    """A request about accounts that cannot be done; the message is German and meant for the user."""


@dataclass(frozen=True)
class Account:
    """A person who may sign in."""

    name: str
    role: str
    password_hash: str
    created_at: datetime

    def may(self, role: str) -> bool:
        """Return whether this account has at least ``role``."""
        return ROLES[self.role].rank >= ROLES[role].rank

    @property
    def session_token(self) -> str:
        """Return what a session remembers of the account: its name and a digest of its password hash, so a new
        password ends every session signed in with the old one."""
        return f"{self.name}:{hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class AuditEntry:
    """One recorded action."""

    number: int
    at: datetime  # UTC
    actor: str
    address: str
    action: str
    detail: str


@dataclass(frozen=True)
class Pending:
    """An upload checked and shown as a preview, waiting to be published or discarded."""

    token: str
    author: str
    created_at: datetime
    file_name: str
    suffix: str
    sha256: str
    options: dict
    based_on: int | None
    content: bytes


def check_name(name: str) -> str:
    """Return an account name, or refuse one that is empty, too long or has spaces or control characters."""
    if not name or len(name) > MAX_NAME_LENGTH or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise AccountError(f"Ungültiger Kontoname {name[:MAX_NAME_LENGTH]!r}: 1 bis {MAX_NAME_LENGTH} Zeichen, "
                           "ohne Leerzeichen")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"Unbekannte Rolle {role!r}; erlaubt: {', '.join(ROLES)}")
    return role


def hash_password(password: str) -> str:
    """Return the slow salted hash of a password; refuse a short one."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Das Passwort ist zu kurz: mindestens {MIN_PASSWORD_LENGTH} Zeichen")
    return generate_password_hash(password, method=HASH_METHOD)


@functools.cache
def _dummy_hash() -> str:
    """Return the hash checked against when an unknown name signs in, so an unknown name costs the same time as
    a wrong password (made at the first sign-in, not at start-up: a scrypt hash takes a tenth of a second)."""
    return generate_password_hash(secrets.token_hex(16), method=HASH_METHOD)


_open: list[Accounts] = []  # every Accounts of this process, for after_fork


def after_fork() -> None:
    """Let a forked worker open its own database connections, never share its parent's."""
    for accounts in _open:
        accounts.engine.dispose(close=False)


class Accounts:
    """Accounts, the audit log and pending uploads in the database given by a SQLAlchemy URL."""

    def __init__(self, url: str):
        self.engine = sa.create_engine(url)
        BACKENDS.get(self.engine.dialect.name, DEFAULT_BACKEND).prepare(self.engine)
        self._writer = self.engine.execution_options(**{WRITES: True})
        self._metadata = sa.MetaData()
        self._accounts = sa.Table(
            "accounts", self._metadata,
            sa.Column("name", sa.Text, primary_key=True),
            sa.Column("role", sa.Text, nullable=False),
            sa.Column("password_hash", sa.Text, nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        )
        self._audit = sa.Table(
            "audit_log", self._metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("actor", sa.Text, nullable=False),
            sa.Column("address", sa.Text, nullable=False),
            sa.Column("action", sa.Text, nullable=False),
            sa.Column("detail", sa.Text, nullable=False),
        )
        self._pending = sa.Table(
            "pending_uploads", self._metadata,
            sa.Column("token", sa.Text, primary_key=True),
            sa.Column("author", sa.Text, nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("file_name", sa.Text, nullable=False),
            sa.Column("suffix", sa.Text, nullable=False),
            sa.Column("sha256", sa.Text, nullable=False),
            sa.Column("options", sa.Text, nullable=False),
            sa.Column("based_on", sa.Integer, nullable=True),
            sa.Column("content", sa.LargeBinary, nullable=False),
        )
        self._created = False
        _open.append(self)

    def create(self) -> None:
        """Create the tables where missing; safe to call from several processes at once."""
        if self._created:
            return
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                with self._writer.begin() as conn:
                    self._metadata.create_all(conn)
                break
            except sa.exc.DBAPIError:
                if attempt == CREATE_ATTEMPTS:  # another process created the same tables at the same moment
                    raise
        self._created = True

    def close(self) -> None:
        self.engine.dispose()

    # --- accounts

    def get(self, name: str) -> Account | None:
        self.create()
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(self._accounts).where(self._accounts.c.name == name)).first()
        return None if row is None else Account(row.name, row.role, row.password_hash, _utc(row.created_at))

    def all(self) -> list[Account]:
        self.create()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(self._accounts).order_by(self._accounts.c.name)).all()
        return [Account(r.name, r.role, r.password_hash, _utc(r.created_at)) for r in rows]

    def add(self, name: str, role: str, password: str) -> Account:
        check_name(name), check_role(role)
        password_hash = hash_password(password)
        self.create()
        with self._writer.begin() as conn:
            if conn.execute(sa.select(self._accounts.c.name).where(self._accounts.c.name == name)).first():
                raise AccountError(f"Das Konto {name!r} gibt es schon")
            conn.execute(self._accounts.insert().values(name=name, role=role, password_hash=password_hash,
                                                        created_at=datetime.now(timezone.utc)))
        return self.get(name)

    def _update(self, name: str, **values) -> None:
        self.create()
        with self._writer.begin() as conn:
            done = conn.execute(self._accounts.update().where(self._accounts.c.name == name).values(**values))
            if done.rowcount != 1:
                raise AccountError(f"Das Konto {name!r} gibt es nicht")

    def set_role(self, name: str, role: str) -> None:
        self._update(name, role=check_role(role))

    def set_password(self, name: str, password: str) -> None:
        self._update(name, password_hash=hash_password(password))

    def remove(self, name: str) -> None:
        self.create()
        with self._writer.begin() as conn:
            done = conn.execute(self._accounts.delete().where(self._accounts.c.name == name))
            if done.rowcount != 1:
                raise AccountError(f"Das Konto {name!r} gibt es nicht")

    def authenticate(self, name: str, password: str) -> Account | None:
        """Return the account if the password is its own, else None (same cost for unknown names)."""
        account = self.get(name) if name and len(name) <= MAX_NAME_LENGTH else None
        if account is None:
            check_password_hash(_dummy_hash(), password)
            return None
        return account if check_password_hash(account.password_hash, password) else None

    # --- audit log

    def record(self, actor: str, action: str, detail: str = "", address: str = "") -> None:
        """Add one row to the audit log."""
        self.create()
        with self._writer.begin() as conn:
            conn.execute(self._audit.insert().values(at=datetime.now(timezone.utc), actor=actor[:200],
                                                     address=address[:100], action=action, detail=detail[:2000]))

    def audit(self, limit: int = AUDIT_PAGE_ROWS) -> list[AuditEntry]:
        """Return the newest entries of the audit log, newest first."""
        self.create()
        a = self._audit
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(a).order_by(a.c.id.desc()).limit(limit)).all()
        return [AuditEntry(r.id, _utc(r.at), r.actor, r.address, r.action, r.detail) for r in rows]

    # --- uploads waiting for publication

    def keep_pending(self, author: str, file_name: str, suffix: str, sha256: str, options: dict,
                     based_on: int | None, content: bytes) -> str:
        """Keep an upload for its publication; return its token (random, never derived from the request)."""
        self.create()
        token = secrets.token_hex(16)
        now = datetime.now(timezone.utc)
        p = self._pending
        with self._writer.begin() as conn:
            cutoff = datetime.fromtimestamp(now.timestamp() - PENDING_MAX_AGE_S, timezone.utc)
            conn.execute(p.delete().where(p.c.created_at < cutoff))
            conn.execute(p.insert().values(token=token, author=author, created_at=now, file_name=file_name,
                                           suffix=suffix, sha256=sha256, options=json.dumps(options),
                                           based_on=based_on, content=content))
        return token

    def pending(self, token: str) -> Pending | None:
        self.create()
        p = self._pending
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(p).where(p.c.token == token)).first()
        return None if r is None else Pending(r.token, r.author, _utc(r.created_at), r.file_name, r.suffix, r.sha256,
                                              json.loads(r.options), r.based_on, bytes(r.content))

    def drop_pending(self, token: str) -> bool:
        """Forget an upload; return whether it was there (a second click finds it gone)."""
        self.create()
        with self._writer.begin() as conn:
            return conn.execute(self._pending.delete().where(self._pending.c.token == token)).rowcount == 1
