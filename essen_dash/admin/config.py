"""Read the security settings once at start-up: who must sign in, the secret key, cookies, the SSO header."""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

READ_LOGIN_ENV = "ESSEN_DASH_READ_LOGIN"
SECRET_KEY_ENV = "ESSEN_DASH_SECRET_KEY"
SECURE_COOKIES_ENV = "ESSEN_DASH_SECURE_COOKIES"
USER_HEADER_ENV = "ESSEN_DASH_TRUSTED_USER_HEADER"
PROXIES_ENV = "ESSEN_DASH_TRUSTED_PROXIES"
LOGIN_LIMIT_ENV = "ESSEN_DASH_LOGIN_LIMIT"
SECRET_KEY_FILE = "secret_key"
DEFAULT_LOGIN_LIMIT = "5 per minute"
#: largest upload accepted (bytes); every other request keeps the app's 1 MB limit
MAX_UPLOAD_BYTES = 20 * 1024 * 1024

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AuthConfig:
    """How the app decides who someone is and what they may do."""

    secret_key: str = field(repr=False)
    #: reading the dashboard needs an account too (otherwise reading is open to everyone)
    read_login: bool = False
    #: session cookies only over HTTPS (set when the app is served behind TLS)
    secure_cookies: bool = False
    #: a header the city's single-sign-on proxy sets to the signed-in user's name (None: not trusted)
    user_header: str | None = None
    #: the addresses that proxy connects from; the header is ignored from anywhere else
    trusted_proxies: tuple[Network, ...] = ()
    #: login attempts allowed per address and account name (Flask-Limiter notation)
    login_limit: str = DEFAULT_LOGIN_LIMIT

    def trusts(self, address: str | None) -> bool:
        """Return whether a request from ``address`` may name its user in :attr:`user_header`."""
        if not self.user_header or not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted_proxies)


def yes(text: str | None) -> bool:
    return (text or "").strip().lower() in ("1", "true", "yes", "ja", "on")


def secret_key(state_dir: Path) -> str:
    """Return the key sessions are signed with: generated once with :mod:`secrets` into the state folder
    (readable by its owner only) and read from there afterwards; every worker and restart reads the same one."""
    path = Path(state_dir) / SECRET_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:  # we are the first: write the key (another process starting now waits for the content below)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
    for _ in range(50):
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
        import time

        time.sleep(0.05)
    raise ValueError(f"Schlüsseldatei {path} ist leer; bitte löschen (wird neu erzeugt) oder ${SECRET_KEY_ENV} "
                     "setzen")


def from_env(state_dir: Path, environ=os.environ) -> AuthConfig:
    """Return the security settings from the environment (read once, at start-up)."""
    proxies = []
    for part in (environ.get(PROXIES_ENV) or "").replace(";", ",").split(","):
        if part.strip():
            try:
                proxies.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ValueError(f"${PROXIES_ENV}: {part.strip()!r} ist keine Adresse oder kein Netz") from None
    header = (environ.get(USER_HEADER_ENV) or "").strip() or None
    if header and not proxies:
        raise ValueError(f"${USER_HEADER_ENV} ist gesetzt, aber ${PROXIES_ENV} nicht: der Kopfzeile wird nur von "
                         "den Adressen des Proxys vertraut")
    return AuthConfig(secret_key=(environ.get(SECRET_KEY_ENV) or "").strip() or secret_key(state_dir),
                      read_login=yes(environ.get(READ_LOGIN_ENV)), secure_cookies=yes(environ.get(SECURE_COOKIES_ENV)),
                      user_header=header, trusted_proxies=tuple(proxies),
                      login_limit=(environ.get(LOGIN_LIMIT_ENV) or "").strip() or DEFAULT_LOGIN_LIMIT)
