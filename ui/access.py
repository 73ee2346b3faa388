"""Who may open the chat page: optional password login, required off loopback; and
which host names the server answers to.

Credentials come from `QA_AUTH` ("user:password") or `QA_AUTH_FILE` (a file of
"user:password" lines; blank lines and lines starting with # are skipped).

Host names: a request whose Host header names anything but this machine's loopback
names, the address the server is bound to, or a name listed in `QA_ALLOWED_HOSTS`
(comma separated) is refused, so a DNS-rebinding page cannot reach a loopback server.
Bound to all interfaces (0.0.0.0), an IP address as Host is accepted too: an address
cannot be rebound.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from qa.errors import InputError

HOW_TO = (
    "set a login first, e.g. `export QA_AUTH='user:password'` "
    "(or QA_AUTH_FILE=/path/to/file with user:password lines), or serve on --host 127.0.0.1"
)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    host = (host or "").strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost, or "" (all interfaces)
        return False


def _pair(line: str, where: str) -> tuple[str, str]:
    user, sep, password = line.partition(":")
    if not sep or not user.strip() or not password:
        raise InputError(f"{where} must hold user:password (got a line without both parts); fix it and start again")
    return user.strip(), password


def credentials(env: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """The configured (user, password) pairs; [] when no login is configured."""
    env = os.environ if env is None else env
    pairs = []
    if env.get("QA_AUTH"):
        pairs.append(_pair(env["QA_AUTH"].strip(), "QA_AUTH"))
    if env.get("QA_AUTH_FILE"):
        path = Path(env["QA_AUTH_FILE"])
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read QA_AUTH_FILE {path} ({exc}); point it at a UTF-8 file of user:password lines") from None
        found = [_pair(line.strip(), f"each line of {path}") for line in lines if line.strip() and not line.lstrip().startswith("#")]
        if not found:
            raise InputError(f"QA_AUTH_FILE {path} has no user:password lines; add one")
        pairs.extend(found)
    return pairs


def check(host: str, pairs: list[tuple[str, str]]) -> None:
    """Refuse to serve beyond this machine without a login."""
    if not pairs and not is_loopback(host):
        raise InputError(f"refusing to serve on {host!r} without a password: {HOW_TO}")


ENV_HOSTS = "QA_ALLOWED_HOSTS"
_HOST_NAME = re.compile(r"^[a-z0-9._\-]+$|^[0-9a-f:.]+$")


def allowed_host_names(env: Mapping[str, str] | None = None) -> list[str]:
    """Extra host names from `QA_ALLOWED_HOSTS` ("qa.example.org, 10.0.0.5")."""
    env = os.environ if env is None else env
    return [name for name in (host_name(n) for n in re.split(r"[\s,]+", env.get(ENV_HOSTS, ""))) if name]


def host_name(header: str | None) -> str:
    """The host name of a Host header, lower case, without port or brackets; "" if malformed."""
    value = (header or "").strip().lower()
    if value.startswith("["):
        name = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        name = value.split(":", 1)[0]
    else:
        name = value
    name = name.rstrip(".")
    return name if name and _HOST_NAME.match(name) else ""


class HostCheck:
    """Which Host headers a server bound to `bound` answers."""

    def __init__(self, bound: str, extra: Iterable[str] = ()):
        bound = host_name(bound) if bound not in ("", "::") else bound
        self.any_address = bound in ("", "0.0.0.0", "::")
        self.names = {"localhost", *extra} | ({bound} if bound and not self.any_address else set())

    def allows(self, header: str | None) -> bool:
        name = host_name(header)
        if not name:
            return False
        if name in self.names:
            return True
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            return False
        return address.is_loopback or self.any_address
