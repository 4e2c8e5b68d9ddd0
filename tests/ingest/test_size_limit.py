from pathlib import Path

import pytest

from assistant.embedders.fake import FakeEmbedder
from assistant.stores.edge import EdgeStore
from ingest import pipeline
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob


def test_oversized_files_are_reported_with_the_limit_and_others_indexed(
    tmp_path: Path,
    edge_store: EdgeStore,
    fake_embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pipeline, "MAX_FILE_BYTES", 2 * 1024 * 1024)
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "huge.md").write_text("# Huge\n\n" + "word " * 600_000)
    (corpus / "small.md").write_text("# Small\n\nA short article.\n")
    job = IngestJob(edge_store, fake_embedder, StructureChunker(fake_embedder.count_tokens))
    summary = job.run([corpus])
    assert [(f.file, f.reason) for f in summary.failed] == [
        ("huge.md", "file is larger than the 2 MB limit: split it")
    ]
    assert summary.added == 1
