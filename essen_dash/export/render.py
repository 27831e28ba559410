"""Static export through kaleido with the system's Chromium, kept warm between exports.

One kaleido browser serves every export of a process (no browser start per
export); a lock keeps concurrent requests from sharing it, so outputs never
mix. Everything is local: plotly.js from the plotly package, no MathJax, and
the base-map topology from the app's own assets.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

DEFAULT_BROWSER = "/usr/bin/chromium"
TOPOJSON_URL = (Path(__file__).resolve().parents[1] / "assets" / "topojson").as_uri() + "/"


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


class ExportUnavailable(RuntimeError):
    """Static export cannot run here (no Chromium); the rest of the app keeps working."""


def browser_path() -> str:
    """Return the Chromium to use, or raise naming the Debian package to install."""
    path = os.environ.get("BROWSER_PATH") or DEFAULT_BROWSER
    if not (Path(path).is_file() or shutil.which(path)):
        raise ExportUnavailable(
            f"Export nicht möglich: kein Chromium unter {path}. Bitte das Debian-Paket „chromium“ installieren "
            "(apt-get install chromium) oder BROWSER_PATH auf einen Chromium setzen.")
    return path


class Renderer:
    """A warm kaleido renderer shared by all exports of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = False

    def _start(self) -> None:
        import kaleido

        kaleido.start_sync_server(mathjax=False, n=1, timeout=90, silence_warnings=True, path=browser_path())
        self._started = True

    def render(self, fig: go.Figure, fmt: Format) -> bytes:
        """Return the figure as bytes in ``fmt`` (thread-safe, reusing the browser)."""
        import kaleido

        fig = go.Figure(fig)
        fig.update_layout(width=fmt.width, height=fmt.height)
        opts = {"format": fmt.key, "width": fmt.width, "height": fmt.height, "scale": fmt.scale}
        with self._lock:
            if not self._started:
                self._start()
            try:
                return kaleido.calc_fig_sync(fig, opts=opts, topojson=TOPOJSON_URL)
            except Exception as exc:  # a dead browser is restarted once, then reported
                kaleido.stop_sync_server(silence_warnings=True)
                self._started = False
                self._start()
                try:
                    return kaleido.calc_fig_sync(fig, opts=opts, topojson=TOPOJSON_URL)
                except Exception:
                    raise ExportUnavailable(f"Export fehlgeschlagen: {exc}") from exc

    def close(self) -> None:
        import kaleido

        with self._lock:
            if self._started:
                kaleido.stop_sync_server(silence_warnings=True)
                self._started = False


RENDERER = Renderer()
