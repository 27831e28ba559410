"""Accounts: slow hashes only, ordered roles, sessions ended by a new password, the audit log, pending uploads, the
``essen-dash user`` commands (passwords from a prompt or standard input, never from the command line) and the
security settings — on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import io
import ipaddress
import stat

import pytest
import sqlalchemy as sa

from essen_dash.admin import config
from essen_dash.admin.accounts import ROLES, AccountError, Accounts
from essen_dash.cli import main

PASSWORD = "richtig-langes-passwort"


@pytest.fixture
def url(db_url):
    """Return the URL of an empty database of its own for this test (SQLite and PostgreSQL)."""
    return db_url


@pytest.fixture
def accounts(url):
    found = Accounts(url)
    yield found
    found.close()


def test_passwords_are_stored_only_as_slow_salted_hashes(accounts, url):
    accounts.add("anna", "editor", PASSWORD)
    accounts.add("bert", "editor", PASSWORD)
    with sa.create_engine(url).connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT name, password_hash FROM accounts")).all())
    assert sorted(stored) == ["anna", "bert"]
    assert all(h.startswith("scrypt:32768:8:1$") for h in stored.values())  # werkzeug's scrypt, its work factors
    assert stored["anna"] != stored["bert"]  # salted: the same password, two hashes
    assert not any(PASSWORD in h for h in stored.values())
    assert accounts.authenticate("anna", PASSWORD).name == "anna"
    assert accounts.authenticate("anna", PASSWORD + "x") is None
    assert accounts.authenticate("niemand", PASSWORD) is None
    assert accounts.authenticate("", PASSWORD) is None


def test_roles_are_ordered_and_checked(accounts):
    assert list(ROLES) == ["viewer", "editor", "admin"]
    viewer = accounts.add("leser", "viewer", PASSWORD)
    editor = accounts.add("redaktion", "editor", PASSWORD)
    admin = accounts.add("verwaltung", "admin", PASSWORD)
    assert [(a.may("viewer"), a.may("editor"), a.may("admin")) for a in (viewer, editor, admin)] == [
        (True, False, False), (True, True, False), (True, True, True)]
    accounts.set_role("leser", "admin")
    assert accounts.get("leser").role == "admin"
    with pytest.raises(AccountError, match="Unbekannte Rolle 'chef'"):
        accounts.set_role("leser", "chef")
    with pytest.raises(AccountError, match="Unbekannte Rolle 'chef'"):
        accounts.add("neu", "chef", PASSWORD)


def test_account_changes_are_refused_with_a_reason(accounts):
    accounts.add("anna", "editor", PASSWORD)
    with pytest.raises(AccountError, match="Das Konto 'anna' gibt es schon"):
        accounts.add("anna", "admin", PASSWORD)
    with pytest.raises(AccountError, match="zu kurz: mindestens 10 Zeichen"):
        accounts.add("bert", "editor", "kurz")
    with pytest.raises(AccountError, match="Ungültiger Kontoname"):
        accounts.add("mit leerzeichen", "editor", PASSWORD)
    with pytest.raises(AccountError, match="Das Konto 'zed' gibt es nicht"):
        accounts.remove("zed")
    with pytest.raises(AccountError, match="Das Konto 'zed' gibt es nicht"):
        accounts.set_password("zed", PASSWORD)
    assert [a.name for a in accounts.all()] == ["anna"]


def test_a_new_password_ends_the_sessions_of_the_old_one(accounts):
    before = accounts.add("anna", "editor", PASSWORD).session_token
    accounts.set_password("anna", "ein-anderes-passwort")
    after = accounts.get("anna").session_token
    assert before.startswith("anna:") and after.startswith("anna:") and before != after
    assert accounts.authenticate("anna", PASSWORD) is None
    assert accounts.authenticate("anna", "ein-anderes-passwort").name == "anna"
    accounts.remove("anna")
    assert accounts.get("anna") is None


def test_the_audit_log_keeps_every_action_newest_first(accounts):
    accounts.record("anna", "Anmeldung", "Rolle editor", "10.0.0.7")
    accounts.record("anna", "Veröffentlichen", "datei.csv als Version 2 veröffentlicht", "10.0.0.7")
    entries = accounts.audit()
    assert [(e.number, e.actor, e.action, e.detail, e.address) for e in entries] == [
        (2, "anna", "Veröffentlichen", "datei.csv als Version 2 veröffentlicht", "10.0.0.7"),
        (1, "anna", "Anmeldung", "Rolle editor", "10.0.0.7")]
    assert entries[0].at >= entries[1].at and entries[0].at.tzinfo is not None


def test_pending_uploads_keep_their_bytes_under_a_random_token(accounts):
    content = b"Stadtbezirk;Einwohner\r\nI;1\r\n\x00\xff"
    token = accounts.keep_pending("anna", "datei.csv", ".csv", "ab" * 32, {"stichtag": "2018-12-31"}, 1, content)
    other = accounts.keep_pending("anna", "datei.csv", ".csv", "ab" * 32, {}, 1, content)
    assert len(token) == 32 and token != other and int(token, 16) >= 0
    pending = accounts.pending(token)
    assert (pending.author, pending.file_name, pending.suffix, pending.options, pending.based_on, pending.content) == (
        "anna", "datei.csv", ".csv", {"stichtag": "2018-12-31"}, 1, content)
    assert accounts.drop_pending(token) is True
    assert accounts.drop_pending(token) is False
    assert accounts.pending(token) is None and accounts.pending(other) is not None


# --- the command line ---------------------------------------------------------------------------------------

def user(url: str, *args: str, stdin: str | None = None, monkeypatch=None) -> int:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["--database-url", url, "user", *args])


def test_user_commands_take_passwords_from_stdin_or_a_prompt_never_from_argv(url, monkeypatch, capsys):
    assert user(url, "add", "anna", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n",
                monkeypatch=monkeypatch) == 0
    assert "Konto anna angelegt: Verwaltung (auch Konten)" in capsys.readouterr().out
    prompts = []
    answers = iter(["prompt-passwort-1", "prompt-passwort-1"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or next(answers))
    assert user(url, "add", "bert") == 0  # default role: editor
    assert prompts == ["Passwort: ", "Passwort wiederholen: "]
    answers = iter(["eins-eins-eins", "zwei-zwei-zwei"])
    assert user(url, "password", "bert") == 1
    assert "FEHLER: Die beiden Passwörter stimmen nicht überein" in capsys.readouterr().err

    accounts = Accounts(url)
    assert [(a.name, a.role) for a in accounts.all()] == [("anna", "admin"), ("bert", "editor")]
    assert accounts.authenticate("anna", PASSWORD) is not None
    assert accounts.authenticate("bert", "prompt-passwort-1") is not None

    assert user(url, "role", "bert", "viewer") == 0
    assert user(url, "password", "bert", "--password-stdin", stdin="neues-passwort-22\n", monkeypatch=monkeypatch) == 0
    assert accounts.authenticate("bert", "neues-passwort-22").role == "viewer"
    assert user(url, "remove", "bert") == 0
    assert user(url, "remove", "bert") == 1
    assert "FEHLER: Das Konto 'bert' gibt es nicht" in capsys.readouterr().err
    assert user(url, "add", "carl", "--password-stdin", stdin="kurz\n", monkeypatch=monkeypatch) == 1
    assert "zu kurz" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # no option takes a password on the command line
        user(url, "add", "dora", "--password", PASSWORD)
    capsys.readouterr()
    assert user(url, "list") == 0
    assert capsys.readouterr().out.split("\n")[1].split()[:2] == ["anna", "admin"]
    actions = [(e.action, e.detail) for e in reversed(accounts.audit())]
    assert actions == [("Konto angelegt", "anna (admin)"), ("Konto angelegt", "bert (editor)"),
                       ("Rolle geändert", "bert: viewer"), ("Passwort geändert", "bert"), ("Konto entfernt", "bert")]
    assert all(e.actor.endswith("(Kommandozeile)") for e in accounts.audit())


# --- security settings --------------------------------------------------------------------------------------

def test_the_secret_key_is_generated_once_into_the_state_folder(tmp_path):
    first = config.secret_key(tmp_path / "state")
    path = tmp_path / "state" / config.SECRET_KEY_FILE
    assert len(first) == 64 and int(first, 16) >= 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config.secret_key(tmp_path / "state") == first  # read afterwards, never generated again
    assert config.secret_key(tmp_path / "other") != first


def test_security_settings_from_the_environment(tmp_path):
    auth = config.from_env(tmp_path, {})
    assert (auth.read_login, auth.secure_cookies, auth.user_header, auth.trusted_proxies, auth.login_limit) == (
        False, False, None, (), "5 per minute")
    assert auth.secret_key == (tmp_path / config.SECRET_KEY_FILE).read_text().strip()
    assert "secret_key" not in repr(auth)
    auth = config.from_env(tmp_path, {config.READ_LOGIN_ENV: "1", config.SECRET_KEY_ENV: "aus-der-umgebung",
                                      config.SECURE_COOKIES_ENV: "ja", config.USER_HEADER_ENV: "X-Remote-User",
                                      config.PROXIES_ENV: "10.0.0.5, 192.168.1.0/24"})
    assert (auth.read_login, auth.secure_cookies, auth.secret_key, auth.user_header) == (
        True, True, "aus-der-umgebung", "X-Remote-User")
    assert auth.trusted_proxies == (ipaddress.ip_network("10.0.0.5/32"), ipaddress.ip_network("192.168.1.0/24"))
    assert [auth.trusts(a) for a in ("10.0.0.5", "192.168.1.77", "10.0.0.6", "", "kein-ip")] == [
        True, True, False, False, False]
    with pytest.raises(ValueError, match="ESSEN_DASH_TRUSTED_PROXIES nicht"):
        config.from_env(tmp_path, {config.USER_HEADER_ENV: "X-Remote-User"})
    with pytest.raises(ValueError, match="'zehn' ist keine Adresse"):
        config.from_env(tmp_path, {config.USER_HEADER_ENV: "X-Remote-User", config.PROXIES_ENV: "zehn"})

