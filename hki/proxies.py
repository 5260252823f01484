"""X-Forwarded-* headers believed only when they come from the city's own reverse proxy.

Behind a proxy every request arrives from the proxy's address, so the client's address
(for the login limits and the audit log) and the scheme come from headers the proxy
adds. Anyone who reaches the app's port past the proxy could write those headers
himself – a new X-Forwarded-For on every attempt defeats the per-address login limits.
So the headers count only on connections from the addresses in ``HKI_PROXY_ADDRESSES``
(addresses or networks, default the local machine); from anywhere else they are removed
before the app sees them, and the connection's own address is the client's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.middleware.proxy_fix import ProxyFix

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(written: str) -> list[Network]:
    """"127.0.0.1, ::1, 10.0.8.0/24" → networks; a wrong entry stops the start, in German.

    Read as gunicorn reads its ``forwarded_allow_ips`` (comma-separated, networks without
    host bits), so that one value means the same to both.
    """
    found: list[Network] = []
    for part in (p.strip() for p in written.split(",")):
        if not part:
            continue
        try:
            found.append(ipaddress.ip_network(part))
        except ValueError as error:
            raise RuntimeError(f"HKI_PROXY_ADDRESSES: „{part}“ ist keine IP-Adresse und kein "
                               "Netz (z. B. 127.0.0.1 oder 10.0.8.0/24; mehrere durch Komma "
                               "getrennt).") from error
    return found


def trusted(address: str | None, proxies: Iterable[Network]) -> bool:
    """Whether a connection from ``address`` comes from one of the proxies.

    No address is a Unix socket: only processes on this machine can connect to it, so it
    counts as 127.0.0.1.
    """
    try:
        client = ipaddress.ip_address((address or "127.0.0.1").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(client, ipaddress.IPv6Address) and client.ipv4_mapped is not None:
        client = client.ipv4_mapped
    return any(client in network for network in proxies)


class TrustedProxies:
    """WSGI middleware: ProxyFix for connections from the proxies, no headers for others."""

    def __init__(self, app: WSGIApplication, count: int, proxies: list[Network]) -> None:
        self.app = app
        self.proxies = proxies
        self.fixed = ProxyFix(app, x_for=count, x_proto=count, x_host=count)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        """Pass the request on, its forwarded headers applied or removed."""
        if trusted(environ.get("REMOTE_ADDR"), self.proxies):
            return self.fixed(environ, start_response)
        for name in [n for n in environ if n.startswith("HTTP_X_FORWARDED_")]:
            del environ[name]
        return self.app(environ, start_response)
