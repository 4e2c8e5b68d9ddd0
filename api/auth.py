"""Callers from API keys: `Authorization: Bearer KEY` maps to an audience (and a tenant).

To keep keys out of the keys file, store their digests; print a file line with
`python -c "from api.auth import key_file_line; print(key_file_line('KEY', 'internal'))"`.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from pathlib import Path

from assistant.records.sessions import SessionOwner, caller_identity
from assistant.types import Audience


@dataclass(frozen=True)
class Caller:
    audience: Audience
    tenant: str | None = None
    key_id: str | None = None  # a short hash of the key, safe to log
    key_digest: str | None = field(default=None, repr=False)  # the key's SHA-256; None: no key
    # The `assistant` command on the server's machine (api/local_operator.py), not a key.
    local: bool = False

    def session_owner(self) -> SessionOwner:
        """Whose sessions this caller continues: those its key started with the same audience
        and tenant. Anonymous callers share one identity, so they continue a session only by
        its unguessable id, never one a key started, and name only unguessable ones. The local
        operator is the operator of `assistant ask` run directly: its sessions carry on
        whichever way the command reaches the store."""
        if self.local:
            return SessionOwner.operator(audience=self.audience.value, tenant=self.tenant)
        tenant = self.tenant or ""
        if self.key_digest is None:
            identity = caller_identity("anonymous", self.audience.value, tenant)
        else:
            identity = caller_identity("key", self.key_digest, self.audience.value, tenant)
        return SessionOwner(identity, self.tenant, names_sessions=self.key_digest is not None)


class AuthError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def key_file_line(key: str, audience: str, *, tenant: str | None = None) -> str:
    """A keys-file line holding the key's SHA-256 digest instead of the key itself."""
    if audience not in {a.value for a in Audience}:
        raise ValueError(f"audience must be public, partner or internal, not {audience!r}")
    return f"sha256:{_digest(key)}={audience}{':' + tenant if tenant else ''}"


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
            digest = key[len("sha256:") :].lower() if key.startswith("sha256:") else _digest(key)
            if not _HEX_DIGEST.fullmatch(digest):
                raise ValueError(
                    "A hashed API key must be sha256: followed by 64 hex digits; "
                    f"got {key[:14]}… (make one with api.auth.key_file_line)"
                )
            entries[digest] = (Audience(audience_name), tenant or None)
        return cls(entries, anonymous=anonymous)

    def caller(self, authorization: str | None) -> Caller:
        if not authorization:
            if self.anonymous:
                return Caller(Audience.PUBLIC)
            raise AuthError(
                401, "unauthorized", "An API key is required: send Authorization: Bearer KEY."
            )
        if not self._entries and self.anonymous:
            # No keys configured: every caller is public, so a key that OpenAI clients insist
            # on sending ("sk-anything") is no reason to refuse one.
            return Caller(Audience.PUBLIC)
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
        return Caller(match[0], match[1], digest[:8], digest)
