"""Start a real PostgreSQL server (Debian's ``postgresql`` package) in a temporary folder for the tests.

The server listens on a Unix socket only, trusts every local connection and is gone, folder and all, when the
context ends. PostgreSQL refuses to run as root, so a root test run (as here and in CI) starts it as the
``postgres`` system user that the Debian package creates.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

USER = "essen"
DATABASE = "essen"
SYSTEM_USER = "postgres"
START_TIMEOUT_S = 60


def find_bin_dir() -> Path:
    """Return the folder of the newest installed PostgreSQL server programs; fail clearly if there is none."""
    versions = sorted((p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").is_file()),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if versions:
        return versions[-1]
    initdb = shutil.which("initdb")
    if initdb and (Path(initdb).resolve().parent / "pg_ctl").is_file():
        return Path(initdb).resolve().parent
    raise RuntimeError("PostgreSQL-Server nicht gefunden (weder /usr/lib/postgresql/*/bin/initdb noch initdb im "
                       "PATH): bitte das Debian-Paket postgresql installieren (make browser installiert es)")


def free_port() -> int:
    """Return a port number nothing listens on (it only names the Unix socket file here)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def postgres_server() -> Iterator[str]:
    """Run a throwaway PostgreSQL server; yield the SQLAlchemy URL of its database ``essen``."""
    bin_dir = find_bin_dir()
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    if as_root:
        try:
            account = pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            raise RuntimeError(f"Tests laufen als root, aber es gibt keinen Benutzer {SYSTEM_USER!r}, unter dem "
                               "PostgreSQL laufen kann (das Debian-Paket postgresql legt ihn an)") from None
        prefix = ["runuser", "-u", SYSTEM_USER, "--"]
    root = Path(tempfile.mkdtemp(prefix="essen-pg-"))
    data, sockets, log = root / "data", root / "socket", root / "server.log"
    sockets.mkdir()
    if as_root:
        for path in (root, sockets):
            os.chown(path, account.pw_uid, account.pw_gid)
    root.chmod(0o755)
    sockets.chmod(0o777)  # any local user may connect; the server trusts the socket

    def run(*args: str) -> None:
        done = subprocess.run([*prefix, *args], cwd=root, capture_output=True, text=True)
        if done.returncode != 0:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} fehlgeschlagen ({done.returncode}):\n{done.stdout}{done.stderr}"
                               f"{server_log}")

    port = free_port()
    started = False
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "--encoding=UTF8",
            "--locale=C", "--no-sync")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", str(START_TIMEOUT_S),
            "-o", f"-k {sockets} -p {port} -c listen_addresses=''", "start")
        started = True
        run(str(bin_dir / "createdb"), "-h", str(sockets), "-p", str(port), "-U", USER, DATABASE)
        yield f"postgresql+psycopg://{USER}@/{DATABASE}?host={sockets}&port={port}"
    finally:
        if started:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
