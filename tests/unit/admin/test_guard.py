"""Nobody without the role changes anything: every route of the Flask app with a state-changing method, and every
Dash callback, tried by an anonymous client and by a viewer (each with a valid CSRF token), leaves the store's
versions, the accounts and the pending upload as they were; the same request by an editor does change them.

Also: CSRF on every form, session cookie flags, reading behind a login, the SSO header only from the proxy, the
upload's type and size checks. The app runs in-process on the frozen 2016 fixture (no boundaries) and a database
of its own.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import pytest

from essen_dash import paths
from essen_dash.admin.accounts import Accounts
from essen_dash.admin.config import AuthConfig
from essen_dash.admin.web import OPEN_WRITES, WRITE_METHODS
from essen_dash.tables.db import Store
from tests.conftest import FIXTURE_DATA, FIXTURES

INTAKE = FIXTURES / "intake"
PASSWORD = "ein-langes-passwort"
#: the routes that must exist (the enumeration below covers whatever else the app has)
KNOWN_WRITES = {"/datenpflege/anmelden", "/datenpflege/abmelden", "/datenpflege/hochladen",
                "/datenpflege/vorschau/<token>/veroeffentlichen", "/datenpflege/vorschau/<token>/verwerfen",
                "/datenpflege/versionen/<int:number>/zuruecksetzen", "/datenpflege/konten", "/_dash-update-component"}


def build_site(root: Path, auth: AuthConfig):
    """Return (dash app, settings, accounts) on a new SQLite database seeded with the 2016 fixture."""
    from essen_dash.app import create_app

    (root / "no-geo").mkdir(parents=True)
    settings = paths.Settings(data_dir=FIXTURE_DATA, geo_dir=root / "no-geo", cache_dir=root / "cache",
                              database_url=f"sqlite:///{root / 'essen-dash.db'}", state_dir=root)
    accounts = Accounts(settings.accounts_url)
    accounts.add("leser", "viewer", PASSWORD)
    accounts.add("redaktion", "editor", PASSWORD)
    accounts.add("verwaltung", "admin", PASSWORD)
    return create_app(settings, auth=auth), settings, accounts


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(tmp_path_factory.mktemp("site"), AuthConfig(secret_key="k" * 64))


def csrf_of(client, path: str = "/datenpflege/anmelden") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def signed_in(server, name: str | None):
    """Return a test client signed in as ``name`` (None: anonymous) and its CSRF token."""
    client = server.test_client()
    token = csrf_of(client)
    if name is not None:
        answer = client.post("/datenpflege/anmelden", data={"name": name, "passwort": PASSWORD, "csrf_token": token})
        assert answer.status_code == 302, answer.text
        token = csrf_of(client)
    return client, token


def upload(client, token: str, file: Path, **fields):
    with file.open("rb") as fh:
        return client.post("/datenpflege/hochladen", data={"csrf_token": token, "datei": (fh, file.name), **fields},
                           content_type="multipart/form-data")


def snapshot(store: Store, accounts: Accounts, token: str):
    """Return everything a write could change: versions, the current one, accounts and roles, the pending upload."""
    return ([(v.number, v.is_current) for v in store.versions()], store.current_version(),
            [(a.name, a.role, a.password_hash) for a in accounts.all()], accounts.pending(token) is not None)


def url_of(server, rule, token: str) -> str:
    """Return a URL of ``rule`` whose arguments name things that exist (the pending upload, version 1)."""
    values = {}
    for arg in rule.arguments:
        converter = type(rule._converters[arg]).__name__
        values[arg] = 1 if converter == "IntegerConverter" else token
    with server.test_request_context():
        return rule.build(values, append_unknown=False)[1]


def callback_requests(app) -> list[dict]:
    """Return one request per server-side Dash callback, its inputs empty."""
    def spec(key: str):
        parts = key[2:-2].split("...") if key.startswith("..") else [key]
        outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts]
        return outputs if key.startswith("..") else outputs[0]

    found = []
    for key, cb in app.callback_map.items():
        found.append({"output": key, "outputs": spec(key),
                      "inputs": [{**i, "value": None} for i in cb["inputs"]],
                      "state": [{**s, "value": None} for s in cb.get("state", [])],
                      "changedPropIds": [f"{cb['inputs'][0]['id']}.{cb['inputs'][0]['property']}"]
                      if cb["inputs"] else []})
    return found


def test_no_route_or_callback_changes_anything_without_the_role(site):
    app, settings, accounts = site
    server = app.server
    store = Store(settings.database_url)
    editor, editor_token = signed_in(server, "redaktion")
    answer = upload(editor, editor_token, INTAKE / "bezirke_windows1252.csv")
    assert answer.status_code == 302, answer.text
    pending = answer.headers["Location"].rsplit("/", 1)[1]
    before = snapshot(store, accounts, pending)
    assert before == ([(1, True)], 1, before[2], True) and len(before[2]) == 3

    writes = [r for r in server.url_map.iter_rules() if set(r.methods) & WRITE_METHODS]
    assert {r.rule for r in writes} >= KNOWN_WRITES
    form = {"name": "verwaltung", "passwort": "falsches-passwort", "aktion": "entfernen", "rolle": "admin",
            "hinweis": "x"}
    tried = []
    for who in (None, "leser"):
        client, token = signed_in(server, who)
        for rule in writes:
            if rule.endpoint in OPEN_WRITES:
                continue
            for method in sorted(set(rule.methods) & WRITE_METHODS):
                with (INTAKE / "bezirke_windows1252.csv").open("rb") as fh:
                    answer = client.open(url_of(server, rule, pending), method=method,
                                         data={**form, "csrf_token": token, "datei": (fh, "b.csv")},
                                         content_type="multipart/form-data")
                tried.append((who, rule.rule, method, answer.status_code))
                assert answer.status_code == (401 if who is None else 403), (who, rule.rule, method, answer.text)
        # the open ones: signing in (with a wrong password) and out change no data
        assert client.post("/datenpflege/anmelden", data={**form, "csrf_token": token}).status_code == 401
        for request in callback_requests(app):
            answer = client.post("/_dash-update-component", json=request)
            tried.append((who, request["output"], "callback", answer.status_code))
            assert answer.status_code in (200, 204, 400), (request["output"], answer.status_code)
        assert client.post("/datenpflege/abmelden", data={"csrf_token": token}).status_code == 302
        assert snapshot(store, accounts, pending) == before, who
    refused_writes = [t for t in tried if t[2] != "callback"]
    assert len(refused_writes) == 2 * (len([r for r in writes if r.endpoint not in OPEN_WRITES]))
    callbacks = [t for t in tried if t[2] == "callback"]
    assert len(callbacks) == 2 * len(app.callback_map) and any(t[3] == 200 for t in callbacks)
    # newest first: the viewer out, its wrong password, the viewer in, the anonymous client's wrong password
    assert [e.action for e in accounts.audit()][:4] == ["Abmeldung", "Anmeldung fehlgeschlagen", "Anmeldung",
                                                        "Anmeldung fehlgeschlagen"]
    assert not {e.action for e in accounts.audit()} & {"Veröffentlichen", "Zurücksetzen", "Verwerfen",
                                                       "Konto entfernt", "Konto angelegt", "Rolle geändert"}

    # the same kind of request with the role does change the store: the refusals above were the guard's
    answer = editor.post(f"/datenpflege/vorschau/{pending}/veroeffentlichen", data={"csrf_token": editor_token})
    assert answer.status_code == 302
    assert [(v.number, v.is_current) for v in store.versions()] == [(2, True), (1, False)]
    assert editor.post("/datenpflege/versionen/1/zuruecksetzen", data={"csrf_token": editor_token}).status_code == 302
    assert store.current_version() == 1
    # an editor is not an admin
    answer = editor.post("/datenpflege/konten", data={**form, "csrf_token": editor_token})
    assert answer.status_code == 403 and [a.name for a in accounts.all()] == ["leser", "redaktion", "verwaltung"]


def test_every_form_needs_its_csrf_token(site):
    app, settings, accounts = site
    editor, token = signed_in(app.server, "redaktion")
    store = Store(settings.database_url)
    versions = [v.number for v in store.versions()]
    current = store.current_version()
    for path in ("/datenpflege/hochladen", "/datenpflege/versionen/1/zuruecksetzen", "/datenpflege/abmelden"):
        answer = editor.post(path, data={"csrf_token": "falsch"})
        assert answer.status_code == 400 and "Formular abgelaufen" in answer.text, path
    assert [v.number for v in store.versions()] == versions and store.current_version() == current
    # a login form without its token is refused before the password is even looked at
    anonymous = app.server.test_client()
    answer = anonymous.post("/datenpflege/anmelden", data={"name": "redaktion", "passwort": PASSWORD})
    assert answer.status_code == 400
    assert editor.get("/datenpflege/").status_code == 200  # still signed in


def test_session_cookie_flags_and_security_headers(site, tmp_path):
    app, _, _ = site
    client = app.server.test_client()
    answer = client.get("/datenpflege/anmelden")
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("essen_dash_sitzung=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self' 'sha256-" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    assert "<script" not in answer.text  # the Datenpflege pages need no script at all
    secure_app, _, _ = build_site(tmp_path / "tls", AuthConfig(secret_key="s" * 64, secure_cookies=True))
    cookie = secure_app.server.test_client().get("/datenpflege/anmelden").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_uploads_are_checked_by_type_and_size(site):
    app, settings, _ = site
    editor, token = signed_in(app.server, "redaktion")
    store = Store(settings.database_url)
    before = [v.number for v in store.versions()]
    cases = [("daten.pdf", b"%PDF-1.4 ...", "Dateityp „.pdf“ wird nicht angenommen"),
             ("daten.xlsx", b"Stadtbezirk;Einwohner\nI;1\n", "endet auf .xlsx, ist aber keine Excel-Datei"),
             ("daten.csv", b"PK\x03\x04 zip", "endet auf .csv, ist aber keine Textdatei"),
             ("../../etc/passwd.csv", b"\x00\x01", "endet auf .csv, ist aber keine Textdatei")]
    for name, content, expected in cases:
        import io

        answer = editor.post("/datenpflege/hochladen", data={"csrf_token": token, "datei": (io.BytesIO(content), name)},
                             content_type="multipart/form-data")
        assert answer.status_code == 422 and expected in answer.text, (name, answer.text[-2000:])
    import io

    big = io.BytesIO(b"a" * (20 * 1024 * 1024 + 1))
    answer = editor.post("/datenpflege/hochladen", data={"csrf_token": token, "datei": (big, "gross.csv")},
                         content_type="multipart/form-data")
    assert answer.status_code == 413 and "Die Datei ist zu groß: höchstens 20 MB." in answer.text
    # a callback request keeps the app's 1 MB limit
    assert editor.post("/_dash-update-component", data=b"{" + b" " * 1_100_000 + b"}",
                       content_type="application/json").status_code == 413
    assert [v.number for v in store.versions()] == before


def test_a_bad_file_lists_its_problems_and_publishes_nothing(site):
    app, settings, accounts = site
    editor, token = signed_in(app.server, "redaktion")
    store = Store(settings.database_url)
    before = [v.number for v in store.versions()]
    answer = upload(editor, token, INTAKE / "bad_share.csv")
    assert answer.status_code == 422
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", answer.text)
    assert rows == [("bad_share.csv", "4", "Anteil Nichtdeutsche", "Wert 100,5 liegt über dem Höchstwert 100 %"),
                    ("bad_share.csv", "5", "Anteil Nichtdeutsche", "Wert -0,1 liegt unter dem Mindestwert 0 %")]
    assert [v.number for v in store.versions()] == before
    assert accounts.audit()[0].action == "Hochladen abgelehnt"
    assert accounts.audit()[0].detail == "bad_share.csv: 2 Fehler"


def test_reading_can_require_an_account(tmp_path):
    app, _, _ = build_site(tmp_path, AuthConfig(secret_key="r" * 64, read_login=True))
    anonymous = app.server.test_client()
    answer = anonymous.get("/")
    assert answer.status_code == 302 and answer.headers["Location"] == "/datenpflege/anmelden?weiter=/"
    assert anonymous.get("/_dash-layout").status_code == 401
    assert anonymous.post("/_dash-update-component", json={}).status_code == 401
    assert anonymous.get("/download/chart?page=karte").status_code == 401
    assert anonymous.get("/health").status_code == 200
    assert anonymous.get("/datenpflege/anmelden").status_code == 200
    assert anonymous.get("/assets/style.css").status_code == 200
    reader, _ = signed_in(app.server, "leser")
    assert reader.get("/").status_code == 200 and reader.get("/_dash-layout").status_code == 200
    assert reader.get("/datenpflege/").status_code == 403  # reading, not editing


def test_the_sso_header_is_trusted_only_from_the_proxy(tmp_path):
    auth = AuthConfig(secret_key="p" * 64, user_header="X-Remote-User",
                      trusted_proxies=(ipaddress.ip_network("10.0.0.5/32"),), read_login=True)
    app, _, _ = build_site(tmp_path, auth)
    client = app.server.test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.5"}
    elsewhere = {"REMOTE_ADDR": "10.0.0.6"}
    page = client.get("/datenpflege/", headers={"X-Remote-User": "redaktion"}, environ_base=proxy)
    assert page.status_code == 200 and "Angemeldet: <strong>redaktion</strong>" in page.text
    assert client.get("/datenpflege/", headers={"X-Remote-User": "redaktion"},
                      environ_base=elsewhere).status_code == 302
    # a person the city's sign-on knows but the dashboard does not may read, not edit
    assert client.get("/", headers={"X-Remote-User": "stadt.person"}, environ_base=proxy).status_code == 200
    assert client.get("/datenpflege/", headers={"X-Remote-User": "stadt.person"},
                      environ_base=proxy).status_code == 403
    assert client.get("/", headers={"X-Remote-User": "stadt.person"}, environ_base=elsewhere).status_code == 302


def test_the_dash_callbacks_are_the_only_exempt_writes(site):
    assert OPEN_WRITES == {"datenpflege.login", "datenpflege.logout", "/_dash-update-component"}
    assert json.dumps(sorted(WRITE_METHODS)) == '["DELETE", "PATCH", "POST", "PUT"]'


def test_login_attempts_are_limited_per_address_and_name(site):
    app, _, accounts = site
    client = app.server.test_client()
    token = csrf_of(client)

    def attempt(name: str, address: str = "127.0.0.1") -> int:
        return client.post("/datenpflege/anmelden", data={"name": name, "passwort": "falsch-falsch", "csrf_token": token},
                           environ_base={"REMOTE_ADDR": address}).status_code

    assert [attempt("probe-konto") for _ in range(6)] == [401, 401, 401, 401, 401, 429]
    assert "Zu viele Anmeldeversuche" in client.post(
        "/datenpflege/anmelden", data={"name": "probe-konto", "passwort": "x", "csrf_token": token}).text
    assert attempt("probe-konto", "10.9.9.9") == 401  # another address
    assert attempt("anderes-konto") == 401  # another name
    signed = []
    for _ in range(7):
        fresh = app.server.test_client()
        signed.append(fresh.post("/datenpflege/anmelden", data={"name": "verwaltung", "passwort": PASSWORD,
                                                                "csrf_token": csrf_of(fresh)}).status_code)
    assert signed == [302] * 7  # only failed attempts count
    # one lock-out row however often the locked client tries
    assert [e.action for e in accounts.audit(limit=10)][7:] == ["Anmeldung fehlgeschlagen", "Anmeldung fehlgeschlagen",
                                                                "Anmeldung gesperrt"]
    assert [e.action for e in accounts.audit(limit=20)].count("Anmeldung gesperrt") == 1


def test_many_names_from_one_address_hit_the_address_limit(tmp_path):
    app, _, _ = build_site(tmp_path, AuthConfig(secret_key="n" * 64))
    client = app.server.test_client()
    token = csrf_of(client)
    statuses = [client.post("/datenpflege/anmelden", data={"name": f"name-{i}", "passwort": "falsch-falsch",
                                                           "csrf_token": token},
                            environ_base={"REMOTE_ADDR": "10.7.7.7"}).status_code for i in range(21)]
    assert statuses == [401] * 20 + [429]
    assert client.post("/datenpflege/anmelden", data={"name": "redaktion", "passwort": PASSWORD, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": "10.7.7.8"}).status_code == 302  # another address


def test_admins_manage_accounts_in_the_browser_and_every_change_is_audited(tmp_path):
    app, _, accounts = build_site(tmp_path, AuthConfig(secret_key="a" * 64))
    admin, token = signed_in(app.server, "verwaltung")
    page = admin.get("/datenpflege/konten")
    assert page.status_code == 200 and re.findall(r"<tr><td>([^<]+)</td>", page.text) == [
        "leser", "redaktion", "verwaltung"]

    def act(**form) -> str:
        answer = admin.post("/datenpflege/konten", data={"csrf_token": token, **form}, follow_redirects=True)
        assert answer.status_code == 200
        return re.search(r'class="notice notice-(?:info|error) flash" role="status">([^<]+)<', answer.text).group(1)

    assert act(aktion="anlegen", name="neu", rolle="editor", passwort="ein-neues-passwort") == "Konto neu angelegt."
    assert act(aktion="rolle", name="neu", rolle="admin") == "Rolle von neu geändert."
    assert act(aktion="passwort", name="neu", passwort="kurz") == "Das Passwort ist zu kurz: mindestens 10 Zeichen"
    assert act(aktion="entfernen", name="verwaltung") == "Das eigene Konto kann man nicht entfernen."
    assert act(aktion="entfernen", name="leser") == "Konto leser entfernt."
    assert [(a.name, a.role) for a in accounts.all()] == [("neu", "admin"), ("redaktion", "editor"),
                                                          ("verwaltung", "admin")]
    assert [(e.actor, e.action, e.detail) for e in accounts.audit()][:3] == [
        ("verwaltung", "Konto entfernt", "leser"), ("verwaltung", "Rolle geändert", "neu: admin"),
        ("verwaltung", "Konto angelegt", "neu (editor)")]
    # a removed account's session ends at once
    editor, editor_token = signed_in(app.server, "redaktion")
    assert act(aktion="entfernen", name="redaktion") == "Konto redaktion entfernt."
    assert editor.get("/datenpflege/").status_code == 302


def test_signing_in_goes_back_only_to_a_local_page(site):
    app, _, _ = site
    for target, expected in (("/datenpflege/protokoll", "/datenpflege/protokoll"),
                             ("//boese.example/", "/datenpflege/"), ("https://boese.example/", "/datenpflege/"),
                             ("/\\boese.example", "/datenpflege/")):
        client = app.server.test_client()
        answer = client.post("/datenpflege/anmelden", data={"name": "redaktion", "passwort": PASSWORD,
                                                            "weiter": target, "csrf_token": csrf_of(client)})
        assert (answer.status_code, answer.headers["Location"]) == (302, expected), target


def test_the_browser_publishes_what_the_command_line_publishes(db_url, tmp_path):
    database_url = db_url
    """The same file through the web and through ``essen-dash import`` gives the same tables (one intake path),
    on SQLite and PostgreSQL; a version published meanwhile makes the preview stale instead of being overwritten."""
    import pandas as pd

    from essen_dash.app import create_app
    from essen_dash.cli import main

    (tmp_path / "no-geo").mkdir()
    settings = paths.Settings(data_dir=FIXTURE_DATA, geo_dir=tmp_path / "no-geo", cache_dir=tmp_path / "cache",
                              database_url=database_url, state_dir=tmp_path)
    Accounts(database_url).add("redaktion", "editor", PASSWORD)
    app = create_app(settings, auth=AuthConfig(secret_key="w" * 64))
    editor, token = signed_in(app.server, "redaktion")
    answer = upload(editor, token, INTAKE / "stadtteile_nr_name_utf8bom.csv", stichtag="2018-12-31",
                    quelle="Testdaten (erfunden)")
    assert answer.status_code == 302, answer.text
    preview = editor.get(answer.headers["Location"])
    assert preview.status_code == 200 and re.search(r'id="preview-summary">([^<]*)<', preview.text).group(1) == (
        "stadtteile_nr_name_utf8bom.csv: 3 Werte (breit) – 3 Werte in der Datei: 3 neu, 0 geändert, 0 unverändert")
    # without boundaries the preview says so instead of showing a broken map
    assert 'id="preview-map"' not in preview.text and "Keine Karte: die Grenzen sind nicht geladen" in preview.text
    assert editor.post(answer.headers["Location"] + "/veroeffentlichen",
                       data={"csrf_token": token}).status_code == 302
    store = Store(database_url)
    assert [(v.number, v.author, v.file_name) for v in store.versions()] == [
        (2, "redaktion", "stadtteile_nr_name_utf8bom.csv"), (1, "essen-dash", "data-2016/ (mitgeliefertes Datenpaket)")]

    cli_url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["--database-url", cli_url, "--data-dir", str(FIXTURE_DATA), "import",
                 str(INTAKE / "stadtteile_nr_name_utf8bom.csv"), "--stichtag", "2018-12-31",
                 "--quelle", "Testdaten (erfunden)"]) == 0
    by_web, by_cli = store.load(2), Store(cli_url).load(2)
    for name in by_web:
        pd.testing.assert_frame_equal(by_web[name], by_cli[name], obj=name)
    assert store.versions()[0].sha256 == Store(cli_url).versions()[0].sha256

    # an upload previewed against version 2, then version 1 made current by someone else: publishing is refused
    answer = upload(editor, token, INTAKE / "bezirke_windows1252.csv")
    assert answer.status_code == 302
    store.rollback(1)
    stale_preview = editor.get(answer.headers["Location"])
    assert "Seit dem Hochladen ist eine andere Version aktuell geworden (jetzt Version 1, beim Hochladen Version 2)" \
        in stale_preview.text
    refused = editor.post(answer.headers["Location"] + "/veroeffentlichen", data={"csrf_token": token},
                          follow_redirects=True)
    assert "Seit dem Hochladen ist eine andere Version aktuell geworden" in refused.text
    assert [(v.number, v.is_current) for v in store.versions()] == [(2, False), (1, True)]
