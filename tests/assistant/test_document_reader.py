"""A whole document read back by path, doc id or a citation's URL, within the caller's audience
and tenant (FakeEmbedder: meaning plays no part)."""

import pytest

from assistant.embedders.fake import FakeEmbedder
from assistant.retrieval.document_reader import read_document
from assistant.stores.edge import EdgeStore
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob
from tests.corpus import write_corpus

PUBLIC = ["public"]
EVERYONE = ["public", "partner", "internal"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("documents")
    embedder = FakeEmbedder()
    store = EdgeStore(root / "edge", dimension=embedder.dimension)
    chunker = StructureChunker(embedder.count_tokens, max_tokens=embedder.max_tokens)
    IngestJob(store, embedder, chunker).run([write_corpus(root / "corpus")])
    acme = root / "acme"
    acme.mkdir()
    (acme / "acme-codes.md").write_text("---\ntitle: Acme codes\n---\n# Codes\n\nUse ACME-1.\n")
    IngestJob(store, embedder, chunker).run([acme], default_tenant="acme")
    yield store
    store.close()


def test_a_document_by_path_has_its_sections_in_order(store: EdgeStore) -> None:
    doc = read_document(store, audiences=PUBLIC, tenant=None, document="kb/reset-password.md")
    assert doc is not None
    assert doc.title == "Resetting your password" and doc.source_type == "kb"
    assert doc.url == "https://help.example.com/articles/reset-password"
    assert doc.updated_at == "2026-09-14" and doc.tags == ["account"] and doc.reviewed
    assert doc.text.index("1. Open the sign-in page") < doc.text.index("Check your spam folder")
    assert "## Resetting your password > Steps" in doc.text
    assert any(s.url and s.url.endswith("#steps") for s in doc.sections)
    assert not doc.truncated
    again = read_document(store, audiences=PUBLIC, tenant=None, document=doc.doc_id)
    assert again == doc


def test_a_citation_url_finds_its_document(store: EdgeStore) -> None:
    for url in (
        "https://help.example.com/articles/reset-password#steps",
        "https://help.example.com/articles/reset-password#unknown-anchor",
    ):
        doc = read_document(store, audiences=PUBLIC, tenant=None, url=url)
        assert doc is not None and doc.document == "kb/reset-password.md", url
    transcript = read_document(
        store, audiences=PUBLIC, tenant=None, document="transcripts/getting-paid.vtt"
    )
    assert transcript is not None and transcript.sections[0].start_seconds is not None
    assert read_document(store, audiences=PUBLIC, tenant=None, url="https://x.example/") is None


def test_restricted_documents_are_not_found(store: EdgeStore) -> None:
    internal = "kb/internal-refunds.md"
    assert read_document(store, audiences=PUBLIC, tenant=None, document=internal) is None
    assert (
        read_document(
            store, audiences=PUBLIC, tenant=None, url="https://wiki.example.com/support/refunds"
        )
        is None
    )
    doc = read_document(store, audiences=EVERYONE, tenant=None, document=internal)
    assert doc is not None and "PELICAN-42" in doc.text
    assert read_document(store, audiences=EVERYONE, tenant=None, document="acme-codes.md") is None
    assert (
        read_document(store, audiences=EVERYONE, tenant="globex", document="acme-codes.md") is None
    )
    own = read_document(store, audiences=PUBLIC, tenant="acme", document="acme-codes.md")
    assert own is not None and "ACME-1" in own.text


def test_long_text_is_cut_and_says_so(store: EdgeStore) -> None:
    doc = read_document(
        store, audiences=PUBLIC, tenant=None, document="kb/reset-password.md", max_chars=50
    )
    assert doc is not None and doc.truncated and len(doc.text) == 50


def test_exactly_one_of_id_and_url(store: EdgeStore) -> None:
    with pytest.raises(ValueError, match="either"):
        read_document(store, audiences=PUBLIC, tenant=None)
    with pytest.raises(ValueError, match="either"):
        read_document(store, audiences=PUBLIC, tenant=None, document="a", url="b")
