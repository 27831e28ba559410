"""A non-editable install carries the bundled data/ and geo/ and serves maps from outside the checkout.

Builds the project's wheel, installs it (without dependencies) into a fresh venv in a temporary folder,
makes the dependencies importable through a .pth file pointing at the running interpreter's
site-packages, and runs the installed ``essen-dash`` from a temporary working directory with a clean
environment (no ESSEN_DASH_* variables, HOME in a temporary folder).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from essen_dash import paths

STARTUP_TIMEOUT_S = 45
PREPARED = ["stadtbezirke.prepared.geojson", "stadtteile.prepared.geojson", "report.json", "README.md"]


@dataclass(frozen=True)
class Installed:
    """The fresh venv with the wheel installed, and where and how to run it."""

    wheel: Path
    venv: Path
    site_packages: Path
    cwd: Path
    env: dict[str, str]

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its output if it fails."""
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, **kwargs)
    if done.returncode:
        pytest.fail(f"{' '.join(cmd)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    tmp = tmp_path_factory.mktemp("install")
    # build/ and *.egg-info go to the temporary folder: stale build/lib files never reach the wheel
    extra_cfg = tmp / "build.cfg"
    extra_cfg.write_text(f"[build]\nbuild_base = {tmp / 'build'}\n[egg_info]\negg_base = {tmp}\n", encoding="utf-8")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "dist"),
         str(paths.REPO_ROOT)], env={**os.environ, "DIST_EXTRA_CONFIG": str(extra_cfg)})
    (wheel,) = (tmp / "dist").glob("essen_dash-*.whl")

    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-index",
         "-q", str(wheel)])
    site_packages = Path(run([str(venv / "bin" / "python"), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    ours = sysconfig.get_paths()
    deps = dict.fromkeys([ours["purelib"], ours["platlib"]])  # the running interpreter's, with the dependencies
    (site_packages / "zz_dependencies.pth").write_text("".join(f"{p}\n" for p in deps), encoding="utf-8")

    home, cwd = tmp / "home", tmp / "cwd"
    home.mkdir()
    cwd.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
           "PYTHONUNBUFFERED": "1"}
    return Installed(wheel, venv, site_packages, cwd, env)


def test_wheel_holds_every_module_asset_and_bundled_file(installed):
    """Fail when a new subpackage, asset or data file would be left out of the install."""
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    package = paths.REPO_ROOT / "essen_dash"
    expected = {f"essen_dash/{p.relative_to(package).as_posix()}" for p in package.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    expected |= {f"essen_dash/bundled/data/{p.name}" for p in (paths.REPO_ROOT / "data").iterdir()
                 if p.suffix in (".csv", ".json", ".md")}
    expected |= {f"essen_dash/bundled/geo/{name}" for name in PREPARED}
    assert "essen_dash/bundled/data/datapackage.json" in expected
    assert sorted(expected - names) == [], "not in the wheel: add the package or glob to pyproject.toml"


def test_installed_package_finds_bundled_data_and_geometry_in_the_venv(installed):
    probe = ("import json, essen_dash, essen_dash.paths as p; print(json.dumps({'module': essen_dash.__file__, "
             "'data': str(p.DEFAULT_DATA_DIR), 'geo': str(p.PROJECT_GEO_DIR), 'cache': str(p.DEFAULT_CACHE_DIR)}))")
    found = json.loads(run([installed.bin("python"), "-c", probe], cwd=installed.cwd, env=installed.env).stdout)
    package = installed.site_packages / "essen_dash"
    assert Path(found["module"]) == package / "__init__.py"
    assert not Path(found["module"]).is_relative_to(paths.REPO_ROOT)
    assert Path(found["data"]) == package / "bundled" / "data"
    assert Path(found["geo"]) == package / "bundled" / "geo"
    assert Path(found["cache"]) == Path(installed.env["HOME"]) / ".cache" / "essen-dash"
    assert (Path(found["data"]) / "datapackage.json").is_file()
    assert sorted(p.name for p in Path(found["geo"]).iterdir()) == sorted(PREPARED)
    committed = (paths.REPO_ROOT / "geo" / "stadtteile.prepared.geojson").read_bytes()
    assert (Path(found["geo"]) / "stadtteile.prepared.geojson").read_bytes() == committed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def test_installed_serve_shows_both_boundary_levels(installed, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([installed.bin("essen-dash"), "serve", "--host", "127.0.0.1", "--port", str(port),
                                   "--workers", "1"], cwd=installed.cwd, env=installed.env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        health = None
        while health is None:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not answer /health (exit {server.poll()}):\n"
                            f"{log_path.read_text(encoding='utf-8', errors='replace')[-5000:]}")
            try:
                health = json.loads(get(f"{base}/health")[1])
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.25)
        assert health["geometry"] is True, log_path.read_text(encoding="utf-8", errors="replace")[-5000:]
        for level, count in (("bezirk", 9), ("stadtteil", 50)):
            status, body = get(f"{base}/geo/{level}.geojson")
            assert status == 200 and len(json.loads(body)["features"]) == count
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # gunicorn's master and its worker: the group we started
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
