import json
from pathlib import Path

import pytest

from ingest.documents import LoadError
from ingest.loaders import LoadContext
from ingest.loaders.course_yaml import CourseYamlLoader
from ingest.loaders.discourse import DiscourseLoader
from ingest.loaders.markdown import MarkdownLoader, anchor
from ingest.loaders.webvtt import VttLoader, parse_timestamp, video_url
from tests.corpus import write_corpus


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


def context(root: Path, audience: str = "public") -> LoadContext:
    return LoadContext(root=root, default_audience=audience)


def test_markdown_sections_keep_heading_paths_and_anchors(corpus: Path) -> None:
    [doc] = MarkdownLoader().load(corpus / "kb" / "reset-password.md", context(corpus))
    assert doc.title == "Resetting your password"
    assert doc.document == "kb/reset-password.md"
    assert doc.metadata["updated_at"] == "2026-09-14"
    steps = next(s for s in doc.sections if s.heading_path == ["Steps"])
    assert steps.url == "https://help.example.com/articles/reset-password#steps"
    assert steps.text.startswith("1. Open the sign-in page")
    assert [s.heading_path for s in doc.sections] == [
        [],
        ["Steps"],
        ["If the email does not arrive"],
    ]


def test_markdown_audience_from_front_matter_beats_default(corpus: Path) -> None:
    [doc] = MarkdownLoader().load(corpus / "kb" / "internal-refunds.md", context(corpus))
    assert doc.metadata["audience"] == "internal"
    [public] = MarkdownLoader().load(corpus / "kb" / "first-invoice.md", context(corpus, "partner"))
    assert public.metadata["audience"] == "partner"


def test_markdown_rejects_unknown_audience(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("---\naudience: everyone\n---\n# A\n\ntext\n")
    with pytest.raises(LoadError, match="unknown audience 'everyone'"):
        MarkdownLoader().load(path, context(tmp_path))


def test_markdown_rejects_binary_and_empty_files(tmp_path: Path) -> None:
    binary = tmp_path / "b.md"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(LoadError, match="binary"):
        MarkdownLoader().load(binary, context(tmp_path))
    empty = tmp_path / "e.md"
    empty.write_text("")
    with pytest.raises(LoadError, match="no text"):
        MarkdownLoader().load(empty, context(tmp_path))


def test_anchor_is_github_style() -> None:
    assert anchor("If the email does not arrive") == "if-the-email-does-not-arrive"
    assert anchor("Plans & billing (2026)") == "plans--billing-2026"


def test_vtt_cues_carry_seconds_speaker_and_deep_link(corpus: Path) -> None:
    [doc] = VttLoader().load(corpus / "transcripts" / "getting-paid.vtt", context(corpus))
    assert doc.title == "Webinar: Getting paid faster"
    last = doc.sections[-1]
    assert last.meta == {"start_seconds": 70.0, "end_seconds": 75.0, "speaker": "Sam Ortiz"}
    assert last.url == "https://video.example.com/w/getting-paid?t=70"
    assert "<v" not in last.text


def test_vtt_rejects_broken_timing(tmp_path: Path) -> None:
    path = tmp_path / "bad.vtt"
    path.write_text("WEBVTT\n\n00:00:xx.000 --> 00:00:02.000\nhello\n")
    with pytest.raises(LoadError, match="bad cue timing"):
        VttLoader().load(path, context(tmp_path))


def test_timestamps_and_video_urls() -> None:
    assert parse_timestamp("01:02:03.500") == 3723.5
    assert parse_timestamp("02:03.250") == 123.25
    assert video_url("https://v.example.com/w/1?t=5", 754.9) == "https://v.example.com/w/1?t=754"
    assert video_url("https://v.example.com/w?id=3", 12) == "https://v.example.com/w?id=3&t=12"


def test_discourse_keeps_question_answers_and_permalinks(corpus: Path) -> None:
    [doc] = DiscourseLoader().load(corpus / "threads" / "bank-feed.json", context(corpus))
    question, answer = doc.sections
    assert doc.metadata["url"] == "https://community.example.com/t/bank-feed-stopped-syncing/1482"
    assert answer.url == "https://community.example.com/t/bank-feed-stopped-syncing/1482/2"
    assert answer.meta["accepted"] is True and answer.meta["author"] == "staff_sam"
    assert answer.heading_path == ["Accepted answer by staff_sam"]
    assert "1. Open Settings > Bank accounts." in answer.text
    assert question.meta["accepted"] is False
    assert doc.metadata["reviewed"] is True  # an accepted answer counts as reviewed


def _unaccepted_topic(*, staff_flag: str | None) -> dict[str, object]:
    reply: dict[str, object] = {"post_number": 2, "username": "sam", "cooked": "<p>Reconnect.</p>"}
    if staff_flag:
        reply[staff_flag] = True
    question = {"post_number": 1, "username": "tomas", "cooked": "<p>Feed broke.</p>"}
    return {"id": 7, "title": "Feed", "slug": "feed", "post_stream": {"posts": [question, reply]}}


@pytest.mark.parametrize("flag", ["staff", "moderator", "admin"])
def test_discourse_staff_answer_counts_as_reviewed(tmp_path: Path, flag: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(_unaccepted_topic(staff_flag=flag)))
    [doc] = DiscourseLoader().load(path, context(tmp_path))
    assert doc.metadata["reviewed"] is True
    assert doc.sections[1].meta["staff"] is True and doc.sections[1].meta["reviewed"] is True
    assert "reviewed" not in doc.sections[0].meta


def test_discourse_community_answer_is_unreviewed(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(_unaccepted_topic(staff_flag=None)))
    [doc] = DiscourseLoader().load(path, context(tmp_path))
    assert doc.metadata["reviewed"] is False
    assert doc.sections[1].meta["author"] == "sam"


def test_discourse_reports_truncated_json(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"post_stream": {"posts": []}})[:-5])
    with pytest.raises(LoadError, match="invalid JSON"):
        DiscourseLoader().load(path, context(tmp_path))


def test_course_lessons_carry_course_module_lesson(corpus: Path) -> None:
    docs = CourseYamlLoader().load(corpus / "courses" / "essentials", context(corpus))
    assert [d.document for d in docs] == [
        "courses/essentials/lessons/01-profile.md",
        "courses/essentials/lessons/02-taxes.md",
    ]
    taxes = docs[1]
    assert taxes.source_type == "course"
    assert taxes.metadata["lesson"] == "Taxes" and taxes.metadata["course"] == "Essentials"
    assert taxes.sections[0].heading_path == ["Getting started", "Taxes"]
    assert taxes.sections[0].url == "https://academy.example.com/courses/essentials/lessons/taxes"


def test_course_lesson_outside_folder_is_refused(tmp_path: Path) -> None:
    course = tmp_path / "c"
    course.mkdir()
    (tmp_path / "secret.md").write_text("# secret\n\ntext\n")
    (course / "course.yaml").write_text(
        "title: C\nmodules:\n  - title: M\n    lessons:\n"
        "      - title: L\n        file: ../secret.md\n"
    )
    with pytest.raises(LoadError, match="outside the course"):
        CourseYamlLoader().load(course, context(tmp_path))
