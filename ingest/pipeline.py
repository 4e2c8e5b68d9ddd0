"""IngestJob: makes the index match a folder: load → chunk → embed → store, incrementally.

Each document is replaced as a unit: delete its old chunks, write the new ones, then write its
manifest. A document without a manifest is incomplete (a run died mid-way) and is rebuilt on the
next run, so killing an ingest at any moment never leaves duplicates or half-documents behind.

Changed documents are gathered into batches of about `batch_chunks` chunks; each batch is
embedded longest text first and written with one upsert. Per-document embedding leaves the model
running small batches of mixed lengths, padded to the longest: a third more work on our corpora.
Within a batch every document still goes delete → chunks → manifest.
Loading and chunking run on the calling thread, not beside the embedder: the chunker counts
tokens with the embedder's own tokenizer, whose truncation settings are per call and shared, so
using it from two threads at once miscounts or fails.
"""

import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from llama_index.core.schema import MetadataMode, TextNode
from tqdm import tqdm

from assistant.embedders import Embedder
from assistant.stores import DocumentManifest, Store
from ingest.chunker import Chunker
from ingest.discovery import IgnoreFileError, Source, discover
from ingest.documents import LoadError, ParsedDocument
from ingest.loaders import LoadContext

MAX_FILE_BYTES = 50 * 1024 * 1024
# How much of an unexpected error's message goes into the summary (the log has all of it).
MAX_REASON_CHARS = 300
# Chunks per batch: sorted by length, 1024 texts pad about 3% more than sorting a whole corpus
# (512: 9%, 256: 17%), and a kill loses at most one batch of embedding work.
BATCH_CHUNKS = 1024
# Sorted texts go to the embedder this many at a time (a multiple of its batch size, so its
# batches stay the same), letting the progress bar move while a batch is embedded.
EMBED_SLICE = 256

log = logging.getLogger(__name__)


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
    tokens_embedded: int = 0  # the embedder's token count of every text it embedded
    seconds: float = 0.0
    documents_per_second: float = 0.0  # documents read: (re)indexed or found unchanged
    chunks_per_second: float = 0.0
    tokens_per_second: float = 0.0

    @property
    def documents(self) -> int:
        return self.added + self.updated + self.unchanged

    def finish(self, seconds: float) -> None:
        self.seconds = round(seconds, 3)
        self.documents_per_second = _rate(self.documents, seconds)
        self.chunks_per_second = _rate(self.chunks_written, seconds)
        self.tokens_per_second = _rate(self.tokens_embedded, seconds)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class _Pending:
    """A changed document, chunked and counted, waiting for its batch to be embedded."""

    doc: ParsedDocument
    content_hash: str
    nodes: list[TextNode]
    texts: list[str]
    tokens: list[int]
    passages: list[list[str]]  # per node: its passages' texts (none when it is one passage)


@dataclass
class _Run:
    """State shared by every folder of one `IngestJob.run`."""

    summary: IngestSummary
    manifests: dict[str, DocumentManifest]
    default_audience: str
    default_tenant: str | None
    content_type: str
    on_document: Callable[[str], None] | None
    started: float
    chunks_embedded: int = 0
    pending: list[_Pending] = field(default_factory=list)
    pending_chunks: int = 0
    pending_sources: int = 0  # sources whose last documents wait in `pending`


class IngestJob:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        chunker: Chunker,
        *,
        batch_chunks: int = BATCH_CHUNKS,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.batch_chunks = batch_chunks

    def run(
        self,
        paths: Sequence[Path],
        *,
        default_audience: str = "public",
        default_tenant: str | None = None,
        content_type: str = "auto",
        progress: bool | None = None,
        on_document: Callable[[str], None] | None = None,
    ) -> IngestSummary:
        """Ingests every path; `progress` shows a bar on stderr (default: when it is a terminal).

        `default_audience` and `default_tenant` apply to documents whose metadata names none;
        documents without a tenant are shared by every tenant.
        """
        started = time.perf_counter()
        run = _Run(
            summary=IngestSummary(),
            manifests=self.store.manifests(),
            default_audience=default_audience,
            default_tenant=default_tenant,
            content_type=content_type,
            on_document=on_document,
            started=started,
        )
        self._drop_incomplete(run.manifests)
        show = sys.stderr.isatty() if progress is None else progress
        for path in paths:
            self._ingest_root(Path(path), run, show=show)
        summary = run.summary
        if summary.added or summary.updated or summary.deleted:
            # Build the search index now rather than on the first slow queries
            # (about a minute per 100k chunks on 2 cores; nothing to do for small changes).
            self.store.optimize()
        run.summary.finish(time.perf_counter() - started)
        return run.summary

    def _drop_incomplete(self, manifests: dict[str, DocumentManifest]) -> None:
        """Chunks of documents whose manifest was never written: a run died mid-document."""
        for doc_id in self.store.chunk_doc_ids() - manifests.keys():
            self.store.delete(doc_id)

    def _ingest_root(self, path: Path, run: _Run, *, show: bool) -> None:
        if not path.exists():
            run.summary.failed.append(Failure(str(path), "no such file or folder"))
            return
        root = path if path.is_dir() else path.parent
        source_root = str(root.resolve())
        context = LoadContext(
            root=root, default_audience=run.default_audience, default_tenant=run.default_tenant
        )
        seen: set[str] = set()
        failed_files: set[str] = set()
        try:
            sources = discover(path, content_type=run.content_type)
        except IgnoreFileError as exc:  # indexing it all could publish what it meant to hide
            run.summary.failed.append(Failure(str(path), str(exc)))
            return
        with tqdm(
            total=len(sources), desc="Ingesting", unit="file", disable=not show, file=sys.stderr
        ) as bar:
            for source in sources:
                rel = _relative(source.path, context)
                documents = self._load(source, rel, context, run.summary, failed_files)
                waiting = False
                for doc in documents:
                    seen.add(doc.doc_id)
                    try:
                        waiting = self._prepare(doc, run) or waiting
                    except Exception as exc:  # a chunker bug: this document keeps its last version
                        run.summary.failed.append(Failure(doc.document, _unexpected(exc)))
                        failed_files.add(doc.document)
                if waiting:
                    run.pending_sources += 1
                else:
                    _advance(bar, 1, run)
                if run.pending_chunks >= self.batch_chunks:
                    self._write_pending(source_root, run, bar)
            self._write_pending(source_root, run, bar)
        if path.is_dir():
            self._delete_vanished(source_root, seen, failed_files, run)

    def _load(
        self,
        source: Source,
        rel: str,
        context: LoadContext,
        summary: IngestSummary,
        failed_files: set[str],
    ) -> list[ParsedDocument]:
        if source.loader is None:
            summary.failed.append(Failure(rel, source.reason))
            return []
        try:
            _check_inside(source.path, context.root)
            _check_size(source.path)
            return source.loader.load(source.path, context)
        except (LoadError, OSError) as exc:
            reason = str(exc)
        except RecursionError:
            reason = "nested too deeply to read"
        except Exception as exc:  # a loader bug must cost one file, not the whole run
            reason = _unexpected(exc)
        summary.failed.append(Failure(rel, reason))
        failed_files.add(rel)
        return []

    def _prepare(self, doc: ParsedDocument, run: _Run) -> bool:
        """Counts an unchanged document, or chunks a changed one into the pending batch.

        Returns whether the document now waits in the batch.
        """
        content_hash = f"{doc.content_hash}:{self.chunker.signature}"
        old = run.manifests.get(doc.doc_id)
        if old is not None and old.content_hash == content_hash:
            run.summary.unchanged += 1
            if run.on_document:
                run.on_document(doc.document)
            return False
        nodes = self.chunker.chunk(doc)
        texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
        tokens = [self.embedder.count_tokens(t) for t in texts]
        passages = [self.chunker.passages(n) for n in nodes]
        run.pending.append(_Pending(doc, content_hash, nodes, texts, tokens, passages))
        run.pending_chunks += len(nodes)
        return True

    def _write_pending(self, source_root: str, run: _Run, bar: tqdm) -> None:
        """Embeds the pending documents together, then writes them: old chunks deleted, new
        chunks added, manifests last, so a crash leaves no document half-written with a
        manifest."""
        if not run.pending:
            return
        batch = run.pending
        passages = self._embed(batch, run, bar)
        for pending in batch:
            self.store.delete(pending.doc.doc_id)
        self.store.add([node for p in batch for node in p.nodes], passages=passages)
        summary = run.summary
        for pending in batch:
            doc = pending.doc
            manifest = DocumentManifest(
                doc_id=doc.doc_id,
                document=doc.document,
                source_root=source_root,
                content_hash=pending.content_hash,
                chunk_count=len(pending.nodes),
            )
            self.store.put_manifest(manifest)
            if run.manifests.get(doc.doc_id) is None:
                summary.added += 1
            else:
                summary.updated += 1
            run.manifests[doc.doc_id] = manifest
            summary.chunks_written += len(pending.nodes)
            summary.tokens_embedded += sum(pending.tokens)
            summary.truncated_chunks += sum(t > self.embedder.max_tokens for t in pending.tokens)
            if run.on_document:
                run.on_document(doc.document)
        _advance(bar, run.pending_sources, run)
        run.pending, run.pending_chunks, run.pending_sources = [], 0, 0

    def _embed(self, batch: list[_Pending], run: _Run, bar: tqdm) -> dict[str, list[list[float]]]:
        """Embeds the batch's chunks (into their nodes) and their passages (returned by node
        id) in one pass."""
        nodes = [node for p in batch for node in p.nodes]
        texts = [text for p in batch for text in p.texts]
        tokens = [count for p in batch for count in p.tokens]
        owner: dict[int, int] = {}  # text index of a passage -> index of its node
        for node_index, passages in enumerate(ps for p in batch for ps in p.passages):
            for passage in passages:
                owner[len(texts)] = node_index
                texts.append(passage)
                tokens.append(self.embedder.count_tokens(passage))
        run.summary.tokens_embedded += sum(tokens[i] for i in owner)
        # Longest first by token count, so the embedder's fixed-size batches hold texts of
        # similar length and pad little (sentence-transformers sorts by characters, which
        # pads about 30% more on our corpora).
        order = sorted(range(len(texts)), key=lambda i: -tokens[i])
        passage_vectors: dict[int, list[float]] = {}
        for start in range(0, len(order), EMBED_SLICE):
            part = order[start : start + EMBED_SLICE]
            vectors = self.embedder.embed([texts[i] for i in part])
            for row, index in enumerate(part):
                if index in owner:
                    passage_vectors[index] = vectors[row].tolist()
                else:
                    nodes[index].embedding = vectors[row].tolist()
            run.chunks_embedded += sum(i not in owner for i in part)
            _advance(bar, 0, run)
        by_node: dict[str, list[list[float]]] = {}
        for index in sorted(passage_vectors):  # each node's passages in reading order
            node = nodes[owner[index]]
            vector = in_context(passage_vectors[index], node.embedding or [])
            by_node.setdefault(node.node_id, []).append(vector)
        return by_node

    def _delete_vanished(
        self, source_root: str, seen: set[str], failed_files: set[str], run: _Run
    ) -> None:
        for doc_id, manifest in list(run.manifests.items()):
            if manifest.source_root != source_root or doc_id in seen:
                continue
            # A file that failed to load this time keeps its last good version in the index.
            if any(
                manifest.document == f or manifest.document.startswith(f"{f}/")
                for f in failed_files
            ):
                continue
            self.store.delete(doc_id)
            del run.manifests[doc_id]
            run.summary.deleted += 1


def in_context(passage: list[float], chunk: list[float]) -> list[float]:
    """A passage's vector moved halfway towards its chunk's (then normalised). Passages alone
    let a long chunk win on its one lucky passage (a 60-second transcript window beat the
    password article for "account locked after wrong passwords"); halfway keeps what the
    passage says and where it stands (benchmarks/retrieval.py measures both)."""
    blended = np.asarray(passage) + np.asarray(chunk)
    return (blended / np.linalg.norm(blended)).tolist()


def _advance(bar: tqdm, files: int, run: _Run) -> None:
    if bar.disable:
        return
    elapsed = time.perf_counter() - run.started
    bar.set_postfix(
        {
            "docs/s": f"{_rate(run.summary.documents, elapsed):.1f}",
            "chunks/s": f"{_rate(run.chunks_embedded, elapsed):.1f}",
        },
        refresh=not files,
    )
    bar.update(files)


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 2) if seconds > 0 else 0.0


def _relative(path: Path, context: LoadContext) -> str:
    """How the summary names a source: as its documents are named, or a symlink out of the
    folder (refused by `_check_inside`) by its own name."""
    if path == context.root:
        return path.name
    try:
        return context.relative(path)
    except ValueError:
        return path.relative_to(context.root).as_posix()


def _check_inside(path: Path, root: Path) -> None:
    if not path.resolve().is_relative_to(root.resolve()):
        raise LoadError(
            "a symlink to a file outside the ingested folder: not read (ingest the target's "
            "folder itself, or copy the file in)"
        )


def _unexpected(exc: Exception) -> str:
    log.error("ingest: unexpected %s", type(exc).__name__, exc_info=exc)
    message = str(exc)
    if len(message) > MAX_REASON_CHARS:
        message = message[:MAX_REASON_CHARS] + "…"
    return f"could not read the file ({type(exc).__name__}: {message}); the log has the details"


def _check_size(path: Path) -> None:
    if path.is_file() and path.stat().st_size > MAX_FILE_BYTES:
        raise LoadError(
            f"file is larger than the {MAX_FILE_BYTES // (1024 * 1024)} MB limit: split it"
        )
