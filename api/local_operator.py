"""The local operator: `assistant ingest` and `assistant ask` on the server's own machine,
sent to the `assistant serve` that holds their data folder's embedded store.

`assistant serve` writes a random token to the data folder's server file, which only its
user can read (assistant/local_server.py). A request from loopback with that token is that
user at the command line: it asks as the audience and tenant it names in `X-Assistant-As`
(internal by default: the user can read the data folder anyway), may ingest any path it names,
and is not rate limited, as the command run directly is not. `X-Assistant-As` from any other
caller is refused, never applied, so no one raises their audience with it.
"""

import hmac
import ipaddress
import socket
import sys
from pathlib import Path
from urllib.parse import unquote

import uvicorn
from starlette.datastructures import Headers
from starlette.types import Scope

from api.auth import AuthError, Caller
from assistant import local_server
from assistant.local_server import AS_HEADER, LocalServer
from assistant.types import Audience

# A request that came through a reverse proxy is from wherever the proxy's client is.
_FORWARDING_HEADERS = ("forwarded", "x-forwarded-for")


class LocalOperator:
    """Recognises the local operator's token; see the module docstring."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    def caller(self, scope: Scope) -> Caller | None:
        """The local operator when the request carries its token from loopback; None for any
        other caller, whose key decides (AuthError if it sent X-Assistant-As)."""
        headers = Headers(scope=scope)
        act_as = headers.get(AS_HEADER)
        scheme, _, key = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(key.strip().encode(), self._token):
            if act_as is not None:
                raise _act_as_refused()
            return None
        if not _from_loopback(scope) or any(name in headers for name in _FORWARDING_HEADERS):
            raise AuthError(
                403,
                "forbidden",
                "The local operator's token is accepted from this machine (loopback) only.",
            )
        audience, tenant = _act_as(act_as or Audience.INTERNAL.value)
        return Caller(audience, tenant, key_id="local", local=True)


def refuse_act_as(scope: Scope) -> None:
    """For a server without a local operator: X-Assistant-As is refused from everyone."""
    if AS_HEADER.lower() in Headers(scope=scope):
        raise _act_as_refused()


def _act_as_refused() -> AuthError:
    return AuthError(
        401,
        "unauthorized",
        f"{AS_HEADER} is for the `assistant` command on the server's machine, with the token "
        "from its server file; other callers' audience comes from their API key.",
    )


def _act_as(value: str) -> tuple[Audience, str | None]:
    name, sep, quoted_tenant = value.partition(":")
    tenant = unquote(quoted_tenant).strip()
    if name not in {a.value for a in Audience} or (sep and (not tenant or "," in tenant)):
        raise AuthError(
            422,
            "invalid_request",
            f"{AS_HEADER} must be public, partner or internal, then optionally :TENANT (a "
            "name without commas, URL-quoted).",
        )
    return Audience(name), tenant or None


def _from_loopback(scope: Scope) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


class AnnouncingServer(uvicorn.Server):
    """uvicorn's server that announces itself in `data_dir`'s server file once it listens,
    for `assistant ingest` and `assistant ask` to find, and withdraws that when it stops."""

    def __init__(self, config: uvicorn.Config, *, data_dir: Path, token: str) -> None:
        super().__init__(config)
        self.data_dir = data_dir
        self.token = token
        self.announced: LocalServer | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().serve(sockets)
        finally:
            self._withdraw()  # also when startup fails or the loop dies

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        url = self._loopback_url()
        if url is None:
            print(
                "This server listens on no loopback address, so `assistant ingest` and "
                "`assistant ask` on this machine cannot go through it: serve on 127.0.0.1 "
                "or 0.0.0.0 for that.",
                file=sys.stderr,
            )
            return
        where = local_server.server_file(self.data_dir)
        try:
            self.announced = local_server.announce(self.data_dir, url=url, token=self.token)
        except OSError as exc:  # serving matters more than the command line's way in
            print(
                f"Cannot write {where} ({exc.strerror}), so `assistant ingest` and `assistant "
                "ask` on this machine cannot go through this server.",
                file=sys.stderr,
            )
            return
        print(
            f"`assistant ingest` and `assistant ask` on this machine go through this server "
            f"({where})",
            file=sys.stderr,
        )

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._withdraw()  # first: commands stop coming while it drains connections
        await super().shutdown(sockets)

    def _withdraw(self) -> None:
        if self.announced is not None:
            local_server.withdraw(self.data_dir, self.announced)
            self.announced = None

    def _loopback_url(self) -> str | None:
        """How this machine reaches the server over loopback, from the sockets it listens on
        (IPv4 preferred): a wildcard address answers on loopback too."""
        found: list[tuple[int, str, int]] = []
        for server in self.servers:
            for sock in server.sockets:
                host, port = sock.getsockname()[:2]
                address = ipaddress.ip_address(host)
                if address.is_unspecified:
                    address = ipaddress.ip_address("127.0.0.1" if address.version == 4 else "::1")
                if address.is_loopback:
                    found.append((address.version, str(address), port))
        if not found:
            return None
        version, host, port = min(found)
        return f"http://{host}:{port}" if version == 4 else f"http://[{host}]:{port}"
