"""IngestJob: makes the index match a folder: load → chunk → embed → store, incrementally.

Each document is replaced as a unit: delete its old chunks, write the new ones, then write its
manifest. A document without a manifest is incomplete (a run died mid-way) and is rebuilt on the
next run, so killing an ingest at any moment never leaves duplicates or half-documents behind.
"""

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from llama_index.core.schema import MetadataMode
from tqdm import tqdm

from assistant.embedders import Embedder
from assistant.stores import DocumentManifest, Store
from ingest.chunker import StructureChunker
from ingest.discovery import discover
from ingest.documents import LoadError, ParsedDocument
from ingest.loaders import LoadContext

MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass
class Failure:
    file: str
    reason: str


@dataclass
class IngestSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: list[Failure] = field(default_factory=list)
    chunks_written: int = 0
    truncated_chunks: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class IngestJob:
    def __init__(self, store: Store, embedder: Embedder, chunker: StructureChunker) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker

    def run(
        self,
        paths: Sequence[Path],
        *,
        default_audience: str = "public",
        content_type: str = "auto",
        progress: bool | None = None,
        on_document: Callable[[str], None] | None = None,
    ) -> IngestSummary:
        started = time.perf_counter()
        summary = IngestSummary()
        manifests = self.store.manifests()
        self._drop_incomplete(manifests)
        for path in paths:
            self._ingest_root(
                Path(path),
                summary,
                manifests,
                default_audience,
                content_type,
                progress,
                on_document,
            )
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    def _drop_incomplete(self, manifests: dict[str, DocumentManifest]) -> None:
        """Chunks of documents whose manifest was never written: a run died mid-document."""
        for doc_id in self.store.chunk_doc_ids() - manifests.keys():
            self.store.delete(doc_id)

    def _ingest_root(
        self,
        path: Path,
        summary: IngestSummary,
        manifests: dict[str, DocumentManifest],
        default_audience: str,
        content_type: str,
        progress: bool | None,
        on_document: Callable[[str], None] | None,
    ) -> None:
        if not path.exists():
            summary.failed.append(Failure(str(path), "no such file or folder"))
            return
        root = path if path.is_dir() else path.parent
        context = LoadContext(root=root, default_audience=default_audience)
        seen: set[str] = set()
        failed_files: set[str] = set()
        sources = discover(path, content_type=content_type)
        show = sys.stderr.isatty() if progress is None else progress
        bar = tqdm(sources, desc="Ingesting", unit="file", disable=not show, file=sys.stderr)
        for source in bar:
            rel = context.relative(source.path) if source.path != root else source.path.name
            if source.loader is None:
                summary.failed.append(Failure(rel, source.reason))
                continue
            try:
                _check_size(source.path)
                documents = source.loader.load(source.path, context)
            except (LoadError, OSError) as exc:
                summary.failed.append(Failure(rel, str(exc)))
                failed_files.add(rel)
                continue
            for doc in documents:
                seen.add(doc.doc_id)
                self._write(doc, root, summary, manifests)
                if on_document:
                    on_document(doc.document)
            bar.set_postfix(chunks=summary.chunks_written)
        if path.is_dir():
            self._delete_vanished(str(root.resolve()), seen, failed_files, summary, manifests)

    def _write(
        self,
        doc: ParsedDocument,
        root: Path,
        summary: IngestSummary,
        manifests: dict[str, DocumentManifest],
    ) -> None:
        content_hash = f"{doc.content_hash}:{self.chunker.signature}"
        old = manifests.get(doc.doc_id)
        if old is not None and old.content_hash == content_hash:
            summary.unchanged += 1
            return
        nodes = self.chunker.chunk(doc)
        texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
        summary.truncated_chunks += sum(
            self.embedder.count_tokens(t) > self.embedder.max_tokens for t in texts
        )
        for node, vector in zip(nodes, self.embedder.embed(texts), strict=True):
            node.embedding = vector.tolist()
        self.store.delete(doc.doc_id)
        self.store.add(nodes)
        manifest = DocumentManifest(
            doc_id=doc.doc_id,
            document=doc.document,
            source_root=str(root.resolve()),
            content_hash=content_hash,
            chunk_count=len(nodes),
        )
        self.store.put_manifest(manifest)
        manifests[doc.doc_id] = manifest
        summary.chunks_written += len(nodes)
        if old is None:
            summary.added += 1
        else:
            summary.updated += 1

    def _delete_vanished(
        self,
        root: str,
        seen: set[str],
        failed_files: set[str],
        summary: IngestSummary,
        manifests: dict[str, DocumentManifest],
    ) -> None:
        for doc_id, manifest in list(manifests.items()):
            if manifest.source_root != root or doc_id in seen:
                continue
            # A file that failed to load this time keeps its last good version in the index.
            if any(
                manifest.document == f or manifest.document.startswith(f"{f}/")
                for f in failed_files
            ):
                continue
            self.store.delete(doc_id)
            del manifests[doc_id]
            summary.deleted += 1


def _check_size(path: Path) -> None:
    if path.is_file() and path.stat().st_size > MAX_FILE_BYTES:
        raise LoadError(
            f"file is larger than the {MAX_FILE_BYTES // (1024 * 1024)} MB limit: split it"
        )
