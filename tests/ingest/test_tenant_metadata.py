"""Tenants at ingest: from front matter, a sidecar or the run's default; every chunk carries it,
and content without one stays shared."""

from pathlib import Path

import pytest
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

from assistant.embedders.fake import FakeEmbedder
from assistant.stores import audience_filters
from assistant.stores.edge import EdgeStore
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob

ALL = ["public", "partner", "internal"]


@pytest.fixture
def job(edge_store: EdgeStore, fake_embedder: FakeEmbedder) -> IngestJob:
    return IngestJob(edge_store, fake_embedder, StructureChunker(fake_embedder.count_tokens))


def article(title: str, body: str, *, tenant: str | None = None) -> str:
    front = f"title: {title}\n" + (f"tenant: {tenant}\n" if tenant else "")
    return f"---\n{front}---\n# {title}\n\n{body}\n"


def tenants_by_document(store: EdgeStore, tenant: str | None) -> dict[str, str | None]:
    """What a caller of `tenant` reads: each document with the `tenant` its chunks carry."""
    result = store.query(
        VectorStoreQuery(
            query_str="invoices",
            similarity_top_k=100,
            mode=VectorStoreQueryMode.SPARSE,
            filters=audience_filters(ALL, tenant=tenant),
        )
    )
    return {n.metadata["document"]: n.metadata.get("tenant") for n in result.nodes or []}


def test_front_matter_sidecar_and_default_tenant_land_in_every_chunk(
    tmp_path: Path, job: IngestJob, edge_store: EdgeStore
) -> None:
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / "shared.md").write_text(article("Shared", "Export invoices as CSV."))
    (folder / "acme.md").write_text(article("Acme", "Acme invoices.", tenant="acme"))
    (folder / "globex.md").write_text(article("Globex", "Globex invoices."))
    (folder / "globex.md.meta.yaml").write_text("tenant: globex\n")
    summary = job.run([folder])
    assert summary.failed == [] and summary.added == 3

    assert tenants_by_document(edge_store, None) == {"shared.md": None}
    assert tenants_by_document(edge_store, "acme") == {"shared.md": None, "acme.md": "acme"}
    assert tenants_by_document(edge_store, "globex") == {
        "shared.md": None,
        "globex.md": "globex",
    }


def test_default_tenant_applies_where_metadata_names_none_and_rerun_retags(
    tmp_path: Path, job: IngestJob, edge_store: EdgeStore
) -> None:
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / "plain.md").write_text(article("Plain", "Send invoices by email."))
    (folder / "own.md").write_text(article("Own", "Globex invoices.", tenant="globex"))
    assert job.run([folder], default_tenant="acme").added == 2
    assert tenants_by_document(edge_store, "acme") == {"plain.md": "acme"}
    assert tenants_by_document(edge_store, "globex") == {"own.md": "globex"}

    # Without the default (which, like --audience, is part of each document's hash) the plain
    # file becomes shared; the one that names its tenant keeps it.
    again = job.run([folder])
    assert again.updated == 2 and again.failed == []
    assert tenants_by_document(edge_store, None) == {"plain.md": None}
    assert tenants_by_document(edge_store, "acme") == {"plain.md": None}
    assert tenants_by_document(edge_store, "globex") == {"plain.md": None, "own.md": "globex"}


@pytest.mark.parametrize("value", ['""', "[acme, globex]", '"acme,globex"', "{name: acme}"])
def test_an_unusable_tenant_is_reported_and_the_file_skipped(
    tmp_path: Path, job: IngestJob, edge_store: EdgeStore, value: str
) -> None:
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / "bad.md").write_text(f"---\ntitle: Bad\ntenant: {value}\n---\nInvoices.\n")
    (folder / "good.md").write_text(article("Good", "Invoices."))
    summary = job.run([folder])
    assert [f.file for f in summary.failed] == ["bad.md"]
    assert "invalid tenant" in summary.failed[0].reason
    assert tenants_by_document(edge_store, None) == {"good.md": None}
