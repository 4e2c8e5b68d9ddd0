"""The loader seam: one file (or course folder) in, parsed documents with sections out."""

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ingest.documents import LoadError, ParsedDocument, Section
from ingest.metadata import sidecar_path

_DOC_NAMESPACE = uuid.UUID("0c7e8a52-3a4f-4f0e-8f7e-6d2b1e9c4a31")


@dataclass(frozen=True)
class LoadContext:
    """Where a file sits in the ingested folder, and the defaults for its metadata."""

    root: Path
    default_audience: str
    default_tenant: str | None = None  # for documents whose metadata names none

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root.resolve()).as_posix()

    def doc_id(self, path: Path) -> str:
        """Stable for as long as the file keeps its place in the folder."""
        return str(uuid.uuid5(_DOC_NAMESPACE, path.resolve().as_posix()))

    def document(
        self,
        path: Path,
        *,
        source_type: str,
        metadata: dict[str, Any],
        sections: list[Section],
        hashed: tuple[Path, ...] = (),
        content_hash: str | None = None,
    ) -> ParsedDocument:
        """The parsed document for `path`, hashed over `path` and the `hashed` files it was
        built from (or over a hash the loader computed itself)."""
        if self.default_tenant and "tenant" not in metadata:
            metadata = {**metadata, "tenant": self.default_tenant}
        return ParsedDocument(
            doc_id=self.doc_id(path),
            document=self.relative(path),
            source_type=source_type,
            metadata=metadata,
            sections=sections,
            content_hash=content_hash or self.content_hash(path, *hashed),
        )

    def content_hash(self, *paths: Path) -> str:
        """Changes when any of the files, their sidecars or the default audience or tenant
        change."""
        digest = hashlib.sha256(self.default_audience.encode())
        if self.default_tenant:  # left out without one, so older hashes stay valid
            digest.update(f"\ntenant:{self.default_tenant}".encode())
        for path in paths:
            for part in (path, sidecar_path(path)):
                data = part.read_bytes() if part.is_file() else b""
                digest.update(hashlib.sha256(data).digest())
        return digest.hexdigest()


class Loader(Protocol):
    source_type: str

    def load(self, path: Path, context: LoadContext) -> list[ParsedDocument]:
        """Raises LoadError with a reason a person can act on when the file cannot be used."""
        ...


def read_text(path: Path) -> str:
    """UTF-8 text, or a LoadError that says the file is binary or in another encoding."""
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise LoadError("binary content, not text: is the file extension right?")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not valid UTF-8 text (byte {exc.start}): save it as UTF-8") from exc


def title_from_name(path: Path) -> str:
    """A title for files whose metadata names none: `reset-password.md` → Reset Password."""
    return path.stem.replace("-", " ").replace("_", " ").title()
