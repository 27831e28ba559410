"""Static export through kaleido with the system's Chromium, as bounded work that cannot stop the server.

Each server process renders in one helper process of its own (``python -c … child_main``): a warm kaleido
with one Chromium, answering one figure at a time over a pipe. Nothing of kaleido runs in the server
process itself, so a Chromium that hangs or never starts can only ever cost a bounded wait: every wait on
the helper has a deadline, after which the helper and its Chromium are killed (the renderer is reset) and
the next export starts a fresh one. This also keeps kaleido's threads and asyncio loop out of gunicorn's
gevent workers.

A district pack streams its pages through the helper: up to :data:`PIPELINE` figures are in the helper at
once, rendered side by side in kaleido's :data:`TABS` tabs (kaleido's own parallelism), so one tab's
figure is drawn while the other is collected. kaleido reloads a tab's page (and with it plotly.js) after
every figure, which took two thirds of a page's time; the helper reloads it after every
:data:`RELOAD_EVERY` figures instead, and after a figure that failed (:func:`_kaleido`). Rendered files
are kept in a bounded cache by what they show (:class:`Rendered`): a chart or a pack asked for twice is
rendered once.

Around that, :meth:`Renderer.admit` bounds the work a process takes on: one export renders, a few wait
(:data:`MAX_WAITING`), anything beyond is refused at once (:class:`ExportBusy`, HTTP 503 with
``Retry-After``). A waiting export is dropped when its client has gone or its wait is over; a running one
checks its deadline and its client before every figure, so a district pack stops between pages.

Everything is local: the app's own plotly.js (:data:`essen_dash.paths.PLOTLY_JS`), no MathJax, and the base-map
topology from the app's own assets.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import pickle
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from essen_dash import paths

DEFAULT_BROWSER = "/usr/bin/chromium"
TOPOJSON_URL = (Path(__file__).resolve().parents[1] / "assets" / "topojson").as_uri() + "/"

#: Exports that render at the same time in one process, and how many more may wait for them.
MAX_RUNNING = 1
MAX_WAITING = 3
#: How much lower the helper process and its Chromium run than the server's workers (``nice``).
HELPER_NICENESS = 10
#: Longest wait in the queue before an export is refused (seconds).
QUEUE_WAIT_S = 15.0
#: Time budget of one chart, of a district pack (seconds, from leaving the queue).
CHART_TIMEOUT_S = 20.0
PACK_TIMEOUT_S = 60.0
#: Longest wait for a fresh Chromium to be ready, and how long a Chromium that failed to start is not tried
#: again (exports are refused at once meanwhile).
START_TIMEOUT_S = 8.0
BROKEN_RETRY_S = 5
#: Retry-After of an export refused because others are running.
BUSY_RETRY_S = 10
#: How often a waiting export looks whether its client is still there (seconds).
POLL_S = 0.25
#: Largest message accepted from the helper (a rendered file).
MAX_FRAME_BYTES = 256 * 1024 * 1024
#: Tabs of the helper's Chromium that render side by side, and figures sent ahead to the helper (a pack's next
#: page is drawn while the last one is collected; more than the tabs would only wait inside the helper).
TABS = 2
PIPELINE = 2
#: Figures a tab renders before its page is reloaded (every figure draws into a fresh element of its own and
#: sets the page's size and image itself; the reload only bounds what a long-lived page may accumulate).
RELOAD_EVERY = 50
#: Largest size of the cache of rendered files per process (bytes).
CACHE_BYTES = 64 * 1024 * 1024

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Format:
    """One export format: media type, page size in CSS pixels and scale."""

    key: str
    media_type: str
    width: int
    height: int
    scale: float
    label: str


FORMATS: dict[str, Format] = {
    f.key: f
    for f in (
        # 16:9 slide: 1280×720 layout at scale 1.5 = 1920×1080 pixels, type sized for a projector
        Format("png", "image/png", 1280, 720, 1.5, "PNG (Folie 16:9, 1920×1080)"),
        Format("svg", "image/svg+xml", 1280, 720, 1, "SVG (16:9, skalierbar)"),
        # A4 landscape at 96 px per inch: 297 × 210 mm
        Format("pdf", "application/pdf", 1123, 794, 1, "PDF (A4 quer)"),
    )
}


# --- what can go wrong, in German for the answer ------------------------------------------------------------

class ExportUnavailable(RuntimeError):
    """Static export cannot run now (HTTP 503); the rest of the app keeps working.

    ``retry_after`` is the advice for the client (seconds); ``reason`` a short note for the log.
    """

    def __init__(self, message: str, retry_after: int = 60, reason: str = "") -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.reason = reason or message


class ExportBusy(ExportUnavailable):
    """Too many exports at once, or the wait in the queue is over."""


class ExportTimeout(ExportUnavailable):
    """The export took longer than its budget; the renderer was reset."""


class ClientGone(Exception):
    """The client of an export closed its connection: nothing is rendered for it any more."""


def package_hint(path: str) -> str:
    return (f"Bitte das Debian-Paket „chromium“ installieren (apt-get install chromium) oder BROWSER_PATH auf "
            f"einen funktionierenden Chromium setzen (derzeit {path}).")


def browser_path() -> str:
    """Return the Chromium to use, or raise naming the Debian package to install."""
    path = os.environ.get("BROWSER_PATH") or DEFAULT_BROWSER
    if not (Path(path).is_file() or shutil.which(path)):
        raise ExportUnavailable(
            f"Export nicht möglich: kein Chromium unter {path}. Bitte das Debian-Paket „chromium“ installieren "
            "(apt-get install chromium) oder BROWSER_PATH auf einen Chromium setzen.",
            retry_after=BROKEN_RETRY_S, reason=f"kein Chromium unter {path}")
    return path


def offload(fn: Callable, *args):
    """Return ``fn(*args)``, run in a real OS thread when this process is a gevent worker.

    Building a district pack's figures is a second of pure Python; in a greenlet it would hold the whole
    worker. In an OS thread the interpreter switches away every few milliseconds, so the worker's other
    connections (``/health``, callbacks) keep being answered.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        import gevent

        return gevent.get_hub().threadpool.apply(fn, args)
    return fn(*args)


# --- one export's budget -------------------------------------------------------------------------------------

def _never() -> bool:
    return False


@dataclass
class Job:
    """The time one export may take, and how to tell that its client has gone.

    The budget starts when the export leaves the queue (:meth:`Renderer.admit`), or at its first figure
    when it was not queued (command line).
    """

    budget_s: float = CHART_TIMEOUT_S
    client_gone: Callable[[], bool] = _never
    queue_s: float = QUEUE_WAIT_S
    arrived: float = field(default_factory=time.monotonic)
    deadline: float | None = None

    def start(self) -> None:
        if self.deadline is None:
            self.deadline = time.monotonic() + self.budget_s

    def remaining(self) -> float:
        self.start()
        return self.deadline - time.monotonic()

    def check(self) -> None:
        """Raise if the client has gone or the budget is spent (called before every figure)."""
        if self.client_gone():
            raise ClientGone()
        if self.remaining() <= 0:
            raise ExportTimeout(
                f"Export abgebrochen: die Datei war nach {self.budget_s:.0f} Sekunden nicht fertig. "
                "Bitte später erneut versuchen.", retry_after=BUSY_RETRY_S,
                reason=f"Zeitbudget von {self.budget_s:.0f} s überschritten")


# --- the helper process: framing -----------------------------------------------------------------------------

class _Timeout(Exception):
    pass


class _Dead(Exception):
    pass


def _frame(message) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return struct.pack(">I", len(body)) + body


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    """Read ``n`` bytes from a pipe, waiting at most until ``deadline`` (``select`` is cooperative under
    gevent, so a waiting export never blocks the worker)."""
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Timeout()
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise _Timeout()
        try:
            chunk = os.read(fd, min(n - got, 1 << 20))
        except BlockingIOError:
            continue
        except OSError as exc:
            raise _Dead(str(exc)) from None
        if not chunk:
            raise _Dead("Ende der Verbindung")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int, deadline: float | None):
    (size,) = struct.unpack(">I", _read_exact(fd, 4, deadline))
    if size > MAX_FRAME_BYTES:
        raise _Dead(f"Nachricht zu groß ({size} Bytes)")
    return pickle.loads(_read_exact(fd, size, deadline))


def _write_all(fd: int, data: bytes, deadline: float | None) -> None:
    view = memoryview(data)
    while view:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Timeout()
            _, ready, _ = select.select([], [fd], [], remaining)
            if not ready:
                raise _Timeout()
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            continue
        except OSError as exc:
            raise _Dead(str(exc)) from None


def _kill_group(pid: int | None) -> None:
    if pid:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)


# --- the helper process: parent side ---------------------------------------------------------------------------

#: The helper's program: this module, found like the server found it (the package folder is appended last,
#: so a checkout run in place works and nothing installed is shadowed).
CHILD_COMMAND = (f"import sys; sys.path.append({str(Path(__file__).resolve().parents[2])!r}); "
                 "from essen_dash.export.render import child_main; child_main()")


class _BrowserFailed(Exception):
    def __init__(self, reason: str, *, slow: bool = False):
        super().__init__(reason)
        #: whether Chromium only did not get ready in time (on a busy machine too), rather than failing
        self.slow = slow


class _Helper:
    """One helper process and its Chromium, started now; ready when the constructor returns."""

    def __init__(self, browser: str, deadline: float) -> None:
        self.browser = browser
        self.sent = 0  # figures handed over so far: the number of the last one
        self.tmp = tempfile.mkdtemp(prefix="essen-dash-render-")
        self.browser_pid: int | None = None
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        env = {**os.environ, "TMPDIR": self.tmp}
        try:
            # its own session: the helper and what it starts are killed as one group
            self.process = subprocess.Popen([sys.executable, "-c", CHILD_COMMAND, browser, self.tmp],
                                            stdin=to_child_r, stdout=from_child_w, stderr=subprocess.DEVNULL,
                                            env=env, start_new_session=True, close_fds=True)
        except BaseException:
            for fd in (self._to_child, self._from_child):
                os.close(fd)
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        os.set_blocking(self._to_child, False)
        os.set_blocking(self._from_child, False)
        try:
            reply = _read_frame(self._from_child, deadline)
            if reply[0] == "browser":  # Chromium launched: from now on it can be killed with the helper
                self.browser_pid = reply[1]
                reply = _read_frame(self._from_child, deadline)
        except (_Timeout, _Dead) as exc:
            self.kill()
            if isinstance(exc, _Timeout):
                raise _BrowserFailed("startet nicht rechtzeitig", slow=True) from None
            raise _BrowserFailed("Hilfsprozess beendet") from None
        except BaseException:
            self.kill()
            raise
        if reply[0] != "ready":
            self.kill()
            raise _BrowserFailed(reply[1])

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, request: dict, deadline: float) -> int:
        """Hand one figure to the helper; return its number (answers may come back in another order)."""
        self.sent += 1
        _write_all(self._to_child, _frame({**request, "id": self.sent}), deadline)
        return self.sent

    def receive(self, deadline: float) -> tuple[int, bytes | None, str]:
        """Return the next answer: (number, file, "") or (number, None, what went wrong with that figure).

        Raise :class:`_Timeout` or :class:`_Dead` (the caller then kills the helper). An answer to a figure of
        an export that was given up comes back like any other; its number tells the caller to drop it.
        """
        reply = _read_frame(self._from_child, deadline)
        if reply[0] == "ok":
            return reply[1], reply[2], ""
        return reply[1], None, reply[2]

    def kill(self) -> None:
        """Kill the helper and its Chromium at once and remove their temporary files."""
        _kill_group(self.browser_pid)
        _kill_group(self.process.pid)
        self._finish(wait_s=2.0)

    def close(self, grace_s: float = 5.0) -> None:
        """Let the helper close its Chromium (end of input), kill both if that takes longer than ``grace_s``."""
        with contextlib.suppress(OSError):
            os.close(self._to_child)
        self._to_child = -1
        try:
            self.process.wait(timeout=grace_s)  # the helper closes its Chromium itself
        except subprocess.TimeoutExpired:
            _kill_group(self.browser_pid)
            _kill_group(self.process.pid)
        self._finish(wait_s=2.0)

    def _finish(self, wait_s: float) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=wait_s)
        for fd in (self._to_child, self._from_child):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._to_child = self._from_child = -1
        shutil.rmtree(self.tmp, ignore_errors=True)


# --- the helper process: child side ----------------------------------------------------------------------------

def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def child_main() -> None:
    """Run the helper: one warm Chromium rendering in :data:`TABS` tabs, requests on fd 0, numbered answers on
    fd 1 as each figure is done.

    Ends when the server process closes the pipe (or dies); its Chromium goes with it.
    """
    import asyncio

    browser, tmp = sys.argv[1], sys.argv[2]
    # rendering is batch work: on a busy machine the kernel runs the workers' pages and callbacks first
    # (Chromium, started from here, inherits the priority and may not raise it)
    _keep_priority_for_programs_started()
    os.nice(HELPER_NICENESS)
    out = os.dup(1)
    os.dup2(2, 1)  # stray output of libraries never enters the answers
    os.set_blocking(0, True)
    os.set_blocking(out, True)
    try:
        asyncio.run(_child_serve(browser, tmp, out))
    finally:  # the server process may be gone and unable to clean up after us
        shutil.rmtree(tmp, ignore_errors=True)


def _keep_priority_for_programs_started() -> None:
    """Let no program this process starts raise its CPU priority.

    Chromium raises its own where it may: run as root, its browser and GPU processes go to ``nice`` -8 and its
    renderers to 0, ahead of the server's workers. Dropped from the capability bounding set, CAP_SYS_NICE is gone
    from every program started from here (only root has it to drop; other users may never raise priority).
    """
    import ctypes

    pr_capbset_drop, cap_sys_nice = 24, 23  # <linux/prctl.h>, <linux/capability.h>
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or not allowed: nothing to drop
        ctypes.CDLL(None, use_errno=True).prctl(pr_capbset_drop, cap_sys_nice, 0, 0, 0)


async def _child_serve(browser: str, tmp: str, out: int) -> None:
    import asyncio

    import kaleido

    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue = asyncio.Queue()
    browser_pid: list[int] = []

    def read_requests() -> None:
        while True:
            try:
                message = _read_frame(0, None)
            except Exception:  # end of input: the server process closed the pipe or died
                message = None
            loop.call_soon_threadsafe(inbox.put_nowait, message)
            if message is None:
                time.sleep(5)  # time for a clean close; then nothing may outlive the server process
                _kill_group(browser_pid[0] if browser_pid else None)
                shutil.rmtree(tmp, ignore_errors=True)
                os._exit(0)

    threading.Thread(target=read_requests, daemon=True).start()
    try:
        # ready with one tab, the others opened while it renders: each tab loads plotly.js (0.3 s on a slow
        # machine), and a start must fit START_TIMEOUT_S; kaleido adds a tab the way it opens one
        later = TABS - 1 if hasattr(kaleido.Kaleido, "_create_kaleido_tab") else 0
        k = _kaleido(kaleido.Kaleido)(n=TABS - later, timeout=None, mathjax=False, plotlyjs=paths.PLOTLY_JS,
                                      path=browser, tmp_dir=tmp)
        opening = asyncio.ensure_future(k.open())
        while not opening.done():  # tell the server process Chromium's group as soon as it exists
            process = getattr(k, "subprocess", None)
            if process is not None and not browser_pid:
                browser_pid.append(process.pid)
                _write_all(out, _frame(("browser", process.pid)), None)
            await asyncio.wait({opening}, timeout=0.05)
        opening.result()
    except Exception as exc:
        _kill_group(browser_pid[0] if browser_pid else None)
        _write_all(out, _frame(("failed", _reason(exc))), None)
        return
    if not browser_pid:
        browser_pid.append(k.subprocess.pid)
        _write_all(out, _frame(("browser", k.subprocess.pid)), None)
    _write_all(out, _frame(("ready",)), None)
    more_tabs = [asyncio.ensure_future(k._create_kaleido_tab()) for _ in range(later)]

    async def answer(message: dict) -> None:
        try:
            body = await k.calc_fig(json.loads(message["fig"]), opts=message["opts"], topojson=message["topojson"])
            reply = ("ok", message["id"], body)
        except Exception as exc:
            reply = ("error", message["id"], _reason(exc))
        _write_all(out, _frame(reply), None)  # one whole frame at a time: the loop does not switch inside

    working: set[asyncio.Task] = set()
    try:
        while (message := await inbox.get()) is not None:
            task = asyncio.ensure_future(answer(message))  # waits for a free tab inside kaleido
            working.add(task)
            task.add_done_callback(working.discard)
    finally:
        for task in more_tabs:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(k.close(), 5)
        _kill_group(browser_pid[0])


def _kaleido(base: type) -> type:
    """Return kaleido's class reloading a tab's page every :data:`RELOAD_EVERY` figures rather than after each,
    and after a figure that failed (kaleido returns the tab while the figure's exception is on its way); a
    kaleido without the tab queue this relies on keeps its own way."""
    if not hasattr(base, "_return_kaleido_tab"):
        return base

    class Reloading(base):
        rendered = 0

        async def _return_kaleido_tab(self, tab) -> None:
            self.rendered += 1
            if sys.exc_info()[0] is not None or self.rendered % RELOAD_EVERY == 0 or \
                    not hasattr(self, "tabs_ready"):
                await super()._return_kaleido_tab(tab)
            else:
                await self.tabs_ready.put(tab)

    return Reloading


# --- rendered files, kept ------------------------------------------------------------------------------------

class Rendered:
    """The files rendered lately, by what they show: a bounded cache (least recently used out first).

    A key names the data bundle (see :meth:`key`: a bundle is one revision of the data, and its entries are
    dropped with it), then what the file shows and its format. Safe across threads and greenlets: nothing
    inside a lock can switch.
    """

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._files: OrderedDict[tuple, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._bundles: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._serial = itertools.count(1)
        self._gone: list[int] = []

    def key(self, bundle: object, *what) -> tuple:
        """Return the cache key of a file showing ``what`` of the data ``bundle``."""
        with self._lock:
            serial = self._bundles.get(bundle)
            if serial is None:
                serial = self._bundles[bundle] = next(self._serial)
                weakref.finalize(bundle, self._forget, serial)
        return (serial, *what)

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            body = self._files.get(key)
            if body is not None:
                self._files.move_to_end(key)
            return body

    def put(self, key: tuple, body: bytes) -> bytes:
        """Keep ``body`` under ``key`` (unless it alone is larger than the cache); return it."""
        if len(body) > self.max_bytes:
            return body
        with self._lock:
            self._drop_gone()
            old = self._files.pop(key, None)
            self._bytes += len(body) - (len(old) if old is not None else 0)
            self._files[key] = body
            while self._bytes > self.max_bytes:
                _, dropped = self._files.popitem(last=False)
                self._bytes -= len(dropped)
        return body

    def size(self) -> tuple[int, int]:
        """Return (files, bytes) kept."""
        with self._lock:
            return len(self._files), self._bytes

    def _forget(self, serial: int) -> None:
        # called by the garbage collector, maybe inside a locked section of this thread: only note it here
        self._gone.append(serial)

    def _drop_gone(self) -> None:
        """Drop the files of bundles that no longer exist (called with the lock held)."""
        while self._gone:
            serial = self._gone.pop()
            for key in [k for k in self._files if k[0] == serial]:
                self._bytes -= len(self._files.pop(key))


# --- the renderer ---------------------------------------------------------------------------------------------

def request_of(fig, fmt: Format) -> dict:
    """Return what the helper needs to render ``fig`` in ``fmt``: the figure at the format's size, as JSON.

    The figure is valid already (a plotly figure, or the JSON of one): it is sized as a plain dict, not copied and
    validated again (which took longer than serialising it).
    """
    import plotly.graph_objects as go
    import plotly.io as pio

    spec = fig.to_dict() if isinstance(fig, go.Figure) else dict(fig)
    spec["layout"] = {**spec["layout"], "width": fmt.width, "height": fmt.height}
    return {"fig": pio.to_json(spec, validate=False),
            "opts": {"format": fmt.key, "width": fmt.width, "height": fmt.height, "scale": fmt.scale},
            "topojson": TOPOJSON_URL}


class _ProcessState:
    """What one server process holds: its admission counters, its helper. Made after fork (lazily), so
    gevent workers get gevent's locks and never share a helper with the master."""

    def __init__(self) -> None:
        self.gate = threading.Condition()
        self.running = 0
        self.waiting = 0
        self.pipe = threading.Lock()
        self.helper: _Helper | None = None
        self.broken_until = 0.0
        self.broken_path = ""
        self.broken_message = ""


_state_guard = threading.Lock()


class Renderer:
    """The exports of this process: admission, deadlines, the helper with its warm Chromium, and the cache of
    what it rendered."""

    def __init__(self, max_running: int = MAX_RUNNING, max_waiting: int = MAX_WAITING,
                 cache_bytes: int = CACHE_BYTES) -> None:
        self.max_running = max_running
        self.max_waiting = max_waiting
        #: the files this renderer made lately (each process keeps its own, like the views' memo)
        self.cache = Rendered(cache_bytes)
        self._pid: int | None = None
        self._state: _ProcessState | None = None

    def _local(self) -> _ProcessState:
        with _state_guard:  # held for no switch: safe with gevent even though created before patching
            if self._pid != os.getpid():
                self._state, self._pid = _ProcessState(), os.getpid()
            return self._state

    @contextlib.contextmanager
    def admit(self, job: Job) -> Iterator[Job]:
        """Hold one of the render places for ``job``; wait in the short queue, or refuse (:class:`ExportBusy`).

        A waiting job is dropped when its client goes away (:class:`ClientGone`) or its wait is over.
        """
        st = self._local()
        with st.gate:
            if st.running >= self.max_running and st.waiting >= self.max_waiting:
                raise ExportBusy(
                    f"Export ausgelastet: es laufen bereits Exporte und {st.waiting} warten. "
                    f"Bitte in {BUSY_RETRY_S} Sekunden erneut versuchen.", retry_after=BUSY_RETRY_S,
                    reason="Warteschlange voll")
            st.waiting += 1
            try:
                while st.running >= self.max_running:
                    left = job.arrived + job.queue_s - time.monotonic()
                    if left <= 0:
                        raise ExportBusy(
                            f"Export ausgelastet: nach {job.queue_s:.0f} Sekunden Wartezeit noch kein Platz frei. "
                            f"Bitte in {BUSY_RETRY_S} Sekunden erneut versuchen.", retry_after=BUSY_RETRY_S,
                            reason="Wartezeit abgelaufen")
                    st.gate.wait(min(left, POLL_S))
                    if job.client_gone():
                        raise ClientGone()
            finally:
                st.waiting -= 1
            st.running += 1
        try:
            if job.client_gone():
                raise ClientGone()
            job.start()
            yield job
        finally:
            with st.gate:
                st.running -= 1
                st.gate.notify()

    def load(self) -> tuple[int, int]:
        """Return (running, waiting) exports of this process."""
        st = self._local()
        return st.running, st.waiting

    def render(self, fig, fmt: Format, job: Job | None = None) -> bytes:
        """Return the figure as bytes in ``fmt``, within ``job``'s budget (default: one chart's)."""
        (body,) = self.render_many([fig], fmt, job or Job(CHART_TIMEOUT_S))
        return body

    def render_many(self, figs: Iterable, fmt: Format, job: Job | None = None) -> list[bytes]:
        """Return the figures as files in ``fmt``, in order, within ``job``'s budget.

        Before each figure is handed to the helper, the job's client and budget are checked: a pack stops
        between pages. Each figure has at most one chart's time; without a job (command line) that is the only
        limit. Up to :data:`PIPELINE` figures are in the helper at once; one export at a time uses the helper
        per process, so outputs never mix.
        """
        job = job or Job(math.inf)

        def requests() -> Iterator[dict]:
            for fig in figs:
                job.check()
                yield request_of(fig, fmt)

        st = self._local()
        if not st.pipe.acquire(timeout=max(0.0, min(job.remaining(), CHART_TIMEOUT_S))):
            job.check()
            raise ExportBusy(f"Export ausgelastet. Bitte in {BUSY_RETRY_S} Sekunden erneut versuchen.",
                             retry_after=BUSY_RETRY_S, reason="Renderer belegt")
        try:
            return list(self._render_locked(st, requests(), job))
        finally:
            st.pipe.release()

    def _render_locked(self, st: _ProcessState, requests: Iterator[dict], job: Job) -> Iterator[bytes]:
        """Yield the file of each request in order, keeping up to :data:`PIPELINE` of them in the helper."""
        helper = self._helper(st, job)
        waiting: dict[int, tuple[int, dict]] = {}  # helper's number → (position, request), sent, not answered
        done: dict[int, bytes] = {}  # position → file, answered out of order
        position, next_out, exhausted, retried = 0, 0, False, False
        while True:
            try:
                while not exhausted and len(waiting) + len(done) < PIPELINE:
                    request = next(requests, None)
                    if request is None:
                        exhausted = True
                        break
                    waiting[helper.send(request, self._deadline(job))] = (position, request)
                    position += 1
                if next_out in done:
                    yield done.pop(next_out)
                    next_out += 1
                    continue
                if not waiting:
                    return
                number, body, problem = helper.receive(self._deadline(job))
                if number not in waiting:
                    continue  # the answer to a figure of an export given up earlier
                if body is None:
                    raise _Dead(problem)
                done[waiting.pop(number)[0]] = body
            except _Timeout:
                self._reset(st)
                job.check()
                raise ExportTimeout(
                    f"Export abgebrochen: die Datei war nach {CHART_TIMEOUT_S:.0f} Sekunden nicht fertig. "
                    "Bitte später erneut versuchen.", retry_after=BUSY_RETRY_S,
                    reason=f"Chromium antwortete nicht binnen {CHART_TIMEOUT_S:.0f} s; Renderer neu gestartet"
                ) from None
            except _Dead as exc:  # a helper that died is replaced once; what it had not answered is sent again
                self._reset(st)
                if retried or job.remaining() <= START_TIMEOUT_S / 2:
                    raise ExportUnavailable("Export fehlgeschlagen. Bitte später erneut versuchen.",
                                            retry_after=BUSY_RETRY_S, reason=f"Renderer: {exc}") from None
                retried, resend = True, sorted(waiting.values(), key=lambda item: item[0])
                waiting = {}
                helper = self._helper(st, job)
                for at, request in resend:
                    waiting[helper.send(request, self._deadline(job))] = (at, request)

    @staticmethod
    def _deadline(job: Job) -> float:
        """Return when the helper must have answered: one chart's time at most, never beyond the budget."""
        return time.monotonic() + max(0.0, min(job.remaining(), CHART_TIMEOUT_S))

    def _helper(self, st: _ProcessState, job: Job) -> _Helper:
        """Return a running helper for the configured Chromium, starting one within the deadlines."""
        now = time.monotonic()
        path = browser_path()
        if st.broken_until > now and st.broken_path == path:
            raise ExportUnavailable(st.broken_message, retry_after=max(1, round(st.broken_until - now)),
                                    reason="Chromium startete zuletzt nicht")
        if st.helper is not None and (st.helper.browser != path or not st.helper.alive()):
            self._reset(st)
        if st.helper is None:
            deadline = now + max(0.0, min(START_TIMEOUT_S, job.remaining()))
            try:
                st.helper = _Helper(path, deadline)
            except _BrowserFailed as exc:
                message = f"Export nicht möglich: der Chromium unter {path} startet nicht. " + package_hint(path)
                if not exc.slow:  # a start that failed fails again: refuse at once for a while; a slow one may
                    # have met a busy machine, and the next export tries again
                    st.broken_until, st.broken_path, st.broken_message = \
                        time.monotonic() + BROKEN_RETRY_S, path, message
                raise ExportUnavailable(message, retry_after=BROKEN_RETRY_S,
                                        reason=f"Chromium unter {path} startet nicht ({exc})") from None
        return st.helper

    def _reset(self, st: _ProcessState) -> None:
        if st.helper is not None:
            helper, st.helper = st.helper, None
            helper.kill()

    def close(self) -> None:
        """Stop this process's helper and its Chromium (the next export starts a fresh one)."""
        st = self._local()
        with st.pipe:
            st.broken_until = 0.0
            if st.helper is not None:
                helper, st.helper = st.helper, None
                helper.close()


RENDERER = Renderer()
