"""One bad file costs that file, never the run: each kind that used to end a whole ingest (a
traceback on the command line, a 500 over HTTP, nothing indexed) is reported with its reason
while the rest of the folder is indexed; so is a loader or chunker bug we do not know of yet."""

import json
import os
from pathlib import Path

import pytest

from assistant.embedders.fake import FakeEmbedder
from assistant.stores.edge import EdgeStore
from ingest import discovery
from ingest.chunker import StructureChunker
from ingest.documents import ParsedDocument
from ingest.loaders import LoadContext
from ingest.pipeline import IngestJob

GOOD = "# Good\n\nExport invoices from the Invoices page.\n"


def topic(posts: object) -> str:
    return json.dumps({"id": 7, "title": "T", "slug": "t", "post_stream": {"posts": posts}})


def post(number: object, text: str = "<p>How do I export?</p>") -> dict[str, object]:
    return {"id": 1, "post_number": number, "username": "ana", "cooked": text}


COURSE_STRING_MODULES = "title: C\nmodules:\n  - intro\n  - advanced\n"
COURSE_STRING_LESSONS = "title: C\nmodules:\n  - title: M\n    lessons: lesson.md\n"
COURSE_STRING_LESSON = "title: C\nmodules:\n  - title: M\n    lessons:\n      - lesson.md\n"


def write_failing_folder(root: Path, outside: Path) -> dict[str, str]:
    """The files the issue saw end an ingest, beside a good article; returns file -> reason."""
    expected: dict[str, str] = {}

    def put(name: str, text: str, reason: str) -> None:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
        expected[name] = reason

    root.mkdir(parents=True)
    (root / "good.md").write_text(GOOD)
    depth = 100_000
    put("threads/deep.json", '{"a":' * depth + "1" + "}" * depth, "nested too deeply")
    put("threads/strings.json", topic(["hello", "world"]), "posts[0] is a str, not a post object")
    put("threads/number.json", topic([post("abc")]), "posts[0].post_number is 'abc', not a whole")
    put("threads/posts-map.json", topic({"1": post(1)}), "posts must be a list")
    put(
        "threads/likes.json",
        topic([{**post(1), "like_count": "many"}]),
        "posts[0].like_count is 'many'",
    )
    accepted = json.loads(topic([post(1), post(2)]))
    accepted["accepted_answer"] = {"post_number": "two"}
    put("threads/accepted.json", json.dumps(accepted), "accepted_answer.post_number is 'two'")
    for name, text, reason in [
        ("strings", COURSE_STRING_MODULES, "module 1 in course.yaml is a str, not a mapping"),
        ("lessons", COURSE_STRING_LESSONS, "lessons of module 'M' in course.yaml must be a list"),
        ("lesson", COURSE_STRING_LESSON, "a lesson of module 'M' in course.yaml is a str"),
    ]:
        put(f"courses/{name}/lesson.md", "# L\n\nText.\n", "")
        put(f"courses/{name}/course.yaml", text, "")
        del expected[f"courses/{name}/lesson.md"], expected[f"courses/{name}/course.yaml"]
        expected[f"courses/{name}"] = reason
    outside.mkdir(parents=True)
    (outside / "secret.md").write_text("# Secret\n\nThe salaries are in the vault.\n")
    (root / "kb").mkdir()
    os.symlink(outside / "secret.md", root / "kb" / "link.md")
    expected["kb/link.md"] = "a symlink to a file outside the ingested folder"
    return expected


@pytest.fixture
def job(edge_store: EdgeStore, fake_embedder: FakeEmbedder) -> IngestJob:
    return IngestJob(edge_store, fake_embedder, StructureChunker(fake_embedder.count_tokens))


def test_each_bad_file_is_reported_and_the_rest_indexed(
    tmp_path: Path, job: IngestJob, edge_store: EdgeStore
) -> None:
    expected = write_failing_folder(tmp_path / "c", tmp_path / "outside")
    summary = job.run([tmp_path / "c"])
    reasons = {f.file: f.reason for f in summary.failed}
    assert set(reasons) == set(expected)
    for name, part in expected.items():
        assert part in reasons[name], (name, reasons[name])
    assert summary.added == 1
    assert {m.document for m in edge_store.manifests().values()} == {"good.md"}
    assert edge_store.chunk_doc_ids() == set(edge_store.manifests())


def test_a_symlinked_file_given_directly_is_refused_too(tmp_path: Path, job: IngestJob) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.md").write_text(GOOD)
    (tmp_path / "c").mkdir()
    os.symlink(tmp_path / "outside" / "secret.md", tmp_path / "c" / "link.md")
    summary = job.run([tmp_path / "c" / "link.md"])
    assert [(f.file, f.reason.split(":")[0]) for f in summary.failed] == [
        ("link.md", "a symlink to a file outside the ingested folder")
    ]


class BrokenLoader:
    """A fake loader with a bug: it fails the way no LoadError check foresaw."""

    source_type = "kb"

    def load(self, path: Path, context: LoadContext) -> list[ParsedDocument]:
        return {}["sections"]  # type: ignore[no-any-return]


class BrokenChunker(StructureChunker):
    """A fake chunker that fails on one document."""

    def chunk(self, doc: ParsedDocument):  # type: ignore[no-untyped-def]
        if doc.document == "explode.md":
            raise IndexError("list index out of range")
        return super().chunk(doc)


def test_an_unexpected_loader_error_costs_only_its_file(
    tmp_path: Path, job: IngestJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(discovery._BY_EXTENSION, ".broken", BrokenLoader)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "good.md").write_text(GOOD)
    (tmp_path / "c" / "bug.broken").write_text("anything")
    summary = job.run([tmp_path / "c"])
    assert [(f.file, f.reason) for f in summary.failed] == [
        ("bug.broken", "could not read the file (KeyError: 'sections'); the log has the details")
    ]
    assert summary.added == 1


def test_an_unexpected_chunker_error_keeps_the_documents_last_version(
    tmp_path: Path, edge_store: EdgeStore, fake_embedder: FakeEmbedder
) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "good.md").write_text(GOOD)
    (tmp_path / "c" / "explode.md").write_text("# Explode\n\nFirst version.\n")
    IngestJob(edge_store, fake_embedder, StructureChunker(fake_embedder.count_tokens)).run(
        [tmp_path / "c"]
    )
    (tmp_path / "c" / "explode.md").write_text("# Explode\n\nSecond version.\n")
    job = IngestJob(edge_store, fake_embedder, BrokenChunker(fake_embedder.count_tokens))
    summary = job.run([tmp_path / "c"])
    assert [f.file for f in summary.failed] == ["explode.md"]
    assert "IndexError: list index out of range" in summary.failed[0].reason
    assert (summary.unchanged, summary.deleted) == (1, 0)
    assert {m.document for m in edge_store.manifests().values()} == {"good.md", "explode.md"}
