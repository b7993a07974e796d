"""Which URLs a webhook may be sent to: http(s) only, and no private network unless allowed.

Without the check, anyone who may add a subscription could make the server call its own
network (SSRF): a database's admin port, a cloud's metadata address.
"""

import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeUrl(Exception):
    """The URL is not http(s), or it leads to an address webhooks may not reach."""


def check_scheme(url: str) -> str:
    """Return the URL's host; raise UnsafeUrl unless it is an http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        hostname, _ = parts.hostname, parts.port
    except ValueError as error:  # a bad IPv6 literal or port
        raise UnsafeUrl(f"The URL is not valid: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("Only http:// and https:// URLs can receive webhooks.")
    if not hostname:
        raise UnsafeUrl("The URL has no host.")
    return hostname


def is_private(address: str) -> bool:
    """Return whether an IP address is loopback, private, link-local or otherwise not public."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_literal_host(url: str, allow_private: bool) -> None:
    """Refuse a URL whose host is a private IP address or localhost, without a DNS lookup."""
    host = check_scheme(url)
    if allow_private:
        return
    if host == "localhost" or host.endswith(".localhost"):
        raise UnsafeUrl("Webhooks may not be sent to this server's own network (localhost).")
    try:
        private = is_private(host)
    except ValueError:
        return  # a name: checked when it is resolved, before each attempt
    if private:
        raise UnsafeUrl(f"Webhooks may not be sent to a private address ({host}).")


def check_resolved(url: str, allow_private: bool) -> None:
    """Refuse a URL unless every address its host resolves to may be reached."""
    check_literal_host(url, allow_private)
    if allow_private:
        return
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise UnsafeUrl(f"The host does not resolve: {error}") from None
    for *_, sockaddr in found:
        if is_private(sockaddr[0]):
            raise UnsafeUrl(f"{parts.hostname} resolves to a private address ({sockaddr[0]}).")
