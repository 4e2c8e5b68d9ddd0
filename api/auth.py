"""Callers from API keys: `Authorization: Bearer KEY` maps to an audience (and a tenant)."""

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from assistant.types import Audience


@dataclass(frozen=True)
class Caller:
    audience: Audience
    tenant: str | None = None
    key_id: str | None = None  # a short hash of the key, safe to log


class AuthError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyRing:
    """Keys are held as SHA-256 digests and compared in constant time."""

    def __init__(self, entries: dict[str, tuple[Audience, str | None]], *, anonymous: bool) -> None:
        self._entries = entries  # digest -> (audience, tenant)
        self.anonymous = anonymous

    @classmethod
    def parse(cls, spec: str, *, file: Path | None = None, anonymous: bool = True) -> "KeyRing":
        """`spec` is `key=audience[:tenant],...`; the file has one such entry per line,
        with `sha256:<hex>` in place of the key to store keys hashed."""
        lines = [item for item in spec.split(",") if item.strip()]
        if file is not None:
            lines += [
                line
                for line in file.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.lstrip().startswith("#")
            ]
        entries: dict[str, tuple[Audience, str | None]] = {}
        for line in lines:
            key, sep, value = line.strip().partition("=")
            audience_name, _, tenant = value.partition(":")
            if not sep or not key or audience_name not in {a.value for a in Audience}:
                raise ValueError(
                    "API keys must look like key=public|partner|internal[:tenant]; "
                    f"got {line.strip()[:6]}…"
                )
            digest = key[len("sha256:") :] if key.startswith("sha256:") else _digest(key)
            entries[digest] = (Audience(audience_name), tenant or None)
        return cls(entries, anonymous=anonymous)

    def caller(self, authorization: str | None) -> Caller:
        if not authorization:
            if self.anonymous:
                return Caller(Audience.PUBLIC)
            raise AuthError(
                401, "unauthorized", "An API key is required: send Authorization: Bearer KEY."
            )
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise AuthError(401, "unauthorized", "Use the header Authorization: Bearer KEY.")
        digest = _digest(key.strip())
        match = None
        for known, entry in self._entries.items():
            if hmac.compare_digest(known, digest):
                match = entry
        if match is None:
            raise AuthError(401, "unauthorized", "Unknown API key.")
        return Caller(match[0], match[1], digest[:8])
