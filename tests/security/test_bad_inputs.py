"""One folder of broken and hostile files of every kind we read, ingested together with one good
article: each bad file is reported with a reason and skipped, nothing crashes, nothing of them
reaches the index, and the good article is indexed. The same folder through the real
`assistant ingest --json` exits 0.

The files come from the generators the loader tests use (tests/ingest/), gathered here.
"""

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from assistant.embedders.fake import FakeEmbedder
from assistant.stores.edge import EdgeStore
from ingest import pipeline
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob
from tests.ingest.test_per_file_failures import post, topic
from tests.ingest.test_safe_yaml import front_matter_bomb
from tests.ingest.test_scorm_loader import (
    BANK,
    MANIFEST_2004,
    essentials,
    padded_bank,
    write_folder,
    write_zip,
)
from tests.ingest.test_unstructured_loader import ARTICLE_PAGES, write_pdf

GOOD = "good.md"
GOOD_TEXT = "---\ntitle: Good\n---\n# Good\n\nExport invoices from the Invoices page.\n"
MAX_TEST_FILE_BYTES = 1024 * 1024
BOMB_MB = 110


def _zip_with_member(path: Path, info: zipfile.ZipInfo, data: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("imsmanifest.xml", MANIFEST_2004)
        archive.writestr("content/bank.html", BANK)
        archive.writestr(info, data)
    return path


def _symlink_zip(path: Path) -> Path:
    link = zipfile.ZipInfo("content/bank.html")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("imsmanifest.xml", MANIFEST_2004)
        archive.writestr(link, "/etc/passwd")
    return path


def _zip_bomb(path: Path) -> Path:
    """A package that unpacks past the loader's 100 MB limit from well under 1 MB."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("imsmanifest.xml", MANIFEST_2004)
        archive.writestr("content/bank.html", BANK)
        with archive.open("content/padding.bin", "w", force_zip64=True) as padding:
            for _ in range(BOMB_MB):
                padding.write(bytes(2**20))
    assert path.stat().st_size < 2**20
    return path


def write_bad_corpus(root: Path) -> dict[str, str]:
    """Writes the broken files (and GOOD) under `root`; returns file -> expected reason part."""
    root.mkdir(parents=True)
    expected: dict[str, str] = {}

    def put(name: str, data: bytes | str, reason: str) -> Path:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
        expected[name] = reason
        return path

    (root / GOOD).write_text(GOOD_TEXT)
    # Markdown and text
    put("kb/photo.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "binary")
    put("kb/empty.md", "", "empty")
    put("kb/whitespace.txt", "  \n\n\t\n", "no text to index")
    put(
        "kb/bad-audience.md",
        "---\ntitle: X\naudience: everyone\n---\n# X\n\nText.\n",
        "audience",
    )
    put("kb/huge.md", "# Huge\n\n" + "word " * 300_000, "larger than")
    # Forum threads
    put("threads/cut.json", '{"post_stream": {"posts": [', "invalid JSON")
    put("threads/list.json", "[1, 2, 3]", "not a Discourse topic")
    put("threads/deep.json", "[" * 100_000 + "]" * 100_000, "nested too deeply")
    put("threads/strings.json", topic(["hello", "world"]), "not a post object")
    put("threads/number.json", topic([post("abc")]), "not a whole number")
    # Transcripts
    put(
        "transcripts/timing.vtt",
        "WEBVTT\n\n00:00:xx.000 --> 00:00:02.000\nHello\n",
        "bad cue timing",
    )
    put("transcripts/movie.vtt", b"\x00\x00\x00\x18ftypmp42" + bytes(64), "binary content")
    put("transcripts/backwards.srt", "3\n00:00:09,000 --> 00:00:05,000\nback\n", "ends before")
    put("transcripts/nocues.srt", "just some words, no cues at all\n", "not a SubRip file")
    # PDF, DOCX, PPTX, HTML
    put("docs/garbage.pdf", b"%PDF-1.4\nthis is not really a pdf\n%%EOF\n", "not a readable PDF")
    whole = write_pdf(root / "whole.tmp", ARTICLE_PAGES).read_bytes()
    (root / "whole.tmp").unlink()
    put("docs/truncated.pdf", whole[: len(whole) // 3], "damaged")
    locked = write_pdf(root / "docs" / "locked.pdf", ARTICLE_PAGES, password="s3cret")
    expected["docs/locked.pdf"] = "password-protected"
    write_pdf(root / "docs" / "scan.pdf", [[]])
    expected["docs/scan.pdf"] = "no extractable text"
    assert locked.exists()
    put("docs/notes.docx", b"just text, renamed", "not a DOCX file")
    put("docs/broken.docx", b"PK\x03\x04 truncated zip", "could not read the DOCX")
    put("docs/old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "password-protected")
    put("docs/broken.pptx", b"PK\x05\x06" + bytes(18), "could not read the PPTX")
    put("docs/image.html", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content")
    put("docs/blank.htm", b"", "no text to index")
    # SCORM packages
    put("courses/notes.zip", "these are not the packages you are looking for", "not a valid zip")
    cut = essentials(root / "cut.tmp").read_bytes()
    (root / "cut.tmp").unlink()
    put("courses/cut.zip", cut[: len(cut) // 2], "not a valid zip")
    _zip_with_member(root / "courses" / "evil.zip", zipfile.ZipInfo("../../evil.html"), "<p>x</p>")
    expected["courses/evil.zip"] = "unsafe path"
    _symlink_zip(root / "courses" / "link.zip")
    expected["courses/link.zip"] = "symlink"
    _zip_bomb(root / "courses" / "bomb.zip")
    expected["courses/bomb.zip"] = "zip bomb"
    write_zip(
        root / "courses" / "ratio.zip",
        {"imsmanifest.xml": MANIFEST_2004, "content/bank.html": padded_bank(2 * 2**20)},
    )
    expected["courses/ratio.zip"] = "times its size (a zip bomb?)"
    write_zip(
        root / "courses" / "xxe.zip",
        {
            "imsmanifest.xml": '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM '
            '"file:///etc/passwd">]><manifest>&x;</manifest>'
        },
    )
    expected["courses/xxe.zip"] = "not valid XML"
    # A course folder whose lesson points outside it
    course = root / "courses" / "escape"
    course.mkdir(parents=True)
    (root / "courses" / "secret-notes.txt.bak").write_text("internal salaries")
    (course / "course.yaml").write_text(
        "title: C\nmodules:\n  - title: M\n    lessons:\n"
        "      - title: L\n        file: ../secret-notes.txt.bak\n"
    )
    expected["courses/escape"] = "outside the course"
    expected["courses/secret-notes.txt.bak"] = "unsupported file type"
    # Unsupported and broken metadata
    put("kb/slides.key", "?", "unsupported file type .key")
    put("kb/meta.md", "# Meta\n\nA fine article with broken metadata.\n", "invalid YAML")
    (root / "kb" / "meta.md.meta.yaml").write_text("title: [unclosed\n")
    put("kb/alias-bomb.md", front_matter_bomb(5), "aliases are not allowed")
    # A course.yaml whose modules are plain strings
    write_folder(
        root / "courses" / "strings",
        {"course.yaml": "title: C\nmodules: [intro, advanced]\n", "a.md": "# A\n\nText.\n"},
    )
    expected["courses/strings"] = "not a mapping"
    # A symlink to a file outside the folder
    outside = root.parent / f"{root.name}-outside.md"
    outside.write_text("# Outside\n\nNot part of this folder.\n")
    (root / "kb" / "outside.md").symlink_to(outside)
    expected["kb/outside.md"] = "outside the ingested folder"
    return expected


def test_every_kind_of_broken_file_is_reported_and_skipped(
    tmp_path: Path,
    edge_store: EdgeStore,
    fake_embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pipeline, "MAX_FILE_BYTES", MAX_TEST_FILE_BYTES)
    expected = write_bad_corpus(tmp_path / "bad")
    assert len(expected) >= 20
    job = IngestJob(edge_store, fake_embedder, StructureChunker(fake_embedder.count_tokens))
    summary = job.run([tmp_path / "bad"])

    reasons = {failure.file: failure.reason for failure in summary.failed}
    assert set(reasons) == set(expected), {
        "not reported": sorted(set(expected) - set(reasons)),
        "unexpected": sorted(set(reasons) - set(expected)),
    }
    for name, part in expected.items():
        assert part.lower() in reasons[name].lower(), (name, reasons[name])
        assert reasons[name].strip(), name
    assert summary.added == 1
    assert {m.document for m in edge_store.manifests().values()} == {GOOD}
    assert not (tmp_path / "evil.html").exists() and not (tmp_path.parent / "evil.html").exists()


@pytest.mark.slow  # a second pass over the same files, through a real process
def test_the_command_line_reports_the_bad_folder_and_exits_0(tmp_path: Path) -> None:
    write_bad_corpus(tmp_path / "bad")
    (tmp_path / "bad" / "kb" / "huge.md").unlink()  # only too big for the lowered test limit
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_EMBEDDER": "fake",
        "HF_HUB_OFFLINE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "ingest", str(tmp_path / "bad"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["added"] == 1 and len(summary["failed"]) >= 20
    assert "Traceback" not in result.stderr
