import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import qdrant_edge as qe

from assistant.embedders.fake import FakeEmbedder
from assistant.stores.edge import EdgeStore
from assistant.stores.payload import CHUNK, DENSE, PASSAGES, payload_node, point_id
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob, in_context
from tests.corpus import write_corpus


@pytest.fixture
def job(edge_store: EdgeStore, fake_embedder: FakeEmbedder) -> IngestJob:
    return IngestJob(edge_store, fake_embedder, StructureChunker(fake_embedder.count_tokens))


def documents_in(store: EdgeStore) -> set[str]:
    return {m.document for m in store.manifests().values()}


def test_first_run_indexes_all_four_kinds(
    tmp_path: Path, job: IngestJob, edge_store: EdgeStore
) -> None:
    corpus = write_corpus(tmp_path / "c")
    summary = job.run([corpus])
    assert summary.failed == []
    assert summary.added == 7 and summary.truncated_chunks == 0
    assert documents_in(edge_store) == {
        "kb/reset-password.md",
        "kb/first-invoice.md",
        "kb/internal-refunds.md",
        "transcripts/getting-paid.vtt",
        "threads/bank-feed.json",
        "courses/essentials/lessons/01-profile.md",
        "courses/essentials/lessons/02-taxes.md",
    }
    assert edge_store.count() == summary.chunks_written


def test_rerun_skips_unchanged_replaces_changed_deletes_vanished(
    tmp_path: Path, job: IngestJob, edge_store: EdgeStore
) -> None:
    corpus = write_corpus(tmp_path / "c")
    job.run([corpus])
    (corpus / "kb" / "first-invoice.md").write_text("# Invoices\n\nA single short paragraph.\n")
    (corpus / "kb" / "reset-password.md").unlink()
    shutil.rmtree(corpus / "courses")
    summary = job.run([corpus])
    assert (summary.added, summary.updated, summary.deleted) == (0, 1, 3)
    assert summary.unchanged == 3
    assert "kb/reset-password.md" not in documents_in(edge_store)
    invoice = next(
        m for m in edge_store.manifests().values() if m.document == "kb/first-invoice.md"
    )
    assert invoice.chunk_count == 1
    # No orphans: every chunk belongs to a document with a manifest.
    assert edge_store.chunk_doc_ids() == set(edge_store.manifests())
    assert edge_store.count() == sum(m.chunk_count for m in edge_store.manifests().values())
    assert job.run([corpus]).unchanged == 4


def test_bad_files_are_reported_and_everything_else_indexed(
    tmp_path: Path, job: IngestJob, edge_store: EdgeStore
) -> None:
    corpus = write_corpus(tmp_path / "c")
    (corpus / "kb" / "photo.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (corpus / "kb" / "empty.md").write_text("")
    (corpus / "threads" / "cut.json").write_text('{"post_stream": {"posts": [')
    (corpus / "kb" / "slides.key").write_text("?")
    summary = job.run([corpus])
    reasons = {f.file: f.reason for f in summary.failed}
    assert set(reasons) == {"kb/photo.md", "kb/empty.md", "threads/cut.json", "kb/slides.key"}
    assert "binary" in reasons["kb/photo.md"]
    assert "invalid JSON" in reasons["threads/cut.json"]
    assert "unsupported file type .key" in reasons["kb/slides.key"]
    assert summary.added == 7


def test_a_file_that_breaks_keeps_its_last_good_version(
    tmp_path: Path, job: IngestJob, edge_store: EdgeStore
) -> None:
    corpus = write_corpus(tmp_path / "c")
    job.run([corpus])
    (corpus / "threads" / "bank-feed.json").write_text("{ truncated")
    summary = job.run([corpus])
    assert summary.deleted == 0 and len(summary.failed) == 1
    assert "threads/bank-feed.json" in documents_in(edge_store)


def test_half_written_document_is_rebuilt(
    tmp_path: Path, job: IngestJob, edge_store: EdgeStore
) -> None:
    corpus = write_corpus(tmp_path / "c")
    job.run([corpus])
    # Simulate a crash after the chunks but before the manifest: drop one manifest point.
    victim = next(iter(edge_store.manifests().values()))
    edge_store.client.update(
        qe.UpdateOperation.delete_points([point_id(f"manifest:{victim.doc_id}")])
    )
    assert victim.doc_id not in edge_store.manifests()
    summary = job.run([corpus])
    assert summary.added == 1 and summary.unchanged == 6
    assert edge_store.chunk_doc_ids() == set(edge_store.manifests())
    assert edge_store.count() == sum(m.chunk_count for m in edge_store.manifests().values())


def test_ignore_file_and_missing_path(
    tmp_path: Path, job: IngestJob, edge_store: EdgeStore
) -> None:
    corpus = write_corpus(tmp_path / "c")
    (corpus / "README.md").write_text("# About this corpus\n\nNot content.\n")
    (corpus / ".assistantignore").write_text("README.md\n")
    summary = job.run([corpus, tmp_path / "nope"])
    assert "README.md" not in documents_in(edge_store)
    assert [f.reason for f in summary.failed] == ["no such file or folder"]


def test_an_unreadable_ignore_file_skips_its_folder_with_the_fix(
    tmp_path: Path, job: IngestJob, edge_store: EdgeStore
) -> None:
    """What a broken ignore file excludes is unknown: its folder is reported, not indexed
    (it could hide internal files), and the other folders are indexed."""
    corpus = write_corpus(tmp_path / "c")
    (corpus / ".assistantignore").write_bytes("Entw\xfcrfe/\n".encode("latin-1"))
    other = tmp_path / "other"
    other.mkdir()
    (other / "faq.md").write_text("# FAQ\n\nAsk us anything.\n")
    summary = job.run([corpus, other])
    (failure,) = summary.failed
    assert failure.file == str(corpus) and "save it as UTF-8" in failure.reason
    assert documents_in(edge_store) == {"faq.md"}


def test_summary_reports_throughput(
    tmp_path: Path, job: IngestJob, fake_embedder: FakeEmbedder
) -> None:
    corpus = write_corpus(tmp_path / "c")
    embedded: list[str] = []
    summary = IngestJob(job.store, _Recording(fake_embedder, embedded), job.chunker).run(
        [corpus], progress=False
    )
    assert summary.tokens_embedded == sum(fake_embedder.count_tokens(t) for t in embedded)
    passages = sum(len(p) for p in _passages(job.store).values() if len(p) > 1)
    assert len(embedded) == summary.chunks_written + passages
    for count, rate in [
        (summary.added, summary.documents_per_second),
        (summary.chunks_written, summary.chunks_per_second),
        (summary.tokens_embedded, summary.tokens_per_second),
    ]:
        # `seconds` is rounded to milliseconds, the rates to hundredths.
        assert count / (summary.seconds + 5e-4) - 5e-3 <= rate
        assert rate <= count / max(summary.seconds - 5e-4, 1e-6) + 5e-3
    again = job.run([corpus], progress=False)
    assert again.unchanged == 7 and again.documents_per_second > 0
    assert again.tokens_embedded == 0 and again.tokens_per_second == 0


def test_progress_bar_goes_to_stderr_only_when_asked(
    tmp_path: Path, job: IngestJob, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = write_corpus(tmp_path / "c")
    job.run([corpus], progress=False)
    assert capsys.readouterr() == ("", "")
    (corpus / "kb" / "first-invoice.md").write_text("# Invoices\n\nOne short paragraph.\n")
    job.run([corpus], progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "Ingesting" in err and "docs/s=" in err and "chunks/s=" in err


def test_batches_across_documents_store_what_one_by_one_stores(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    corpus = write_corpus(tmp_path / "c")
    stored = []
    for batch_chunks in (1, 1000):
        store = EdgeStore(tmp_path / f"edge-{batch_chunks}", dimension=fake_embedder.dimension)
        calls: list[str] = []
        chunker = StructureChunker(fake_embedder.count_tokens)
        recording = _Recording(fake_embedder, calls, batches=True)
        IngestJob(store, recording, chunker, batch_chunks=batch_chunks).run([corpus])
        stored.append((_points(store), len(calls)))
        store.close()
    (one_by_one, calls_alone), (batched, calls_batched) = stored
    assert batched == one_by_one
    assert calls_batched == 1 < calls_alone


def test_each_chunk_is_stored_with_its_passages_vectors(
    tmp_path: Path, job: IngestJob, fake_embedder: FakeEmbedder
) -> None:
    """A chunk of several passages holds one vector per passage, in reading order, each moved
    halfway towards the chunk's; a chunk of one passage holds its own vector as its passage."""
    corpus = write_corpus(tmp_path / "c")
    (corpus / "kb" / "long.md").write_text(
        "# Long guide\n\n"
        + "\n\n".join(f"Paragraph {i} " + "about invoices and reminders " * 12 for i in range(6))
    )
    job.run([corpus], progress=False)
    stored = _passages(job.store)
    records, _ = job.store.client.scroll(
        qe.ScrollRequest(
            limit=10_000, filter=_only_chunks(), with_payload=True, with_vector=[DENSE]
        )
    )
    several = 0
    for record in records:
        node = payload_node(record.payload or {})
        texts = job.chunker.passages(node)
        chunk = record.vector[DENSE]
        own = [in_context(p.tolist(), chunk) for p in fake_embedder.embed(texts)] if texts else []
        expected = own or [chunk]
        assert np.allclose(stored[node.node_id], expected, atol=1e-5), node.node_id
        several += len(texts) > 1
    assert several >= 2


class _Recording:
    """The FakeEmbedder, noting each text it embeds (or, with `batches`, each call)."""

    def __init__(self, inner: FakeEmbedder, seen: list[str], *, batches: bool = False) -> None:
        self.inner, self.seen, self.batches = inner, seen, batches
        self.dimension, self.max_tokens = inner.dimension, inner.max_tokens

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(["call"] if self.batches else texts)
        return self.inner.embed(texts)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


def _only_chunks() -> qe.Filter:
    return qe.Filter(must=[qe.FieldCondition(key="kind", match=qe.MatchValue(CHUNK))])


def _passages(store: EdgeStore) -> dict[str, list[list[float]]]:
    """Every chunk's passage vectors, by node id."""
    records, _ = store.client.scroll(
        qe.ScrollRequest(
            limit=10_000, filter=_only_chunks(), with_payload=["node_id"], with_vector=[PASSAGES]
        )
    )
    return {str(r.payload["node_id"]): r.vector[PASSAGES] for r in records if r.payload}


def _points(store: EdgeStore) -> dict[str, tuple[str, list[float]]]:
    """Every chunk's text and dense vector, by node id."""
    records, _ = store.client.scroll(
        qe.ScrollRequest(limit=10_000, with_payload=["node_id", "text"], with_vector=[DENSE])
    )
    return {
        str(r.payload["node_id"]): (str(r.payload["text"]), [round(x, 5) for x in r.vector[DENSE]])
        for r in records
        if r.payload and "node_id" in r.payload
    }


def test_a_passage_in_context_lies_halfway_to_its_chunk() -> None:
    passage, chunk = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    blended = np.asarray(in_context(passage, chunk))
    assert np.linalg.norm(blended) == pytest.approx(1.0)
    assert blended @ passage == pytest.approx(blended @ chunk) == pytest.approx(np.sqrt(0.5))
