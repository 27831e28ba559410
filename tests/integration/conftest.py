"""Browser fixtures: the real app in a subprocess, Debian's Chromium through Playwright, a watched page."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from essen_dash import paths

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
STARTUP_TIMEOUT_S = 40
PAGE_TIMEOUT_MS = 15_000
LOG_TAIL_LINES = 100
SCREENSHOT_DIR = paths.REPO_ROOT / "test-artifacts" / "screenshots"
#: how many tests using the app server failed (its log is printed at the end if any did)
FAILED_WITH_APP = pytest.StashKey[int]()
IGNORED_SCHEMES = ("data:", "blob:", "about:")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    """Poll /health until it answers 200; fail with the server log if it never does."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"app exited with {process.returncode}:\n{tail(log_path)}")
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    pytest.fail(f"app did not answer /health within {STARTUP_TIMEOUT_S} s:\n{tail(log_path)}")


def tail(log_path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Return the last lines of the server log."""
    text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Server:
    """The running app: where it answers and where it writes its log."""

    base_url: str
    log_path: Path

    def log_size(self) -> int:
        """Return the log's current length in bytes."""
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        """Return what the server logged after ``offset``."""
        with self.log_path.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", errors="replace")


@pytest.fixture(scope="session")
def app_server(request, tmp_path_factory) -> Server:
    """Start ``app.py`` on a free port with a temporary geometry cache; stop it after the session."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    env = {**os.environ, paths.CACHE_DIR_ENV: str(tmp_path_factory.getbasetemp() / "cache"),
           paths.STATE_DIR_ENV: str(tmp_path_factory.mktemp("state")), "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as log_file:
        process = subprocess.Popen([sys.executable, str(paths.REPO_ROOT / "app.py"), "--port", str(port)],
                                   cwd=paths.REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        wait_for_health(base_url, process, log_path)
        yield Server(base_url, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if request.session.stash.get(FAILED_WITH_APP, 0):
            print(f"\n--- last {LOG_TAIL_LINES} lines of the server log ({log_path}) ---\n{tail(log_path)}")


@pytest.fixture(scope="session")
def browser():
    """Launch Debian's Chromium headless (Playwright never downloads a browser here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@dataclass
class PageLog:
    """What one page did: console errors and warnings, page errors, requests, requests in flight."""

    base_url: str
    console: list[tuple[str, str, str]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    in_flight: int = 0
    #: (type, text pattern, location URL pattern) of console messages a test expects
    allowed: list[tuple[str, re.Pattern, re.Pattern]] = field(default_factory=list)

    def on_console(self, message) -> None:
        if message.type in ("error", "warning"):
            self.console.append((message.type, message.text, (message.location or {}).get("url", "")))

    def on_request(self, req) -> None:
        self.in_flight += 1
        self.requests.append(req.url)
        if not req.url.startswith(self.base_url) and not req.url.startswith(IGNORED_SCHEMES):
            self.external.append(req.url)

    def on_done(self, _req) -> None:
        self.in_flight -= 1

    def on_response(self, response) -> None:
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.request.method} {response.url}")

    def allow_console(self, kind: str, text: str, url: str = ".*") -> None:
        """Accept console messages of this type whose text and location URL match (regular expressions)."""
        self.allowed.append((kind, re.compile(text), re.compile(url)))

    def unexpected_console(self) -> list[tuple[str, str, str]]:
        """Return the console errors and warnings no test declared as expected."""
        return [m for m in self.console
                if not any(m[0] == k and t.search(m[1]) and u.fullmatch(m[2]) for k, t, u in self.allowed)]

    def requests_to(self, path_prefix: str, start: int = 0) -> list[str]:
        """Return the requests (from index ``start`` on) to a path of the app starting with ``path_prefix``."""
        return [u for u in self.requests[start:] if u.startswith(self.base_url + path_prefix)]

    def assert_clean(self) -> None:
        """Fail on console errors/warnings, page errors and any request leaving the app's origin."""
        assert not self.server_errors, f"server errors: {self.server_errors}"
        assert not self.page_errors, f"page errors: {self.page_errors}"
        assert not self.unexpected_console(), f"console errors/warnings: {self.unexpected_console()}"
        assert not self.external, f"external requests (the app must run offline): {self.external}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures know whether the test itself failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    if report.failed and "app_server" in getattr(item, "fixturenames", ()):
        item.session.stash[FAILED_WITH_APP] = item.session.stash.get(FAILED_WITH_APP, 0) + 1
    return report


@pytest.fixture
def page_log(app_server) -> PageLog:
    """Return the record of what the current test's page does."""
    return PageLog(app_server.base_url)


@pytest.fixture
def page(browser, app_server, page_log, request):
    """Open a fresh page; after a passing test, assert it stayed clean and the server logged no traceback."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="de-DE")
    pg = context.new_page()
    pg.set_default_timeout(PAGE_TIMEOUT_MS)
    pg.on("console", page_log.on_console)
    pg.on("pageerror", lambda exc: page_log.page_errors.append(str(exc)))
    pg.on("request", page_log.on_request)
    pg.on("requestfinished", page_log.on_done)
    pg.on("requestfailed", page_log.on_done)
    pg.on("response", page_log.on_response)
    # Nothing may leave the app's origin: such requests are recorded (on_request) and aborted here.
    pg.route("**/*", lambda route: route.continue_() if route.request.url.startswith(app_server.base_url)
             else route.abort())
    log_start = app_server.log_size()
    yield pg
    try:
        call = getattr(request.node, "report_call", None)
        if call is not None and call.passed:
            pg.wait_for_timeout(200)  # let late console messages arrive
            page_log.assert_clean()
            server_log = app_server.log_since(log_start)
            assert "Traceback" not in server_log, f"server raised during the test:\n{server_log[-5000:]}"
    finally:
        context.close()


@pytest.fixture(scope="session")
def app_tables():
    """Return the tables the app serves (same folder resolution as the server)."""
    from essen_dash.tables.load import load_tables

    return load_tables(paths.settings().data_dir)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Return the (gitignored) folder for page screenshots."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
