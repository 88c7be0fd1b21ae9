"""Which webhook URLs we accept: http(s) only, and not into our own network.

A webhook makes our workers send a request where a client says. Pointed at loopback or a
private range it would let a client reach services that trust the internal network (an admin
port, a cloud metadata address), so such addresses are refused unless
WEBHOOK_ALLOW_PRIVATE_ADDRESSES is on (the demo, the tests). Checked when the URL is saved and
again before every attempt: a name may resolve elsewhere by then.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from apps.core.errors import ServiceError

SCHEMES = ("http", "https")


class UrlRefused(ServiceError):
    """The URL is not one we will POST to; the message says why."""


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"The host {host!r} cannot be resolved ({exc}).") from None
    # sockaddr[0] is the address string for AF_INET/AF_INET6, the only families TCP returns here
    return sorted({str(info[4][0]) for info in infos})


def check_destination(url: str) -> str:
    """The URL, cleaned, if we may POST to it; UrlRefused says why not."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UrlRefused(f"That is not a URL ({exc}).") from None
    if parts.scheme not in SCHEMES:
        raise UrlRefused("Give an http:// or https:// URL.")
    if not parts.hostname:
        raise UrlRefused("The URL has no host.")
    if parts.username or parts.password:
        raise UrlRefused("Leave credentials out of the URL: check our signature instead.")
    if len(url) > 2000:
        raise UrlRefused("The URL is over 2,000 characters.")
    if not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        internal = [a for a in _addresses(parts.hostname, port) if _is_internal(a)]
        if internal:
            raise UrlRefused(
                f"{parts.hostname} resolves to {', '.join(internal)}: a loopback, private or "
                "reserved address. Give a URL reachable on the public internet."
            )
    return url
