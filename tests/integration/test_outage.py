"""The outages of issue 10, reproduced on loopback with bounded loops (counts and seconds), must not happen.

Most tests run against ``essen-dash serve`` (gunicorn, two gevent workers) on a private copy of the data; the
renderer's own limits (queue, deadlines, a hanging or stopped Chromium) are also tested in this process on a
fresh :class:`~essen_dash.export.render.Renderer`, never on the shared one.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import requests
from pypdf import PdfWriter

from essen_dash import paths
from essen_dash.export import render

from .test_resilience import free_port

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
#: a normal request must be answered within this many seconds, whatever else arrives
FAST_S = 1.0
DAY = "2016-09-30"
PLOTLY_BUNDLE = "/_dash-component-suites/plotly/package_data/plotly.min.js"
CALLBACK = {"output": "daten-table-area.children", "outputs": {"id": "daten-table-area", "property": "children"},
            "inputs": [{"id": "daten-choice", "property": "value", "value": "bezirke"},
                       {"id": "filter-bezirke", "property": "value", "value": ["I"]}],
            "changedPropIds": ["daten-choice.value"], "state": []}


@dataclass
class Served:
    """A running ``essen-dash serve``: where it answers, its master process, its log."""

    base: str
    port: int
    process: subprocess.Popen
    log: Path

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", errors="replace")

    def workers(self) -> list[int]:
        """Return the pids of the gunicorn workers (the master's children; render helpers are grandchildren)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    pids.append(int(entry.name))
        return sorted(pids)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


@contextmanager
def serving(root: Path, workers: int = 2, env: dict | None = None):
    """Run ``essen-dash serve`` on a copy of the data in ``root``; stop it afterwards."""
    data = root / "data"
    shutil.copytree(paths.DEFAULT_DATA_DIR, data)
    log = root / "server.log"
    port = free_port()
    environment = {**os.environ, paths.DATA_DIR_ENV: str(data), paths.CACHE_DIR_ENV: str(root / "cache"),
                   **(env or {})}
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "essen_dash.cli", "serve", "--port", str(port),
                                    "--workers", str(workers)], env=environment, stdout=out,
                                   stderr=subprocess.STDOUT)
    served = Served(f"http://127.0.0.1:{port}", port, process, log)
    try:
        for _ in range(120):
            try:
                if requests.get(served.base + "/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        else:
            pytest.fail("server did not start:\n" + log.read_text())
        yield served
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("outage")) as served:
        yield served


class Probe:
    """Send normal requests (a Dash callback and /health, in turn) every ``pause_s`` and keep their times."""

    def __init__(self, base: str, pause_s: float = 0.1) -> None:
        self.base, self.pause_s = base, pause_s
        self.times: list[tuple[str, float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            for kind in ("callback", "health"):
                start = time.perf_counter()
                try:
                    if kind == "callback":
                        status = session.post(self.base + "/_dash-update-component", json=CALLBACK,
                                              timeout=30).status_code
                    else:
                        status = session.get(self.base + "/health", timeout=30).status_code
                except requests.RequestException:
                    status = 0
                self.times.append((kind, time.perf_counter() - start, status))
            self._stop.wait(self.pause_s)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def assert_fast(self, minimum: int) -> None:
        assert len(self.times) >= minimum, f"only {len(self.times)} probes answered"
        assert {status for _, _, status in self.times} == {200}, self.times
        slow = [(kind, round(t, 3)) for kind, t, _ in self.times if t >= FAST_S]
        assert not slow, f"normal requests slower than {FAST_S} s: {slow}"


# --- 1. exports as bounded work --------------------------------------------------------------------------------

def test_abandoned_packs_neither_block_nor_keep_rendering(server):
    """16 pack requests whose clients give up after 1 s: the excess is refused at once (503, Retry-After),
    callbacks and /health stay under 1 s, and the abandoned work is dropped (an export right after is served)."""
    answers: list[requests.Response | None] = [None] * 16

    def pack(i: int) -> None:
        try:
            answers[i] = requests.get(server.base + "/download/pack", timeout=1,
                                      params={"bezirk": "I,III" if i % 2 else "III", "stichtag": DAY,
                                              "format": "zip" if i % 3 else "pdf"})
        except requests.RequestException:
            pass  # the client gives up after 1 s, as in the issue

    start = server.log_size()
    with Probe(server.base) as probe:
        time.sleep(0.3)
        threads = [threading.Thread(target=pack, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(5)
    probe.assert_fast(minimum=30)
    refused = [a for a in answers if a is not None]
    # two workers, each rendering one export with three waiting: at least 8 of 16 are refused at once
    assert len(refused) >= 8, [a and a.status_code for a in answers]
    for answer in refused:
        assert answer.status_code == 503
        assert answer.headers["Retry-After"].isdigit()
        assert "Export ausgelastet" in answer.text and "Sekunden erneut versuchen" in answer.text
    # the abandoned packs were dropped, not rendered to the end: both workers take new exports at once
    for _ in range(4):
        response = requests.get(server.base + "/download/chart", timeout=30,
                                params={"page": "karte", "format": "svg", "stichtag": DAY})
        assert response.status_code == 200, response.text[:300]
    log = server.log_since(start)
    assert "Traceback" not in log
    assert "Client hat die Verbindung beendet" in log


def test_head_on_downloads_never_renders(server):
    """HEAD answers the headers of the file in milliseconds (a pack takes seconds to render)."""
    start = time.perf_counter()
    for _ in range(10):
        response = requests.head(server.base + "/download/pack", params={"bezirk": "III", "stichtag": DAY},
                                 timeout=5)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.headers["Content-Disposition"] == \
            'attachment; filename="essen-bezirkspaket_III_2016-09-30.pdf"'
        assert response.content == b""
        chart = requests.head(server.base + "/download/chart", params={"page": "karte", "format": "png"}, timeout=5)
        assert chart.status_code == 200 and chart.headers["Content-Type"] == "image/png"
    assert time.perf_counter() - start < 3
    assert requests.head(server.base + "/download/pack", params={"bezirk": "XYZ"}, timeout=5).status_code == 400


class Holding(render.Renderer):
    """A renderer whose figures take ``seconds`` each and come out as a blank PDF page (no Chromium)."""

    def __init__(self, seconds: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.seconds, self.rendered = seconds, 0

    def _render_locked(self, st, requests, job):
        for _ in requests:  # each figure is asked for only when the one before is done
            time.sleep(self.seconds)
            self.rendered += 1
            writer, out = PdfWriter(), io.BytesIO()
            writer.add_blank_page(width=842, height=596)
            writer.write(out)
            yield out.getvalue()


def test_queue_is_short_and_drops_waiting_work():
    """One export renders, one waits; a third is refused at once; a waiting export is dropped when its wait is
    over or when its client goes away."""
    renderer = Holding(max_running=1, max_waiting=1)
    release, holding = threading.Event(), threading.Event()

    def hold() -> None:
        with renderer.admit(render.Job(30)):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(5)
    outcome: dict[str, object] = {}

    def wait_in_queue(name: str, job: render.Job) -> None:
        start = time.monotonic()
        try:
            with renderer.admit(job):
                outcome[name] = "admitted"
        except (render.ExportBusy, render.ClientGone) as exc:
            outcome[name] = exc
        outcome[name + "_s"] = time.monotonic() - start

    waiting = threading.Thread(target=wait_in_queue, args=("timed", render.Job(30, queue_s=0.8)))
    waiting.start()
    time.sleep(0.2)
    start = time.monotonic()
    with pytest.raises(render.ExportBusy, match="Export ausgelastet") as refused:
        with renderer.admit(render.Job(30)):
            pass
    assert time.monotonic() - start < 0.1 and refused.value.retry_after == render.BUSY_RETRY_S
    waiting.join(5)
    assert isinstance(outcome["timed"], render.ExportBusy) and 0.7 < outcome["timed_s"] < 1.5
    gone = threading.Event()
    waiting = threading.Thread(target=wait_in_queue, args=("gone", render.Job(30, client_gone=gone.is_set)))
    waiting.start()
    time.sleep(0.3)
    gone.set()
    waiting.join(5)
    assert isinstance(outcome["gone"], render.ClientGone) and outcome["gone_s"] < 0.3 + 2 * render.POLL_S
    release.set()
    holder.join(5)
    assert renderer.load() == (0, 0)
    with renderer.admit(render.Job(30)):  # free again
        assert renderer.load() == (1, 0)


def test_pack_checks_client_and_deadline_between_pages():
    from essen_dash.data import load_app_data
    from essen_dash.export.pack import pack_pdf

    data = load_app_data(paths.settings())
    day = date.fromisoformat(DAY)
    # the client leaves after the second page: the third is never rendered
    checks = iter([False, False, True])
    stopped = Holding()
    with pytest.raises(render.ClientGone):
        pack_pdf(data, ["III"], day, renderer=stopped, job=render.Job(60, client_gone=lambda: next(checks)))
    assert stopped.rendered == 2
    # a budget of 1 s at 0.3 s per page: the pack stops after three or four of its twelve pages
    slow = Holding(seconds=0.3)
    start = time.monotonic()
    with pytest.raises(render.ExportTimeout, match="Export abgebrochen"):
        pack_pdf(data, ["III"], day, renderer=slow, job=render.Job(1.0))
    assert 3 <= slow.rendered <= 4 and time.monotonic() - start < 3


def test_stalled_chromium_times_out_and_the_renderer_is_reset(monkeypatch):
    """A Chromium that stops answering mid-export costs the render timeout, then it is killed and replaced."""
    import plotly.graph_objects as go

    renderer = render.Renderer()
    figure = go.Figure(go.Bar(y=[1, 2, 3]))
    try:
        assert renderer.render(figure, render.FORMATS["png"])[:4] == b"\x89PNG"  # started and warm
        helper = renderer._local().helper
        os.killpg(helper.browser_pid, signal.SIGSTOP)  # Chromium hangs
        monkeypatch.setattr(render, "CHART_TIMEOUT_S", 3.0)
        start = time.monotonic()
        with pytest.raises(render.ExportTimeout):
            renderer.render(figure, render.FORMATS["png"])
        assert time.monotonic() - start < 5
        assert helper.process.poll() is not None  # the helper is gone, Chromium was killed with it
        monkeypatch.setattr(render, "CHART_TIMEOUT_S", 20.0)
        assert renderer.render(figure, render.FORMATS["png"])[:4] == b"\x89PNG"  # a fresh one
        assert renderer._local().helper is not helper
    finally:
        renderer.close()


def test_chromium_that_hangs_at_start_answers_503_within_10_s(tmp_path, monkeypatch):
    """A Chromium that never answers is given up after the start timeout (8 s in production, 3 s here), and
    killed with its helper; the next export tries again (a start that was only slow may have met a busy machine),
    where one that failed is not tried again for a while."""
    import plotly.graph_objects as go

    assert render.START_TIMEOUT_S + 1 < 10  # the start timeout plus the helper's own start stay under 10 s
    monkeypatch.setattr(render, "START_TIMEOUT_S", 3.0)
    hanging = tmp_path / "chromium"
    hanging.write_text("#!/bin/sh\nsleep 6011\n")  # never answers on the DevTools pipe
    hanging.chmod(0o755)
    monkeypatch.setenv("BROWSER_PATH", str(hanging))
    renderer = render.Renderer()
    start = time.monotonic()
    with pytest.raises(render.ExportUnavailable, match="Debian-Paket „chromium“"):
        renderer.render(go.Figure(), render.FORMATS["png"])
    assert time.monotonic() - start < render.START_TIMEOUT_S + 2
    assert renderer._local().broken_until < time.monotonic()
    time.sleep(0.5)
    for pattern in ("sleep 6011", str(hanging)):  # the browser and its shell were killed with the helper
        assert subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 1, pattern
    renderer.close()


def test_broken_chromium_answers_503_fast_and_recovers(tmp_path):
    """BROWSER_PATH at /bin/false: every export answers 503 naming the package within 10 s, /health stays
    healthy; once Chromium works again, exports are served again."""
    link = tmp_path / "chromium"
    link.symlink_to("/bin/false")
    with serving(tmp_path, workers=1, env={"BROWSER_PATH": str(link)}) as served:
        chart = {"page": "karte", "format": "png", "stichtag": DAY}
        for _ in range(5):
            start = time.monotonic()
            response = requests.get(served.base + "/download/chart", params=chart, timeout=15)
            assert time.monotonic() - start < 10
            assert response.status_code == 503
            assert "Debian-Paket „chromium“" in response.text and "apt-get install chromium" in response.text
            assert response.headers["Retry-After"].isdigit()
            start = time.monotonic()
            assert requests.get(served.base + "/health", timeout=5).status_code == 200
            assert time.monotonic() - start < FAST_S
        replacement = tmp_path / "chromium.new"
        replacement.symlink_to(CHROMIUM)
        os.replace(replacement, link)  # Chromium installed again
        deadline = time.monotonic() + 30
        while True:
            response = requests.get(served.base + "/download/chart", params=chart, timeout=30)
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(min(int(response.headers.get("Retry-After", "1")), 2))
        assert response.status_code == 200, response.text
        assert response.content[:4] == b"\x89PNG"
        assert "Traceback" not in served.log.read_text()


def test_cli_export_with_broken_chromium_ends_quickly(tmp_path):
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "essen_dash.cli", "export", "--page", "karte", "--format", "png",
                             "--out", str(tmp_path / "x.png")], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "BROWSER_PATH": "/bin/false"})
    assert time.monotonic() - start < 20
    assert result.returncode == 1 and "Debian-Paket „chromium“" in result.stderr
    assert "Traceback" not in result.stderr


# --- 2. bounded caches --------------------------------------------------------------------------------------------

def test_cache_busting_urls_on_static_files(server):
    """3,000 distinct ``?x=N`` URLs on plotly's bundle: worker memory grows by less than 50 MB and normal requests
    stay under 1 s."""
    for _ in range(6):  # every worker has compressed the bundle once (brotli) before the baseline
        assert requests.get(server.base + PLOTLY_BUNDLE, headers={"Accept-Encoding": "br"},
                            timeout=30).status_code == 200
    workers = server.workers()
    assert len(workers) == 2
    before = sum(rss_mb(pid) for pid in workers)
    local = threading.local()

    def fetch(i: int) -> int:
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        local.connection.request("GET", f"{PLOTLY_BUNDLE}?x={i}", headers={"Accept-Encoding": "br"})
        response = local.connection.getresponse()
        response.read()  # compressed bytes as sent; decoding them would only load this test's CPU
        return response.status

    start = time.monotonic()
    with Probe(server.base, pause_s=0.2) as probe, ThreadPoolExecutor(max_workers=3) as pool:
        statuses = list(pool.map(fetch, range(3000)))
    elapsed = time.monotonic() - start
    grown = sum(rss_mb(pid) for pid in workers) - before
    assert statuses == [200] * 3000
    assert grown < 50, f"workers grew by {grown:.0f} MB"
    assert elapsed < 75, f"3,000 requests took {elapsed:.0f} s"
    probe.assert_fast(minimum=20)


def test_compression_cache_key_and_bound():
    from essen_dash.app import StaticCompressionCache

    class Request:
        def __init__(self, path: str) -> None:
            self.path = path

    key = StaticCompressionCache.key
    plain = key(Request("/_dash-component-suites/plotly/package_data/plotly.min.js"))
    assert key(Request("/_dash-component-suites/plotly/package_data/plotly.v7_1_0m1795402799.min.js")) == plain
    assert key(Request("/_dash-component-suites/plotly/package_data/plotly.v1m2.min.js")) == plain
    assert key(Request("/assets/style.css")) == "static /assets/style.css"
    assert key(Request("/_dash-update-component")) == "dynamic"
    cache = StaticCompressionCache(max_bytes=1000)
    for i in range(50):
        cache.set(f"br;static /assets/{i}.js", b"x" * 100)
    assert cache.size <= 1000 and len(cache) == 10
    assert cache.get("br;static /assets/49.js") == b"x" * 100 and cache.get("br;static /assets/0.js") is None
    cache.set("br;dynamic", b"y" * 10)
    assert cache.get("br;dynamic") is None


# --- 3. slow clients ---------------------------------------------------------------------------------------------

def test_slow_header_connections(server):
    """200 connections that send part of a request line and then nothing: /health answers within 1 s, and the
    server closes them once they had their time to send the headers."""
    sockets = []
    try:
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(b"GET /hea")
            sockets.append(sock)
        times = []
        for _ in range(8):
            start = time.monotonic()
            assert requests.get(server.base + "/health", timeout=5).status_code == 200
            times.append(time.monotonic() - start)
            time.sleep(0.3)
        assert max(times) <= FAST_S, times
        deadline = time.monotonic() + 15
        open_ = list(sockets)
        while open_ and time.monotonic() < deadline:
            still = []
            for sock in open_:
                sock.settimeout(0.01)
                try:
                    if sock.recv(1) != b"":
                        still.append(sock)
                except TimeoutError:
                    still.append(sock)
                except OSError:
                    pass
            open_ = still
            time.sleep(0.5)
        assert not open_, f"{len(open_)} of 200 slow connections still open after 15 s"
    finally:
        for sock in sockets:
            sock.close()


# --- 4. quiet logs ------------------------------------------------------------------------------------------------

def test_refused_requests_log_one_line_each_rate_limited(server):
    """150 malformed callbacks and 150 malformed HTTP requests: no traceback, one line per refusal with method,
    path, status and reason, at most 20 lines per 10 s and worker, then one line saying more were suppressed."""
    start = server.log_size()
    for i in range(150):
        response = requests.post(server.base + "/_dash-update-component", timeout=10,
                                 json={"output": "..karte-map.figure..", "inputs": [{"id": "x", "property": "y"}]})
        assert response.status_code == 400
    for i in range(150):  # refused by gunicorn before the app sees them
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GARBAGE %d\r\n\r\n" % i)
            assert sock.recv(100).startswith(b"HTTP/1.1 400")
    time.sleep(0.5)
    lines = server.log_since(start).splitlines()
    assert "Traceback" not in "\n".join(lines)
    refusals = [line for line in lines if "POST /_dash-update-component 400 – " in line]
    assert refusals, lines[:5]
    assert all("ungültige Anfrage an das Dashboard: " in line for line in refusals)
    assert any("Invalid request from" in line for line in lines)
    # two workers and two kinds, at most 20 lines each per 10 s (a burst may straddle two windows), then one
    assert len(lines) <= 2 * 2 * 2 * (20 + 1), len(lines)
    assert sum("weitere unterdrückt" in line for line in lines) >= 2, lines[-5:]


# --- 5. headers ---------------------------------------------------------------------------------------------------

def inline_scripts(page: str) -> list[str]:
    """Return the executable inline scripts of a page (no ``src``, no data block, not inside a comment)."""
    page = re.sub(r"<!--.*?-->", "", page, flags=re.S)
    scripts = []
    for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S):
        if "src=" in attrs or "application/json" in attrs:
            continue
        scripts.append(body)
    return scripts


def test_content_security_policy_allows_exactly_dashs_inline_scripts(server):
    response = requests.get(server.base + "/", timeout=10)
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    script_src = policy["script-src"].split()
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    scripts = inline_scripts(response.text)
    assert len(scripts) >= 2  # the renderer start and the clientside callbacks
    for body in scripts:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src, body[:200]
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'self'"
    permissions = response.headers["Permissions-Policy"]
    for feature in ("geolocation", "camera", "microphone", "usb", "payment"):
        assert f"{feature}=()" in permissions
    config = json.loads(re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>',
                                  response.text).group(1))
    assert "python_version" not in config and "plotly_version" not in config
    assert sys.version.split()[0] not in response.text


def test_development_server_announces_no_versions(monkeypatch):
    """``python app.py`` (Dash → Flask → werkzeug's ``run_simple``) uses a request handler without the
    ``Server: Werkzeug/… Python/…`` banner, also on answers http.server gives itself."""
    import werkzeug.serving

    from essen_dash.app import AppServer

    used = {}
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda *args, **kwargs: used.update(kwargs))
    app = AppServer(__name__)
    app.run(host="127.0.0.1", port=1)
    app.add_url_rule("/", "index", lambda: "ok")
    app.after_request(lambda response: response.headers.__setitem__("Server", "essen-dash") or response)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True, request_handler=used["request_handler"])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        answers = []
        # a normal request, and more header lines than http.server accepts (it answers 431 itself)
        for request in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                        b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n"):
            with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as sock:
                sock.sendall(request)
                answers.append(sock.recv(65536).decode("latin-1"))
    finally:
        server.shutdown()
    ok, refused = answers
    assert ok.startswith("HTTP/1.1 200") and refused.startswith("HTTP/1.1 431")
    assert re.findall(r"(?im)^Server:[^\r\n]*", ok) == ["Server: essen-dash"]
    for answer in answers:
        assert "Werkzeug" not in answer and "Python" not in answer
