import re
from pathlib import Path

import pytest

from ingest.discovery import discover
from ingest.documents import LoadError
from ingest.loaders import LoadContext
from ingest.loaders.cues import parse_cues
from ingest.loaders.srt import SrtLoader
from ingest.loaders.webvtt import VttLoader

WEBINAR = """1
00:00:01,000 --> 00:00:04,500
SAM ORTIZ: Welcome to the webinar on
<i>getting paid faster</i>.

2
00:00:05,000 --> 00:00:09,000
Today we turn on payment reminders.

3
00:00:09,500 --> 00:00:12,000 X1:100 X2:600 Y1:50 Y2:80
- Priya Shah: Do reminders go out on weekends?

4
00:01:10,250 --> 00:01:15,000
<v Sam Ortiz>Yes, unless you pause them in Settings.

5
00:01:16,000 --> 00:01:20,000
Note: reminders need a verified sender address.
"""


def context(root: Path, audience: str = "public") -> LoadContext:
    return LoadContext(root=root, default_audience=audience)


def write(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_srt_cues_carry_seconds_speakers_and_deep_links(tmp_path: Path) -> None:
    srt = write(tmp_path / "getting-paid.srt", WEBINAR)
    (tmp_path / "getting-paid.srt.meta.yaml").write_text(
        "title: 'Webinar: Getting paid faster'\naudience: partner\n"
        "url: https://video.example.com/w/getting-paid?t=3\n"
    )
    [doc] = SrtLoader().load(srt, context(tmp_path))
    assert doc.source_type == "transcript"
    assert doc.title == "Webinar: Getting paid faster"
    assert doc.metadata["audience"] == "partner"
    assert doc.document == "getting-paid.srt"
    first, second, third, fourth, fifth = doc.sections
    assert first.text == "Welcome to the webinar on getting paid faster."
    assert first.meta == {"start_seconds": 1.0, "end_seconds": 4.5, "speaker": "SAM ORTIZ"}
    assert first.url == "https://video.example.com/w/getting-paid?t=1"
    assert "speaker" not in second.meta
    assert third.meta["speaker"] == "Priya Shah"
    assert third.text == "Do reminders go out on weekends?"
    assert fourth.meta == {"start_seconds": 70.25, "end_seconds": 75.0, "speaker": "Sam Ortiz"}
    assert fourth.url == "https://video.example.com/w/getting-paid?t=70"
    # A label such as "Note:" starts ordinary caption text; it is not a speaker.
    assert "speaker" not in fifth.meta
    assert fifth.text == "Note: reminders need a verified sender address."


def test_srt_without_sidecar_gets_title_from_file_name_and_default_audience(
    tmp_path: Path,
) -> None:
    srt = write(tmp_path / "account_security.srt", WEBINAR)
    [doc] = SrtLoader().load(srt, context(tmp_path, "internal"))
    assert doc.title == "Account Security"
    assert doc.metadata["audience"] == "internal"
    assert all(cue.url is None for cue in doc.sections)


def test_srt_in_windows_1252_and_utf16_is_read(tmp_path: Path) -> None:
    text = "1\r\n00:00:01,000 --> 00:00:02,000\r\nCafé invoices cost 5 € — “quoted”.\r\n"
    legacy = write(tmp_path / "legacy.srt", text, encoding="cp1252")
    [doc] = SrtLoader().load(legacy, context(tmp_path))
    assert doc.sections[0].text == "Café invoices cost 5 € — “quoted”."
    wide = write(tmp_path / "wide.srt", text, encoding="utf-16")
    [doc] = SrtLoader().load(wide, context(tmp_path))
    assert doc.sections[0].text == "Café invoices cost 5 € — “quoted”."


def test_text_block_after_a_blank_line_continues_the_cue(tmp_path: Path) -> None:
    srt = write(
        tmp_path / "gap.srt", "1\n00:00:01,000 --> 00:00:03,000\nFirst half\n\nsecond half.\n"
    )
    [doc] = SrtLoader().load(srt, context(tmp_path))
    assert [cue.text for cue in doc.sections] == ["First half second half."]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:xx,000 --> 00:00:03,000\nbad\n",
            "bad.srt: cue 2: bad cue timing '00:00:xx,000 --> 00:00:03,000'",
        ),
        (
            "7\n00:61:01,000 --> 00:61:02,000\nminutes past 59\n",
            "bad.srt: cue 7: bad cue timing",
        ),
        (
            "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:02,000 -> 00:00:03,000\nbad arrow\n",
            "bad.srt: cue 2 has no timing line",
        ),
        ("3\n00:00:09,000 --> 00:00:05,000\nbackwards\n", "bad.srt: cue 3 ends before it starts"),
        ("Hello there\n\n1\n00:00:01,000 --> 00:00:02,000\nok\n", "text before the first cue"),
        ("just some words, no cues at all\n", "not a SubRip file"),
        ("1\n00:00:01,000 --> 00:00:02,000\n<i></i>\n", "no cues with text"),
    ],
)
def test_broken_srt_is_refused_with_the_cue_named(tmp_path: Path, text: str, reason: str) -> None:
    srt = write(tmp_path / "bad.srt", text)
    with pytest.raises(LoadError, match=re.escape(reason)):
        SrtLoader().load(srt, context(tmp_path))


def test_binary_srt_is_refused(tmp_path: Path) -> None:
    srt = tmp_path / "video.srt"
    srt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(64))
    with pytest.raises(LoadError, match="binary content"):
        SrtLoader().load(srt, context(tmp_path))


def test_vtt_keeps_its_rules_on_the_shared_cue_parser(tmp_path: Path) -> None:
    vtt = tmp_path / "talk.vtt"
    vtt.write_text(
        "WEBVTT\n\nNOTE speaker prefixes stay text in WebVTT\n\n"
        "intro\n00:01.000 --> 00:03.000\nSAM: hello\n\n"
        "00:04.000 --> 00:05.000\n<v Priya>hi\n"
    )
    [doc] = VttLoader().load(vtt, context(tmp_path))
    assert [(c.text, c.meta.get("speaker")) for c in doc.sections] == [
        ("SAM: hello", None),
        ("hi", "Priya"),
    ]
    with pytest.raises(LoadError, match=r"talk.vtt: cue #2: bad cue timing"):
        parse_cues(
            "WEBVTT\n\n00:01.000 --> 00:02.000\nok\n\n00:0x.000 --> 1\nno\n", where="talk.vtt"
        )


def test_discovery_reads_srt_as_a_transcript(tmp_path: Path) -> None:
    write(tmp_path / "a.srt", WEBINAR)
    [source] = discover(tmp_path)
    assert isinstance(source.loader, SrtLoader)
    [as_transcript] = discover(tmp_path, content_type="transcript")
    assert isinstance(as_transcript.loader, SrtLoader)
    [as_kb] = discover(tmp_path, content_type="kb")
    assert as_kb.loader is None and as_kb.reason == "not a kb file"
