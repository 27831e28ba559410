"""The Datenpflege pages: sign in, upload an office table, see its problems or its preview, publish or discard,
list the versions, roll back with a confirmation, read the audit log — and the guard in front of every route.

Server-rendered Flask pages (Jinja templates, no scripts of their own), beside the Dash app on the same server.
An upload goes the way of ``essen-dash import`` (:func:`essen_dash.sources.publish.prepare_delivery`): read by the
same intake, compared with the data in force, merged and validated as a whole, published as one new version.

The guard (:func:`guard`) runs before every request, ahead of the CSRF check: a state-changing request
(POST/PUT/PATCH/DELETE) reaches only an endpoint that names its role in :data:`ENDPOINT_ROLES`, or one of the
few open ones in :data:`OPEN_WRITES` (signing in and out, Dash's read-only callbacks); anything else is refused.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import flask
import flask_login
import pandas as pd
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import SQLAlchemyError

from essen_dash.admin.accounts import ROLES, Account, Accounts, AccountError
from essen_dash.admin.config import MAX_UPLOAD_BYTES, AuthConfig
from essen_dash.format import de_date, de_number
from essen_dash.paths import Settings
from essen_dash.sources.publish import (DatabaseSource, Prepared, check_delivery, data_source,
                                        prepare_delivery, publish_delivery)
from essen_dash.tables.db import StaleVersion, StoreError
from essen_dash.tables.load import DataError, Problem

log = logging.getLogger(__name__)
PREFIX = "/datenpflege"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: endpoints of the Datenpflege blueprint and the least role each needs (every method)
ENDPOINT_ROLES: dict[str, str] = {}
#: state-changing endpoints open to everyone: signing in and out, and Dash's callbacks (set by :func:`install`),
#: which only compute what a page shows and change nothing
OPEN_WRITES: set[str] = {"datenpflege.login", "datenpflege.logout"}
#: endpoints reachable without an account even when reading needs one
OPEN_READS = frozenset({"datenpflege.login", "datenpflege.static", "health", "_dash_assets.static", "static"})
#: file types an upload may have: extension → the reader the intake picks by content (checked to agree)
UPLOAD_TYPES = {".csv": "text", ".txt": "text", ".tsv": "text", ".xlsx": "xlsx"}
XLSX_MAGIC = b"PK\x03\x04"
BINARY_MAGICS = (XLSX_MAGIC, b"\xd0\xcf\x11\xe0", b"%PDF", b"\x1f\x8b")
#: rows of new and changed values the preview lists (all are counted)
PREVIEW_ROWS = 300
#: failed sign-ins allowed from one address, whatever the names tried
ADDRESS_LOGIN_LIMIT = "20 per minute"
LEVEL_LABELS = {"bezirk": "Stadtbezirke", "stadtteil": "Stadtteile"}

bp = flask.Blueprint("datenpflege", __name__, url_prefix=PREFIX, template_folder="templates",
                     static_folder="static")


def requires(role: str):
    """Mark a view of the blueprint as needing ``role`` (checked by :func:`guard`, for every method)."""
    def mark(view):
        ENDPOINT_ROLES[f"{bp.name}.{view.__name__}"] = role
        return view
    return mark


# --- who is asking ------------------------------------------------------------------------------------------

class User(flask_login.UserMixin):
    """The signed-in account (or the person the SSO proxy names)."""

    def __init__(self, account: Account, via_proxy: bool = False):
        self.account, self.via_proxy = account, via_proxy

    @property
    def name(self) -> str:
        return self.account.name

    def get_id(self) -> str:
        return self.account.session_token

    def may(self, role: str) -> bool:
        return self.account.may(role)

    @property
    def role_label(self) -> str:
        return ROLES[self.account.role].label


@dataclass
class State:
    """What the Datenpflege pages of one app share: settings, security settings, accounts, the limiter."""

    settings: Settings
    auth: AuthConfig
    accounts: Accounts
    limiter: Limiter


def state() -> State:
    return flask.current_app.extensions["essen_dash_admin"]


def current_user() -> User | None:
    user = flask_login.current_user
    return user if getattr(user, "is_authenticated", False) else None


def address() -> str:
    return flask.request.remote_addr or ""


def record(action: str, detail: str = "", actor: str | None = None) -> None:
    """Write one row of the audit log for this request."""
    user = current_user()
    state().accounts.record(actor or (user.name if user else "anonym"), action, detail, address())


def login_key() -> str:
    """Return what login attempts are counted by: the client's address and the account name tried."""
    return f"{address()}|{(flask.request.form.get('name') or '').strip()[:64]}"


# --- the guard ----------------------------------------------------------------------------------------------

def wants_page() -> bool:
    return flask.request.method == "GET" and not flask.request.path.startswith(("/_dash-", "/download/", "/geo/"))


def refuse(status: int):
    """Answer a request without the role it needs: the login page for a person's page, else 401/403."""
    if status == 401 and wants_page():
        return flask.redirect(flask.url_for("datenpflege.login", weiter=flask.request.full_path.rstrip("?")))
    if flask.request.path.startswith(PREFIX):
        text = ("Bitte zuerst anmelden." if status == 401 else
                "Für diese Aktion fehlt Ihrem Konto die Berechtigung.")
        return flask.render_template("message.html", title="Anmeldung nötig" if status == 401 else
                                     "Keine Berechtigung", text=text), status
    return flask.Response("Bitte anmelden." if status == 401 else "Keine Berechtigung.", status=status,
                          mimetype="text/plain")


def guard():
    """Refuse every request whose endpoint needs a role the client does not have; default-deny writes."""
    request = flask.request
    endpoint = request.endpoint or ""
    user = current_user()
    role = ENDPOINT_ROLES.get(endpoint)
    if role is None and request.method in WRITE_METHODS and endpoint not in OPEN_WRITES:
        role = "editor"  # a state-changing route nobody declared: editors at least (never anonymous)
    if role is None and state().auth.read_login and endpoint not in OPEN_READS and user is None:
        role = "viewer"
    if role is None:
        return None
    if user is None:
        return refuse(401)
    if not user.may(role):
        return refuse(403)
    return None


# --- sign in and out ----------------------------------------------------------------------------------------

def safe_next(target: str | None) -> str:
    """Return a local path to go to after signing in (never another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return flask.url_for("datenpflege.home")


@bp.route("/anmelden", methods=["GET", "POST"])
def login():
    st = state()
    if flask.request.method == "GET":
        return flask.render_template("login.html", title="Anmelden", weiter=flask.request.args.get("weiter", ""))
    name = (flask.request.form.get("name") or "").strip()
    password = flask.request.form.get("passwort") or ""
    target = flask.request.form.get("weiter") or ""
    account = st.accounts.authenticate(name, password)
    if account is None:
        record("Anmeldung fehlgeschlagen", f"Konto {name[:64]!r}", actor=name[:64] or "anonym")
        return flask.render_template("login.html", title="Anmelden", weiter=target, name=name,
                                     error="Anmeldung fehlgeschlagen: Name oder Passwort stimmt nicht."), 401
    flask.session.clear()  # a new session for the signed-in person (no fixation)
    flask_login.login_user(User(account))
    record("Anmeldung", f"Rolle {account.role}", actor=account.name)
    return flask.redirect(safe_next(target))


@bp.route("/abmelden", methods=["POST"])
def logout():
    user = current_user()
    if user is not None:
        record("Abmeldung", actor=user.name)
    flask_login.logout_user()
    flask.session.clear()
    flask.flash("Sie sind abgemeldet.", "info")
    return flask.redirect(flask.url_for("datenpflege.login"))


# --- the main page: upload form and versions ----------------------------------------------------------------

def versions():
    """Return the versions of the database (newest first), or None for a data folder without versions."""
    source = data_source(state().settings)
    if not isinstance(source, DatabaseSource):
        return None
    source.ready()
    return source.store.versions()


@bp.route("/")
@requires("editor")
def home():
    return flask.render_template("home.html", title="Datenpflege", versions=versions(), form={},
                                 label=data_source(state().settings).label)


def parse_options(form) -> tuple[dict, list[str]]:
    """Return the upload's options (Stichtag, Ebene, Quelle, Blatt) and German messages about unusable ones."""
    errors = []
    options = {"stichtag": None, "ebene": None, "quelle": None, "blatt": None}
    raw = (form.get("stichtag") or "").strip()
    if raw:
        try:
            options["stichtag"] = date.fromisoformat(raw).isoformat()
        except ValueError:
            errors.append(f"Stichtag „{raw[:20]}“ ist kein Datum (JJJJ-MM-TT).")
    level = (form.get("ebene") or "").strip()
    if level:
        if level in LEVEL_LABELS:
            options["ebene"] = level
        else:
            errors.append("Ebene: bitte „Stadtbezirke“, „Stadtteile“ oder „aus der Datei“ wählen.")
    quelle = " ".join((form.get("quelle") or "").split())
    if len(quelle) > 200:
        errors.append("Quelle: höchstens 200 Zeichen.")
    options["quelle"] = quelle or None
    sheet = (form.get("blatt") or "").strip()
    options["blatt"] = sheet[:100] or None
    return options, errors


def check_upload(file_name: str, content: bytes) -> tuple[str, str | None]:
    """Return the upload's extension and a German reason it is refused (None: its type is allowed and its
    content agrees with its extension)."""
    suffix = Path(file_name).suffix.lower()
    kind = UPLOAD_TYPES.get(suffix)
    if kind is None:
        return suffix, (f"Dateityp „{suffix or 'ohne Endung'}“ wird nicht angenommen; erlaubt: "
                        f"{', '.join(UPLOAD_TYPES)}.")
    if not content:
        return suffix, "Die Datei ist leer."
    if kind == "xlsx" and not content.startswith(XLSX_MAGIC):
        return suffix, "Die Datei endet auf .xlsx, ist aber keine Excel-Datei."
    if kind == "text" and (content.startswith(BINARY_MAGICS) or b"\0" in content[:65536]):
        return suffix, f"Die Datei endet auf {suffix}, ist aber keine Textdatei (CSV)."
    return suffix, None


def prepare(content: bytes, suffix: str, file_name: str, options: dict) -> Prepared:
    """Read an upload with the intake of ``essen-dash import``, from a temporary file with a generated name."""
    with tempfile.TemporaryDirectory(prefix="essen-dash-upload-") as tmp:
        path = Path(tmp) / f"lieferung{suffix}"  # the suffix is one of UPLOAD_TYPES; nothing else of the request
        path.write_bytes(content)
        return prepare_delivery(
            data_source(state().settings), path,
            stichtag=date.fromisoformat(options["stichtag"]) if options.get("stichtag") else None,
            level=options.get("ebene"), sheet=options.get("blatt"), quelle=options.get("quelle"),
            file_name=file_name)


def upload_name(raw: str | None) -> str:
    """Return the uploaded file's name as shown and recorded (its last part, printable, at most 120 characters);
    it is never used as a path."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:120] or "Datei"


def refused_upload(problems: list[Problem], form: dict, file_name: str, status: int = 422):
    return flask.render_template("home.html", title="Datenpflege", versions=versions(), problems=problems,
                                 file_name=file_name, form=form, label=data_source(state().settings).label), status


@bp.route("/hochladen", methods=["POST"])
@requires("editor")
def upload():
    form = flask.request.form
    upload = flask.request.files.get("datei")
    if upload is None or not upload.filename:
        return refused_upload([Problem("–", None, None, "Bitte eine Datei wählen.")], form, "")
    file_name = upload_name(upload.filename)
    content = upload.read()
    options, errors = parse_options(form)
    suffix, reason = check_upload(file_name, content)
    problems = [Problem(file_name, None, None, reason)] if reason else []
    problems += [Problem(file_name, None, None, e) for e in errors]
    if not problems:
        try:
            prepared = prepare(content, suffix, file_name, options)
            check_delivery(data_source(state().settings), prepared)
        except DataError as exc:
            problems = list(exc.problems)
    if problems:
        record("Hochladen abgelehnt", f"{file_name}: {len(problems)} Fehler")
        return refused_upload(problems, form, file_name)
    based_on = prepared.based_on if isinstance(prepared.based_on, int) else None
    token = state().accounts.keep_pending(current_user().name, file_name, suffix, prepared.sha256, options, based_on,
                                          content)
    record("Hochladen", f"{prepared.what}; {prepared.lines[0]}")
    return flask.redirect(flask.url_for("datenpflege.preview", token=token))


# --- preview, publish, discard ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Preview:
    """A pending upload read again: the delivery, the complete tables it would publish, and what changes."""

    prepared: Prepared
    frames: dict
    maps: list[tuple[date, str, str]]  # (Stichtag, level, Kennzahl) of the delivered values, for the map choice


_previews: OrderedDict = OrderedDict()  # token → Preview, the last few per process (a map image follows its page)
_previews_lock = threading.Lock()
PREVIEWS_KEPT = 4


def current_data():
    from essen_dash.data import current

    return current()


def pending_or_404(token: str):
    if len(token) != 32 or any(ch not in "0123456789abcdef" for ch in token):
        flask.abort(404)
    pending = state().accounts.pending(token)
    if pending is None:
        flask.abort(404)
    if pending.author != current_user().name:
        flask.abort(403)
    return pending


def stale(pending) -> str | None:
    """Return why a pending upload can no longer be published as previewed (another version came into force)."""
    source = data_source(state().settings)
    if isinstance(source, DatabaseSource) and source.revision() != pending.based_on:
        return (f"Seit dem Hochladen ist eine andere Version aktuell geworden (jetzt Version {source.revision()}, "
                f"beim Hochladen Version {pending.based_on}). Bitte die Datei verwerfen und erneut hochladen.")
    return None


def preview_of(pending) -> Preview:
    key = (pending.token, data_source(state().settings).revision())
    with _previews_lock:
        found = _previews.get(key)
    if found is not None:
        return found
    prepared = prepare(pending.content, pending.suffix, pending.file_name, pending.options)
    frames = check_delivery(data_source(state().settings), prepared)
    values = prepared.delivered["values"]
    maps = sorted({(r.stichtag, r.level, r.kennzahl) for r in values.itertuples()},
                  key=lambda m: (m[0], m[1] != "bezirk", m[2]))
    found = Preview(prepared, frames, maps)
    with _previews_lock:
        _previews[key] = found
        while len(_previews) > PREVIEWS_KEPT:
            _previews.popitem(last=False)
    return found


def shown(value, state_: str, k) -> str:
    if pd.isna(state_):
        return "–"
    if state_ == "withheld":
        return "gesperrt"
    return "kein Wert" if pd.isna(value) else de_number(float(value), k.decimals)


def change_rows(preview: Preview) -> list[dict]:
    """Return the new and changed values as rows of the preview table (old → new)."""
    from essen_dash.kennzahlen import Catalog

    catalog = Catalog.from_table(preview.frames["kennzahlen"])
    diff = preview.prepared.diff
    rows = []
    for r in diff[diff["change"] != "unverändert"].head(PREVIEW_ROWS).itertuples():
        k = catalog[r.kennzahl]
        rows.append({"stichtag": de_date(r.stichtag), "ebene": LEVEL_LABELS[r.level],
                     "gebiet": f"{r.area}", "kennzahl": k.label, "unit": k.unit,
                     "alt": shown(r.old_value, r.old_state, k), "neu": shown(r.new_value, r.new_state, k),
                     "change": r.change})
    return rows


def map_label(preview: Preview, index: int) -> str:
    from essen_dash.kennzahlen import Catalog

    day, level, key = preview.maps[index]
    return f"{Catalog.from_table(preview.frames['kennzahlen'])[key].label} – {LEVEL_LABELS[level]}, Stand {de_date(day)}"


def map_index(preview: Preview) -> int:
    raw = flask.request.args.get("karte", "0")
    return int(raw) if raw.isdigit() and int(raw) < len(preview.maps) else 0


@bp.route("/vorschau/<token>")
@requires("editor")
def preview(token: str):
    pending = pending_or_404(token)
    try:
        p = preview_of(pending)
    except DataError as exc:  # the data in force changed so that the delivery no longer fits
        return refused_upload(list(exc.problems), {}, pending.file_name)
    diff = p.prepared.diff
    counts = diff["change"].value_counts()
    return flask.render_template(
        "preview.html", title=f"Vorschau: {pending.file_name}", pending=pending, what=p.prepared.what,
        summary=p.prepared.lines[0], rows=change_rows(p), shown_rows=min(PREVIEW_ROWS, int((diff["change"] !=
                                                                                               "unverändert").sum())),
        counts={k: int(counts.get(k, 0)) for k in ("neu", "geändert", "unverändert")},
        maps=[(i, map_label(p, i)) for i in range(len(p.maps))], chosen=map_index(p), stale=stale(pending),
        has_geometry=current_data().boundaries is not None,
        uploaded=pending.created_at.strftime("%d.%m.%Y %H:%M"))


@bp.route("/vorschau/<token>/karte.svg")
@requires("editor")
def preview_map(token: str):
    """Render the map of the delivered values of one Stichtag, level and Kennzahl (the view ``karte-map`` of the
    complete tables that would be published), as SVG through the export renderer."""
    from essen_dash.data import assemble, current
    from essen_dash.export import render
    from essen_dash.export.charts import print_figure
    from essen_dash.params import Params
    from essen_dash.tables.load import Tables
    from essen_dash.views import VIEWS

    pending = pending_or_404(token)
    p = preview_of(pending)
    live = current()
    if live.boundaries is None or not p.maps:
        return flask.Response("Keine Karte: Grenzen nicht geladen.", status=404, mimetype="text/plain")
    day, level, key = p.maps[map_index(p)]
    data = assemble(Tables(Path("Vorschau"), p.frames), live.boundaries, None)
    chart = VIEWS["karte-map"].build(data, Params(indicator=key, level=level, stichtag=day),
                                     data.boundaries.geojson)
    job = render.Job(render.CHART_TIMEOUT_S)
    try:
        with render.RENDERER.admit(job):
            body = render.RENDERER.render(render.offload(print_figure, chart), render.FORMATS["svg"], job)
    except render.ExportUnavailable as exc:
        return flask.Response(str(exc), status=503, mimetype="text/plain",
                              headers={"Retry-After": str(exc.retry_after)})
    response = flask.Response(body, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/vorschau/<token>/veroeffentlichen", methods=["POST"])
@requires("editor")
def publish(token: str):
    pending = pending_or_404(token)
    reason = stale(pending)
    if reason:
        flask.flash(reason, "error")
        return flask.redirect(flask.url_for("datenpflege.preview", token=token))
    note = " ".join((flask.request.form.get("hinweis") or "").split())[:500]
    source = data_source(state().settings)
    try:
        prepared = prepare(pending.content, pending.suffix, pending.file_name, pending.options)
        if pending.based_on is not None and prepared.based_on != pending.based_on:
            raise StaleVersion("Inzwischen ist eine andere Version aktuell; bitte erneut hochladen")
        outcome = publish_delivery(source, prepared, current_user().name, note)
    except (DataError, StoreError) as exc:
        record("Veröffentlichen abgelehnt", f"{pending.file_name}: {str(exc).splitlines()[0]}")
        flask.flash(f"Nicht veröffentlicht: {str(exc).splitlines()[0]}", "error")
        return flask.redirect(flask.url_for("datenpflege.preview", token=token))
    state().accounts.drop_pending(token)
    record("Veröffentlichen", f"{pending.file_name} {outcome}" + (f"; Hinweis: {note}" if note else ""))
    flask.flash(f"{pending.file_name} {outcome}. Das Dashboard zeigt die neuen Daten in wenigen Sekunden.", "info")
    return flask.redirect(flask.url_for("datenpflege.home"))


@bp.route("/vorschau/<token>/verwerfen", methods=["POST"])
@requires("editor")
def discard(token: str):
    pending = pending_or_404(token)
    state().accounts.drop_pending(token)
    record("Verwerfen", pending.file_name)
    flask.flash(f"{pending.file_name} verworfen; nichts wurde veröffentlicht.", "info")
    return flask.redirect(flask.url_for("datenpflege.home"))


# --- rollback -----------------------------------------------------------------------------------------------

def version_or_404(number: int):
    found = [v for v in (versions() or []) if v.number == number]
    if not found:
        flask.abort(404)
    return found[0]


@bp.route("/versionen/<int:number>/zuruecksetzen", methods=["GET", "POST"])
@requires("editor")
def rollback(number: int):
    version = version_or_404(number)
    if flask.request.method == "GET":
        return flask.render_template("rollback.html", title=f"Version {number} wieder aktuell machen",
                                     version=version)
    if version.is_current:
        flask.flash(f"Version {number} ist schon aktuell.", "info")
        return flask.redirect(flask.url_for("datenpflege.home"))
    source = data_source(state().settings)
    before = source.revision()
    source.store.rollback(number)
    record("Zurücksetzen", f"Version {number} ist jetzt aktuell (vorher Version {before})")
    flask.flash(f"Version {number} ist jetzt aktuell (alle Versionen bleiben gespeichert).", "info")
    return flask.redirect(flask.url_for("datenpflege.home"))


# --- the audit log and the accounts ---------------------------------------------------------------------------

@bp.route("/protokoll")
@requires("editor")
def audit():
    return flask.render_template("audit.html", title="Protokoll", entries=state().accounts.audit())


@bp.route("/konten", methods=["GET", "POST"])
@requires("admin")
def accounts():
    st = state()
    if flask.request.method == "POST":
        form = flask.request.form
        action, name = form.get("aktion", ""), (form.get("name") or "").strip()
        try:
            if action == "anlegen":
                st.accounts.add(name, form.get("rolle", ""), form.get("passwort") or "")
                record("Konto angelegt", f"{name} ({form.get('rolle')})")
                flask.flash(f"Konto {name} angelegt.", "info")
            elif action == "rolle":
                st.accounts.set_role(name, form.get("rolle", ""))
                record("Rolle geändert", f"{name}: {form.get('rolle')}")
                flask.flash(f"Rolle von {name} geändert.", "info")
            elif action == "passwort":
                st.accounts.set_password(name, form.get("passwort") or "")
                record("Passwort geändert", name)
                flask.flash(f"Passwort von {name} geändert.", "info")
            elif action == "entfernen":
                if name == current_user().name:
                    raise AccountError("Das eigene Konto kann man nicht entfernen.")
                st.accounts.remove(name)
                record("Konto entfernt", name)
                flask.flash(f"Konto {name} entfernt.", "info")
            else:
                flask.abort(400)
        except AccountError as exc:
            flask.flash(str(exc), "error")
        return flask.redirect(flask.url_for("datenpflege.accounts"))
    return flask.render_template("accounts.html", title="Konten", accounts=st.accounts.all(), roles=ROLES)


# --- errors of the Datenpflege pages ---------------------------------------------------------------------

_lockouts: OrderedDict = OrderedDict()  # login key → when its lock-out was last recorded (this process)
_lockouts_lock = threading.Lock()
LOCKOUT_RECORD_S = 60.0
LOCKOUTS_KEPT = 10_000


def first_lockout(key: str) -> bool:
    """Return whether a lock-out of ``key`` is to be recorded: once a minute, so refused attempts cannot fill the
    audit log."""
    now = time.monotonic()
    with _lockouts_lock:
        last = _lockouts.pop(key, None)
        _lockouts[key] = now if last is None or now - last >= LOCKOUT_RECORD_S else last
        while len(_lockouts) > LOCKOUTS_KEPT:
            _lockouts.popitem(last=False)
        return last is None or now - last >= LOCKOUT_RECORD_S


@bp.errorhandler(RateLimitExceeded)
def too_many(exc):
    if first_lockout(login_key()):
        record("Anmeldung gesperrt", f"zu viele Fehlversuche für {(flask.request.form.get('name') or '')[:64]!r}",
               actor=(flask.request.form.get("name") or "anonym")[:64])
    return flask.render_template(
        "login.html", title="Anmelden", weiter="", name="",
        error="Zu viele Anmeldeversuche. Bitte eine Minute warten und dann erneut versuchen."), 429

@bp.errorhandler(CSRFError)
def csrf_error(exc):
    return flask.render_template("message.html", title="Formular abgelaufen",
                                 text="Das Formular ist abgelaufen oder ungültig. Bitte die Seite neu laden "
                                      "und erneut absenden."), 400

@bp.errorhandler(413)
def too_large(exc):
    return refused_upload([Problem("–", None, None, f"Die Datei ist zu groß: höchstens "
                                                     f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")], {}, "", 413)


# --- wiring -------------------------------------------------------------------------------------------------

def install(server: flask.Flask, settings: Settings, auth: AuthConfig) -> None:
    """Add accounts, the guard, CSRF protection, the login limit and the Datenpflege pages to the server."""
    server.config.update(
        SECRET_KEY=auth.secret_key, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=auth.secure_cookies, SESSION_COOKIE_NAME="essen_dash_sitzung",
        REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SECURE=auth.secure_cookies,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=auth.secure_cookies)
    accounts = Accounts(settings.accounts_url)
    accounts.create()
    limiter = Limiter(key_func=login_key, app=server, storage_uri="memory://", default_limits=[],
                      headers_enabled=False)
    server.extensions["essen_dash_admin"] = State(settings, auth, accounts, limiter)

    manager = flask_login.LoginManager(server)
    manager.session_protection = "basic"

    @manager.user_loader
    def load_user(token: str):
        name = token.rsplit(":", 1)[0]
        try:
            account = accounts.get(name)
        except SQLAlchemyError:
            log.exception("Konten nicht lesbar")
            return None
        return User(account) if account is not None and account.session_token == token else None

    @manager.request_loader
    def from_proxy(request):
        """Trust the SSO proxy's user header, from the configured proxy addresses only."""
        if not auth.trusts(request.remote_addr):
            return None
        name = (request.headers.get(auth.user_header) or "").strip()
        if not name:
            return None
        account = accounts.get(name)
        if account is None:  # known to the city's sign-on, not to the dashboard: may read
            account = Account(name[:64], "viewer", "", datetime.now(timezone.utc))
        return User(account, via_proxy=True)

    server.before_request(guard)  # before the CSRF check: a client without the role gets 401/403, not 400

    @server.before_request
    def upload_limit():  # before the CSRF check reads the form
        if flask.request.endpoint == "datenpflege.upload":
            flask.request.max_content_length = MAX_UPLOAD_BYTES

    csrf = CSRFProtect()
    csrf.init_app(server)
    for rule in server.url_map.iter_rules():
        if rule.rule.endswith("/_dash-update-component"):
            csrf.exempt(server.view_functions[rule.endpoint])  # Dash's callbacks compute views, change nothing
            OPEN_WRITES.add(rule.endpoint)
    server.register_blueprint(bp)
    # the limit is checked by the wrapper Flask-Limiter returns, so the wrapper becomes this app's view
    # (only failed attempts count: signing in and out several times a minute locks nobody out)
    # (and per address alone: trying many names from one address is limited too)
    failed = {"methods": ["POST"], "deduct_when": lambda response: response.status_code == 401}
    server.view_functions["datenpflege.login"] = limiter.limit(ADDRESS_LOGIN_LIMIT, key_func=address, **failed)(
        limiter.limit(auth.login_limit, key_func=login_key, **failed)(login))

    @server.context_processor
    def who():
        return {"user": current_user(), "read_login": auth.read_login}
