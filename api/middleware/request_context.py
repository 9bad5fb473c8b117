"""The caller's address, and the request context (core/request_context.py) of every HTTP request: the audit rows
written while it is served carry the caller's address and `METHOD /path`.

`caller_ip` is the one answer to "who is calling" for everything that records or limits by address: audit rows,
the login history and the per-address login throttle (via api/deps.py client_info), and the stock rate limit
(api/middleware/rate_limit.py). `X-Forwarded-For` is believed only from the proxies of `FORWARDED_ALLOW_IPS`."""

import ipaddress
from functools import lru_cache

from starlette.types import Receive, Scope, Send

from api.middleware.base import HttpMiddleware
from core.request_context import MAX_REQUEST_CHARS, RequestContext, using
from core.settings import get_settings

SCOPE_KEY = "mfg.caller_ip"  # the answer, kept in the request's scope once worked out
MAX_ADDRESS_CHARS = 100  # the ip_address columns

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """`FORWARDED_ALLOW_IPS`: addresses and CIDRs, comma-separated; `*` trusts every peer. Entries that are
    neither (a unix socket path, say) match only literally. The same syntax and default as uvicorn's
    `--forwarded-allow-ips`, which reads the same variable."""

    def __init__(self, spec: str) -> None:
        entries = [entry.strip() for entry in spec.split(",") if entry.strip()]
        self.everyone = "*" in entries
        self.networks: list[IpNetwork] = []
        self.literals: set[str] = set()
        for entry in entries:
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.literals.add(entry)
        self.trusts = lru_cache(maxsize=1024)(self._trusts)

    def _trusts(self, host: str) -> bool:
        if self.everyone:
            return True
        try:
            address: IpAddress = ipaddress.ip_address(host)
        except ValueError:
            return host in self.literals
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def client_of(self, peer: str | None, forwarded_for: list[str]) -> str | None:
        """The caller: the peer, unless the peer is a trusted proxy; then the first hop of `X-Forwarded-For`,
        read from the right (each proxy appends the address it was called from), that is not a trusted proxy
        (all trusted: the leftmost)."""
        if peer is None or not forwarded_for or not self.trusts(peer):
            return peer
        for hop in reversed(forwarded_for):
            if not self.trusts(hop):
                return hop
        return forwarded_for[0]


@lru_cache(maxsize=8)
def trusted_proxies(spec: str) -> TrustedProxies:
    return TrustedProxies(spec)


def _host(hop: str) -> str:
    """An address without the port a proxy may have added (`203.0.113.9:5123`, `[2001:db8::1]:443`)."""
    hop = hop.strip().strip('"')
    if hop.startswith("["):
        return hop[1:hop.find("]")] if "]" in hop else hop
    if hop.count(":") == 1:
        return hop.split(":", 1)[0]
    return hop


def _allowed_spec(scope: Scope) -> str:
    settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
    spec = getattr(settings, "forwarded_allow_ips", None)
    return spec if isinstance(spec, str) else get_settings().forwarded_allow_ips


def caller_ip(scope: Scope) -> str | None:
    """The caller's address (see TrustedProxies.client_of), worked out once per request."""
    known = scope.get(SCOPE_KEY)
    if known is not None:
        return str(known) or None
    client = scope.get("client")
    peer = str(client[0]) if client else None
    forwarded: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            forwarded += [h for h in (_host(hop) for hop in value.decode("latin-1").split(",")) if h]
    answer = trusted_proxies(_allowed_spec(scope)).client_of(peer, forwarded) if forwarded else peer
    answer = answer[:MAX_ADDRESS_CHARS] if answer else None
    scope[SCOPE_KEY] = answer or ""
    return answer


class RequestContextMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = f"{scope['method']} {scope['path']}"[:MAX_REQUEST_CHARS]
        with using(RequestContext(caller_ip(scope), request)):
            await self.app(scope, receive, send)
