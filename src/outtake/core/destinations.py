"""Addresses Outtake sends data to on someone's word (webhooks, labs' buckets): https to a
public internet address only, so no one can point Outtake at its own network."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit


class DestinationError(ValueError):
    """A destination address a user can correct; the message says how."""


def check_destination(url: str, *, allow_private: bool, max_length: int) -> SplitResult:
    """The address's parts once it passes; `allow_private` lifts the https and public-address
    rules, for development and tests on loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DestinationError("the address must be an https:// URL")
    if parts.scheme == "http" and not allow_private:
        raise DestinationError("the address must use https")
    if parts.username or parts.password:
        raise DestinationError("put no user name or password in the address")
    if len(url) > max_length:
        raise DestinationError(f"the address is longer than {max_length} characters")
    if not allow_private:
        try:
            infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
        except (OSError, ValueError) as exc:
            raise DestinationError(f"cannot resolve {parts.hostname}") from exc
        if any(not ipaddress.ip_address(info[4][0]).is_global for info in infos):
            raise DestinationError(f"{parts.hostname} is not a public internet address")
    return parts
