"""Datenpflege in the real Chromium: an editor signs in, uploads a made-up office table, sees its preview (changes
and a map), publishes it, a second browser sees the new Stichtag on the map, the editor rolls back and it is gone;
a bad file lists its problems and publishes nothing; wrong passwords hit the login limit; the audit log shows it
all; axe-core finds no violation on any Datenpflege page.

The app server runs on a temporary state folder (its own SQLite database); every figure uploaded is made up
(tests/fixtures/intake, Testdaten).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from essen_dash import paths
from essen_dash.admin.accounts import Accounts
from essen_dash.tables.db import Store
from tests.conftest import FIXTURE_DATA
from tests.integration.conftest import PageLog, Server, free_port, tail, wait_for_health
from tests.integration.test_a11y import axe_violations
from tests.integration.test_browser import MAP, MAP_DRAWN, settle, valued_trace, wait_visible

pytestmark = pytest.mark.browser

INTAKE = paths.REPO_ROOT / "tests" / "fixtures" / "intake"
PASSWORD = "redaktion-passwort-1"
NEW_DAY_SHOWN = "31.12.2018"
FOLLOW_S = 20  # a running server notices a new current version within about 2 s; generous for a busy machine


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory):
    """Start the app on a new state folder with an editor account; return it with its database."""
    root = tmp_path_factory.mktemp("datenpflege")
    state = root / "state"
    url = f"sqlite:///{state / paths.DATABASE_FILE}"
    accounts = Accounts(url)
    accounts.add("redaktion", "editor", PASSWORD)
    accounts.close()
    port = free_port()
    log_path = root / "server.log"
    # the database starts from the frozen 2016 package (not data/, which may hold other Stichtage)
    env = {**os.environ, paths.STATE_DIR_ENV: str(state), paths.CACHE_DIR_ENV: str(root / "cache"),
           paths.DATABASE_URL_ENV: url, paths.DATA_DIR_ENV: str(FIXTURE_DATA), "PYTHONUNBUFFERED": "1"}
    for name in ("ESSEN_DASH_READ_LOGIN", "ESSEN_DASH_SECRET_KEY"):
        env.pop(name, None)
    with log_path.open("wb") as log_file:
        process = subprocess.Popen([sys.executable, str(paths.REPO_ROOT / "app.py"), "--port", str(port)],
                                   cwd=paths.REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process, log_path)
        yield Server(base, log_path), url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def new_page(browser, server: Server):
    """Return a page in a fresh context (its own cookies) and the record of what it does."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(20_000)
    log = PageLog(server.base_url)
    page.on("console", log.on_console)
    page.on("pageerror", lambda exc: log.page_errors.append(str(exc)))
    page.on("request", log.on_request)
    page.on("requestfinished", log.on_done)
    page.on("requestfailed", log.on_done)
    page.on("response", log.on_response)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(server.base_url)
               else route.abort())
    return context, page, log


def sign_in(page, server: Server, name: str, password: str):
    page.goto(server.base_url + "/datenpflege/")
    assert page.url == f"{server.base_url}/datenpflege/anmelden?weiter=/datenpflege/"
    page.get_by_label("Kontoname").fill(name)
    page.get_by_label("Passwort").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Anmelden").click()


def rows(page, table_id: str) -> list[list[str]]:
    return page.eval_on_selector_all(f"#{table_id} tbody tr",
                                     "trs => trs.map(tr => Array.from(tr.cells).map(td => td.innerText.trim()))")


def offered_stichtage(browser, server: Server) -> tuple[list[str], object]:
    """Open the Karte in a browser context of its own (a second person, anonymous) and return the Stichtage its
    filter offers, and the page."""
    context, page, log = new_page(browser, server)
    page.goto(server.base_url + "/?indicator=non_german_pct")
    wait_visible(page, log, MAP_DRAWN)
    settle(page, log)
    shown = page.locator("#filter-stichtag").is_visible()
    offered = [NEW_DAY_SHOWN] if shown and NEW_DAY_SHOWN in page.locator("#filter-stichtag").inner_text() else []
    return offered, (context, page, log)


def wait_for_stichtag(browser, server: Server, expected: bool):
    """Reload the Karte in a second browser until the new Stichtag is (or is no longer) offered."""
    deadline = time.monotonic() + FOLLOW_S
    while True:
        offered, opened = offered_stichtage(browser, server)
        if bool(offered) == expected:
            return opened
        opened[0].close()
        assert time.monotonic() < deadline, f"Stichtag {NEW_DAY_SHOWN} offered: {offered}\n{tail(server.log_path)}"
        time.sleep(1)


def test_an_editor_publishes_and_rolls_back_a_new_stichtag_in_the_browser(browser, admin_server):
    server, url = admin_server
    store = Store(url)
    context, page, log = new_page(browser, server)
    log.allow_console("error", "status of 422", r".*/datenpflege/hochladen")  # the refused file's report
    sign_in(page, server, "redaktion", PASSWORD)
    assert page.url == server.base_url + "/datenpflege/"
    assert page.locator("h1").inner_text() == "Datenpflege"
    assert axe_violations(page) == []

    # upload a good file: the preview lists the new values and shows their map; nothing is published yet
    page.set_input_files("#datei", str(INTAKE / "bezirke_windows1252.csv"))
    with page.expect_navigation():
        page.get_by_role("button", name="Hochladen und prüfen").click()
    assert re.fullmatch(rf"{server.base_url}/datenpflege/vorschau/[0-9a-f]{{32}}", page.url)
    assert page.locator("#preview-summary").inner_text() == (
        "bezirke_windows1252.csv: 8 Werte (breit) – 8 Werte in der Datei: 8 neu, 0 geändert, 0 unverändert")
    changes = rows(page, "change-table")
    assert len(changes) == 8
    assert ["31.12.2018", "Stadtbezirke", "I", "Anteil nichtdeutscher Bevölkerung", "–", "18,6", "neu"] in changes
    assert ["31.12.2018", "Stadtbezirke", "I", "Anteil Bulgarien/Rumänien an den Nichtdeutschen", "–", "gesperrt",
            "neu"] in changes
    page.wait_for_function("() => { const m = document.querySelector('#preview-map'); "
                           "return m && m.complete && m.naturalWidth > 0; }", timeout=30_000)
    assert page.locator("#preview-map").get_attribute("alt") == (
        "Karte: Anteil Bulgarien/Rumänien an den Nichtdeutschen – Stadtbezirke, Stand 31.12.2018, wie sie nach dem "
        "Veröffentlichen aussähe")
    page.select_option("#karte", label="Anteil nichtdeutscher Bevölkerung – Stadtbezirke, Stand 31.12.2018")
    with page.expect_navigation():
        page.get_by_role("button", name="Karte zeigen").click()
    page.wait_for_function("() => document.querySelector('#preview-map').naturalWidth > 0", timeout=30_000)
    svg = page.request.get(server.base_url + page.locator("#preview-map").get_attribute("src"))
    assert svg.status == 200 and svg.headers["content-type"] == "image/svg+xml; charset=utf-8"
    assert "Anteil nichtdeutscher Bevölkerung" in svg.text() and "Stand 31.12.2018" in svg.text()
    assert axe_violations(page) == []
    assert [v.number for v in store.versions()] == [1]

    # the second person sees only the bundled Stichtag so far
    wait_for_stichtag(browser, server, expected=False)[0].close()

    page.get_by_label("Hinweis zur Version (optional)").fill("Testlieferung (erfunden)")
    with page.expect_navigation():
        page.get_by_role("button", name="Veröffentlichen").click()
    assert page.url == server.base_url + "/datenpflege/"
    assert page.locator(".flash").inner_text() == (
        "bezirke_windows1252.csv als Version 2 veröffentlicht. Das Dashboard zeigt die neuen Daten in wenigen "
        "Sekunden.")
    versions = rows(page, "version-table")
    assert [r[0] for r in versions] == ["2", "1"]
    assert versions[0][2:] == ["redaktion", "bezirke_windows1252.csv", "106", "Testlieferung (erfunden)", "aktuell"]
    assert versions[1][-1] == "Version 1 wieder aktuell machen"

    # a second browser context sees the new Stichtag on the map
    other, other_page, other_log = wait_for_stichtag(browser, server, expected=True)
    assert other_page.locator(f"#{MAP}-heading").inner_text().count("Stand 31.12.2018") == 1
    assert sorted(valued_trace(other_page)["locations"]) == ["I", "II"]  # the areas coloured by a value
    other_log.assert_clean()
    other.close()

    # roll back, with a confirmation
    with page.expect_navigation():
        page.get_by_role("link", name="Version 1 wieder aktuell machen").click()
    assert page.locator("h1").inner_text() == "Version 1 wieder aktuell machen"
    assert axe_violations(page) == []
    with page.expect_navigation():
        page.get_by_role("button", name="Ja, Version 1 aktuell machen").click()
    assert page.locator(".flash").inner_text() == (
        "Version 1 ist jetzt aktuell (alle Versionen bleiben gespeichert).")
    assert [(v.number, v.is_current) for v in store.versions()] == [(2, False), (1, True)]
    other, _, other_log = wait_for_stichtag(browser, server, expected=False)
    other_log.assert_clean()
    other.close()

    # a bad file: every problem listed, nothing published
    page.set_input_files("#datei", str(INTAKE / "bad_unknown_area.csv"))
    with page.expect_navigation():
        page.get_by_role("button", name="Hochladen und prüfen").click()
    assert page.locator("#problems-title").inner_text() == (
        "Prüfbericht: bad_unknown_area.csv abgelehnt, nichts wurde veröffentlicht")
    problems = rows(page, "problem-table")
    assert problems and all(r[0] == "bad_unknown_area.csv" and r[1].isdigit() for r in problems)
    assert any(r[2] == "Stadtteil" for r in problems)
    assert axe_violations(page) == []
    assert [(v.number, v.is_current) for v in store.versions()] == [(2, False), (1, True)]

    # the audit log names every action
    page.get_by_role("link", name="Protokoll").click()
    page.wait_for_url(server.base_url + "/datenpflege/protokoll")
    audit = rows(page, "audit-table")
    assert [r[4] for r in audit] == ["Hochladen abgelehnt", "Zurücksetzen", "Veröffentlichen", "Hochladen",
                                     "Anmeldung"]
    assert {r[2] for r in audit} == {"redaktion"} and {r[3] for r in audit} == {"127.0.0.1"}
    assert audit[1][5] == "Version 1 ist jetzt aktuell (vorher Version 2)"
    assert audit[2][5] == "bezirke_windows1252.csv als Version 2 veröffentlicht; Hinweis: Testlieferung (erfunden)"
    assert axe_violations(page) == []

    # signing out ends the session: the Datenpflege asks for a login again
    with page.expect_navigation():
        page.get_by_role("button", name="Abmelden").click()
    assert page.url == server.base_url + "/datenpflege/anmelden"
    page.goto(server.base_url + "/datenpflege/protokoll")
    assert page.url == f"{server.base_url}/datenpflege/anmelden?weiter=/datenpflege/protokoll"
    log.assert_clean()
    context.close()


def test_wrong_passwords_hit_the_login_limit(browser, admin_server):
    server, url = admin_server
    context, page, log = new_page(browser, server)
    log.allow_console("error", "status of 401", r".*/datenpflege/anmelden")
    log.allow_console("error", "status of 429", r".*/datenpflege/anmelden")
    page.goto(server.base_url + "/datenpflege/anmelden")
    assert axe_violations(page) == []
    statuses = []
    for attempt in range(6):
        page.get_by_label("Kontoname").fill("redaktion")
        page.get_by_label("Passwort").fill(f"falsch-{attempt}-falsch")
        with page.expect_navigation() as nav:
            page.get_by_role("button", name="Anmelden").click()
        statuses.append(nav.value.status)
        message = page.locator(".form-error").inner_text()
    assert statuses == [401, 401, 401, 401, 401, 429]
    assert message == "Zu viele Anmeldeversuche. Bitte eine Minute warten und dann erneut versuchen."
    # within the minute even the right password is refused for this name from this address
    page.get_by_label("Kontoname").fill("redaktion")
    page.get_by_label("Passwort").fill(PASSWORD)
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Anmelden").click()
    assert nav.value.status == 429
    assert axe_violations(page) == []
    audit = [(e.actor, e.action) for e in Accounts(url).audit(limit=8)]
    assert audit[:2] == [("redaktion", "Anmeldung gesperrt"), ("redaktion", "Anmeldung fehlgeschlagen")]
    assert [a for a in audit if a[1] == "Anmeldung fehlgeschlagen"] == [("redaktion", "Anmeldung fehlgeschlagen")] * 5
    log.assert_clean()
    context.close()


def test_the_dashboard_links_the_datenpflege_and_its_login_page_is_accessible(browser, admin_server):
    server, _ = admin_server
    context, page, log = new_page(browser, server)
    page.goto(server.base_url + "/?indicator=non_german_pct")
    wait_visible(page, log, MAP_DRAWN)
    link = page.locator("#footer-datenpflege")
    assert link.inner_text() == "Datenpflege" and link.get_attribute("href") == "/datenpflege/"
    with page.expect_navigation():
        link.click()
    assert page.url == f"{server.base_url}/datenpflege/anmelden?weiter=/datenpflege/"
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator("h1").inner_text() == "Anmelden"
    assert axe_violations(page) == []
    log.assert_clean()
    context.close()
