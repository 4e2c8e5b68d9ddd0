import shutil
from pathlib import Path

import pytest
import qdrant_edge as qe

from assistant.embedders.fake import FakeEmbedder
from assistant.stores.edge import EdgeStore
from assistant.stores.payload import point_id
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob
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
